/** @jsxImportSource hono/jsx */
import { createRequire } from 'node:module';
import path from 'node:path';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../api/deps.js';
import { roleAtLeast } from '../../domain/users.js';
import type { QueueName, Queues } from '../../jobs/queues.js';
import { adminAccess, adminErrorPage, ErrorPage } from './ui.js';

/**
 * /admin/queues (admins): bull-board over the job queues of AppDeps, its UI served from
 * node_modules/@bull-board/ui by this process.
 *
 * Content-Security-Policy: the admin's policy, with one relaxation on these paths only (see
 * api/app.ts): base-uri 'self' instead of 'none', because the board's script finds its chunks, API
 * and translations through the page's own <base href>. Its scripts and styles are served by us
 * (script-src 'self' holds). The Google Fonts stylesheet its page links is dropped: the policy
 * would block it anyway, and the admin loads nothing from third parties.
 *
 * CSRF: the board's own script sends JSON without our CSRF token, so a change made with a session
 * must come from our own origin (the browser's Origin header; a SameSite=Lax cookie is not sent
 * cross-site either). Only retrying jobs (processors are idempotent) and pausing or resuming
 * queues are allowed: jobs are born from the outbox in Postgres (the source of truth), so adding,
 * editing, promoting, cleaning or emptying them by hand is refused.
 */
export const QUEUE_MONITOR_PATH = '/admin/queues';

const DESCRIPTIONS: Record<QueueName, string> = {
  'transactional-email': 'E-mails aan één persoon: bevestigingen, welkom, meldingen.',
  maintenance: 'Onderhoud: opruimen en vastgelopen verzendingen oppakken.',
  editions: 'Het begin van het versturen van een editie, op het geplande tijdstip.',
  'edition-batches': 'Verzending van een editie in porties van hoogstens 100 adressen.',
  imports: 'CSV-imports van abonnees.',
  linkedin: 'LinkedIn: aankondigingen, publiceren, tokens vernieuwen.',
};

const ALLOWED_CHANGES = [
  /^\/api\/queues\/[^/]+\/[^/]+\/retry$/, // one failed job again
  /^\/api\/queues\/[^/]+\/retry\/failed$/, // every failed job of a queue again
  /^\/api\/queues\/(?:[^/]+\/)?(?:pause|resume)$/, // one queue, or all
];
const SAFE_METHODS = new Set(['GET', 'HEAD']);

const boards = new WeakMap<Queues, Promise<Hono>>();

/** bull-board is loaded on first use: a process without queues (Workers) never runs its code. */
async function buildBoard(queues: Queues): Promise<Hono> {
  const [{ createBullBoard }, { BullMQAdapter }, { HonoAdapter }, { serveStatic }] = await Promise.all([
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/hono'),
    import('@hono/node-server/serve-static'),
  ]);
  const adapter = new HonoAdapter(serveStatic).setBasePath(QUEUE_MONITOR_PATH);
  createBullBoard({
    queues: (Object.entries(queues) as [QueueName, Queues[QueueName]][]).map(
      ([name, queue]) => new BullMQAdapter(queue, { description: DESCRIPTIONS[name] }),
    ),
    serverAdapter: adapter,
    options: {
      uiBasePath: path.dirname(createRequire(import.meta.url).resolve('@bull-board/ui/package.json')),
      uiConfig: {
        boardTitle: 'Thuispost-wachtrijen',
        hideDocsLink: true,
        miscLinks: [{ text: 'Terug naar het beheer', url: '/admin' }],
      },
    },
  });
  return new Hono().basePath(QUEUE_MONITOR_PATH).route('/', adapter.registerPlugin());
}

function boardFor(queues: Queues): Promise<Hono> {
  let board = boards.get(queues);
  if (!board) {
    board = buildBoard(queues);
    boards.set(queues, board);
  }
  return board;
}

function fromOwnOrigin(c: Context<AppEnv>): boolean {
  const origin = c.req.header('origin');
  return origin === new URL(c.req.url).origin || origin === new URL(c.var.deps.config.publicBaseUrl).origin;
}

/** Admins only; a change by a session must come from our origin and be one the monitor allows. */
const guard: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (SAFE_METHODS.has(c.req.method)) return adminAccess('admin')(c, next);
  const principal = c.var.principal;
  const refuse = (status: 401 | 403, message: string) => c.json({ error: message, message }, status);
  if (!principal) return refuse(401, 'Log opnieuw in om door te gaan.');
  if (!roleAtLeast(principal.role, 'admin'))
    return refuse(403, 'Alleen beheerders mogen de wachtrijen wijzigen.');
  if (principal.via === 'session' && !fromOwnOrigin(c)) {
    return refuse(403, 'Dit verzoek kwam niet van deze site. Laad de pagina opnieuw.');
  }
  const action = c.req.path.slice(QUEUE_MONITOR_PATH.length);
  if (!ALLOWED_CHANGES.some((allowed) => allowed.test(action))) {
    return refuse(
      403,
      'Hier kunnen alleen mislukte taken opnieuw worden geprobeerd en wachtrijen worden gepauzeerd: taken ontstaan alleen via de database.',
    );
  }
  return next();
};

export function isQueueMonitorPath(path: string): boolean {
  return path === QUEUE_MONITOR_PATH || path.startsWith(`${QUEUE_MONITOR_PATH}/`);
}

/** The board's page without its third-party stylesheet (see above). */
function withoutThirdPartyFonts(html: string): string {
  return html.replace(/<link[^>]+fonts\.googleapis\.com[^>]*>/g, '');
}

export function queuePages() {
  const app = new Hono<AppEnv>();
  app.onError(adminErrorPage);
  app.use('*', guard);
  app.all('*', async (c) => {
    const queues = c.var.deps.queues;
    if (!queues) {
      const message =
        'Dit proces heeft geen verbinding met de wachtrijen (Redis), bijvoorbeeld op Cloudflare Workers. Open de monitor op een Node-proces van Thuispost.';
      return c.html(<ErrorPage c={c} status={503} message={message} />, 503);
    }
    // The board's own links point at the path without a trailing slash.
    if (c.req.path === `${QUEUE_MONITOR_PATH}/`) return c.redirect(QUEUE_MONITOR_PATH, 301);
    const response = await (await boardFor(queues)).fetch(c.req.raw);
    if (!response.headers.get('content-type')?.startsWith('text/html')) return response;
    const headers = new Headers(response.headers);
    headers.delete('content-length');
    return new Response(withoutThirdPartyFonts(await response.text()), { status: response.status, headers });
  });
  return app;
}
