import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SENDS_PER_HOUR } from '../../src/domain/edition-preview.js';
import { SIGNUP_IP_LIMIT } from '../../src/web/public/signup.js';
import { createTestContext, json, TEST_PASSWORD, TestClock, type TestContext } from '../helpers/context.js';
import { editionInput } from '../helpers/editions.js';
import { installChangeLog, lastChangeId, unexpectedChangesSince } from './harness.js';

/**
 * Rate limits on the doors that can be hammered: login (per IP and per account, JSON and form),
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
  });

  it('login form: the account limit holds across addresses and answers with a page, not a session', async () => {
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
    const statuses = await hammer(10, (n) => attempt('fout wachtwoord', `10.8.0.${n}`));
    expect(statuses.every((status) => status === 401)).toBe(true);
    const before = await lastChangeId(ctx.db);
    const limited = await attempt(TEST_PASSWORD, '10.8.1.1');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toMatch(/^text\/html/);
    expect(limited.headers.get('set-cookie') ?? '').not.toMatch(/tp_session=[^;]/);
    expect(await unexpectedChangesSince(ctx.db, before)).toEqual([]);
    clock.advance(16 * 60 * 1000);
    expect((await attempt(TEST_PASSWORD, '10.8.1.1')).status).toBe(303);
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
