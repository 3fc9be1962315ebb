import { AsyncLocalStorage } from 'node:async_hooks';
import type { ExecutionContext } from 'hono';
import { type App, createApp } from './api/app.js';
import type { AppDeps } from './api/deps.js';
import { ConfigError, loadConfig } from './config.js';
import { createDb, type Db, type DbHandle } from './db/connection.js';
import { linkedinReadiness } from './domain/linkedin.js';
import { Pseudonyms } from './infra/crypto.js';
import { linkedinAppConfig } from './infra/linkedin-config.js';
import { createLogger, type Logger } from './infra/logger.js';
import { createMetricsRegistry } from './infra/metrics.js';
import { systemClock } from './providers/clock.js';
import { LinkTokens } from './providers/link-tokens.js';
import { resendSenderDomains } from './providers/sender-domains.js';

/**
 * Cloudflare Workers entry (`wrangler.toml`: main). The same Hono app as src/server.ts, on Postgres
 * through a Hyperdrive binding. Only the API runs here: requests write rows and outbox rows; the
 * outbox relay, the job workers and the schedules run on Node (src/jobs/main.ts) with Redis.
 */

/** The Hyperdrive binding; `connectionString` points at Hyperdrive's pool in front of Postgres. */
export interface HyperdriveBinding {
  connectionString: string;
}

/** Bindings: HYPERDRIVE plus vars and secrets named as in src/config.ts (APP_SECRET, LOG_LEVEL, …). */
export interface WorkerEnv {
  HYPERDRIVE: HyperdriveBinding;
  [binding: string]: unknown;
}

/**
 * Workers allow six open connections per invocation, and a socket opened by one request cannot be
 * used by another. Hyperdrive keeps the real pool, so each request gets a small pool of its own,
 * opened on first use (GET /healthz opens none) and closed after the response via waitUntil.
 */
const DB_CONNECTIONS_PER_REQUEST = 5;

interface RequestScope {
  env: WorkerEnv;
  logger: Logger;
  database?: DbHandle;
  closing?: boolean;
}

interface Isolate {
  app: App;
  logger: Logger;
}

const requestScope = new AsyncLocalStorage<RequestScope>();
/** Building the app costs milliseconds of CPU: once per isolate (and per env object), not per request. */
const isolates = new WeakMap<object, Isolate>();

/** Vars and secrets are strings; other bindings (HYPERDRIVE, KV, …) are not configuration. */
function stringBindings(env: WorkerEnv): Record<string, string> {
  const strings: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (typeof value === 'string') strings[name] = value;
  return strings;
}

function requestDb(): Db {
  const scope = requestScope.getStore();
  if (!scope) throw new Error('the database is only available while a request is handled');
  if (!scope.database) {
    const database = createDb(scope.env.HYPERDRIVE.connectionString, scope.logger, {
      max: DB_CONNECTIONS_PER_REQUEST,
    });
    // pg-cloudflare reports the closing of its own socket as an error ("Stream was cancelled."):
    // expected once the pool is being closed, so only earlier ones are worth a warning.
    database.pool.removeAllListeners('error');
    database.pool.on('error', (error) => {
      if (!scope.closing) scope.logger.warn({ err: error.message }, 'postgres connection lost');
    });
    scope.database = database;
  }
  return scope.database.db;
}

function buildIsolate(env: WorkerEnv): Isolate {
  const hyperdrive = env.HYPERDRIVE?.connectionString;
  if (!hyperdrive) {
    throw new ConfigError([
      { variable: 'HYPERDRIVE', message: 'the Hyperdrive binding is missing (wrangler.toml)' },
    ]);
  }
  // DATABASE_URL comes from Hyperdrive; with it set, loadConfig requires APP_SECRET, as on Node.
  // The working directory only matters for DATA_DIR, which nothing on Workers uses.
  const config = loadConfig({ ...stringBindings(env), DATABASE_URL: hyperdrive }, '/');
  // loadConfig has required APP_SECRET, since DATABASE_URL is set; there is no DATA_DIR to keep one.
  const appSecret = config.appSecret as string;
  const logger = createLogger(config.logLevel).child({ process: 'api', runtime: 'cloudflare-workers' });
  const deps: AppDeps = {
    get db() {
      return requestDb();
    },
    clock: systemClock,
    logger,
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    linkTokens: new LinkTokens([appSecret, ...config.previousAppSecrets], systemClock),
    config: {
      nodeEnv: config.nodeEnv,
      publicBaseUrl: config.publicBaseUrl,
      mailerKind: config.resend.apiKey ? 'resend' : 'mailbox',
      siteOrigins: config.siteOrigins,
      webhookSecret: config.resend.webhookSecret,
      emailFrom: config.emailFrom,
      metricsToken: config.metricsToken,
    },
    senderDomains: resendSenderDomains(config.resend),
    // No Redis here: requests only write outbox rows. The entry says so in GET /readyz.
    readinessChecks: {
      redis: async () => ({
        ok: true,
        skipped: true,
        detail:
          'not checked on Cloudflare Workers: the API never uses Redis there; the Node relay and workers do',
      }),
      // As on Node (src/server.ts): never makes the service unready, but carries its warnings.
      linkedin: () => linkedinReadiness(requestDb(), config.linkedin, systemClock.now()),
    },
    clientIp: (c) => c.req.header('cf-connecting-ip') ?? 'unknown',
    pseudonyms: new Pseudonyms(appSecret),
    linkedin: linkedinAppConfig({ ...config, appSecret }),
  };
  return { app: createApp(deps), logger };
}

function misconfigured(error: ConfigError): Response {
  const body = {
    type: 'about:blank',
    title: 'Server misconfigured',
    status: 500,
    detail: `Invalid configuration: ${error.problems.map((p) => p.variable).join(', ')} (see the Worker's logs).`,
  };
  return new Response(JSON.stringify(body), {
    status: 500,
    headers: { 'content-type': 'application/problem+json' },
  });
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    let built = isolates.get(env);
    if (!built) {
      try {
        built = buildIsolate(env);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        // Names and reasons only: ConfigError never carries the values themselves.
        console.error(JSON.stringify({ level: 50, msg: error.message, service: 'thuispost' }));
        return misconfigured(error);
      }
      isolates.set(env, built);
    }
    const isolate = built;
    const scope: RequestScope = { env, logger: isolate.logger };
    try {
      return await requestScope.run(scope, () => isolate.app.fetch(request, env, ctx));
    } finally {
      const database = scope.database;
      if (database) {
        scope.closing = true;
        ctx.waitUntil(
          database
            .close()
            .catch((error) =>
              isolate.logger.warn({ err: String(error) }, 'closing the request database pool failed'),
            ),
        );
      }
    }
  },
};
