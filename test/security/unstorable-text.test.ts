import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, json, type TestContext } from '../helpers/context.js';
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
  segmentBefore,
  unexpectedChangesSince,
} from './harness.js';

/**
 * A NUL character (U+0000) is text that Postgres cannot store, in text columns or in jsonb. Found
 * by the fuzzer: it made API routes and admin forms fail with 500. Any text holding one is refused
 * with 422, through the API (text and jsonb columns) and through every form of every admin page.
 */
const NUL = 'tekst\u0000met nul';

let ctx: TestContext;
let admin: { userId: string; headers: Record<string, string> };
let session: BrowserSession;
let routes: RouteInfo[];
const ids: Record<string, string> = {};
beforeAll(async () => {
  ctx = await createTestContext();
  admin = await ctx.userWithToken('admin');
  const post = async (path: string, body: unknown) =>
    (await (await ctx.app.request(path, json(body, admin.headers))).json()) as { id: string };
  ids.editions = (await post('/api/v1/editions', editionInput())).id;
  ids.organisations = (await post('/api/v1/organisations', { name: 'Stichting Thuis', kind: 'overig' })).id;
  ids.subscribers = (
    await post('/api/v1/subscribers', {
      email: 'nul@voorbeeld.test',
      topics: ['nieuwsbrief'],
      lawfulBasis: 'consent',
    })
  ).id;
  const topics = await ctx.db.selectFrom('topics').select('id').limit(1).execute();
  ids.topics = topics[0]!.id;
  session = await openSession(ctx.db, ctx.deps.clock, admin.userId);
  const doc = (await (await ctx.app.request('/api/v1/openapi.json')).json()) as OpenApiDocument;
  routes = routeCatalogue(ctx.app, doc);
  await installChangeLog(ctx.db);
});
afterAll(() => ctx.close());

describe('text with a NUL character', () => {
  it('is refused with 422 by the API, in text and in jsonb columns, and changes nothing', async () => {
    const attempts: [string, string, unknown][] = [
      ['POST', '/api/v1/organisations', { name: NUL, kind: 'overig' }],
      ['PATCH', `/api/v1/organisations/${ids.organisations}`, { name: NUL }],
      ['POST', '/api/v1/topics', { slug: 'nul', nameNl: NUL, nameEn: 'Nul' }],
      ['PATCH', `/api/v1/subscribers/${ids.subscribers}`, { name: NUL }],
      ['POST', '/api/v1/editions', editionInput({ title: NUL })],
      ['PATCH', `/api/v1/editions/${ids.editions}`, { blocks: [{ type: 'paragraph', text: NUL }] }],
      ['PATCH', '/api/v1/linkedin/settings', { announcementTemplate: NUL }],
      ['POST', '/api/v1/document-categories', { slug: 'nul', nameNl: NUL, nameEn: 'Nul' }],
    ];
    for (const [method, path, body] of attempts) {
      const before = await lastChangeId(ctx.db);
      const res = await ctx.app.request(path, json(body, admin.headers, method));
      expect(res.status, `${method} ${path}`).toBe(422);
      expect(await unexpectedChangesSince(ctx.db, before), `${method} ${path}`).toEqual([]);
    }
  });

  it('is refused by every form of every admin page, which changes nothing', async () => {
    const pages = routes.filter((route) => route.method === 'GET' && route.protected && !route.operation);
    let forms = 0;
    for (const page of pages) {
      const url = fillPattern(
        page.pattern,
        page.params.map((param) => ids[segmentBefore(page.pattern, param)] ?? '999999'),
      );
      const res = await ctx.app.request(url, { headers: { cookie: session.cookie } });
      if (!(res.headers.get('content-type') ?? '').startsWith('text/html')) continue;
      for (const form of formsIn(await res.text(), url, ctx.deps.config.publicBaseUrl)) {
        if (!matchRoute(routes, 'POST', form.action)?.protected || form.action === '/admin/logout') continue;
        const fields = Object.fromEntries(
          Object.entries(form.fields).map(([name, value]) => [
            name,
            name === '_csrf' ? value : `${value}${NUL}`,
          ]),
        );
        const before = await lastChangeId(ctx.db);
        const answer = await ctx.app.request(form.action, {
          method: 'POST',
          headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(fields).toString(),
        });
        expect(answer.status, `form to ${form.action} on ${url}`).toBeLessThan(500);
        if (answer.status >= 400) {
          expect(await unexpectedChangesSince(ctx.db, before), form.action).toEqual([]);
        }
        forms++;
      }
    }
    expect(forms).toBeGreaterThan(5);
  });
});
