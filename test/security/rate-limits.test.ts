import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SENDS_PER_HOUR } from '../../src/domain/edition-preview.js';
import { deleteExpiredLoginState, LOGIN_LIMITS } from '../../src/domain/login-throttle.js';
import { SIGNUP_IP_LIMIT } from '../../src/web/public/signup.js';
import { createTestContext, json, TEST_PASSWORD, TestClock, type TestContext } from '../helpers/context.js';
import { editionInput } from '../helpers/editions.js';
import { installChangeLog, lastChangeId, unexpectedChangesSince } from './harness.js';

/**
 * Rate limits on the doors that can be hammered: login (per IP, per account and IP, and a
 * per-account slow-down that the owner's familiar addresses skip; JSON and form),
 * signup (per IP), test sends and test emails (per user) and new confirmation links (per IP).
 * A refused attempt answers 429 with Retry-After and does nothing, even with valid input; the
 * window passes and the door opens again.
 */
let ctx: TestContext;
const clock = new TestClock();
beforeAll(async () => {
  ctx = await createTestContext({ clock });
  await installChangeLog(ctx.db);
});
afterAll(() => ctx.close());

const from = (ip: string) => ({ 'x-test-client-ip': ip });

const login = (email: string, password: string, ip: string) =>
  ctx.app.request('/api/v1/auth/login', json({ email, password }, from(ip)));

/** The slow-down state of an account. */
const throttle = (email: string) =>
  ctx.db
    .selectFrom('login_throttles')
    .select(['failures', 'next_attempt_at'])
    .where('account_key', '=', ctx.deps.pseudonyms.loginAccount(email))
    .executeTakeFirst();

/** Sends `count` requests; returns their statuses. */
async function hammer(count: number, send: (n: number) => Response | Promise<Response>): Promise<number[]> {
  const statuses: number[] = [];
  for (let n = 0; n < count; n++) statuses.push((await send(n)).status);
  return statuses;
}

async function expectLimited(res: Response, before: string) {
  expect(res.status).toBe(429);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(await unexpectedChangesSince(ctx.db, before)).toEqual([]);
}

describe('rate limits', () => {
  it('login: 30 attempts per IP whatever the accounts, then not even a right password gets a session', async () => {
    await ctx.userWithToken('editor', 'ip-limiet@voorbeeld.test');
    const statuses = await hammer(30, (n) =>
      ctx.app.request(
        '/api/v1/auth/login',
        json({ email: `geraden-${n}@voorbeeld.test`, password: 'fout wachtwoord' }, from('10.9.0.1')),
      ),
    );
    expect(statuses.every((status) => status === 401)).toBe(true);
    const before = await lastChangeId(ctx.db);
    const right = await ctx.app.request(
      '/api/v1/auth/login',
      json({ email: 'ip-limiet@voorbeeld.test', password: TEST_PASSWORD }, from('10.9.0.1')),
    );
    await expectLimited(right, before);
    expect(right.headers.get('set-cookie')).toBeNull();
    // Another address is not held back by it.
    const other = await ctx.app.request(
      '/api/v1/auth/login',
      json({ email: 'ip-limiet@voorbeeld.test', password: TEST_PASSWORD }, from('10.9.0.2')),
    );
    expect(other.status).toBe(200);
  }, 120_000);

  it('login: ten failures from one address hold back that address, not the owner elsewhere', async () => {
    await ctx.userWithToken('editor', 'eigenaar@voorbeeld.test');
    const attempt = (password: string, ip: string) => login('eigenaar@voorbeeld.test', password, ip);
    const statuses = await hammer(10, () => attempt('fout wachtwoord', '10.8.0.1'));
    expect(statuses.every((status) => status === 401)).toBe(true);
    const before = await lastChangeId(ctx.db);
    // The attacker's address is limited, even with the right password …
    await expectLimited(await attempt('nog een gok', '10.8.0.1'), before);
    await expectLimited(await attempt(TEST_PASSWORD, '10.8.0.1'), before);
    // … the owner, from an address never used before, is not.
    expect((await attempt(TEST_PASSWORD, '10.8.5.5')).status).toBe(200);
    // After the window the first address may try again.
    clock.advance(16 * 60 * 1000);
    expect((await attempt(TEST_PASSWORD, '10.8.0.1')).status).toBe(200);
  });

  it('login form: the attacker’s address gets a Dutch page with the wait, the owner a session', async () => {
    await ctx.userWithToken('editor', 'formulier-limiet@voorbeeld.test');
    const attempt = async (password: string, ip: string) => {
      const page = await ctx.app.request('/admin/login');
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
      return ctx.app.request('/admin/login', {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          cookie: page.headers.get('set-cookie')!.split(';')[0]!,
          ...from(ip),
        },
        body: new URLSearchParams({
          email: 'formulier-limiet@voorbeeld.test',
          password,
          _csrf: csrf,
        }).toString(),
      });
    };
    const statuses = await hammer(10, () => attempt('fout wachtwoord', '10.8.1.1'));
    expect(statuses.every((status) => status === 401)).toBe(true);
    const before = await lastChangeId(ctx.db);
    const limited = await attempt(TEST_PASSWORD, '10.8.1.1');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toMatch(/^text\/html/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.text()).toMatch(
      /Te veel pogingen\. Probeer het over \d+ (seconden|minuten) opnieuw\./,
    );
    expect(limited.headers.get('set-cookie') ?? '').not.toMatch(/tp_session=[^;]/);
    expect(await unexpectedChangesSince(ctx.db, before)).toEqual([]);
    expect((await attempt(TEST_PASSWORD, '10.8.1.2')).status).toBe(303);
  });

  it('login: an attacker rotating addresses is slowed down per account; the owner’s own address is not', async () => {
    const email = 'gewild-doelwit@voorbeeld.test';
    await ctx.userWithToken('editor', email);
    // The owner has logged in from home before.
    expect((await login(email, TEST_PASSWORD, '10.5.0.1')).status).toBe(200);
    let ip = 0;
    const elsewhere = () => `10.4.${Math.floor(ip / 250)}.${(ip++ % 250) + 1}`;

    const free = await hammer(LOGIN_LIMITS.freeFailures, () => login(email, 'fout wachtwoord', elsewhere()));
    expect(free.every((status) => status === 401)).toBe(true);

    // From here each failure makes unfamiliar addresses wait, doubling up to a minute. A refused
    // attempt is not checked, does not count and does not lengthen the wait.
    const waits: number[] = [];
    for (let round = 0; round < 8; round++) {
      const before = await lastChangeId(ctx.db);
      const refused = await hammer(2, () => login(email, 'fout wachtwoord', elsewhere()));
      expect(refused).toEqual([429, 429]);
      expect(await unexpectedChangesSince(ctx.db, before)).toEqual([]);
      const res = await login(email, 'fout wachtwoord', elsewhere());
      const wait = Number(res.headers.get('retry-after'));
      waits.push(wait);
      clock.advance(wait * 1000 - 1);
      expect((await login(email, 'fout wachtwoord', elsewhere())).status).toBe(429);
      clock.advance(1);
      expect((await login(email, 'fout wachtwoord', elsewhere())).status).toBe(401);
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 60, 60]);
    expect(await throttle(email)).toMatchObject({ failures: LOGIN_LIMITS.freeFailures + 8 });

    // The owner from a new address waits at most a minute …
    const newPlace = await login(email, TEST_PASSWORD, '10.5.9.9');
    expect(newPlace.status).toBe(429);
    expect(Number(newPlace.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    // … and from a familiar one not at all; the login ends the slow-down.
    expect((await login(email, TEST_PASSWORD, '10.5.0.1')).status).toBe(200);
    expect(await throttle(email)).toBeUndefined();
    expect((await login(email, 'fout wachtwoord', elsewhere())).status).toBe(401);

    // A slowed-down owner at a new address gets in once the wait has passed.
    await hammer(LOGIN_LIMITS.freeFailures, () => login(email, 'fout wachtwoord', elsewhere()));
    const waiting = await login(email, TEST_PASSWORD, '10.5.8.8');
    expect(waiting.status).toBe(429);
    clock.advance(Number(waiting.headers.get('retry-after')) * 1000);
    expect((await login(email, TEST_PASSWORD, '10.5.8.8')).status).toBe(200);
  }, 180_000);

  it('login: the slow-down is forgotten after an hour without failures, and applies to unknown accounts too', async () => {
    const email = 'bestaat-niet@voorbeeld.test';
    let ip = 0;
    const elsewhere = () => `10.3.0.${++ip}`;
    await hammer(LOGIN_LIMITS.freeFailures, () => login(email, 'fout wachtwoord', elsewhere()));
    // No account behind the address, the same answers: nothing to learn about which exist.
    expect((await login(email, 'fout wachtwoord', elsewhere())).status).toBe(429);
    clock.advance(LOGIN_LIMITS.failureMemoryMs + 1000);
    expect((await login(email, 'fout wachtwoord', elsewhere())).status).toBe(401);
    expect(await throttle(email)).toMatchObject({ failures: 1 });
  }, 120_000);

  it('login: a success resets the count of its account and address', async () => {
    const email = 'typefouten@voorbeeld.test';
    await ctx.userWithToken('editor', email);
    for (let round = 0; round < 2; round++) {
      const typos = await hammer(LOGIN_LIMITS.perAccountAndAddress.limit - 1, () =>
        login(email, 'fout wachtwoord', '10.2.0.1'),
      );
      expect(typos.every((status) => status === 401)).toBe(true);
      // Without the reset the second round's attempts would pass the limit of 10 in 15 minutes.
      expect((await login(email, TEST_PASSWORD, '10.2.0.1')).status).toBe(200);
    }
    expect(await throttle(email)).toBeUndefined();
  }, 120_000);

  it('login: the hourly cleanup drops forgotten counts and addresses not used for 90 days', async () => {
    const email = 'opruimen@voorbeeld.test';
    await ctx.userWithToken('editor', email);
    expect((await login(email, TEST_PASSWORD, '10.1.0.1')).status).toBe(200);
    expect((await login(email, 'fout wachtwoord', '10.1.0.2')).status).toBe(401);
    const known = () =>
      ctx.db
        .selectFrom('login_known_addresses')
        .select('address_key')
        .where('account_key', '=', ctx.deps.pseudonyms.loginAccount(email))
        .execute();
    await deleteExpiredLoginState(ctx.db, clock);
    expect(await known()).toHaveLength(1);
    expect(await throttle(email)).toBeDefined();
    clock.advance(LOGIN_LIMITS.failureMemoryMs + 1000);
    await deleteExpiredLoginState(ctx.db, clock);
    expect(await throttle(email)).toBeUndefined();
    expect(await known()).toHaveLength(1);
    clock.advance(LOGIN_LIMITS.knownAddressMs);
    await deleteExpiredLoginState(ctx.db, clock);
    expect(await known()).toEqual([]);
  });

  it('signup: per IP, and a refused signup records nothing even when it is valid', async () => {
    const page = await (await ctx.app.request('/subscribe')).text();
    const consentVersion = /name="consentVersion" value="([^"]+)"/.exec(page)![1]!;
    const signup = (n: number, ip: string) =>
      ctx.app.request(
        '/subscribe',
        json(
          {
            email: `aanmelder-${n}@voorbeeld.test`,
            topics: ['nieuwsbrief'],
            consent: true,
            consentVersion,
            formToken: ctx.deps.linkTokens.issue(
              { p: 'form' },
              3600,
              new Date(clock.now().getTime() - 60_000),
            ),
          },
          from(ip),
        ),
      );
    const statuses = await hammer(SIGNUP_IP_LIMIT.limit, (n) => signup(n, '10.7.0.1'));
    expect(statuses.every((status) => status === 202)).toBe(true);
    const before = await lastChangeId(ctx.db);
    await expectLimited(await signup(999, '10.7.0.1'), before);
    expect(
      await ctx.db
        .selectFrom('subscribers')
        .select('id')
        .where('email', '=', 'aanmelder-999@voorbeeld.test')
        .execute(),
    ).toEqual([]);
    expect((await signup(998, '10.7.0.2')).status).toBe(202);
  });

  it('test sends of an edition: per user per hour, and a refused one queues no email', async () => {
    const editor = await ctx.userWithToken('editor');
    const { id } = await (
      await ctx.app.request('/api/v1/editions', json(editionInput(), editor.headers))
    ).json();
    const send = () =>
      ctx.app.request(
        `/api/v1/editions/${id}/test-send`,
        json({ to: ['proef@voorbeeld.test'] }, editor.headers),
      );
    const statuses = await hammer(TEST_SENDS_PER_HOUR, send);
    expect(statuses.every((status) => status === 202)).toBe(true);
    const before = await lastChangeId(ctx.db);
    await expectLimited(await send(), before);
    // Another editor has a budget of their own; the hour passes for the first.
    const other = await ctx.userWithToken('editor');
    expect(
      (
        await ctx.app.request(
          `/api/v1/editions/${id}/test-send`,
          json({ to: ['proef@voorbeeld.test'] }, other.headers),
        )
      ).status,
    ).toBe(202);
    clock.advance(61 * 60 * 1000);
    expect((await send()).status).toBe(202);
  });

  it('test emails of the system check: per user per hour', async () => {
    const admin = await ctx.userWithToken('admin');
    const send = () =>
      ctx.app.request('/api/v1/system/test-email', json({ to: 'proef@voorbeeld.test' }, admin.headers));
    const statuses = await hammer(10, send);
    expect(statuses.every((status) => status === 202)).toBe(true);
    const before = await lastChangeId(ctx.db);
    await expectLimited(await send(), before);
  });

  it('new confirmation links: per IP', async () => {
    const pending = await ctx.db
      .insertInto('subscribers')
      .values({ email: 'opnieuw@voorbeeld.test', status: 'pending', source: 'form' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const expired = ctx.deps.linkTokens.issue(
      { p: 'confirm', s: pending.id },
      60,
      new Date(clock.now().getTime() - 3600_000),
    );
    const resend = () =>
      ctx.app.request(`/confirm/${expired}/resend`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...from('10.6.0.1') },
        body: '',
      });
    const statuses = await hammer(10, resend);
    expect(statuses.every((status) => status === 200)).toBe(true);
    const before = await lastChangeId(ctx.db);
    await expectLimited(await resend(), before);
  });
});
