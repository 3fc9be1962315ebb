import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/db/schema.js';
import { issueSetupToken } from '../../src/domain/auth.js';
import { createTestContext, json, TEST_PASSWORD, TestClock, type TestContext } from '../helpers/context.js';
import {
  type BrowserSession,
  fillPattern,
  type OpenApiDocument,
  openSession,
  routeCatalogue,
} from '../security/harness.js';

let ctx: TestContext;
const clock = new TestClock();
beforeAll(async () => {
  ctx = await createTestContext({ clock });
});
afterAll(() => ctx.close());

const ROLES: Role[] = ['viewer', 'editor', 'admin'];
const RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 };

/** Fills path parameters with an id that exists nowhere, so a passing auth check ends in 404/422, not a change. */
function concretePath(path: string): string {
  return path.replace(/\{[^}]+\}/g, '999999');
}

describe('role × route matrix (every route from the OpenAPI document)', async () => {
  it('checks every protected route for anonymous callers and every role', async () => {
    const doc = await (await ctx.app.request('/api/v1/openapi.json')).json();
    const tokens = Object.fromEntries(
      await Promise.all(ROLES.map(async (role) => [role, (await ctx.userWithToken(role)).headers] as const)),
    ) as Record<Role, Record<string, string>>;
    let checked = 0;
    for (const [path, operations] of Object.entries(
      doc.paths as Record<string, Record<string, { 'x-required-role': string }>>,
    )) {
      for (const [method, operation] of Object.entries(operations)) {
        const required = operation['x-required-role'];
        expect(required, `${method} ${path} declares its role`).toBeDefined();
        if (required === 'public') continue;
        const url = concretePath(path);
        const init = (headers: Record<string, string>) =>
          method === 'get' || method === 'delete'
            ? { method: method.toUpperCase(), headers }
            : {
                method: method.toUpperCase(),
                headers: { ...headers, 'content-type': 'application/json' },
                body: '{}',
              };

        const anonymous = await ctx.app.request(url, init({}));
        expect(anonymous.status, `anonymous ${method} ${path}`).toBe(401);
        expect(anonymous.headers.get('content-type')).toBe('application/problem+json');

        for (const role of ROLES) {
          const res = await ctx.app.request(url, init(tokens[role]));
          const allowed = RANK[role] >= RANK[required as Role];
          if (allowed) expect([401, 403], `${role} ${method} ${path}`).not.toContain(res.status);
          else expect(res.status, `${role} ${method} ${path}`).toBe(403);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(5);
  });
});

describe('API tokens', () => {
  it('rejects unknown, revoked and malformed tokens with 401', async () => {
    const admin = await ctx.userWithToken('admin');
    const created = await ctx.app.request(
      '/api/v1/tokens',
      json({ name: 'ci', role: 'viewer' }, admin.headers),
    );
    expect(created.status).toBe(201);
    const { id, token } = await created.json();
    expect(
      (await ctx.app.request('/api/v1/auth/me', { headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(200);

    const revoke = await ctx.app.request(`/api/v1/tokens/${id}`, {
      method: 'DELETE',
      headers: admin.headers,
    });
    expect(revoke.status).toBe(204);
    for (const value of [
      `Bearer ${token}`,
      'Bearer tp_forged',
      'Bearer',
      'Basic abc',
      `Bearer ${token.slice(0, -1)}`,
    ]) {
      const res = await ctx.app.request('/api/v1/auth/me', { headers: { authorization: value } });
      expect(res.status, value).toBe(401);
    }
  });

  it('stores only a hash and never lists the secret', async () => {
    const admin = await ctx.userWithToken('admin');
    const { token } = await (
      await ctx.app.request('/api/v1/tokens', json({ name: 'hash check' }, admin.headers))
    ).json();
    const rows = await ctx.db.selectFrom('api_tokens').select(['token_hash']).execute();
    expect(rows.some((row) => row.token_hash === token)).toBe(false);
    const list = await (await ctx.app.request('/api/v1/tokens', { headers: admin.headers })).text();
    expect(list).not.toContain(token);
  });

  it('never gives a token a higher role than its user, even after the user is demoted', async () => {
    const admin = await ctx.userWithToken('admin');
    const editor = await ctx.userWithToken('editor');
    const tooHigh = await ctx.app.request(
      '/api/v1/tokens',
      json({ name: 'x', role: 'admin', userId: editor.userId }, admin.headers),
    );
    expect(tooHigh.status).toBe(422);

    const demote = await ctx.app.request(
      `/api/v1/users/${editor.userId}`,
      json({ role: 'viewer' }, admin.headers, 'PATCH'),
    );
    expect(demote.status).toBe(200);
    const me = await (await ctx.app.request('/api/v1/auth/me', { headers: editor.headers })).json();
    expect(me.role).toBe('viewer');
    const write = await ctx.app.request(
      '/api/v1/system/test-email',
      json({ to: 'a@voorbeeld.test' }, editor.headers),
    );
    expect(write.status).toBe(403);
  });

  it('records who created a token in the audit log', async () => {
    const admin = await ctx.userWithToken('admin');
    const { id } = await (
      await ctx.app.request('/api/v1/tokens', json({ name: 'audited' }, admin.headers))
    ).json();
    const entry = await ctx.db
      .selectFrom('audit_log')
      .selectAll()
      .where('target', '=', `token:${id}`)
      .executeTakeFirstOrThrow();
    expect(entry.action).toBe('token.create');
    expect(entry.actor_user_id).toBe(admin.userId);
  });
});

describe('sessions, login and CSRF', () => {
  async function loginCookie(email: string) {
    const res = await ctx.app.request('/api/v1/auth/login', json({ email, password: TEST_PASSWORD }));
    expect(res.status).toBe(200);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/tp_session=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    const { csrfToken } = await res.json();
    return { cookie: cookie.split(';')[0]!, csrfToken: csrfToken as string };
  }

  it('logs in, acts with the session and the CSRF token, and refuses changes without it', async () => {
    await ctx.userWithToken('admin', 'sessie-admin@voorbeeld.test');
    const { cookie, csrfToken } = await loginCookie('Sessie-Admin@voorbeeld.test');
    const me = await ctx.app.request('/api/v1/auth/me', { headers: { cookie } });
    expect(me.status).toBe(200);
    expect((await me.json()).via).toBe('session');

    const withoutCsrf = await ctx.app.request('/api/v1/tokens', json({ name: 'x' }, { cookie }));
    expect(withoutCsrf.status).toBe(403);
    const wrongCsrf = await ctx.app.request(
      '/api/v1/tokens',
      json({ name: 'x' }, { cookie, 'x-csrf-token': 'nope' }),
    );
    expect(wrongCsrf.status).toBe(403);
    const withCsrf = await ctx.app.request(
      '/api/v1/tokens',
      json({ name: 'x' }, { cookie, 'x-csrf-token': csrfToken }),
    );
    expect(withCsrf.status).toBe(201);

    const logout = await ctx.app.request('/api/v1/auth/logout', {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrfToken },
    });
    expect(logout.status).toBe(204);
    expect((await ctx.app.request('/api/v1/auth/me', { headers: { cookie } })).status).toBe(401);
  });

  it('gives the same answer for an unknown user and a wrong password', async () => {
    await ctx.userWithToken('viewer', 'bekend@voorbeeld.test');
    const wrong = await ctx.app.request(
      '/api/v1/auth/login',
      json({ email: 'bekend@voorbeeld.test', password: 'wrong password!' }),
    );
    const unknown = await ctx.app.request(
      '/api/v1/auth/login',
      json({ email: 'onbekend@voorbeeld.test', password: 'wrong password!' }),
    );
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect((await wrong.json()).detail).toBe((await unknown.json()).detail);
  });

  it('rate-limits login attempts per account and address; the owner elsewhere still gets in', async () => {
    await ctx.userWithToken('viewer', 'geraden@voorbeeld.test');
    const attempt = (password: string, ip: string) =>
      ctx.app.request(
        '/api/v1/auth/login',
        json({ email: 'geraden@voorbeeld.test', password }, { 'x-test-client-ip': ip }),
      );
    const statuses = [];
    for (let i = 0; i < 12; i++) statuses.push((await attempt('wrong password!', '10.0.0.1')).status);
    expect(statuses).toEqual([...Array(10).fill(401), 429, 429]);
    const limited = await attempt(TEST_PASSWORD, '10.0.0.1');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await attempt(TEST_PASSWORD, '10.0.1.1')).status).toBe(200);
    clock.advance(16 * 60 * 1000);
    expect((await attempt(TEST_PASSWORD, '10.0.0.1')).status).toBe(200);
  });

  it('ends sessions of a disabled user', async () => {
    const admin = await ctx.userWithToken('admin');
    const target = await ctx.userWithToken('editor', 'wordt-uitgezet@voorbeeld.test');
    const { cookie } = await loginCookie('wordt-uitgezet@voorbeeld.test');
    await ctx.app.request(`/api/v1/users/${target.userId}`, json({ disabled: true }, admin.headers, 'PATCH'));
    expect((await ctx.app.request('/api/v1/auth/me', { headers: { cookie } })).status).toBe(401);
    expect((await ctx.app.request('/api/v1/auth/me', { headers: target.headers })).status).toBe(401);
  });

  it('does not let the last admin be demoted', async () => {
    const fresh = await createTestContext();
    try {
      const only = await fresh.userWithToken('admin');
      const res = await fresh.app.request(
        `/api/v1/users/${only.userId}`,
        json({ role: 'editor' }, only.headers, 'PATCH'),
      );
      expect(res.status).toBe(409);
    } finally {
      await fresh.close();
    }
  });
});

describe('admin pages', () => {
  it('redirects anonymous visitors to the login page', async () => {
    const res = await ctx.app.request('/admin');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/login');
  });

  it('logs in through the form with its CSRF token, and refuses a form without it', async () => {
    await ctx.userWithToken('editor', 'formulier@voorbeeld.test');
    const page = await ctx.app.request('/admin/login');
    const html = await page.text();
    expect(html).toContain('lang="nl"');
    expect(html).toContain('<label for="email">');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
    const csrfCookie = page.headers.get('set-cookie')!.split(';')[0]!;

    const form = (fields: Record<string, string>, cookie: string) =>
      ctx.app.request('/admin/login', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
        body: new URLSearchParams(fields).toString(),
      });
    const forged = await form(
      { email: 'formulier@voorbeeld.test', password: TEST_PASSWORD, _csrf: 'forged' },
      csrfCookie,
    );
    expect(forged.status).toBe(403);
    const ok = await form(
      { email: 'formulier@voorbeeld.test', password: TEST_PASSWORD, _csrf: csrf },
      csrfCookie,
    );
    expect(ok.status).toBe(303);
    const session = ok.headers.get('set-cookie')!.match(/tp_session=[^;]+/)![0];
    const dashboard = await ctx.app.request('/admin', { headers: { cookie: session } });
    expect(dashboard.status).toBe(200);
    expect(await dashboard.text()).toContain('Overzicht');
  });
});

describe('first-run setup link', () => {
  it('lets the first admin set up once, then the link is dead', async () => {
    const fresh = await createTestContext({ clock });
    try {
      const setup = await issueSetupToken(fresh.db, clock);
      expect(setup).not.toBeNull();
      const url = `/admin/setup/${setup!.token}`;
      expect((await fresh.app.request(url)).status).toBe(200);
      expect((await fresh.app.request('/admin/setup/forged-token')).status).toBe(410);

      const post = (fields: Record<string, string>) =>
        fresh.app.request(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(fields).toString(),
        });
      const weak = await post({ email: 'eerste@voorbeeld.test', password: 'kort' });
      expect(weak.status).toBe(422);
      expect(await fresh.db.selectFrom('users').select('id').execute()).toHaveLength(0);

      const ok = await post({
        email: 'eerste@voorbeeld.test',
        name: 'Eerste Beheerder',
        password: TEST_PASSWORD,
      });
      expect(ok.status).toBe(303);
      const users = await fresh.db.selectFrom('users').select(['email', 'role']).execute();
      expect(users).toEqual([{ email: 'eerste@voorbeeld.test', role: 'admin' }]);
      expect((await post({ email: 'tweede@voorbeeld.test', password: TEST_PASSWORD })).status).toBe(410);
      expect(await issueSetupToken(fresh.db, clock)).toBeNull();
    } finally {
      await fresh.close();
    }
  });

  it('expires after an hour', async () => {
    const fresh = await createTestContext({ clock });
    try {
      const setup = await issueSetupToken(fresh.db, clock);
      clock.advance(61 * 60 * 1000);
      expect((await fresh.app.request(`/admin/setup/${setup!.token}`)).status).toBe(410);
    } finally {
      await fresh.close();
    }
  });
});

describe('role × route matrix (every admin page from the app route table)', () => {
  /** The lowest role whose session gets past a page's access check, or null when none does. */
  async function lowestRole(
    sessions: Record<Role, () => Promise<BrowserSession>>,
    method: string,
    url: string,
  ): Promise<Role | null> {
    const allowed: Role[] = [];
    for (const role of ROLES) {
      const session = await sessions[role]();
      const res = await ctx.app.request(url, {
        method,
        headers: {
          cookie: session.cookie,
          ...(method === 'GET' ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        },
        ...(method === 'GET' ? {} : { body: new URLSearchParams({ _csrf: session.csrfToken }).toString() }),
      });
      expect(res.status, `${role} ${method} ${url}`).not.toBe(401);
      expect(res.headers.get('location') ?? '', `${role} ${method} ${url}`).not.toBe('/admin/login');
      if (res.status !== 403) allowed.push(role);
    }
    // Whatever a role may open, every higher role may open too.
    expect(allowed, `${method} ${url}`).toEqual(ROLES.slice(ROLES.length - allowed.length));
    return allowed[0] ?? null;
  }

  it('sends anonymous visitors to the login page, and never lets a lower role than the API allows in', async () => {
    const doc = (await (await ctx.app.request('/api/v1/openapi.json')).json()) as OpenApiDocument;
    // Logging out is for anyone with a session (and harmless without one): not a page with a role.
    const pages = routeCatalogue(ctx.app, doc).filter(
      (route) => route.protected && !route.operation && route.pattern !== '/admin/logout',
    );
    const users = Object.fromEntries(
      await Promise.all(ROLES.map(async (role) => [role, (await ctx.userWithToken(role)).userId] as const)),
    ) as Record<Role, string>;
    // A fresh session for every request: one of the pages is the logout.
    const sessions = Object.fromEntries(
      ROLES.map((role) => [role, () => openSession(ctx.db, clock, users[role])]),
    ) as Record<Role, () => Promise<BrowserSession>>;
    let compared = 0;
    for (const page of pages) {
      const url = fillPattern(
        page.pattern,
        page.params.map(() => '999999'),
      );
      const anonymous = await ctx.app.request(url, { method: page.method });
      if (page.method === 'GET') {
        expect(anonymous.status, `anonymous GET ${url}`).toBe(303);
        expect(anonymous.headers.get('location')).toBe('/admin/login');
      } else {
        expect([401, 403], `anonymous ${page.method} ${url}`).toContain(anonymous.status);
      }
      const lowest = await lowestRole(sessions, page.method, url);
      // Admin areas docs/site.md and docs/architecture.md name as admins only.
      if (/^\/(?:dev\/|admin\/linkedin)/.test(page.pattern)) expect(lowest, url).toBe('admin');
      // The API route of the same resource sets the floor for the page.
      const resource = /^\/admin\/([\w-]+)/.exec(page.pattern)?.[1];
      const api = resource
        ? (doc.paths[`/api/v1/${resource}`] ?? doc.paths[`/api/v1/linkedin/${resource}`])
        : undefined;
      const apiRole = api?.[page.method === 'GET' ? 'get' : 'post']?.['x-required-role'];
      if (apiRole && apiRole !== 'public' && lowest) {
        expect(RANK[lowest], `${page.method} ${url}: page ${lowest}, API ${apiRole}`).toBeGreaterThanOrEqual(
          RANK[apiRole],
        );
        compared++;
      }
    }
    expect(pages.length).toBeGreaterThan(10);
    expect(compared).toBeGreaterThan(3);
  });
});
