import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken, issueSetupToken, SESSION_TTL_MS } from '../../src/domain/auth.js';
import { createUser } from '../../src/domain/users.js';
import { type LinkPurpose, LinkTokens } from '../../src/providers/link-tokens.js';
import { createTestContext, json, TEST_PASSWORD, TestClock, type TestContext } from '../helpers/context.js';
import { installChangeLog, lastChangeId, openSession, unexpectedChangesSince } from './harness.js';

/**
 * Forged, truncated, expired and replayed credentials of every kind: the personal links in
 * emails, the first-run setup link, API tokens and browser sessions. A refused one changes nothing.
 */
let ctx: TestContext;
const clock = new TestClock();
beforeAll(async () => {
  ctx = await createTestContext({ clock });
  await installChangeLog(ctx.db);
});
afterAll(() => ctx.close());

let counter = 0;
async function subscriber(status: 'pending' | 'active') {
  const row = await ctx.db
    .insertInto('subscribers')
    .values({
      email: `persoon-${++counter}@voorbeeld.test`,
      status,
      source: 'form',
      confirmed_at: status === 'active' ? clock.now() : null,
    })
    .returning(['id'])
    .executeTakeFirstOrThrow();
  await ctx.db
    .insertInto('subscriptions')
    .columns(['subscriber_id', 'topic_id'])
    .expression((eb) =>
      eb
        .selectFrom('topics')
        .select([eb.val(row.id).as('subscriber_id'), 'id'])
        .where('slug', '=', 'nieuwsbrief'),
    )
    .execute();
  return row.id;
}

const statusOf = async (id: string) =>
  (await ctx.db.selectFrom('subscribers').select('status').where('id', '=', id).executeTakeFirstOrThrow())
    .status;

const form = (fields: Record<string, string | string[]> = {}): RequestInit => {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields))
    for (const item of Array.isArray(value) ? value : [value]) body.append(name, item);
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: body.toString(),
  };
};

/** Every way to spoil a genuine token: each must be refused. */
function spoiled(
  token: string,
  purpose: LinkPurpose,
  subscriberId: string,
  otherId: string,
): [string, string][] {
  const [kid, body, signature] = token.split('.') as [string, string, string];
  const otherBody = Buffer.from(
    JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), s: otherId }),
  ).toString('base64url');
  const foreign = new LinkTokens(['een-ander-geheim-dat-lang-genoeg-is-voor-hmac-x'], clock);
  const flipped = signature[5] === 'A' ? 'B' : 'A';
  const other: LinkPurpose = purpose === 'unsubscribe' ? 'preferences' : 'unsubscribe';
  return [
    ['signed with another secret', foreign.issue({ p: purpose, s: subscriberId })],
    ['payload of another subscriber under the original signature', `${kid}.${otherBody}.${signature}`],
    [
      'one character of the signature changed',
      `${kid}.${body}.${signature.slice(0, 5)}${flipped}${signature.slice(6)}`,
    ],
    ['signature cut by one character', token.slice(0, -1)],
    ['signature missing', `${kid}.${body}.`],
    ['only key id and payload', `${kid}.${body}`],
    ['cut in the payload', token.slice(0, kid.length + 8)],
    ['another key id', `zzzzzz.${body}.${signature}`],
    ['a token for another purpose', ctx.deps.linkTokens.issue({ p: other, s: subscriberId })],
    ['the signup form token', ctx.deps.linkTokens.issue({ p: 'form' })],
    ['extra characters appended', `${token}x`],
    ['no token at all', 'x'],
  ];
}

describe('personal link tokens (confirm, unsubscribe, preferences)', () => {
  const cases: {
    purpose: LinkPurpose;
    path: string;
    status: 'pending' | 'active';
    fields: Record<string, string>;
  }[] = [
    { purpose: 'confirm', path: '/confirm', status: 'pending', fields: {} },
    {
      purpose: 'unsubscribe',
      path: '/unsubscribe',
      status: 'active',
      fields: { 'List-Unsubscribe': 'One-Click' },
    },
    { purpose: 'preferences', path: '/preferences', status: 'active', fields: { unsubscribeAll: 'on' } },
  ];

  for (const { purpose, path, status, fields } of cases) {
    it(`${path}: refuses forged, truncated and mixed-up tokens with 400 and changes nothing`, async () => {
      const id = await subscriber(status);
      const other = await subscriber(status);
      const genuine = ctx.deps.linkTokens.issue({ p: purpose, s: id });
      for (const [what, token] of spoiled(genuine, purpose, id, other)) {
        const before = await lastChangeId(ctx.db);
        const post = await ctx.app.request(`${path}/${encodeURIComponent(token)}`, form(fields));
        expect(post.status, what).toBe(400);
        expect(await unexpectedChangesSince(ctx.db, before), what).toEqual([]);
        expect((await ctx.app.request(`${path}/${encodeURIComponent(token)}`)).status, what).toBe(400);
      }
      expect(await statusOf(id)).toBe(status);
      expect(await statusOf(other)).toBe(status);
      // The genuine token works (so the refusals above were the token's).
      expect((await ctx.app.request(`${path}/${genuine}`, form(fields))).status).toBe(200);
      expect(await statusOf(id)).toBe(purpose === 'confirm' ? 'active' : 'unsubscribed');
    });
  }

  it('GET on any personal link changes nothing (link scanners follow them)', async () => {
    const pending = await subscriber('pending');
    const active = await subscriber('active');
    const before = await lastChangeId(ctx.db);
    for (const url of [
      `/confirm/${ctx.deps.linkTokens.issue({ p: 'confirm', s: pending })}`,
      `/unsubscribe/${ctx.deps.linkTokens.issue({ p: 'unsubscribe', s: active })}`,
      `/preferences/${ctx.deps.linkTokens.issue({ p: 'preferences', s: active })}`,
    ]) {
      expect((await ctx.app.request(url)).status, url).toBe(200);
      expect((await ctx.app.request(url, { method: 'HEAD' })).status, url).toBe(200);
    }
    expect(await unexpectedChangesSince(ctx.db, before)).toEqual([]);
  });

  it('an expired confirm link confirms nothing (410 with a way to get a new one)', async () => {
    const id = await subscriber('pending');
    const token = ctx.deps.linkTokens.issue(
      { p: 'confirm', s: id },
      3600,
      new Date(clock.now().getTime() - 7200_000),
    );
    const before = await lastChangeId(ctx.db);
    const res = await ctx.app.request(`/confirm/${token}`, form());
    expect(res.status).toBe(410);
    expect(await unexpectedChangesSince(ctx.db, before)).toEqual([]);
    expect(await statusOf(id)).toBe('pending');
  });

  it('replays: a confirm link used twice confirms once; an old confirm link never resubscribes someone who left', async () => {
    const id = await subscriber('pending');
    const confirm = `/confirm/${ctx.deps.linkTokens.issue({ p: 'confirm', s: id })}`;
    expect((await ctx.app.request(confirm, form())).status).toBe(200);
    const afterFirst = await lastChangeId(ctx.db);
    expect((await ctx.app.request(confirm, form())).status).toBe(200);
    expect(await unexpectedChangesSince(ctx.db, afterFirst)).toEqual([]);

    const unsubscribe = `/unsubscribe/${ctx.deps.linkTokens.issue({ p: 'unsubscribe', s: id })}`;
    expect((await ctx.app.request(unsubscribe, form({ 'List-Unsubscribe': 'One-Click' }))).status).toBe(200);
    expect(await statusOf(id)).toBe('unsubscribed');
    const afterLeaving = await lastChangeId(ctx.db);
    // The same one-click again, the old confirm link, and the preference centre choosing topics.
    expect((await ctx.app.request(unsubscribe, form({ 'List-Unsubscribe': 'One-Click' }))).status).toBe(200);
    await ctx.app.request(confirm, form());
    const preferences = `/preferences/${ctx.deps.linkTokens.issue({ p: 'preferences', s: id })}`;
    await ctx.app.request(preferences, form({ topics: 'nieuwsbrief', locale: 'nl' }));
    expect(await unexpectedChangesSince(ctx.db, afterLeaving)).toEqual([]);
    expect(await statusOf(id)).toBe('unsubscribed');
  });

  it('a link of an erased subscriber finds nothing and changes nothing', async () => {
    const id = await subscriber('active');
    const token = ctx.deps.linkTokens.issue({ p: 'unsubscribe', s: id });
    const admin = await ctx.userWithToken('editor');
    expect(
      (await ctx.app.request(`/api/v1/subscribers/${id}`, { method: 'DELETE', headers: admin.headers }))
        .status,
    ).toBe(204);
    const before = await lastChangeId(ctx.db);
    const res = await ctx.app.request(`/unsubscribe/${token}`, form({ 'List-Unsubscribe': 'One-Click' }));
    expect(res.status).toBe(200);
    expect(await unexpectedChangesSince(ctx.db, before)).toEqual([]);
  });
});

describe('the first-run setup link', () => {
  it('refuses forged, truncated and altered setup tokens, and a used one', async () => {
    const fresh = await createTestContext({ clock });
    try {
      const setup = (await issueSetupToken(fresh.db, clock))!;
      const post = (token: string) =>
        fresh.app.request(
          `/admin/setup/${encodeURIComponent(token)}`,
          form({ email: 'eerste@voorbeeld.test', password: TEST_PASSWORD }),
        );
      for (const token of [
        setup.token.slice(0, -1),
        setup.token.slice(1),
        setup.token.toUpperCase(),
        `${setup.token}x`,
        'a'.repeat(setup.token.length),
        '',
      ]) {
        expect((await post(token)).status, token).toBeOneOf([401, 404, 410]);
      }
      expect(await fresh.db.selectFrom('users').select('id').execute()).toEqual([]);
      expect((await post(setup.token)).status).toBe(303);
      // Replayed after use (even by someone who copied the link): gone.
      const replay = await fresh.app.request(
        `/admin/setup/${setup.token}`,
        form({ email: 'indringer@voorbeeld.test', password: TEST_PASSWORD }),
      );
      expect(replay.status).toBe(410);
      const users = await fresh.db.selectFrom('users').select('email').execute();
      expect(users).toEqual([{ email: 'eerste@voorbeeld.test' }]);
    } finally {
      await fresh.close();
    }
  });
});

describe('API tokens', () => {
  it('refuses forged, truncated, expired, revoked and disabled-user tokens with 401, and changes nothing', async () => {
    const user = await createUser(ctx.db, {
      email: 'tokenhouder@voorbeeld.test',
      role: 'admin',
      password: TEST_PASSWORD,
    });
    const live = await createApiToken(ctx.db, user, { name: 'live' });
    const expiring = await createApiToken(ctx.db, user, {
      name: 'kort',
      expiresAt: new Date(clock.now().getTime() + 60_000),
    });
    const revoked = await createApiToken(ctx.db, user, { name: 'ingetrokken' });
    await ctx.db
      .updateTable('api_tokens')
      .set({ revoked_at: clock.now() })
      .where('id', '=', revoked.id)
      .execute();
    clock.advance(61_000);

    const attempts: [string, string][] = [
      ['truncated', `Bearer ${live.token.slice(0, -1)}`],
      ['cut to its prefix', `Bearer ${live.prefix}`],
      ['one character changed', `Bearer ${live.token.slice(0, -1)}${live.token.endsWith('a') ? 'b' : 'a'}`],
      ['without its tp_ prefix', `Bearer ${live.token.slice(3)}`],
      ['forged', 'Bearer tp_vervalst-maar-lang-genoeg-om-echt-te-lijken-0000000000'],
      ['expired', `Bearer ${expiring.token}`],
      ['revoked', `Bearer ${revoked.token}`],
      ['two tokens', `Bearer ${live.token} ${live.token}`],
      ['another scheme', `Token ${live.token}`],
    ];
    const before = await lastChangeId(ctx.db);
    for (const [what, authorization] of attempts) {
      const res = await ctx.app.request(
        '/api/v1/tokens',
        json({ name: 'via vervalst token' }, { authorization }),
      );
      expect(res.status, what).toBe(401);
    }
    expect(await unexpectedChangesSince(ctx.db, before)).toEqual([]);
    expect(
      (await ctx.app.request('/api/v1/auth/me', { headers: { authorization: `Bearer ${live.token}` } }))
        .status,
    ).toBe(200);

    await ctx.db.updateTable('users').set({ disabled_at: clock.now() }).where('id', '=', user.id).execute();
    expect(
      (await ctx.app.request('/api/v1/auth/me', { headers: { authorization: `Bearer ${live.token}` } }))
        .status,
    ).toBe(401);
  });
});

describe('browser sessions', () => {
  it('refuses forged, truncated, expired and logged-out sessions, and gives a fresh session at login', async () => {
    const { userId } = await ctx.userWithToken('admin', 'sessiehouder@voorbeeld.test');
    const session = await openSession(ctx.db, clock, userId);
    const token = session.cookie.split('=')[1]!;
    const me = (cookie: string) => ctx.app.request('/api/v1/auth/me', { headers: { cookie } });
    for (const cookie of [
      `tp_session=${token.slice(0, -1)}`,
      `tp_session=${token}x`,
      `tp_session=${token.toUpperCase()}`,
      'tp_session=',
      `tp_session=${'A'.repeat(token.length)}`,
    ]) {
      expect((await me(cookie)).status, cookie).toBe(401);
    }
    expect((await me(session.cookie)).status).toBe(200);

    // A session of 12 hours ends after 12 hours, whatever its owner does.
    clock.advance(SESSION_TTL_MS + 1000);
    expect((await me(session.cookie)).status).toBe(401);

    // Replaying the cookie of a session that logged out.
    const second = await openSession(ctx.db, clock, userId);
    const out = await ctx.app.request('/api/v1/auth/logout', {
      method: 'POST',
      headers: { cookie: second.cookie, 'x-csrf-token': second.csrfToken },
    });
    expect(out.status).toBe(204);
    expect((await me(second.cookie)).status).toBe(401);

    // Session fixation: a session id planted before login is never the one a login hands out.
    const planted = 'tp_session=geplant-door-iemand-anders';
    const login = await ctx.app.request(
      '/api/v1/auth/login',
      json({ email: 'sessiehouder@voorbeeld.test', password: TEST_PASSWORD }, { cookie: planted }),
    );
    expect(login.status).toBe(200);
    const issued = /tp_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
    expect(issued).toBeDefined();
    expect(issued).not.toBe('geplant-door-iemand-anders');
    expect((await me(planted)).status).toBe(401);
  });
});
