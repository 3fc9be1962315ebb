import { linkedinWorkerConfig } from '../infra/linkedin-config.js';
import type { Runtime } from '../infra/runtime.js';
import { resumeHeldPosts } from './processors/linkedin.js';
import { OutboxRelay } from './relay.js';
import { registerSchedules, startWorkers } from './workers.js';

/**
 * Starts the background side of a process: outbox relay, queue workers and recurring schedules.
 * Shared by `npm start` (all in one process) and `npm run start:worker`.
 */
export async function runBackground(runtime: Runtime): Promise<void> {
  const redis = runtime.redis;
  if (!redis) throw new Error('workers need Redis');
  const { config, database, logger, clock } = runtime;
  const linkedin = linkedinWorkerConfig(config);
  const workers = await startWorkers({
    db: database.db,
    mailer: runtime.mailer,
    clock,
    logger,
    metrics: runtime.metrics,
    emailFrom: config.emailFrom,
    publicBaseUrl: config.publicBaseUrl,
    linkTokens: runtime.linkTokens,
    connection: redis.workerOptions,
    prefix: config.redisPrefix,
    concurrency: config.workerConcurrency,
    providerRequestsPerSecond: config.resend.requestsPerSecond,
    pendingSignupRetentionDays: config.pendingSignupRetentionDays,
    linkedin,
  });
  // The admin may have replaced a refused LINKEDIN_ACCESS_TOKEN and restarted: held posts go now.
  await resumeHeldPosts({ db: database.db, clock, logger }, linkedin);
  await registerSchedules(redis.queues);
  const relay = new OutboxRelay({
    db: database.db,
    databaseUrl: config.databaseUrl,
    queues: redis.queues,
    redis: redis.producer,
    clock,
    logger,
    // A Redis that lost everything lost the recurring jobs too.
    afterRedisRestart: () => registerSchedules(redis.queues),
  });
  await relay.start();
  // Stopped before the pools close: relay first (no new jobs), then workers finish what they hold.
  runtime.onShutdown(async () => {
    await withTimeout(workers.close(), config.shutdownTimeoutMs, () =>
      logger.warn('jobs still running at the shutdown deadline; they will be retried by another worker'),
    );
  });
  runtime.onShutdown(() => relay.stop());
}

async function withTimeout(work: Promise<void>, ms: number, onTimeout: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      onTimeout();
      resolve();
    }, ms);
  });
  await Promise.race([work, deadline]);
  clearTimeout(timer);
}
