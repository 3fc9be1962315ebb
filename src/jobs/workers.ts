import { type ConnectionOptions, type Job, type Processor, Worker } from 'bullmq';
import type { Registry } from 'prom-client';
import type { Db } from '../db/connection.js';
import { EDITION_BATCHES_QUEUE } from '../domain/editions.js';
import type { Logger } from '../infra/logger.js';
import { jobOutcomes } from '../infra/metrics.js';
import type { Clock } from '../providers/clock.js';
import type { LinkTokens } from '../providers/link-tokens.js';
import type { Mailer } from '../providers/mailer.js';
import { editionBatchProcessor } from './processors/edition-batches.js';
import { editionsProcessor } from './processors/editions.js';
import { type LinkedInWorkerConfig, linkedinProcessor } from './processors/linkedin.js';
import { maintenanceProcessor } from './processors/maintenance.js';
import { subscriberImportProcessor } from './processors/subscriber-import.js';
import { transactionalEmailProcessor } from './processors/transactional-email.js';
import { type ProviderRateLimit, RedisProviderRateLimit } from './provider-rate-limit.js';
import type { QueueName, Queues } from './queues.js';

export interface WorkerDeps {
  db: Db;
  mailer: Mailer;
  clock: Clock;
  logger: Logger;
  metrics: Registry;
  emailFrom: string;
  /** Public address of the web app, for personal links in emails (PUBLIC_BASE_URL). */
  publicBaseUrl: string;
  /** Signs those links (confirm, unsubscribe, preferences). */
  linkTokens: LinkTokens;
  connection: ConnectionOptions;
  prefix: string;
  concurrency: number;
  /** The provider's request rate, enforced across all workers for edition batches. */
  providerRequestsPerSecond: number;
  /** Signups never confirmed are purged this many days after their last confirmation email (default 30). */
  pendingSignupRetentionDays?: number;
  /** LinkedIn API, credentials and token key; absent: posts are dry runs (and a stored connection cannot be used). */
  linkedin?: LinkedInWorkerConfig;
}

/** One processor per queue; each receives ids and reads current state from Postgres. */
function processors(deps: WorkerDeps, providerRateLimit: ProviderRateLimit): Record<QueueName, Processor> {
  return {
    editions: editionsProcessor(deps),
    'edition-batches': editionBatchProcessor(deps, providerRateLimit),
    'transactional-email': transactionalEmailProcessor(deps, providerRateLimit),
    maintenance: maintenanceProcessor(deps),
    imports: subscriberImportProcessor(deps),
    linkedin: linkedinProcessor(deps),
  };
}

export async function startWorkers(deps: WorkerDeps): Promise<{ close(): Promise<void> }> {
  const outcomes = jobOutcomes(deps.metrics);
  let batchWorker: Worker | undefined;
  // In Redis (through the batch worker's connection): every worker process shares one budget.
  const providerRateLimit = new RedisProviderRateLimit(
    () => batchWorker!.getBackend().client,
    `${deps.prefix}:${EDITION_BATCHES_QUEUE}:provider-rate`,
    deps.providerRequestsPerSecond,
  );
  const workers = Object.entries(processors(deps, providerRateLimit)).map(([queue, processor]) => {
    const worker = new Worker(queue, processor, {
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency: deps.concurrency,
      autorun: true,
      // A killed worker's jobs are picked up by another after the lock lapses; jobs here take
      // seconds, so a short lock (renewed every 5 s while running) means a quick recovery.
      lockDuration: 10_000,
      stalledInterval: 5_000,
      // A crash is not the job's fault: never fail a job for having been interrupted.
      maxStalledCount: 1_000,
    });
    if (queue === EDITION_BATCHES_QUEUE) batchWorker = worker;
    worker.on('completed', () => outcomes.inc({ queue, outcome: 'completed' }));
    worker.on('failed', (job: Job | undefined, error) => {
      const final =
        !job || job.attemptsMade >= (job.opts.attempts ?? 1) || error.name === 'UnrecoverableError';
      outcomes.inc({ queue, outcome: final ? 'failed' : 'retried' });
      deps.logger.warn(
        { queue, jobId: job?.id, attempt: job?.attemptsMade, err: error.message },
        'job attempt failed',
      );
    });
    // Connection errors are retried by ioredis; log them instead of crashing the process.
    worker.on('error', (error) => deps.logger.warn({ queue, err: error.message }, 'worker connection error'));
    return worker;
  });
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  return {
    // Worker.close() waits for the jobs in progress to finish.
    close: async () => {
      await Promise.all(workers.map((worker) => worker.close()));
    },
  };
}

/** Recurring jobs, registered idempotently by every worker process (same scheduler id). */
export async function registerSchedules(queues: Queues): Promise<void> {
  await queues.maintenance.upsertJobScheduler(
    'maintenance-hourly',
    { every: 60 * 60 * 1000 },
    { name: 'cleanup', data: {} },
  );
  await queues.maintenance.upsertJobScheduler(
    'sweep-sends',
    { every: 60 * 1000 },
    { name: 'sweep-sends', data: {} },
  );
  await queues.linkedin.upsertJobScheduler(
    'linkedin-refresh-token',
    { every: 60 * 60 * 1000 },
    { name: 'refresh-token', data: {} },
  );
  await queues.linkedin.upsertJobScheduler(
    'linkedin-sweep',
    { every: 60 * 1000 },
    { name: 'sweep', data: {} },
  );
}
