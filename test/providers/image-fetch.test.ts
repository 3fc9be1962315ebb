import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchImage, isPublicAddress } from '../../src/providers/image-fetch.js';
import { FakeLinkedIn } from '../fakes/linkedin-server.js';

let fake: FakeLinkedIn;
beforeAll(async () => {
  fake = await new FakeLinkedIn().start();
});
afterAll(() => fake.stop());

describe('fetching a thumbnail (SSRF guard)', () => {
  it('classifies addresses', () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '224.0.0.1',
    ]) {
      expect(isPublicAddress(address), address).toBe(false);
    }
    for (const address of ['93.184.215.14', '2a00:1450:4001:80b::200e', '8.8.8.8'])
      expect(isPublicAddress(address), address).toBe(true);
  });

  it('refuses other schemes, loopback, link-local and private hosts (also by name)', async () => {
    for (const url of ['file:///etc/passwd', 'ftp://voorbeeld.test/a.png', 'gopher://x/']) {
      await expect(fetchImage(url)).rejects.toThrow(/only http and https/);
    }
    await expect(fetchImage(`${fake.url}/image.png`)).rejects.toThrow(/not public/);
    await expect(fetchImage('http://169.254.169.254/latest/meta-data')).rejects.toThrow(/not public/);
    await expect(fetchImage('http://[::1]/x.png')).rejects.toThrow(/not public/);
    await expect(fetchImage(`http://localhost:${new URL(fake.url).port}/image.png`)).rejects.toThrow(
      /non-public address/,
    );
    await expect(fetchImage('http://user:pw@voorbeeld.test/x.png')).rejects.toThrow(/credentials/);
  });

  it('in test mode fetches from the local fake, and checks type and size', async () => {
    const image = await fetchImage(`${fake.url}/image.png`, { allowPrivateAddresses: true });
    expect(image.contentType).toBe('image/png');
    expect(image.bytes.length).toBeGreaterThan(0);
    await expect(fetchImage(`${fake.url}/not-an-image`, { allowPrivateAddresses: true })).rejects.toThrow(
      /not an image/,
    );
    await expect(
      fetchImage(`${fake.url}/image.png`, { allowPrivateAddresses: true, maxBytes: 4 }),
    ).rejects.toThrow(/larger than/);
  });
});
