import { isIP } from 'node:net';
import { serve } from '@hono/node-server';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { clientAddress, nodeClientIp, trustedProxyList } from '../../src/infra/client-ip.js';
import { isProxyEntry } from '../../src/infra/proxy-entry.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

describe('clientAddress', () => {
  const proxies = trustedProxyList(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);

  it('is the peer itself when the peer is not a trusted proxy, whatever the header says', () => {
    expect(clientAddress('198.51.100.4', '203.0.113.9', proxies)).toBe('198.51.100.4');
    expect(clientAddress('198.51.100.4', undefined, proxies)).toBe('198.51.100.4');
  });

  it('reads X-Forwarded-For from the right, past trusted proxies only', () => {
    expect(clientAddress('127.0.0.1', '203.0.113.9', proxies)).toBe('203.0.113.9');
    expect(clientAddress('::ffff:127.0.0.1', '203.0.113.9, 10.1.2.3', proxies)).toBe('203.0.113.9');
    // What the visitor wrote themselves is left of the address the proxy saw: never used.
    expect(clientAddress('127.0.0.1', '1.2.3.4, 203.0.113.9', proxies)).toBe('203.0.113.9');
    expect(clientAddress('fd00::1', '2001:db8::7', proxies)).toBe('2001:db8::7');
    expect(clientAddress('127.0.0.1', 'not-an-address, 10.0.0.5', proxies)).toBe('10.0.0.5');
    expect(clientAddress('127.0.0.1', '10.0.0.6, 10.0.0.5', proxies)).toBe('10.0.0.6');
  });

  it('a visitor cannot choose the answer through the header (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string())), fc.ipV4(), (spoofed, visitor) => {
        fc.pre(!visitor.startsWith('10.') && visitor !== '127.0.0.1');
        // The trusted proxy appends the address it really saw after whatever the visitor sent.
        const header = [...spoofed, visitor].join(', ');
        expect(clientAddress('127.0.0.1', header, proxies)).toBe(visitor);
      }),
    );
  });

  it('reads addresses in TRUSTED_PROXIES as Node does, without node:net (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.ipV4(),
          fc.ipV6(),
          fc.ipV4Extended(),
          fc.string(),
          fc.stringMatching(/^[0-9a-f:.]{1,20}$/),
        ),
        (text) => {
          fc.pre(!text.includes('/'));
          expect(isProxyEntry(text)).toBe(isIP(text) !== 0);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('accepts addresses and networks as TRUSTED_PROXIES entries, nothing else', () => {
    for (const entry of [
      '127.0.0.1',
      '10.0.0.0/8',
      '::1',
      'fd00::/8',
      '0.0.0.0/0',
      '::ffff:192.0.2.1',
      '2001:db8::/32',
    ])
      expect(isProxyEntry(entry)).toBe(true);
    for (const entry of [
      '',
      'proxy.example.org',
      '10.0.0.0/33',
      '::/129',
      '10.0.0.0/8/1',
      '10.0.0.1/x',
      '256.1.1.1',
      'fe80::1%eth0',
      '1::2::3',
    ])
      expect(isProxyEntry(entry)).toBe(false);
  });
});

describe('per-IP limits behind a trusted proxy (real server)', () => {
  let ctx: TestContext;
  let base: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ctx = await createTestContext();
    const app = createApp({ ...ctx.deps, clientIp: nodeClientIp(['127.0.0.1', '::1']) });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  });
  afterAll(async () => {
    await close();
    await ctx.close();
  });

  it('counts a signup post against the visitor the proxy names, not against the proxy', async () => {
    const post = (forwardedFor: string) =>
      fetch(`${base}/subscribe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
        // The honeypot filled in: ignored, but still counted against the sender's address.
        body: JSON.stringify({ email: 'robot@voorbeeld.test', website: 'https://spam.example' }),
      });
    expect((await post('203.0.113.9')).status).toBe(202);
    expect((await post('6.6.6.6, 198.51.100.20')).status).toBe(202);
    const keys = await ctx.db
      .selectFrom('rate_limits')
      .select('key')
      .where('key', 'like', 'signup:ip:%')
      .execute();
    expect(keys.map((row) => row.key).sort()).toEqual(
      [
        `signup:ip:${ctx.deps.pseudonyms.ip('203.0.113.9')}`,
        `signup:ip:${ctx.deps.pseudonyms.ip('198.51.100.20')}`,
      ].sort(),
    );
  });
});
