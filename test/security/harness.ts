import { sql } from 'kysely';
import type { App } from '../../src/api/app.js';
import type { Db } from '../../src/db/connection.js';
import type { Role } from '../../src/db/schema.js';
import { createSession } from '../../src/domain/auth.js';
import type { Clock } from '../../src/providers/clock.js';

/**
 * Shared by the fuzzer and the security tests: a change log of every row in the test database,
 * the catalogue of every route the app serves, a crawler for the forms its pages show, and the
 * patterns of internal error text that must never reach an answer.
 */

// ---------------------------------------------------------------------------------------------
// Change log: a trigger on every table records each inserted, deleted or really updated row.

export interface RowChange {
  id: string;
  tbl: string;
  op: 'INSERT' | 'UPDATE' | 'DELETE';
  /** For updates: the columns whose value changed. */
  cols: string[];
}

/**
 * Installs the change log in this test file's own database (never a migration: it exists only
 * here). Rows of rolled-back transactions vanish with them, so only committed changes count.
 */
export async function installChangeLog(db: Db): Promise<void> {
  await sql`create table if not exists test_row_changes (
    id bigserial primary key, tbl text not null, op text not null, cols text[] not null)`.execute(db);
  await sql`create or replace function test_log_row_change() returns trigger language plpgsql as $$
    declare changed text[] := '{}';
    begin
      if tg_op = 'UPDATE' then
        select coalesce(array_agg(n.key order by n.key), '{}') into changed
          from jsonb_each(to_jsonb(new)) n where n.value is distinct from to_jsonb(old) -> n.key;
        -- An update that leaves every value as it was changes nothing.
        if cardinality(changed) = 0 then return null; end if;
      end if;
      insert into test_row_changes (tbl, op, cols) values (tg_table_name, tg_op, changed);
      return null;
    end $$`.execute(db);
  const tables = await sql<{ tablename: string }>`
    select tablename from pg_tables where schemaname = 'public' and tablename <> 'test_row_changes'`.execute(
    db,
  );
  for (const { tablename } of tables.rows) {
    await sql`create or replace trigger test_log_row_change after insert or update or delete on ${sql.table(tablename)}
      for each row execute function test_log_row_change()`.execute(db);
  }
}

export async function lastChangeId(db: Db): Promise<string> {
  const row = await sql<{
    id: string;
  }>`select coalesce(max(id), 0)::text as id from test_row_changes`.execute(db);
  return row.rows[0]!.id;
}

export async function changesSince(db: Db, afterId: string): Promise<RowChange[]> {
  const rows = await sql<RowChange>`
    select id::text, tbl, op, cols from test_row_changes where id > ${afterId}::bigint order by id`.execute(
    db,
  );
  return rows.rows;
}

/**
 * What a rejected request may still write, by design: rate-limit counters and a login's failure
 * count (counting refused attempts is their point) and an API token's last use (recorded when the token is recognised,
 * before the route decides).
 */
export function isExpectedOnRejection(change: RowChange): boolean {
  if (change.tbl === 'rate_limits' || change.tbl === 'login_throttles') return true;
  return change.tbl === 'api_tokens' && change.op === 'UPDATE' && change.cols.join() === 'last_used_at';
}

/** The changes a rejected request must not have made. */
export async function unexpectedChangesSince(db: Db, afterId: string): Promise<RowChange[]> {
  return (await changesSince(db, afterId)).filter((change) => !isExpectedOnRejection(change));
}

// ---------------------------------------------------------------------------------------------
// Internal error text

const LEAK_PATTERNS: [string, RegExp][] = [
  ['a stack frame', /\bat (?:async )?[\w$.<>[\]]*\s*\(?(?:file:\/\/|node:|\/)[^\s)]*:\d+:\d+/],
  ['a source path', /\/work\/|node_modules\/|\bsrc\/(?:api|web|domain|db|jobs|providers|infra|emails)\/\w/],
  [
    'a JavaScript error',
    /\b(?:TypeError|ReferenceError|RangeError|ZodError|AggregateError)\b|Cannot read propert|is not a function|\[object Object\]|Unexpected token|in JSON at position|is not valid JSON/,
  ],
  [
    'a database error',
    /syntax error at or near|violates (?:foreign key|unique|check|not-null) constraint|duplicate key value|invalid input syntax for|out of range for (?:type|integer)|value too long for type|relation "[^"]+" does not exist|column "[^"]+" (?:of relation|does not exist)|current transaction is aborted|\bkysely\b|ECONNREFUSED/i,
  ],
];

/** Names the kind of internal error text in an answer, or null when there is none. */
export function internalErrorText(body: string): string | null {
  for (const [what, pattern] of LEAK_PATTERNS) {
    const match = pattern.exec(body);
    if (match) return `${what}: …${body.slice(Math.max(0, match.index - 60), match.index + 100)}…`;
  }
  return null;
}

/** Answers whose text is meant for people or programs (not files, scripts or the API description). */
export function isCheckableText(path: string, contentType: string | null): boolean {
  if (path === '/api/v1/openapi.json' || path.startsWith('/docs')) return false;
  return /^(?:text\/(?:html|plain|csv|xml)|application\/(?:json|problem\+json|xml|rss\+xml|atom\+xml))\b/i.test(
    contentType ?? '',
  );
}

// ---------------------------------------------------------------------------------------------
// Routes

export interface OpenApiOperation {
  'x-required-role'?: Role | 'public';
  parameters?: { name: string; in: string; schema?: JsonSchema; required?: boolean }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}

export type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

export interface RouteInfo {
  method: string;
  /** Hono's pattern, e.g. `/api/v1/editions/:id` or `/dev/mailbox/:id{[0-9]+}`. */
  pattern: string;
  params: string[];
  /** The route's own operation in the OpenAPI document; absent for pages and non-API routes. */
  operation?: OpenApiOperation;
  /** Needs a signed-in user: declared in the OpenAPI document, or a page under /admin or /dev. */
  protected: boolean;
}

const PARAM = /:(\w+)(\{(?:[^{}]|\{[^{}]*\})*\})?/g;

/** The OpenAPI path (`/editions/{id}`) of a Hono pattern (`/editions/:id`). */
function openApiPath(pattern: string): string {
  return pattern.replace(PARAM, (_, name: string) => `{${name}}`);
}

/** Pages anyone may open under the otherwise signed-in prefixes. */
const PUBLIC_ADMIN_PAGES = /^\/admin\/(?:login|setup\/:token)$/;

/**
 * Every route the app serves, read from the app itself (so new pages are covered without a
 * list to keep up to date), joined with its OpenAPI operation where there is one.
 */
export function routeCatalogue(app: App, doc: OpenApiDocument): RouteInfo[] {
  const seen = new Set<string>();
  const routes: RouteInfo[] = [];
  for (const { method, path } of app.routes) {
    if (method === 'ALL' || seen.has(`${method} ${path}`)) continue;
    seen.add(`${method} ${path}`);
    const operation = doc.paths[openApiPath(path)]?.[method.toLowerCase()];
    const role = operation?.['x-required-role'];
    const isPage = /^\/(?:admin|dev)(?:\/|$)/.test(path) && !PUBLIC_ADMIN_PAGES.test(path);
    routes.push({
      method,
      pattern: path,
      params: [...path.matchAll(PARAM)].map((match) => match[1]!),
      operation,
      protected: role !== undefined ? role !== 'public' : isPage,
    });
  }
  return routes;
}

/** The route a concrete path belongs to, e.g. `/confirm/abc/resend` → `/confirm/:token/resend`. */
export function matchRoute(routes: RouteInfo[], method: string, path: string): RouteInfo | undefined {
  return routes.find((route) => route.method === method && patternRegex(route.pattern).test(path));
}

function patternRegex(pattern: string): RegExp {
  const source = pattern
    .split(PARAM)
    .map((part, index) => {
      if (index % 3 === 1) return '';
      if (index % 3 === 2) return part === undefined ? '[^/]+' : `(?:${part.slice(1, -1)})`;
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}/?$`);
}

/** The path segment before a parameter, which names what it is (`/editions/:id` → `editions`). */
export function segmentBefore(pattern: string, param: string): string {
  const parts = pattern.split('/');
  const at = parts.findIndex((part) => part.startsWith(`:${param}`));
  return parts[at - 1] ?? '';
}

export function fillPattern(pattern: string, values: string[]): string {
  let index = 0;
  return pattern.replace(PARAM, () => values[index++] ?? '');
}

// ---------------------------------------------------------------------------------------------
// Forms

export interface FoundForm {
  /** The path the form posts to (origin and query removed). */
  action: string;
  /** Every named field with the value the page put in it (hidden tokens included). */
  fields: Record<string, string>;
  /** The page that showed it. */
  page: string;
}

const decodeEntities = (text: string) =>
  text
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}="([^"]*)"`, 'i').exec(tag);
  return match ? decodeEntities(match[1]!) : undefined;
}

/** The POST forms of an HTML page. */
export function formsIn(html: string, page: string, publicBaseUrl: string): FoundForm[] {
  const forms: FoundForm[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const [, attributes, inner] = match as unknown as [string, string, string];
    if ((attribute(attributes, 'method') ?? 'get').toLowerCase() !== 'post') continue;
    const rawAction = attribute(attributes, 'action') ?? page;
    const action = new URL(rawAction, `${publicBaseUrl}${page}`).pathname;
    const fields: Record<string, string> = {};
    for (const field of inner.matchAll(/<(?:input|textarea|select|button)\b([^>]*)>/gi)) {
      const name = attribute(field[1]!, 'name');
      if (name && !(name in fields)) fields[name] = attribute(field[1]!, 'value') ?? '';
    }
    forms.push({ action, fields, page });
  }
  return forms;
}

// ---------------------------------------------------------------------------------------------
// Sessions

export interface BrowserSession {
  cookie: string;
  csrfToken: string;
}

/** A signed-in browser of `userId` (the session row the login form would create). */
export async function openSession(db: Db, clock: Clock, userId: string): Promise<BrowserSession> {
  const session = await createSession(db, clock, userId, 'security test');
  return { cookie: `tp_session=${session.sessionToken}`, csrfToken: session.csrfToken };
}
