import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pseudonyms } from '../../src/infra/crypto.js';
import { createTestContext, TEST_APP_SECRET, TestClock, type TestContext } from '../helpers/context.js';

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const OTHER_SECRET = 'another-secret-'.padEnd(48, 'y');

describe('Pseudonyms (keyed IP hash)', () => {
  const ip = '203.0.113.77';

  it('is not an unkeyed SHA-256 of the address, and depends on the secret', () => {
    const value = new Pseudonyms(TEST_APP_SECRET).ip(ip);
    expect(value).toMatch(/^hmac1:[0-9a-f]{32}$/);
    const digest = value.slice('hmac1:'.length);
    // Neither the old scheme nor any plain hash of the address: those are reversed by trying all IPv4.
    for (const unkeyed of [sha256(ip), sha256(`ip:${ip}`)]) {
      expect(unkeyed.startsWith(digest)).toBe(false);
      expect(value).not.toContain(unkeyed.slice(0, 32));
    }
    expect(new Pseudonyms(OTHER_SECRET).ip(ip)).not.toBe(value);
  });

  it('gives the same value for the same address and secret (events correlate), another for another address', () => {
    expect(new Pseudonyms(TEST_APP_SECRET).ip(ip)).toBe(new Pseudonyms(TEST_APP_SECRET).ip(ip));
    expect(new Pseudonyms(TEST_APP_SECRET).ip('203.0.113.78')).not.toBe(
      new Pseudonyms(TEST_APP_SECRET).ip(ip),
    );
  });

  it('uses a key of its own purpose: an IP and a login name with the same text differ', () => {
    const pseudonyms = new Pseudonyms(TEST_APP_SECRET);
    expect(pseudonyms.loginAccount(ip)).not.toBe(pseudonyms.ip(ip));
    expect(pseudonyms.loginAccount(' Beheer@Voorbeeld.test ')).toBe(
      pseudonyms.loginAccount('beheer@voorbeeld.test'),
    );
  });
});

describe('where IP addresses are stored', () => {
  let ctx: TestContext;
  const clock = new TestClock();
  beforeAll(async () => {
    ctx = await createTestContext({ clock });
  });
  afterAll(() => ctx.close());

  it('the consent ledger and every rate-limit key hold the keyed pseudonym, never the address or its plain hash', async () => {
    const ip = '198.51.100.201';
    const form = await (await ctx.app.request('/subscribe')).text();
    const formToken = /name="formToken" value="([^"]+)"/.exec(form)![1]!;
    // Signup (consent evidence + per-IP limit) and a login attempt (per-IP and per-account limits).
    clock.advance(3_000); // past the form's time trap
    const signup = await ctx.app.request('/subscribe', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-test-client-ip': ip },
      body: new URLSearchParams({
        email: 'ip-proef@voorbeeld.test',
        topics: 'nieuwsbrief',
        locale: 'nl',
        consent: 'on',
        consentVersion: '2026-01',
        website: '',
        formToken,
      }),
    });
    expect(signup.status).toBe(200);
    await ctx.app.request('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test-client-ip': ip },
      body: JSON.stringify({ email: 'niemand@voorbeeld.test', password: 'fout wachtwoord' }),
    });
    const expected = ctx.deps.pseudonyms.ip(ip);
    const consent = await ctx.db.selectFrom('consent_events').select('ip_hash').execute();
    expect(consent.map((row) => row.ip_hash)).toEqual([expected]);
    const keys = (await ctx.db.selectFrom('rate_limits').select('key').execute()).map((row) => row.key);
    expect(keys).toContain(`signup:ip:${expected}`);
    const account = ctx.deps.pseudonyms.loginAccount('niemand@voorbeeld.test');
    expect(keys).toContain(`login:ip:${expected}`);
    expect(keys).toContain(`login:account-ip:${account}:${expected}`);
    const throttles = await ctx.db.selectFrom('login_throttles').select('account_key').execute();
    expect(throttles.map((row) => row.account_key)).toEqual([account]);
    const stored = JSON.stringify({ consent, keys, throttles });
    for (const plain of [ip, sha256(ip), sha256(`ip:${ip}`).slice(0, 32), sha256('niemand@voorbeeld.test')]) {
      expect(stored).not.toContain(plain);
    }
  });
});
