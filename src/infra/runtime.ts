import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Registry } from 'prom-client';
import { type Config, loadConfig, type ResolvedConfig } from '../config.js';
import { createDb, type DbHandle } from '../db/connection.js';
import { migrateToLatest } from '../db/migrate.js';
import { refreshEditionMetrics } from '../domain/edition-stats.js';
import {
  closeQueues,
  connectRedis,
  createQueues,
  type Queues,
  queueJobCounts,
  type RedisConnections,
} from '../jobs/queues.js';
import { type Clock, systemClock } from '../providers/clock.js';
import { LinkTokens } from '../providers/link-tokens.js';
import { MailboxMailer } from '../providers/mailbox-mailer.js';
import type { Mailer } from '../providers/mailer.js';
import { ResendMailer } from '../providers/resend-mailer.js';
import { randomToken } from './crypto.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { startEmbeddedRedis } from './embedded-redis.js';
import { createLogger, type Logger, redactUrl } from './logger.js';
import { createMetricsRegistry, outboxBacklog, queueDepth } from './metrics.js';

/** The wired parts of a Node process (server, worker or CLI), and how to stop them in order. */
export interface Runtime {
  config: ResolvedConfig;
  logger: Logger;
  clock: Clock;
  database: DbHandle;
  mailer: Mailer;
  metrics: Registry;
  linkTokens: LinkTokens;
  /** Present when the process needs Redis (API in single-process mode, workers). */
  redis: (RedisConnections & { queues: Queues }) | null;
  /** Runs `stop` functions in reverse order of registration. */
  onShutdown(stop: () => Promise<void>): void;
  shutdown(): Promise<void>;
}

/** APP_SECRET for embedded installs: generated once, kept (mode 600) in the data directory. */
async function embeddedAppSecret(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'app-secret');
  try {
    const secret = (await readFile(file, 'utf8')).trim();
    if (secret.length >= 32) return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomToken(48);
  await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'w' });
  await chmod(file, 0o600);
  return secret;
}

export async function startRuntime(options: {
  env: Record<string, string | undefined>;
  needsRedis: boolean;
  /** Migrate at start (servers and workers do; the CLI decides per command). */
  migrate: boolean;
  process: 'server' | 'worker' | 'cli';
}): Promise<Runtime> {
  const config: Config = loadConfig(options.env);
  const logger = createLogger(config.logLevel).child({ process: options.process });
  const stops: (() => Promise<void>)[] = [];
  const onShutdown = (stop: () => Promise<void>) => stops.push(stop);
  let shuttingDown: Promise<void> | null = null;
  const shutdown = () => {
    shuttingDown ??= (async () => {
      for (const stop of stops.reverse()) {
        await stop().catch((error) => logger.warn({ err: String(error) }, 'error while stopping'));
      }
    })();
    return shuttingDown;
  };

  try {
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const pg = await startEmbeddedPostgres({ dataDir: config.dataDir, logger });
      if (pg.owned) onShutdown(() => pg.stop());
      databaseUrl = pg.url;
      logger.info({ postgres: redactUrl(pg.url), owned: pg.owned }, 'using the embedded Postgres');
    }
    let redisUrl = config.redisUrl;
    if (!redisUrl && options.needsRedis) {
      const redis = await startEmbeddedRedis({ dataDir: config.dataDir, logger });
      if (redis.owned) onShutdown(() => redis.stop());
      redisUrl = redis.url;
      logger.info({ redis: redactUrl(redis.url), owned: redis.owned }, 'using the embedded Redis');
    }
    const appSecret = config.appSecret ?? (await embeddedAppSecret(config.dataDir));
    const resolved: ResolvedConfig = { ...config, databaseUrl, redisUrl: redisUrl ?? '', appSecret };

    const database = createDb(databaseUrl, logger, { max: options.process === 'cli' ? 2 : 10 });
    onShutdown(() => database.close());
    if (options.migrate) {
      const result = await migrateToLatest(database.db);
      const applied = result.results?.filter((r) => r.status === 'Success').map((r) => r.migrationName) ?? [];
      if (applied.length > 0) logger.info({ applied }, 'database migrated');
    }

    let redis: Runtime['redis'] = null;
    if (options.needsRedis && redisUrl) {
      const connections = connectRedis(redisUrl, (error) =>
        logger.warn({ err: error.message }, 'redis connection error; retrying'),
      );
      const queues = createQueues(connections.producer, config.redisPrefix);
      onShutdown(() => connections.close());
      onShutdown(() => closeQueues(queues));
      redis = { ...connections, queues };
    }

    const mailer: Mailer = config.resend.apiKey
      ? new ResendMailer(config.resend.apiKey, config.resend.baseUrl)
      : new MailboxMailer(database.db);

    return {
      config: resolved,
      logger,
      clock: systemClock,
      database,
      mailer,
      metrics: createMetricsRegistry({ defaultMetrics: true }),
      linkTokens: new LinkTokens([appSecret, ...config.previousAppSecrets], systemClock),
      redis,
      onShutdown,
      shutdown,
    };
  } catch (error) {
    await shutdown();
    throw error;
  }
}

/** Readiness of Redis (for /readyz) and queue depth gauges (for /metrics). */
export function redisObservers(runtime: Runtime) {
  const redis = runtime.redis;
  if (!redis) return {};
  const depth = queueDepth(runtime.metrics);
  const backlog = outboxBacklog(runtime.metrics);
  return {
    readinessChecks: {
      redis: async () => {
        const answer = await redis.producer.ping();
        return { ok: answer === 'PONG' };
      },
    },
    beforeMetrics: async () => {
      const pending = await runtime.database.db
        .selectFrom('outbox')
        .select((eb) => eb.fn.countAll<string>().as('count'))
        .where('relayed_at', 'is', null)
        .executeTakeFirstOrThrow();
      backlog.set(Number(pending.count));
      await refreshEditionMetrics(runtime.database.db, runtime.metrics);
      const states = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
      for (const { queue, counts } of await queueJobCounts(redis.queues, states)) {
        for (const state of states) depth.set({ queue, state }, counts[state]);
      }
    },
  };
}
