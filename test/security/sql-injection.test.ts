import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, json, type TestContext } from '../helpers/context.js';
import { editionInput } from '../helpers/editions.js';
import {
  type BrowserSession,
  fillPattern,
  installChangeLog,
  lastChangeId,
  type OpenApiDocument,
  openSession,
  type RouteInfo,
  routeCatalogue,
  unexpectedChangesSince,
} from './harness.js';

/**
 * SQL injection through search and filters: every query parameter of every API list (from the
 * OpenAPI document) and of every admin page gets classic injection strings. None may fail (5xx),
 * change a row, or find more than the literal text would; LIKE wildcards count as plain text.
 */
const INJECTIONS = [
  "' OR '1'='1",
  "' OR 1=1 --",
  "'; DELETE FROM subscribers; --",
  "'); DROP TABLE subscribers; --",
  '" OR ""="',
  "1' UNION SELECT email, password_hash FROM users --",
  "x' AND (SELECT count(*) FROM users) > 0 --",
  '1; UPDATE users SET role = admin',
  '%',
  '_',
  '%%',
  '\\',
  "\\'",
  '$1',
  "E'\\x27'",
  '1 OR 1=1',
  '-1',
  '999999999999999999999999',
  'lezer-1@voorbeeld.test',
];

let ctx: TestContext;
let admin: { headers: Record<string, string>; userId: string };
let doc: OpenApiDocument;
let routes: RouteInfo[];
let session: BrowserSession;
let editionId: string;
const SUBSCRIBERS = 12;

beforeAll(async () => {
  ctx = await createTestContext();
  admin = await ctx.userWithToken('admin');
  for (let n = 1; n <= SUBSCRIBERS; n++) {
    const res = await ctx.app.request(
      '/api/v1/subscribers',
      json(
        {
          email: `lezer-${n}@voorbeeld.test`,
          name: `Lezer ${n}`,
          topics: ['nieuwsbrief'],
          lawfulBasis: 'consent',
        },
        admin.headers,
      ),
    );
    expect(res.status).toBe(201);
  }
  editionId = (await (await ctx.app.request('/api/v1/editions', json(editionInput(), admin.headers))).json())
    .id;
  // A sent edition's delivery log, for the deliveries search.
  await sql`update editions set status = 'sent', sending_started_at = now(), sent_at = now() where id = ${editionId}`.execute(
    ctx.db,
  );
  await sql`insert into deliveries (edition_id, subscriber_id, email, locale, batch_no, status, sent_at)
    select ${editionId}, id, email, 'nl', 0, 'sent', now() from subscribers`.execute(ctx.db);
  doc = (await (await ctx.app.request('/api/v1/openapi.json')).json()) as OpenApiDocument;
  routes = routeCatalogue(ctx.app, doc);
  session = await openSession(ctx.db, ctx.deps.clock, admin.userId);
  await installChangeLog(ctx.db);
});
afterAll(() => ctx.close());

const subscriberCount = async () =>
  Number((await sql<{ n: string }>`select count(*) as n from subscribers`.execute(ctx.db)).rows[0]!.n);

/** Rows in a list answer, whatever the list calls them. */
function listed(body: unknown): unknown[] | null {
  if (Array.isArray(body)) return body;
  const items = (body as { items?: unknown })?.items;
  return Array.isArray(items) ? items : null;
}

/** Some text of the row (at any depth) contains `literal`. */
function containsText(value: unknown, literal: string): boolean {
  if (typeof value === 'string') return value.toLowerCase().includes(literal);
  if (value !== null && typeof value === 'object')
    return Object.values(value).some((inner) => containsText(inner, literal));
  return false;
}

describe('SQL injection', () => {
  it('every query parameter of every API route: no 5xx, no change, never more than the literal text finds', async () => {
    let checked = 0;
    for (const [path, operations] of Object.entries(doc.paths)) {
      const get = operations.get;
      const params = (get?.parameters ?? []).filter((p) => p.in === 'query');
      if (params.length === 0) continue;
      const url = path.replace(/\{[^}]+\}/g, editionId);
      for (const param of params) {
        for (const injection of INJECTIONS) {
          const before = await lastChangeId(ctx.db);
          const res = await ctx.app.request(`${url}?${new URLSearchParams({ [param.name]: injection })}`, {
            headers: admin.headers,
          });
          const where = `${path}?${param.name}=${injection}`;
          expect(res.status, where).toBeLessThan(500);
          const text = await res.text();
          expect(text, where).not.toMatch(/syntax error|unterminated|pg_|relation "/i);
          expect(await unexpectedChangesSince(ctx.db, before), where).toEqual([]);
          // A free-text search finds only rows that contain the text itself.
          if (param.name === 'q' && res.status === 200) {
            const rows = listed(JSON.parse(text));
            expect(rows, where).not.toBeNull();
            for (const row of rows!) expect(containsText(row, injection.toLowerCase()), where).toBe(true);
          }
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(await subscriberCount()).toBe(SUBSCRIBERS);
  });

  it('searches subscribers and the delivery log literally (wildcards and quotes are text)', async () => {
    const search = async (url: string) =>
      listed(await (await ctx.app.request(url, { headers: admin.headers })).json())!.length;
    for (const base of ['/api/v1/subscribers?q=', `/api/v1/editions/${editionId}/deliveries?q=`]) {
      expect(await search(`${base}lezer-1`), base).toBe(4); // lezer-1, -10, -11, -12
      expect(await search(`${base}${encodeURIComponent('lezer-1@')}`), base).toBe(1);
      for (const wildcard of ['%', '_', "' OR '1'='1", 'lezer-_@', 'lezer%']) {
        expect(await search(`${base}${encodeURIComponent(wildcard)}`), `${base}${wildcard}`).toBe(0);
      }
    }
  });

  it('every query parameter of every admin page answers without a server error and changes nothing', async () => {
    const pages = routes.filter((route) => route.method === 'GET' && route.protected && !route.operation);
    const names = [
      'q',
      'status',
      'topic',
      'organisationId',
      'kind',
      'locale',
      'after',
      'before',
      'page',
      'sort',
      'filter',
    ];
    for (const page of pages) {
      const url = fillPattern(
        page.pattern,
        page.params.map(() => editionId),
      );
      for (const injection of INJECTIONS) {
        const before = await lastChangeId(ctx.db);
        const query = new URLSearchParams(names.map((name) => [name, injection])).toString();
        const res = await ctx.app.request(`${url}?${query}`, { headers: { cookie: session.cookie } });
        expect(res.status, `${url}?…=${injection}`).toBeLessThan(500);
        // Reading personal data (a GDPR export) is audited: that entry is the only change a read may make.
        const changes = await unexpectedChangesSince(ctx.db, before);
        expect(
          changes.filter((change) => !(change.tbl === 'audit_log' && change.op === 'INSERT')),
          url,
        ).toEqual([]);
      }
    }
    expect(pages.length).toBeGreaterThan(5);
    expect(await subscriberCount()).toBe(SUBSCRIBERS);
  });
});
