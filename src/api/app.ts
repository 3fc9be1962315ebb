import { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { isUnstorableText } from '../db/connection.js';
import { httpRequestDuration } from '../infra/metrics.js';
import { adminUi } from '../web/admin/index.js';
import { linkedinDevPages } from '../web/admin/linkedin.js';
import { mailboxPages } from '../web/admin/mailbox.js';
import { isQueueMonitorPath } from '../web/admin/queues.js';
import { ADMIN_UPLOAD_PATH } from '../web/admin/upload-paths.js';
import { publicPages } from '../web/public/routes.js';
import { DOCUMENT_FILE_PATH, sitePages } from '../web/public/site.js';
import { SANDBOXED_HTML_PATH } from '../web/sandboxed-html.js';
import type { AppDeps, AppEnv } from './deps.js';
import { loadPrincipal } from './middleware/auth.js';
import { declaredBodyLimit } from './middleware/body-limit.js';
import { noStoreForPersonalPaths } from './middleware/no-store.js';
import { errorToProblem, problem, validationProblem } from './problem.js';
import { authRoutes } from './routes/auth.js';
import { docsRoutes } from './routes/docs.js';
import { DOCUMENT_UPLOAD_PATH, documentCategoryRoutes, documentRoutes } from './routes/documents.js';
import { editionStatsRoutes } from './routes/edition-stats.js';
import { editionRoutes } from './routes/editions.js';
import { healthRoutes } from './routes/health.js';
import { IMPORT_UPLOAD_PATH, importRoutes } from './routes/imports.js';
import { linkedinRoutes } from './routes/linkedin.js';
import { organisationRoutes } from './routes/organisations.js';
import { senderHealthRoutes } from './routes/sender-health.js';
import { subscriberRoutes } from './routes/subscribers.js';
import { systemRoutes } from './routes/system.js';
import { tokenRoutes } from './routes/tokens.js';
import { topicRoutes } from './routes/topics.js';
import { userRoutes } from './routes/users.js';
import { webhookRoutes } from './routes/webhooks.js';

export const API_VERSION = '0.1.0';
const DEFAULT_BODY_LIMIT = 1024 * 1024;
const BODILESS_METHODS = new Set(['GET', 'HEAD']);
// The signup pages set their own (framable by the configured sites), see web/public/routes.tsx; so
// does email HTML shown in the admin (see web/sandboxed-html.ts).
const OWN_SECURITY_HEADERS = new RegExp(`^/subscribe(?:/embed)?$|${SANDBOXED_HTML_PATH.source}`);

/** Builds the whole HTTP app from explicit dependencies; reads no environment. */
export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return validationProblem(c, result.error);
    },
  });
  const requestDuration = httpRequestDuration(deps.metrics);

  app.use('*', async (c, next) => {
    c.set('deps', deps);
    c.set('principal', null);
    await next();
  });
  app.use('*', requestId({ headerName: 'x-request-id' }));
  app.use('*', async (c, next) => {
    const started = performance.now();
    const log = deps.logger.child({ reqId: c.var.requestId });
    c.set('logger', log);
    await next();
    const seconds = (performance.now() - started) / 1000;
    // The route pattern, not the path: paths can carry tokens, which must not reach logs or labels.
    const route = c.req.routePath || 'unmatched';
    requestDuration.observe({ method: c.req.method, route, status: String(c.res.status) }, seconds);
    log.info(
      { method: c.req.method, route, status: c.res.status, ms: Math.round(seconds * 1000) },
      'request',
    );
  });
  const contentSecurityPolicy = {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:', 'https:'],
    formAction: ["'self'"],
    frameAncestors: ["'self'"],
    baseUri: ["'none'"],
    objectSrc: ["'none'"],
  };
  const secureHeaderOptions = {
    strictTransportSecurity: deps.config.publicBaseUrl.startsWith('https:') ? 'max-age=31536000' : false,
    referrerPolicy: 'strict-origin-when-cross-origin',
  } as const;
  const defaultSecureHeaders = secureHeaders({ ...secureHeaderOptions, contentSecurityPolicy });
  // bull-board's page (web/admin/queues.tsx, admins only) finds its scripts, API and translations
  // through its own <base href>: the same policy, with base-uri 'self' instead of 'none', there only.
  const queueMonitorSecureHeaders = secureHeaders({
    ...secureHeaderOptions,
    contentSecurityPolicy: { ...contentSecurityPolicy, baseUri: ["'self'"] },
  });
  // Stored email HTML is served under a stricter, sandboxing policy of its own (see web/admin/mailbox.tsx).
  // Public document files set their own (see web/public/site.tsx serveFile). Any other answer on
  // those paths (a not-found or error page, a refusal) still gets the defaults.
  app.use('*', async (c, next) => {
    if (isQueueMonitorPath(c.req.path)) return queueMonitorSecureHeaders(c, next);
    if (!OWN_SECURITY_HEADERS.test(c.req.path) && !DOCUMENT_FILE_PATH.test(c.req.path)) {
      return defaultSecureHeaders(c, next);
    }
    await next();
    if (!c.res.headers.has('content-security-policy')) await defaultSecureHeaders(c, async () => {});
  });
  app.use('*', noStoreForPersonalPaths);
  const defaultBodyLimit = declaredBodyLimit({
    maxSize: deps.config.bodyLimitBytes ?? DEFAULT_BODY_LIMIT,
    onError: (c) => problem(c, 413, 'Payload too large', 'The request body is too large.'),
  });
  // The CSV import upload streams into Postgres and enforces its own limit (see routes/imports.ts).
  // So does the document upload (20 MB, see routes/documents.ts). GET and HEAD carry no body (neither
  // node-server nor a fetch Request gives them one): the limit would only cost time there.
  app.use('*', (c, next) =>
    BODILESS_METHODS.has(c.req.method) ||
    IMPORT_UPLOAD_PATH.test(c.req.path) ||
    DOCUMENT_UPLOAD_PATH.test(c.req.path) ||
    ADMIN_UPLOAD_PATH.test(c.req.path)
      ? next()
      : defaultBodyLimit(c, next),
  );
  for (const prefix of ['/api/v1/*', '/admin', '/admin/*', '/dev/*']) app.use(prefix, loadPrincipal);

  app.route('/', healthRoutes());
  app.route('/api/v1/auth', authRoutes());
  app.route('/api/v1/users', userRoutes());
  app.route('/api/v1/tokens', tokenRoutes());
  app.route('/api/v1/system', systemRoutes());
  app.route('/api/v1/system', senderHealthRoutes());
  // Before the subscriber routes: /imports… and /export.csv match here first.
  app.route('/api/v1/subscribers', importRoutes());
  app.route('/api/v1/subscribers', subscriberRoutes());
  app.route('/api/v1/organisations', organisationRoutes());
  app.route('/api/v1/topics', topicRoutes());
  app.route('/api/v1/editions', editionRoutes());
  app.route('/api/v1/editions', editionStatsRoutes());
  app.route('/api/v1/documents', documentRoutes());
  app.route('/api/v1/document-categories', documentCategoryRoutes());
  app.route('/api/v1/linkedin', linkedinRoutes());
  // Public, signed by the provider; outside /api/v1 so no session or CSRF handling applies.
  app.route('/webhooks', webhookRoutes());
  app.route('/admin', adminUi());
  app.route('/dev/linkedin', linkedinDevPages());
  app.route('/dev/mailbox', mailboxPages());
  app.route('/', docsRoutes());
  app.route('/', publicPages());
  app.route('/', sitePages());

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'API token created with `npm run cli -- token create` or POST /api/v1/tokens',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'sessionCookie', {
    type: 'apiKey',
    in: 'cookie',
    name: 'tp_session',
    description: 'Browser session; changes also need the x-csrf-token header',
  });
  app.doc31('/api/v1/openapi.json', (c) => ({
    openapi: '3.1.0',
    info: {
      title: 'Thuispost API',
      version: API_VERSION,
      description: 'Newsletter and LinkedIn publishing. Errors are RFC 9457 problem details.',
    },
    servers: [{ url: c.var.deps.config.publicBaseUrl }],
  }));

  app.notFound((c) => problem(c, 404, 'Not found', 'There is nothing at this address.'));
  app.onError((error, c) => {
    const refusedInput =
      error instanceof HTTPException ||
      ('status' in error && typeof error.status === 'number') ||
      isUnstorableText(error);
    if (!refusedInput) {
      (c.var.logger ?? deps.logger).error({ err: error }, 'unhandled error');
    }
    return errorToProblem(c, error);
  });
  return app;
}

export type App = ReturnType<typeof createApp>;
