import type { Registry } from 'prom-client';
import { createMetricsRegistry } from '../../src/infra/metrics.js';
import type { LinkedInWorkerConfig } from '../../src/jobs/processors/linkedin.js';
import {
  closeQueues,
  connectRedis,
  createQueues,
  DEFAULT_JOB_OPTIONS,
  type Queues,
  type RedisConnections,
} from '../../src/jobs/queues.js';
import { OutboxRelay } from '../../src/jobs/relay.js';
import { startWorkers } from '../../src/jobs/workers.js';
import type { Clock } from '../../src/providers/clock.js';
import { MailboxMailer } from '../../src/providers/mailbox-mailer.js';
import type { Mailer } from '../../src/providers/mailer.js';
import type { TestContext } from './context.js';

export const TEST_EMAIL_FROM = 'Thuispost <nieuws@voorbeeld.test>';

export interface TestBackground {
  redis: RedisConnections;
  queues: Queues;
  relay: OutboxRelay;
  metrics: Registry;
  stop(): Promise<void>;
}

/**
 * The real background side (outbox relay + BullMQ workers on real Redis) for a test context, with
 * its own key prefix and fast retries. Mailer: the dev mailbox unless a test passes another.
 */
export async function startTestBackground(
  ctx: TestContext,
  options: {
    mailer?: Mailer;
    clock?: Clock;
    /** The relay compares run_at (database time) with its clock: a test clock for the workers needs the real one here. */
    relayClock?: Clock;
    concurrency?: number;
    requestsPerSecond?: number;
    retryDelayMs?: number;
    /** LinkedIn API and credentials (e.g. the fake server); absent: LinkedIn posts are dry runs. */
    linkedin?: LinkedInWorkerConfig;
  } = {},
): Promise<TestBackground> {
  const redis = connectRedis(ctx.redisUrl, () => undefined);
  const queues = createQueues(redis.producer, ctx.redisPrefix, {
    ...DEFAULT_JOB_OPTIONS,
    backoff: { type: 'fixed', delay: options.retryDelayMs ?? 50 },
  });
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const clock = options.clock ?? ctx.deps.clock;
  const workers = await startWorkers({
    db: ctx.db,
    mailer: options.mailer ?? new MailboxMailer(ctx.db),
    clock,
    logger: ctx.deps.logger,
    metrics,
    emailFrom: TEST_EMAIL_FROM,
    publicBaseUrl: ctx.deps.config.publicBaseUrl,
    linkTokens: ctx.deps.linkTokens,
    connection: redis.workerOptions,
    prefix: ctx.redisPrefix,
    concurrency: options.concurrency ?? 4,
    providerRequestsPerSecond: options.requestsPerSecond ?? 1000,
    ...(options.linkedin ? { linkedin: options.linkedin } : {}),
  });
  const relay = new OutboxRelay({
    db: ctx.db,
    databaseUrl: ctx.databaseUrl,
    queues,
    redis: redis.producer,
    clock: options.relayClock ?? clock,
    logger: ctx.deps.logger,
    sweepIntervalMs: 200,
  });
  await relay.start();
  return {
    redis,
    queues,
    relay,
    metrics,
    stop: async () => {
      await relay.stop();
      await workers.close();
      await Promise.all(
        Object.values(queues).map((queue) => queue.obliterate({ force: true }).catch(() => undefined)),
      );
      await closeQueues(queues);
      await redis.close();
    },
  };
}
