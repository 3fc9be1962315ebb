import { type ConnectionOptions, type Job, type Processor, Worker } from 'bullmq';
import type { Registry } from 'prom-client';
import type { Db } from '../db/connection.js';
import type { Logger } from '../infra/logger.js';
import { jobOutcomes } from '../infra/metrics.js';
import type { Clock } from '../providers/clock.js';
import type { Mailer } from '../providers/mailer.js';
import { maintenanceProcessor } from './processors/maintenance.js';
import { transactionalEmailProcessor } from './processors/transactional-email.js';
import type { QueueName, Queues } from './queues.js';

export interface WorkerDeps {
  db: Db;
  mailer: Mailer;
  clock: Clock;
  logger: Logger;
  metrics: Registry;
  emailFrom: string;
  connection: ConnectionOptions;
  prefix: string;
  concurrency: number;
}

/** One processor per queue; each receives ids and reads current state from Postgres. */
function processors(deps: WorkerDeps): Record<QueueName, Processor> {
  return {
    'transactional-email': transactionalEmailProcessor(deps),
    maintenance: maintenanceProcessor(deps),
  };
}

export async function startWorkers(deps: WorkerDeps): Promise<{ close(): Promise<void> }> {
  const outcomes = jobOutcomes(deps.metrics);
  const workers = Object.entries(processors(deps)).map(([queue, processor]) => {
    const worker = new Worker(queue, processor, {
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency: deps.concurrency,
      autorun: true,
    });
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
}
