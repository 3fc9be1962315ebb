import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/db/schema.js';
import { createApiToken, principalFromSession } from '../../src/domain/auth.js';
import { createUser } from '../../src/domain/users.js';
import type { LinkPurpose } from '../../src/providers/link-tokens.js';
import { MailboxMailer } from '../../src/providers/mailbox-mailer.js';
import { createTestContext, json, TEST_PASSWORD, type TestContext } from '../helpers/context.js';
import { editionInput } from '../helpers/editions.js';
import {
  type BrowserSession,
  changesSince,
  type FoundForm,
  fillPattern,
  formsIn,
  installChangeLog,
  internalErrorText,
  isCheckableText,
  isExpectedOnRejection,
  lastChangeId,
  matchRoute,
  type OpenApiDocument,
  openSession,
  type RouteInfo,
  routeCatalogue,
  segmentBefore,
} from './harness.js';
import { type FieldHints, fromSchema, hostileJson, hostileString } from './schema-arbitrary.js';

/**
 * Random requests, driven by fast-check, against every route the app serves (API routes from the
 * OpenAPI document, pages and everything else from the app's own route table): random JSON and
 * form bodies (shaped by each route's schema and its pages' forms, with hostile parts), content
 * types, headers, path parameters, query strings, API tokens, sessions and signed link tokens.
 * Every answer must be below 500, free of internal error text, redirect only within the site,
 * carry a CSP when it is HTML, and a refused request (4xx, or sent to the login page) must not
 * have changed a single row (a trigger on every table records each change).
 *
 * FUZZ_RUNS sets the number of requests (default 10,000), FUZZ_SEED replays a run.
 */
const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const FUZZ_SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

let ctx: TestContext;
let world: World;
beforeAll(async () => {
  ctx = await createTestContext();
  world = await buildWorld(ctx);
  await installChangeLog(ctx.db);
}, 120_000);
afterAll(() => ctx?.close());

// ---------------------------------------------------------------------------------------------
// The world the requests run against

interface Actor {
  userId: string;
  token: string;
  tokenId: string;
}

interface World {
  doc: OpenApiDocument;
  routes: RouteInfo[];
  forms: Map<string, FoundForm[]>;
  actors: Record<Role, Actor>;
  session: BrowserSession;
  /** Users and tokens of the actors, never picked as path parameters (the fuzzer would lock itself out). */
  protectedIds: Set<string>;
  pools: Pools;
  hints: FieldHints;
}

interface Pools {
  /** Existing ids by the path segment before `:id` (`editions`, `documenten`, `mailbox`…). */
  ids: Map<string, string[]>;
  slugs: string[];
  subscribers: string[];
}

/** The table behind each path segment that precedes an `:id`. */
const TABLE_OF_SEGMENT: Record<string, string> = {
  users: 'users',
  tokens: 'api_tokens',
  subscribers: 'subscribers',
  organisations: 'organisations',
  topics: 'topics',
  editions: 'editions',
  documents: 'documents',
  documenten: 'documents',
  'document-categories': 'document_categories',
  posts: 'linkedin_posts',
  imports: 'imports',
  mailbox: 'dev_mailbox',
};

async function newActor(context: TestContext, role: Role): Promise<Actor> {
  const user = await createUser(context.db, {
    email: `fuzz-${role}-${Math.random().toString(36).slice(2, 8)}@voorbeeld.test`,
    role,
    password: TEST_PASSWORD,
  });
  const token = await createApiToken(context.db, user, { name: `fuzz ${role}` });
  return { userId: user.id, token: token.token, tokenId: token.id };
}

async function refreshPools(context: TestContext, protectedIds: Set<string>): Promise<Pools> {
  const ids = new Map<string, string[]>();
  for (const [segment, table] of Object.entries(TABLE_OF_SEGMENT)) {
    const rows = await sql<{
      id: string;
    }>`select id::text as id from ${sql.table(table)} order by id desc limit 50`.execute(context.db);
    ids.set(
      segment,
      rows.rows.map((row) => row.id).filter((id) => !protectedIds.has(`${table}:${id}`)),
    );
  }
  const slugs = await context.db.selectFrom('editions').select('slug').execute();
  const subscribers = await context.db.selectFrom('subscribers').select('id').limit(50).execute();
  return { ids, slugs: slugs.map((row) => row.slug), subscribers: subscribers.map((row) => row.id) };
}

/** Realistic content through the API (organisations, subscribers, editions, documents, posts…). */
async function buildWorld(context: TestContext): Promise<World> {
  const actors = {
    admin: await newActor(context, 'admin'),
    editor: await newActor(context, 'editor'),
    viewer: await newActor(context, 'viewer'),
  };
  const admin = { authorization: `Bearer ${actors.admin.token}` };
  const post = async (path: string, body: unknown) => {
    const res = await context.app.request(path, json(body, admin));
    if (res.status >= 300) throw new Error(`seeding ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const organisation = await post('/api/v1/organisations', {
    name: 'Gemeente Voorbeeldstad',
    kind: 'gemeente',
  });
  await post('/api/v1/organisations', { name: 'Stichting Onderdak', kind: 'zorgaanbieder' });
  for (const [index, name] of ['Anna de Vries', 'Bram Jansen', 'Chantal Smit'].entries()) {
    await post('/api/v1/subscribers', {
      email: `lezer-${index}@voorbeeld.test`,
      name,
      topics: ['nieuwsbrief'],
      organisationId: organisation.id,
      lawfulBasis: 'consent',
    });
  }
  await context.db
    .insertInto('subscribers')
    .values([
      { email: 'wacht-nog@voorbeeld.test', status: 'pending', source: 'form' },
      {
        email: 'vertrokken@voorbeeld.test',
        status: 'unsubscribed',
        source: 'form',
        unsubscribed_at: new Date(),
      },
    ])
    .execute();
  await post('/api/v1/editions', editionInput());
  const sent = await post('/api/v1/editions', editionInput({ slug: 'fuzz-verzonden' }));
  await context.db
    .updateTable('editions')
    .set({ status: 'sent', sending_started_at: new Date(), sent_at: new Date() })
    .where('id', '=', sent.id)
    .execute();
  await post('/api/v1/documents', {
    category: 'folders',
    title: 'Folder wonen',
    url: 'https://www.voorbeeld.test/folder',
  });
  const pdf = new FormData();
  pdf.set('category', 'algemeen');
  pdf.set('title', 'Jaarverslag');
  pdf.set('file', new Blob(['%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n']), 'jaarverslag.pdf');
  const upload = await context.app.request('/api/v1/documents', {
    method: 'POST',
    headers: admin,
    body: pdf,
  });
  if (upload.status !== 201)
    throw new Error(`seeding a document file: ${upload.status} ${await upload.text()}`);
  await post('/api/v1/linkedin/posts', {
    kind: 'custom',
    commentary: 'Nieuw in het lab',
    link: 'https://www.voorbeeld.test/lab',
    title: 'Het lab',
    description: 'Wat er gebeurt',
  });
  await context.app.request('/api/v1/subscribers/imports?lawfulBasis=consent&dryRun=true', {
    method: 'POST',
    headers: { ...admin, 'content-type': 'text/csv' },
    body: 'email;naam\nimport-1@voorbeeld.test;Iris\n',
  });
  await new MailboxMailer(context.db).send(
    {
      from: 'Thuispost <nieuws@voorbeeld.test>',
      to: ['lezer-0@voorbeeld.test'],
      subject: 'Welkom',
      html: '<p>Welkom</p>',
      text: 'Welkom',
    },
    { idempotencyKey: 'fuzz-welkom' },
  );

  const session = await openSession(context.db, context.deps.clock, actors.admin.userId);
  const protectedIds = new Set(
    Object.values(actors).flatMap((actor) => [`users:${actor.userId}`, `api_tokens:${actor.tokenId}`]),
  );
  const doc = (await (await context.app.request('/api/v1/openapi.json')).json()) as OpenApiDocument;
  const routes = routeCatalogue(context.app, doc);
  const pools = await refreshPools(context, protectedIds);
  const forms = await crawlForms(context, routes, pools, session);
  const topics = await context.db.selectFrom('topics').select(['id', 'slug']).execute();
  const categories = await context.db.selectFrom('document_categories').select(['id', 'slug']).execute();
  const topicRef = fc.constantFrom(...topics.flatMap((topic) => [topic.slug, topic.id]));
  const hints: FieldHints = {
    topics: fc.array(topicRef, { minLength: 1, maxLength: 3 }),
    defaultTopics: topicRef,
    topic: topicRef,
    category: fc.constantFrom(...categories.flatMap((category) => [category.slug, category.id])),
    organisationId: fc.constantFrom(organisation.id, '0', '999999'),
    email: fc.oneof(fc.emailAddress(), fc.constantFrom('lezer-1@voorbeeld.test', 'nieuw@voorbeeld.test')),
    to: fc.oneof(fc.emailAddress(), fc.constant(['lezer-2@voorbeeld.test'])),
    locale: fc.constantFrom('nl', 'en', 'de', ''),
    lang: fc.constantFrom('nl', 'en', 'fr'),
    password: fc.constantFrom(TEST_PASSWORD, 'kort', 'een lang maar fout wachtwoord'),
  };
  return { doc, routes, forms, actors, session, protectedIds, pools, hints };
}

/** Opens every page (with existing ids and valid link tokens) and collects the forms on it. */
async function crawlForms(
  context: TestContext,
  routes: RouteInfo[],
  pools: Pools,
  session: BrowserSession,
): Promise<Map<string, FoundForm[]>> {
  const forms = new Map<string, FoundForm[]>();
  const pending = pools.subscribers.map((id) => ({ id }));
  for (const route of routes.filter((r) => r.method === 'GET' && !r.operation)) {
    const candidates =
      route.params.length === 0
        ? [[]]
        : pending.map(({ id }) => route.params.map((param) => concreteParam(route, param, id, pools)));
    for (const values of candidates.slice(0, 3)) {
      const page = fillPattern(route.pattern, values);
      const res = await context.app.request(page, { headers: { cookie: session.cookie } });
      if (!(res.headers.get('content-type') ?? '').startsWith('text/html')) continue;
      for (const form of formsIn(await res.text(), page, context.deps.config.publicBaseUrl)) {
        const target = matchRoute(routes, 'POST', form.action);
        if (!target) continue;
        forms.set(target.pattern, [...(forms.get(target.pattern) ?? []), form]);
      }
    }
  }
  return forms;
}

function tokenPurpose(pattern: string): LinkPurpose | null {
  const match = /^\/(confirm|unsubscribe|preferences)\//.exec(pattern);
  return (match?.[1] as LinkPurpose | undefined) ?? null;
}

/** A valid value for a page's parameter: an existing id or slug, or a link token of a subscriber. */
function concreteParam(route: RouteInfo, param: string, subscriberId: string, pools: Pools): string {
  const purpose = tokenPurpose(route.pattern);
  if (param === 'token' && purpose) return ctx.deps.linkTokens.issue({ p: purpose, s: subscriberId });
  if (param === 'slug') return pools.slugs[0] ?? 'x';
  return pools.ids.get(segmentBefore(route.pattern, param))?.[0] ?? '1';
}

// ---------------------------------------------------------------------------------------------
// Request plans (what fast-check generates) and how they become requests

const AUTH_VARIANTS = [
  'anonymous',
  'admin-token',
  'admin-session',
  'admin-session-csrf-field',
  'session-without-csrf',
  'session-wrong-csrf',
  'editor-token',
  'viewer-token',
  'forged-bearer',
  'malformed-authorization',
  'garbage-cookie',
] as const;
type AuthVariant = (typeof AUTH_VARIANTS)[number];

type ParamPlan =
  | { kind: 'existing'; pick: number }
  | { kind: 'token'; pick: number; purpose: LinkPurpose | 'route'; change: TokenChange }
  | { kind: 'junk'; value: string; encode: boolean };

type TokenChange =
  | { kind: 'none' }
  | { kind: 'expired' }
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number }
  | { kind: 'append'; text: string };

type BodyPlan =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown }
  | { kind: 'text'; text: string }
  | { kind: 'form'; fields: [string, string][]; multipart: boolean }
  | { kind: 'file'; fields: [string, string][]; bytes: Uint8Array; name: string; type: string }
  | { kind: 'large'; bytes: number };

interface RequestPlan {
  route: number;
  method: string | null;
  params: ParamPlan[];
  query: [string, string][];
  auth: AuthVariant;
  body: BodyPlan;
  contentType: string | null;
  headers: [string, string][];
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/merge-patch+json',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=zzz',
  'text/plain',
  'text/csv',
  'application/xml',
  'application/octet-stream',
  '',
  'garbage',
  'application/json;;;',
  'text/html; charset=utf-16',
];

const RAW_PATH_PARTS = ['%', '%ZZ', '%E0%A4%A', '..', '.', '%2F', '%2e%2e', ';', '~', '%00', '%0d%0a', '*'];

const QUERY_KEYS = [
  'lang',
  'next',
  'redirect',
  'returnTo',
  'q',
  'topic',
  'status',
  'limit',
  'after',
  'format',
  'locale',
  'state',
  'code',
  'error',
  'error_description',
  'edition',
  'organisationId',
  'separator',
  'bom',
];

const headerSafe = (value: string) => value.replace(/[^\x20-\x7e]/g, '?');

const paramPlan = (isToken: boolean): fc.Arbitrary<ParamPlan> =>
  fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('existing' as const), pick: fc.nat() }) },
    {
      weight: isToken ? 6 : 0,
      arbitrary: fc.record({
        kind: fc.constant('token' as const),
        pick: fc.nat(),
        purpose: fc.constantFrom<LinkPurpose | 'route'>(
          'route',
          'route',
          'route',
          'confirm',
          'unsubscribe',
          'preferences',
          'form',
        ),
        change: fc.oneof(
          { weight: 4, arbitrary: fc.constant<TokenChange>({ kind: 'none' }) },
          { weight: 1, arbitrary: fc.constant<TokenChange>({ kind: 'expired' }) },
          { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
          { weight: 1, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat() }) },
          { weight: 1, arbitrary: fc.record({ kind: fc.constant('append' as const), text: hostileString }) },
        ),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.oneof(
        fc.record({ kind: fc.constant('junk' as const), value: hostileString, encode: fc.constant(true) }),
        fc.record({
          kind: fc.constant('junk' as const),
          value: fc.constantFrom(...RAW_PATH_PARTS),
          encode: fc.constant(false),
        }),
        fc.record({
          kind: fc.constant('junk' as const),
          value: fc.oneof(
            fc.nat().map(String),
            fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
          ),
          encode: fc.constant(true),
        }),
      ),
    },
  );

function formFieldsArb(route: RouteInfo, world: World): fc.Arbitrary<[string, string][]> {
  const fromForms = new Map<string, string>();
  for (const form of world.forms.get(route.pattern) ?? []) {
    for (const [name, value] of Object.entries(form.fields))
      if (!fromForms.has(name)) fromForms.set(name, value);
  }
  const multipartSchema = route.operation?.requestBody?.content?.['multipart/form-data']?.schema;
  for (const name of Object.keys((multipartSchema?.properties as object | undefined) ?? {}))
    if (!fromForms.has(name)) fromForms.set(name, '');
  const known = [...fromForms.entries()].filter(([name]) => name !== '_csrf');
  const value = (name: string, pageValue: string): fc.Arbitrary<string> => {
    const hint = world.hints[name];
    const hinted = hint
      ? hint.map((v) => (Array.isArray(v) ? String(v[0] ?? '') : String(v)))
      : hostileString;
    return fc.oneof(
      { weight: pageValue ? 4 : 0, arbitrary: fc.constant(pageValue) },
      { weight: 3, arbitrary: hinted },
      { weight: 2, arbitrary: hostileString },
    );
  };
  const knownFields =
    known.length === 0
      ? fc.constant([] as [string, string][])
      : fc
          .subarray(known, { minLength: Math.min(known.length, 1) })
          .chain((chosen) =>
            fc.tuple(
              ...chosen.map(([name, pageValue]) => fc.tuple(fc.constant(name), value(name, pageValue))),
            ),
          );
  const extra = fc.array(
    fc.tuple(fc.oneof(fc.constantFrom(...known.map(([name]) => name), 'x'), hostileString), hostileString),
    {
      maxLength: 3,
    },
  );
  return fc.tuple(knownFields, extra).map(([a, b]) => [...a, ...b]);
}

function bodyPlanArb(route: RouteInfo, world: World): fc.Arbitrary<BodyPlan> {
  const content = route.operation?.requestBody?.content ?? {};
  const jsonSchema = content['application/json']?.schema;
  const readsBody = route.method !== 'GET' && route.method !== 'HEAD';
  const options = { doc: world.doc, hints: world.hints, hostility: 2 };
  const hasForms = world.forms.has(route.pattern) || 'multipart/form-data' in content;
  return fc.oneof(
    { weight: readsBody ? 1 : 6, arbitrary: fc.constant<BodyPlan>({ kind: 'none' }) },
    {
      weight: jsonSchema ? 8 : 2,
      arbitrary: (jsonSchema ? fromSchema(jsonSchema, options) : hostileJson).map(
        (value): BodyPlan => ({ kind: 'json', value }),
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          fc.constantFrom(
            '{',
            '{"a":',
            '[1,',
            'null',
            '"x"',
            '{"email":"a@b.c",}',
            '\u0000',
            '{"a":"\\ud800"}',
          ),
          fc.string({ unit: 'binary', maxLength: 200 }),
        )
        .map((text): BodyPlan => ({ kind: 'text', text })),
    },
    {
      weight: hasForms ? 8 : 2,
      arbitrary: fc
        .record({ fields: formFieldsArb(route, world), multipart: fc.boolean() })
        .map(({ fields, multipart }): BodyPlan => ({ kind: 'form', fields, multipart })),
    },
    {
      weight: 'multipart/form-data' in content || 'text/csv' in content ? 4 : 0,
      arbitrary: fc
        .record({
          fields: formFieldsArb(route, world),
          bytes: fc.oneof(
            fc.uint8Array({ maxLength: 400 }),
            fc
              .constantFrom(
                '%PDF-1.4\n%%EOF\n',
                'PK\u0003\u0004garbage',
                'email;naam\nx@voorbeeld.test;X\n',
                'email,name\n"unclosed,quote\n',
                '\uFEFFe-mail;naam;onderwerpen\n=cmd|x;Bob;nieuwsbrief\n',
              )
              .map((text) => new TextEncoder().encode(text)),
          ),
          name: fc.constantFrom('a.pdf', 'b.csv', '../../etc/passwd', 'x.docx', '', 'naam met spatie.odt'),
          type: fc.constantFrom('application/pdf', 'text/csv', 'application/octet-stream', ''),
        })
        .map((file): BodyPlan => ({ kind: 'file', ...file })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(20_000, 2_000_000).map((bytes): BodyPlan => ({ kind: 'large', bytes })),
    },
  );
}

function queryArb(route: RouteInfo, world: World): fc.Arbitrary<[string, string][]> {
  const declared = (route.operation?.parameters ?? []).filter((p) => p.in === 'query');
  const options = { doc: world.doc, hints: world.hints, hostility: 2 };
  const declaredArb = declared.map((p) =>
    fc.option(
      fromSchema(p.schema, options).map((value): [string, string] => [
        p.name,
        typeof value === 'string' ? value : JSON.stringify(value),
      ]),
      { nil: undefined },
    ),
  );
  return fc
    .tuple(
      fc.tuple(...declaredArb),
      fc.array(fc.tuple(fc.oneof(fc.constantFrom(...QUERY_KEYS), hostileString), hostileString), {
        maxLength: 3,
      }),
    )
    .map(([known, extra]) => [
      ...known.filter((entry): entry is [string, string] => entry !== undefined),
      ...extra,
    ]);
}

const headersArb: fc.Arbitrary<[string, string][]> = fc
  .tuple(
    fc.option(
      fc.constantFrom('application/json', 'text/html', '*/*', 'application/json, text/html', 'garbage'),
      {
        nil: undefined,
      },
    ),
    fc.option(
      fc.constantFrom('https://www.voorbeeld.test', 'https://evil.example', 'null', 'http://localhost:3000'),
      {
        nil: undefined,
      },
    ),
    fc.option(
      fc.oneof(
        fc.constantFrom(
          'https://www.voorbeeld.test/aanmelden',
          'http://localhost:3000/subscribe',
          'javascript:x',
        ),
        hostileString,
      ),
      { nil: undefined },
    ),
    fc.option(hostileString, { nil: undefined }),
    fc.option(fc.constantFrom('"abc"', '*', 'W/"x", "y"'), { nil: undefined }),
    fc.ipV4(),
  )
  .map(([accept, origin, referer, userAgent, ifNoneMatch, ip]) =>
    (
      [
        ['accept', accept],
        ['origin', origin],
        ['referer', referer],
        ['user-agent', userAgent],
        ['if-none-match', ifNoneMatch],
        // The test's client address: a different one per request keeps the per-IP limits from answering everything.
        ['x-test-client-ip', ip],
      ] as [string, string | undefined][]
    )
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .map(([name, value]) => [name, headerSafe(value)] as [string, string]),
  );

function planArb(world: World): fc.Arbitrary<RequestPlan> {
  const perRoute = world.routes.map((route, index) =>
    fc.record({
      route: fc.constant(index),
      method: fc.oneof(
        { weight: 12, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS') },
      ),
      params: fc.tuple(...route.params.map((param) => paramPlan(param === 'token'))),
      query: queryArb(route, world),
      auth: route.protected
        ? fc.oneof(
            {
              weight: 8,
              arbitrary: fc.constantFrom<AuthVariant>(
                'admin-token',
                'admin-session',
                'admin-session-csrf-field',
              ),
            },
            { weight: 4, arbitrary: fc.constantFrom(...AUTH_VARIANTS) },
          )
        : fc.oneof(
            { weight: 6, arbitrary: fc.constant<AuthVariant>('anonymous') },
            { weight: 2, arbitrary: fc.constantFrom(...AUTH_VARIANTS) },
          ),
      body: bodyPlanArb(route, world),
      contentType: fc.oneof(
        { weight: 6, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
      ),
      headers: headersArb,
    }),
  );
  return fc.oneof(...perRoute);
}

function tokenFor(plan: Extract<ParamPlan, { kind: 'token' }>, route: RouteInfo, pools: Pools): string {
  const purpose = plan.purpose === 'route' ? (tokenPurpose(route.pattern) ?? 'confirm') : plan.purpose;
  const subscriber = pools.subscribers[plan.pick % Math.max(1, pools.subscribers.length)] ?? '1';
  const tokens = ctx.deps.linkTokens;
  const change = plan.change;
  if (change.kind === 'expired') {
    return tokens.issue({ p: purpose, s: subscriber }, 3600, new Date(Date.now() - 48 * 3600 * 1000));
  }
  const token = tokens.issue({ p: purpose, s: subscriber });
  switch (change.kind) {
    case 'truncate':
      return token.slice(0, change.at % token.length);
    case 'flip': {
      const at = change.at % token.length;
      return `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    }
    case 'append':
      return `${token}${change.text}`;
    default:
      return token;
  }
}

/** A path segment, with lone surrogates (which no URL can carry) replaced. */
function encodeSegment(value: string): string {
  return encodeURIComponent(
    value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'),
  );
}

function paramValue(plan: ParamPlan, route: RouteInfo, param: string, pools: Pools): string {
  if (plan.kind === 'junk') return plan.encode ? encodeSegment(plan.value) : plan.value;
  if (plan.kind === 'token') return encodeSegment(tokenFor(plan, route, pools));
  if (param === 'slug') return pools.slugs[plan.pick % Math.max(1, pools.slugs.length)] ?? 'x';
  if (param === 'token')
    return encodeURIComponent(
      tokenFor({ kind: 'token', pick: plan.pick, purpose: 'route', change: { kind: 'none' } }, route, pools),
    );
  const ids = pools.ids.get(segmentBefore(route.pattern, param)) ?? [];
  return ids[plan.pick % Math.max(1, ids.length)] ?? String(plan.pick);
}

interface BuiltRequest {
  method: string;
  url: string;
  init: RequestInit;
  describe: string;
}

/** Multipart bodies as bytes: a FormData body streams lazily, and undici then throws when the app stops reading early. */
async function multipartBytes(form: FormData, headers: Headers): Promise<Uint8Array<ArrayBuffer>> {
  const encoded = new Response(form);
  headers.set('content-type', encoded.headers.get('content-type')!);
  return new Uint8Array(await encoded.arrayBuffer());
}

async function buildRequest(plan: RequestPlan, world: World): Promise<BuiltRequest> {
  const route = world.routes[plan.route]!;
  const method = plan.method ?? route.method;
  const values = route.params.map((param, index) =>
    paramValue(plan.params[index]!, route, param, world.pools),
  );
  const query = new URLSearchParams(plan.query).toString();
  const url = `${fillPattern(route.pattern, values)}${query ? `?${query}` : ''}`;
  const headers = new Headers(plan.headers);
  let csrfField: string | undefined;
  const { actors, session } = world;
  switch (plan.auth) {
    case 'admin-token':
    case 'editor-token':
    case 'viewer-token':
      headers.set('authorization', `Bearer ${actors[plan.auth.replace('-token', '') as Role].token}`);
      break;
    case 'admin-session':
      headers.set('cookie', session.cookie);
      headers.set('x-csrf-token', session.csrfToken);
      break;
    case 'admin-session-csrf-field':
      headers.set('cookie', session.cookie);
      csrfField = session.csrfToken;
      break;
    case 'session-without-csrf':
      headers.set('cookie', session.cookie);
      break;
    case 'session-wrong-csrf':
      headers.set('cookie', session.cookie);
      headers.set('x-csrf-token', session.csrfToken.slice(1));
      csrfField = `${session.csrfToken}x`;
      break;
    case 'forged-bearer':
      headers.set('authorization', `Bearer tp_${actors.admin.token.slice(3, -2)}zz`);
      break;
    case 'malformed-authorization':
      headers.set('authorization', 'Bearer');
      break;
    case 'garbage-cookie':
      headers.set('cookie', 'tp_session=; tp_session=%zz; tp_login_csrf=x');
      break;
  }
  let body: string | Uint8Array<ArrayBuffer> | undefined;
  const planned = plan.body;
  const withCsrf = (fields: [string, string][]): [string, string][] =>
    csrfField === undefined ? fields : [['_csrf', csrfField], ...fields];
  switch (planned.kind) {
    case 'json':
      headers.set('content-type', 'application/json');
      body = JSON.stringify(planned.value) ?? 'null';
      break;
    case 'text':
      headers.set('content-type', 'application/json');
      body = planned.text;
      break;
    case 'form': {
      const fields = withCsrf(planned.fields);
      if (planned.multipart) {
        const form = new FormData();
        for (const [name, value] of fields) form.append(name, value);
        body = await multipartBytes(form, headers);
      } else {
        headers.set('content-type', 'application/x-www-form-urlencoded');
        body = new URLSearchParams(fields).toString();
      }
      break;
    }
    case 'file': {
      const form = new FormData();
      for (const [name, value] of withCsrf(planned.fields)) form.append(name, value);
      form.append('file', new Blob([new Uint8Array(planned.bytes)], { type: planned.type }), planned.name);
      body = await multipartBytes(form, headers);
      break;
    }
    case 'large':
      headers.set('content-type', 'application/json');
      body = JSON.stringify({ text: 'x'.repeat(planned.bytes) });
      break;
  }
  if (plan.contentType !== null) headers.set('content-type', plan.contentType);
  if (method === 'GET' || method === 'HEAD') body = undefined;
  const describe = `${method} ${url} [${plan.auth}] ${plan.contentType ?? headers.get('content-type') ?? ''} ${
    typeof body === 'string'
      ? body.slice(0, 300)
      : planned.kind === 'form' || planned.kind === 'file'
        ? JSON.stringify(planned.fields).slice(0, 300)
        : ''
  }`;
  return { method, url, init: { method, headers, body }, describe };
}

// ---------------------------------------------------------------------------------------------
// Running and judging

interface Finding {
  kind: string;
  example: string;
  count: number;
}

function isSameSite(location: string, publicBaseUrl: string): boolean {
  if (/^\/(?![/\\])/.test(location)) return true;
  return location === publicBaseUrl || location.startsWith(`${publicBaseUrl}/`);
}

/** The actors stay usable: a fuzzed logout or a change to them would otherwise lock the run out. */
async function keepActorsUsable(world: World): Promise<void> {
  if (!(await principalFromSession(ctx.db, ctx.deps.clock, world.session.cookie.split('=')[1]!))) {
    world.session = await openSession(ctx.db, ctx.deps.clock, world.actors.admin.userId);
  }
}

/** What the app logged about its last unhandled error, to explain a 5xx in the findings. */
function lastLoggedError(): string {
  const line = ctx.rawLogs.findLast((entry) => entry.includes('"msg":"unhandled error'));
  if (!line) return 'nothing';
  const err = (JSON.parse(line) as { err?: { message?: string; stack?: string } }).err;
  return `${err?.message} ${err?.stack?.split('\n').slice(1, 4).join(' ')}`;
}

describe('fuzzing every route', () => {
  it(
    `answers ${FUZZ_RUNS} random requests without a 5xx, internal error text, foreign redirect or a change after a refusal`,
    async () => {
      const findings = new Map<string, Finding>();
      const statuses = new Map<number, number>();
      const hits = new Map<string, number>();
      const { publicBaseUrl } = ctx.deps.config;
      let sent = 0;
      let refused = 0;
      const record = (kind: string, key: string, example: string) => {
        const found = findings.get(key);
        if (found) found.count++;
        else findings.set(key, { kind, example, count: 1 });
      };

      await fc.assert(
        fc.asyncProperty(planArb(world), async (plan) => {
          if (sent % 250 === 0) world.pools = await refreshPools(ctx, world.protectedIds);
          const route = world.routes[plan.route]!;
          const request = await buildRequest(plan, world);
          const before = await lastChangeId(ctx.db);
          const res = await ctx.app.request(request.url, request.init);
          const text = await res.text();
          sent++;
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          hits.set(
            `${route.method} ${route.pattern}`,
            (hits.get(`${route.method} ${route.pattern}`) ?? 0) + 1,
          );
          const where = `${request.method} ${route.pattern}`;
          const example = `${request.describe} → ${res.status} ${text.slice(0, 300)}`;

          if (res.status >= 500)
            record('server error', `5xx ${where} ${res.status}`, `${example} (logged: ${lastLoggedError()})`);
          const leak = isCheckableText(route.pattern, res.headers.get('content-type'))
            ? internalErrorText(text)
            : null;
          if (leak) record('internal error text', `leak ${where}`, `${leak} ← ${example}`);
          if (
            (res.headers.get('content-type') ?? '').startsWith('text/html') &&
            !res.headers.get('content-security-policy')
          )
            record('HTML without CSP', `csp ${where}`, example);
          const location = res.headers.get('location');
          if (location !== null && !isSameSite(location, publicBaseUrl))
            record('redirect off the site', `redirect ${where}`, `${location} ← ${example}`);

          // Sent to the login page without a session of its own: refused (a logout also ends there, accepted).
          const signedIn = plan.auth === 'admin-session' || plan.auth === 'admin-session-csrf-field';
          const rejected = res.status >= 400 || (location === '/admin/login' && !signedIn);
          const changes = await changesSince(ctx.db, before);
          if (rejected) {
            refused++;
            const unexpected = changes.filter((change) => !isExpectedOnRejection(change));
            if (unexpected.length > 0)
              record(
                'change after a refusal',
                `change ${where} ${res.status}`,
                `${unexpected.map((c) => `${c.op} ${c.tbl} ${c.cols.join(',')}`).join('; ')} ← ${example}`,
              );
          } else if (changes.length > 0) {
            await keepActorsUsable(world);
          }
          return true;
        }),
        { numRuns: FUZZ_RUNS, seed: FUZZ_SEED, endOnFailure: true },
      );

      const summary = {
        seed: FUZZ_SEED,
        requests: sent,
        refused,
        routes: world.routes.length,
        routesHit: hits.size,
        statuses: Object.fromEntries([...statuses.entries()].sort(([a], [b]) => a - b)),
        findings: findings.size,
      };
      console.log(`fuzz summary ${JSON.stringify(summary)}`);
      for (const finding of findings.values())
        console.log(`fuzz finding (${finding.count}×) ${finding.kind}: ${finding.example}`);
      expect([...findings.values()], `FUZZ_SEED=${FUZZ_SEED}`).toEqual([]);
      expect(sent).toBe(FUZZ_RUNS);
      if (FUZZ_RUNS >= 50 * world.routes.length) {
        const missed = world.routes.map((r) => `${r.method} ${r.pattern}`).filter((key) => !hits.has(key));
        expect(missed).toEqual([]);
      }
    },
    30 * 60_000,
  );
});
