import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { linkedinWorkerConfig } from '../../src/infra/linkedin-config.js';
import { fetchImage, isPublicAddress } from '../../src/providers/image-fetch.js';
import { FakeLinkedIn } from '../fakes/linkedin-server.js';

let fake: FakeLinkedIn;
/** An image host that redirects: `/to?u=<address>` answers 302 to it, `/loop` to itself. */
let redirector: Server;
let redirectorUrl: string;
beforeAll(async () => {
  fake = await new FakeLinkedIn().start();
  redirector = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const location = url.pathname === '/loop' ? '/loop' : (url.searchParams.get('u') ?? '/');
    res.writeHead(302, { location }).end();
  });
  await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
  redirectorUrl = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await fake.stop();
  await new Promise((resolve) => redirector.close(resolve));
});

/** The fake servers' address is the only one reachable: as if they were public hosts. */
const onlyTheFakes = (address: string) => address === '127.0.0.1';

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

  it('refuses private and loopback addresses in every spelling of them', async () => {
    for (const url of [
      'http://2130706433/x.png',
      'http://0x7f000001/x.png',
      'http://0177.0.0.1/x.png',
      'http://127.1/x.png',
      'http://0.0.0.0/x.png',
      'http://[::ffff:7f00:1]/x.png',
      'http://[::ffff:10.0.0.1]/x.png',
      'http://[::127.0.0.1]/x.png',
      'http://[::]/x.png',
      'http://[fd12:3456::1]/x.png',
      'http://[fe80::1]/x.png',
      'http://[64:ff9b::a00:1]/x.png',
      'http://[2002:7f00:1::1]/x.png',
      'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x.png',
      'http://10.255.255.255/x.png',
      'http://172.31.0.1/x.png',
      'http://192.168.178.1/x.png',
      'http://100.100.100.200/latest/meta-data',
      'http://169.254.170.2/v2/credentials',
    ]) {
      await expect(fetchImage(url), url).rejects.toThrow(/not public/);
    }
  });

  it('checks every redirect like the first address: private targets, other schemes, credentials, loops', async () => {
    const via = (target: string) => `${redirectorUrl}/to?u=${encodeURIComponent(target)}`;
    const port = new URL(fake.url).port;
    for (const [target, refusal] of [
      ['http://10.0.0.7/x.png', /not public/],
      ['http://169.254.169.254/latest/meta-data/iam/security-credentials/', /not public/],
      [`http://[::1]:${port}/image.png`, /not public/],
      [`http://[::ffff:127.0.0.2]:${port}/image.png`, /not public/],
      ['http://192.168.1.1/', /not public/],
      ['file:///etc/passwd', /only http and https/],
      ['gopher://127.0.0.1:6379/_FLUSHALL', /only http and https/],
      [`http://gebruiker:geheim@127.0.0.1:${port}/image.png`, /credentials/],
    ] as const) {
      await expect(fetchImage(via(target), { isAllowedAddress: onlyTheFakes }), target).rejects.toThrow(
        refusal,
      );
    }
    await expect(fetchImage(`${redirectorUrl}/loop`, { isAllowedAddress: onlyTheFakes })).rejects.toThrow(
      /too many redirects/,
    );
    // The same hop to an allowed host works: the refusals above were the targets'.
    const image = await fetchImage(via(`${fake.url}/image.png`), { isAllowedAddress: onlyTheFakes });
    expect(image.contentType).toBe('image/png');
  });

  it('allows private addresses only in test mode', () => {
    const secret = 'een-geheim-van-minstens-twee-en-dertig-tekens';
    for (const [NODE_ENV, allowed] of [
      ['production', false],
      ['development', false],
      ['test', true],
    ] as const) {
      const config = loadConfig({
        NODE_ENV,
        APP_SECRET: secret,
        PUBLIC_BASE_URL: 'https://nieuws.voorbeeld.test',
        DATABASE_URL: 'postgres://127.0.0.1/x',
        REDIS_URL: 'redis://127.0.0.1:6379',
      });
      const worker = linkedinWorkerConfig({ ...config, appSecret: secret, previousAppSecrets: [] });
      expect(worker.allowPrivateImageHosts === true, NODE_ENV).toBe(allowed);
    }
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
