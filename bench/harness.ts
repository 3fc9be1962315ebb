import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { serve } from '@hono/node-server';
import autocannon from 'autocannon';
import { Hono } from 'hono';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import { createApp } from '../src/api/app.js';
import type { AppDeps } from '../src/api/deps.js';
import { createDb, type DbHandle } from '../src/db/connection.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { groupCommittedSignups } from '../src/domain/subscribers.js';
import { Pseudonyms } from '../src/infra/crypto.js';
import { startEmbeddedPostgres } from '../src/infra/embedded-postgres.js';
import { startEmbeddedRedis } from '../src/infra/embedded-redis.js';
import { createLogger, type Logger } from '../src/infra/logger.js';
import { createMetricsRegistry } from '../src/infra/metrics.js';
import { systemClock } from '../src/providers/clock.js';
import { LinkTokens } from '../src/providers/link-tokens.js';

/** One measured figure, always next to a baseline measured in the same run on the same machine. */
export interface BenchResult {
  name: string;
  unit: string;
  value: number;
  /** `unit` defaults to the figure's own. */
  baseline: { name: string; value: number; unit?: string };
  /** value / baseline.value */
  ratio: number;
  /** The target, as a statement that is true or false for this run. */
  goal?: { text: string; met: boolean };
  details?: Record<string, unknown>;
}

export interface BenchEnv {
  databaseUrl: string;
  redisUrl: string;
  /** A fresh, migrated database on the bench server. */
  freshDatabase(): Promise<string>;
  close(): Promise<void>;
}

/** Real Postgres and Redis, embedded in a temp dir unless DATABASE_URL / REDIS_URL are set. */
export async function startBenchEnv(): Promise<BenchEnv> {
  const logger = pino({ level: 'warn' });
  const stops: (() => Promise<void>)[] = [];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'thuispost-bench-'));
  await chmod(dir, 0o711);
  let databaseUrl = process.env.DATABASE_URL;
  let redisUrl = process.env.REDIS_URL;
  if (!databaseUrl) {
    const postgres = await startEmbeddedPostgres({ dataDir: dir, logger });
    stops.push(() => postgres.stop());
    databaseUrl = postgres.url;
  }
  if (!redisUrl) {
    const redis = await startEmbeddedRedis({ dataDir: dir, logger });
    stops.push(() => redis.stop());
    redisUrl = redis.url;
  }
  const serverUrl = databaseUrl;
  const admin = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: serverUrl, max: 1 }) }),
  });
  const created: string[] = [];
  return {
    databaseUrl,
    redisUrl,
    async freshDatabase() {
      const name = `bench_${Date.now().toString(36)}_${created.length}`;
      await sql`create database ${sql.id(name)}`.execute(admin);
      created.push(name);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      const db = new Kysely<unknown>({
        dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url.toString(), max: 1 }) }),
      });
      await migrateToLatest(db);
      await db.destroy();
      return url.toString();
    },
    async close() {
      for (const name of created)
        await sql`drop database if exists ${sql.id(name)} with (force)`.execute(admin);
      await admin.destroy();
      for (const stop of stops.reverse()) await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The whole HTTP app as production builds it, on a fresh database of the bench server (pool of 10).
 * `logger` defaults to silent; `clientIp` to 127.0.0.1. Close `database` when done.
 */
export async function benchApp(
  env: BenchEnv,
  options: { logger?: Logger; clientIp?: AppDeps['clientIp']; publicBaseUrl?: string } = {},
): Promise<{ app: ReturnType<typeof createApp>; database: DbHandle; linkTokens: LinkTokens }> {
  const database = createDb(await env.freshDatabase(), createLogger('silent'), { max: 10 });
  const linkTokens = new LinkTokens(['bench-secret'.padEnd(48, 'x')], systemClock);
  const app = createApp({
    db: database.db,
    clock: systemClock,
    logger: options.logger ?? createLogger('silent'),
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    linkTokens,
    config: {
      nodeEnv: 'production',
      publicBaseUrl: options.publicBaseUrl ?? 'http://localhost',
      mailerKind: 'mailbox',
      siteOrigins: [],
    },
    clientIp: options.clientIp ?? (() => '127.0.0.1'),
    pseudonyms: new Pseudonyms('bench-secret'.padEnd(48, 'x')),
    signups: groupCommittedSignups(database.db, systemClock),
  });
  return { app, database, linkTokens };
}

export interface HttpFigures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The bare Hono route every HTTP figure is compared with (run on this process, like the app). */
export function measureBareRoute(seconds: number): Promise<HttpFigures> {
  return loadTest(
    new Hono().get('/hello', (c) => c.json({ ok: true })),
    { path: '/hello' },
    seconds,
  );
}

/**
 * The bare route measured before and after `work`, the faster one counting: this VM's speed drifts
 * by a factor of two within minutes (other tenants of the host), and no ratio may gain from a
 * slow moment of the baseline.
 */
export async function besideBareRoute<T>(
  seconds: number,
  work: () => Promise<T>,
): Promise<{ value: T; bare: HttpFigures; bareBefore: number; bareAfter: number }> {
  const before = await measureBareRoute(seconds);
  const value = await work();
  const after = await measureBareRoute(seconds);
  return {
    value,
    bare: after.requestsPerSecond > before.requestsPerSecond ? after : before,
    bareBefore: before.requestsPerSecond,
    bareAfter: after.requestsPerSecond,
  };
}

/**
 * Serves `app` on a free loopback port and loads it with autocannon for `seconds`. Latency
 * percentiles are taken from every 2xx response's own time (autocannon's histogram rounds to whole
 * milliseconds, which reads 0 ms for a fast route).
 */
export async function loadTest(
  app: Pick<Hono, 'fetch'>,
  request: { path: string; method?: string; headers?: Record<string, string>; body?: string },
  seconds: number,
  connections = 50,
): Promise<HttpFigures> {
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  try {
    const latencies: number[] = [];
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      const instance = autocannon(
        {
          url: `http://127.0.0.1:${port}${request.path}`,
          method: (request.method ?? 'GET') as 'GET',
          headers: request.headers,
          body: request.body,
          connections,
          duration: seconds,
        },
        (error, finished) => (error ? reject(error) : resolve(finished)),
      );
      instance.on('response', (_client, statusCode, _bytes, ms) => {
        if (statusCode >= 200 && statusCode < 300) latencies.push(ms);
      });
    });
    latencies.sort((a, b) => a - b);
    return {
      requestsPerSecond: result.requests.average,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      errors: result.errors + result.timeouts,
      non2xx: result.non2xx,
    };
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export function result(
  name: string,
  unit: string,
  value: number,
  baseline: BenchResult['baseline'],
  goal?: { text: string; met: boolean },
  details?: Record<string, unknown>,
): BenchResult {
  return {
    name,
    unit,
    value,
    baseline,
    ratio: baseline.value === 0 ? 0 : value / baseline.value,
    goal,
    details,
  };
}
