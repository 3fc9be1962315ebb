import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, json, TEST_PASSWORD, type TestContext } from '../helpers/context.js';
import { editionInput } from '../helpers/editions.js';
import {
  type BrowserSession,
  fillPattern,
  formsIn,
  installChangeLog,
  lastChangeId,
  matchRoute,
  type OpenApiDocument,
  openSession,
  type RouteInfo,
  routeCatalogue,
  unexpectedChangesSince,
} from './harness.js';

/**
 * Every change made with a browser session needs the session's CSRF token. The routes come from
 * the app's own route table, so a new form or API route is checked the day it appears; routes
 * that change something without a session say here why they need no CSRF token.
 */
let ctx: TestContext;
let routes: RouteInfo[];
let admin: { userId: string; headers: Record<string, string> };
let session: BrowserSession;
beforeAll(async () => {
  ctx = await createTestContext();
  admin = await ctx.userWithToken('admin');
  for (const body of [editionInput(), editionInput()]) {
    expect((await ctx.app.request('/api/v1/editions', json(body, admin.headers))).status).toBe(201);
  }
  await ctx.app.request(
    '/api/v1/organisations',
    json({ name: 'Gemeente Voorbeeldstad', kind: 'gemeente' }, admin.headers),
  );
  const doc = (await (await ctx.app.request('/api/v1/openapi.json')).json()) as OpenApiDocument;
  routes = routeCatalogue(ctx.app, doc);
  session = await openSession(ctx.db, ctx.deps.clock, admin.userId);
  await installChangeLog(ctx.db);
});
afterAll(() => ctx.close());

const CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** State-changing routes that no browser session authorises, and what protects each instead. */
const WITHOUT_SESSION: Record<string, string> = {
  'POST /api/v1/auth/login': 'JSON only: a cross-site form cannot send it (see the 415 test below)',
  'POST /admin/login': 'its own double-submit token (cookie + field), tested below',
  'POST /admin/setup/:token': 'the one-time setup token in the path',
  'POST /subscribe':
    'anonymous signup: a signed form token and a honeypot; CORS only for the configured sites',
  'POST /confirm/:token': 'the signed personal token in the path',
  'POST /confirm/:token/resend': 'the signed personal token in the path',
  'POST /unsubscribe/:token': 'the signed personal token in the path (RFC 8058 one-click, no cookies)',
  'POST /preferences/:token': 'the signed personal token in the path',
  'POST /webhooks/resend': 'the Svix signature of the body',
};

function sessionRoutes(): RouteInfo[] {
  return routes.filter((route) => CHANGING.has(route.method) && route.protected);
}

/** An id that exists nowhere: with the right token the route gets as far as looking it up. */
function concrete(route: RouteInfo): string {
  return fillPattern(
    route.pattern,
    route.params.map(() => '999999'),
  );
}

describe('CSRF', () => {
  it('knows, for every state-changing route, whether a session or something else authorises it', () => {
    const unprotected = routes
      .filter((route) => CHANGING.has(route.method) && !route.protected)
      .map((route) => `${route.method} ${route.pattern}`);
    // The logout route changes only the caller's own session, and needs the token when there is one (tested below).
    expect(unprotected.filter((key) => key !== 'POST /api/v1/auth/logout').sort()).toEqual(
      Object.keys(WITHOUT_SESSION).sort(),
    );
    expect(sessionRoutes().length).toBeGreaterThan(40);
  });

  it('refuses every session change without, or with a wrong, CSRF token (403), and changes nothing', async () => {
    const attempts = (url: string): [string, RequestInit][] => [
      ['no token', { headers: { cookie: session.cookie, 'content-type': 'application/json' }, body: '{}' }],
      [
        'wrong header',
        {
          headers: {
            cookie: session.cookie,
            'content-type': 'application/json',
            'x-csrf-token': `${session.csrfToken.slice(0, -1)}x`,
          },
          body: '{}',
        },
      ],
      [
        'wrong form field',
        {
          headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ _csrf: 'vervalst', name: url }).toString(),
        },
      ],
      [
        'empty form field',
        {
          headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
          body: '_csrf=',
        },
      ],
      [
        "another session's token",
        {
          headers: {
            cookie: session.cookie,
            'content-type': 'application/json',
            'x-csrf-token': otherSessionToken,
          },
          body: '{}',
        },
      ],
    ];
    const otherSessionToken = (await openSession(ctx.db, ctx.deps.clock, admin.userId)).csrfToken;
    let checked = 0;
    for (const route of sessionRoutes()) {
      const url = concrete(route);
      for (const [what, init] of attempts(url)) {
        const before = await lastChangeId(ctx.db);
        const res = await ctx.app.request(url, { ...init, method: route.method });
        expect(res.status, `${what}: ${route.method} ${route.pattern}`).toBe(403);
        expect(await unexpectedChangesSince(ctx.db, before), `${route.method} ${route.pattern}`).toEqual([]);
        checked++;
      }
      // The same request with the right token gets past the check: the 403s above were the check's.
      const allowed = await ctx.app.request(url, {
        method: route.method,
        headers: {
          cookie: session.cookie,
          'content-type': 'application/json',
          'x-csrf-token': session.csrfToken,
        },
        body: '{}',
      });
      expect(allowed.status, `with the token: ${route.method} ${route.pattern}`).not.toBe(403);
      // That request may have been a logout.
      session = await openSession(ctx.db, ctx.deps.clock, admin.userId);
    }
    expect(checked).toBe(sessionRoutes().length * 5);
  });

  it('puts the session token in every form of every admin page', async () => {
    const pages = routes.filter((route) => route.method === 'GET' && route.protected && !route.operation);
    let forms = 0;
    for (const page of pages) {
      const url = concrete(page);
      const res = await ctx.app.request(url, { headers: { cookie: session.cookie } });
      if (!(res.headers.get('content-type') ?? '').startsWith('text/html')) continue;
      for (const form of formsIn(await res.text(), url, ctx.deps.config.publicBaseUrl)) {
        const target = matchRoute(routes, 'POST', form.action);
        if (!target?.protected) continue;
        expect(form.fields._csrf, `form to ${form.action} on ${url}`).toBe(session.csrfToken);
        forms++;
      }
    }
    expect(forms).toBeGreaterThan(0);
  });

  it('needs the token to log out a session (a forced logout), and not without a session', async () => {
    const own = await openSession(ctx.db, ctx.deps.clock, admin.userId);
    for (const path of ['/api/v1/auth/logout', '/admin/logout']) {
      const forged = await ctx.app.request(path, { method: 'POST', headers: { cookie: own.cookie } });
      expect(forged.status, path).toBe(403);
      expect((await ctx.app.request('/api/v1/auth/me', { headers: { cookie: own.cookie } })).status).toBe(
        200,
      );
    }
    const real = await ctx.app.request('/api/v1/auth/logout', {
      method: 'POST',
      headers: { cookie: own.cookie, 'x-csrf-token': own.csrfToken },
    });
    expect(real.status).toBe(204);
    expect((await ctx.app.request('/api/v1/auth/me', { headers: { cookie: own.cookie } })).status).toBe(401);
    expect((await ctx.app.request('/api/v1/auth/logout', { method: 'POST' })).status).toBe(204);
  });

  it('accepts the JSON login only as JSON, so that a cross-site form cannot log a browser in', async () => {
    await ctx.userWithToken('editor', 'formulier-login@voorbeeld.test');
    const before = await lastChangeId(ctx.db);
    for (const type of [
      'application/x-www-form-urlencoded',
      'text/plain',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await ctx.app.request('/api/v1/auth/login', {
        method: 'POST',
        headers: { 'content-type': type },
        body: JSON.stringify({ email: 'formulier-login@voorbeeld.test', password: TEST_PASSWORD }),
      });
      expect(res.status, type).toBe(415);
      expect(res.headers.get('set-cookie')).toBeNull();
    }
    expect(await unexpectedChangesSince(ctx.db, before)).toEqual([]);
  });

  it('refuses the login form without its cookie, with a cookie of another browser, or a forged field', async () => {
    await ctx.userWithToken('editor', 'inlogformulier@voorbeeld.test');
    const page = await ctx.app.request('/admin/login');
    const field = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    const other = (await ctx.app.request('/admin/login')).headers.get('set-cookie')!.split(';')[0]!;
    const submit = (headers: Record<string, string>, csrf: string) =>
      ctx.app.request('/admin/login', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({
          email: 'inlogformulier@voorbeeld.test',
          password: TEST_PASSWORD,
          _csrf: csrf,
        }).toString(),
      });
    const before = await lastChangeId(ctx.db);
    for (const [what, res] of [
      ['no cookie', await submit({}, field)],
      ['another browser', await submit({ cookie: other }, field)],
      ['forged field', await submit({ cookie }, 'vervalst')],
      ['empty both', await submit({ cookie: 'tp_login_csrf=' }, '')],
    ] as const) {
      expect(res.status, what).toBe(403);
      expect(res.headers.get('set-cookie') ?? '', what).not.toMatch(/tp_session=[^;]/);
    }
    expect(await unexpectedChangesSince(ctx.db, before)).toEqual([]);
    expect((await submit({ cookie }, field)).status).toBe(303);
  });
});
