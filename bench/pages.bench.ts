import { Hono } from 'hono';
import { SESSION_COOKIE } from '../src/api/middleware/auth.js';
import { createSession } from '../src/domain/auth.js';
import { seedDemo } from '../src/domain/demo.js';
import { personalLinks } from '../src/domain/links.js';
import { createUser } from '../src/domain/users.js';
import { systemClock } from '../src/providers/clock.js';
import { type BenchEnv, type BenchResult, benchApp, loadTest, result } from './harness.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/**
 * Issue goal: server-rendered pages answer well under 100 ms at p99. Measured with a few visitors
 * at once (not at saturation, where p99 only measures the queue): BENCH_PAGES_CONNECTIONS, default 10.
 */
const CONNECTIONS = Number(process.env.BENCH_PAGES_CONNECTIONS ?? 10);
const GOAL_P99_MS = 100;
const WARM_UP_REQUESTS = 50;
const PUBLIC_BASE_URL = 'http://localhost';

/**
 * The server-rendered pages, on a fresh database filled with the demo content (src/domain/demo.ts),
 * through the full app and middleware stack: p99 per page against a bare Hono route answering a
 * small HTML page, in the same run, with the same number of connections.
 */
export async function pageBenchmarks(env: BenchEnv): Promise<BenchResult[]> {
  const bare = await loadTest(
    new Hono().get('/hello', (c) => c.html('<!doctype html><p>Hallo</p>')),
    { path: '/hello' },
    SECONDS,
    CONNECTIONS,
  );

  const { app, database, linkTokens } = await benchApp(env, { publicBaseUrl: PUBLIC_BASE_URL });
  try {
    const demo = await seedDemo(database.db, { now: new Date(), publicBaseUrl: PUBLIC_BASE_URL });
    const edition = await database.db
      .selectFrom('editions')
      .select(['id', 'slug', 'blocks'])
      .where('status', '=', 'sent')
      .orderBy('sent_at', 'desc')
      .executeTakeFirstOrThrow();
    const subscriber = await database.db
      .selectFrom('subscribers')
      .select('id')
      .where('status', '=', 'active')
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const admin = await createUser(database.db, {
      email: 'beheer@voorbeeld.test',
      role: 'admin',
      password: 'bench wachtwoord zeilboot 123',
    });
    const session = await createSession(database.db, systemClock, admin.id, 'autocannon');
    // A draft with the newest edition's content, for the block editor.
    const draft = await database.db
      .insertInto('editions')
      .values({
        title: 'Concept voor de benchmark',
        subject: 'Concept',
        slug: 'concept-benchmark',
        blocks: JSON.stringify(edition.blocks),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const preferences = new URL(personalLinks(linkTokens, PUBLIC_BASE_URL, subscriber.id).preferencesUrl);

    const pages: { name: string; path: string; headers?: Record<string, string> }[] = [
      { name: 'GET / (home)', path: '/' },
      { name: 'GET /documenten', path: '/documenten' },
      { name: 'GET /nieuwsbrieven (archive)', path: '/nieuwsbrieven' },
      { name: 'GET /nieuwsbrieven/:slug (web version)', path: `/nieuwsbrieven/${edition.slug}` },
      { name: 'GET /subscribe', path: '/subscribe' },
      { name: 'GET /preferences/:token', path: preferences.pathname },
      {
        name: 'GET /admin (logged in)',
        path: '/admin',
        headers: { cookie: `${SESSION_COOKIE}=${session.sessionToken}` },
      },
      { name: 'GET /feed.xml (RSS)', path: '/feed.xml' },
      ...editionAdminPages(edition.id, draft.id, `${SESSION_COOKIE}=${session.sessionToken}`),
    ];
    const baseline = { name: `bare Hono route, small HTML page, p99`, value: bare.p99Ms };
    const rows: BenchResult[] = [];
    for (const page of pages) {
      // A page that redirects or fails would be measured as something else: it must answer 200.
      // The first requests also warm up the code and the database's caches for this page.
      let bytes = 0;
      for (let i = 0; i < WARM_UP_REQUESTS; i++) {
        const probe = await app.request(page.path, { headers: page.headers });
        if (probe.status !== 200) throw new Error(`${page.path} answered ${probe.status}, not 200`);
        bytes = (await probe.arrayBuffer()).byteLength;
      }
      const figures = await loadTest(app, { path: page.path, headers: page.headers }, SECONDS, CONNECTIONS);
      rows.push(
        result(
          `${page.name}, p99 with ${CONNECTIONS} connections`,
          'ms',
          figures.p99Ms,
          baseline,
          {
            text: `p99 under ${GOAL_P99_MS} ms, no errors`,
            met: figures.p99Ms < GOAL_P99_MS && figures.errors === 0 && figures.non2xx === 0,
          },
          { ...figures, bytes, connections: CONNECTIONS, bare, demo },
        ),
      );
    }
    return rows;
  } finally {
    await database.close();
  }
}

/** The editions admin (logged in): list, an edition, its statistics, the block editor and the email preview. */
function editionAdminPages(sentId: string, draftId: string, cookie: string) {
  return [
    { name: 'GET /admin/editions (logged in)', path: '/admin/editions' },
    { name: 'GET /admin/editions/:id (sent edition)', path: `/admin/editions/${sentId}` },
    { name: 'GET /admin/editions/:id/stats', path: `/admin/editions/${sentId}/stats` },
    { name: 'GET /admin/editions/:id/edit (block editor)', path: `/admin/editions/${draftId}/edit` },
    {
      name: 'GET /admin/editions/:id/preview (renders the email)',
      path: `/admin/editions/${sentId}/preview`,
    },
  ].map((page) => ({ ...page, headers: { cookie } }));
}
