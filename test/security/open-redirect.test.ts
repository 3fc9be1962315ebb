import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, json, TEST_PASSWORD, type TestContext } from '../helpers/context.js';
import { editionInput } from '../helpers/editions.js';
import {
  type BrowserSession,
  fillPattern,
  type OpenApiDocument,
  openSession,
  type RouteInfo,
  routeCatalogue,
} from './harness.js';

/**
 * Open redirects: no parameter, form field or crafted path makes the app send a browser to
 * another site, by a redirect or by a link it builds from the request (the language switch).
 */
const OFFSITE = [
  'https://evil.example/',
  '//evil.example/',
  '/\\evil.example',
  '\\\\evil.example',
  'https:evil.example',
  'javascript:alert(1)',
  '/%2F%2Fevil.example',
  '%2F%2Fevil.example',
];
const REDIRECT_PARAMS = [
  'next',
  'returnTo',
  'return',
  'redirect',
  'redirect_uri',
  'url',
  'continue',
  'to',
  'lang',
];

let ctx: TestContext;
let routes: RouteInfo[];
let session: BrowserSession;
beforeAll(async () => {
  ctx = await createTestContext();
  const admin = await ctx.userWithToken('admin', 'omleiding@voorbeeld.test');
  await ctx.app.request('/api/v1/editions', json(editionInput({ slug: 'omleiding' }), admin.headers));
  await ctx.app.request(
    '/api/v1/documents',
    json({ category: 'folders', title: 'Extern', url: 'https://evil.example/folder' }, admin.headers),
  );
  session = await openSession(ctx.db, ctx.deps.clock, admin.userId);
  const doc = (await (await ctx.app.request('/api/v1/openapi.json')).json()) as OpenApiDocument;
  routes = routeCatalogue(ctx.app, doc);
});
afterAll(() => ctx.close());

function isOnSite(target: string): boolean {
  const base = ctx.deps.config.publicBaseUrl;
  return (
    /^\/(?![/\\])/.test(target) || target === base || target.startsWith(`${base}/`) || target.startsWith('#')
  );
}

/** The language switch and other links the page built from the request. */
function builtLinks(html: string): string[] {
  return [...html.matchAll(/<a\b[^>]*\bhreflang="[^"]*"[^>]*>/g)].map(
    (match) => /\bhref="([^"]*)"/.exec(match[0])?.[1] ?? '',
  );
}

describe('open redirects', () => {
  it('never redirects off the site, whatever redirect-like parameters say, on any GET route', async () => {
    let redirects = 0;
    for (const route of routes.filter((r) => r.method === 'GET')) {
      const path = fillPattern(
        route.pattern,
        route.params.map(() => '1'),
      );
      for (const cookie of ['', session.cookie]) {
        for (const target of OFFSITE) {
          const query = new URLSearchParams(REDIRECT_PARAMS.map((name) => [name, target])).toString();
          const res = await ctx.app.request(`${path}?${query}`, { headers: cookie ? { cookie } : {} });
          const location = res.headers.get('location');
          if (location !== null) {
            redirects++;
            expect(isOnSite(location), `${path} → ${location}`).toBe(true);
          }
          if ((res.headers.get('content-type') ?? '').startsWith('text/html')) {
            for (const link of builtLinks(await res.text()))
              expect(isOnSite(link), `${path}: ${link}`).toBe(true);
          }
        }
      }
    }
    // Anonymous visits to admin pages do redirect (to the login page): the check above saw redirects.
    expect(redirects).toBeGreaterThan(10);
  });

  it('keeps crafted paths (double slashes, backslashes, encoded slashes) from becoming off-site links', async () => {
    let links = 0;
    for (const path of [
      '//evil.example/',
      '//evil.example/subscribe',
      '/\\evil.example/subscribe',
      '/subscribe//evil.example',
      '/nieuwsbrieven/%2F%2Fevil.example',
      '/nieuwsbrieven/%5C%5Cevil.example',
      '/documenten/1/%2F%2Fevil.example',
      '/confirm/%2F%2Fevil.example',
      '/admin//evil.example',
    ]) {
      const res = await ctx.app.request(`${path}?lang=en`);
      expect(res.status, path).toBeLessThan(500);
      const location = res.headers.get('location');
      if (location !== null) expect(isOnSite(location), `${path} → ${location}`).toBe(true);
      if ((res.headers.get('content-type') ?? '').startsWith('text/html')) {
        for (const link of builtLinks(await res.text())) {
          expect(isOnSite(link), `${path}: ${link}`).toBe(true);
          links++;
        }
      }
    }
    expect(links).toBeGreaterThan(3);
  });

  it('sends a browser to /admin after login and setup, whatever the form or query asks for', async () => {
    const page = await ctx.app.request('/admin/login');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    const fields = new URLSearchParams({
      email: 'omleiding@voorbeeld.test',
      password: TEST_PASSWORD,
      _csrf: csrf,
    });
    for (const name of REDIRECT_PARAMS) fields.set(name, 'https://evil.example/');
    const login = await ctx.app.request(`/admin/login?next=${encodeURIComponent('https://evil.example/')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: fields.toString(),
    });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/admin');
  });

  it('takes a link document to its place on the documents page, not to its external address', async () => {
    const doc = await ctx.db
      .selectFrom('documents')
      .select('id')
      .where('title', '=', 'Extern')
      .executeTakeFirstOrThrow();
    const res = await ctx.app.request(`/documenten/${doc.id}?lang=en`);
    expect(res.status).toBe(301);
    expect(isOnSite(res.headers.get('location')!)).toBe(true);
  });
});
