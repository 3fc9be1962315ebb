import { type ConnectionOptions, type DefaultJobOptions, Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import { EDITION_BATCHES_QUEUE, EDITIONS_QUEUE } from '../domain/editions.js';
import { TRANSACTIONAL_EMAIL_QUEUE } from '../domain/emails.js';

/** Every queue, with the schema of its job payloads (ids only). */
export const QUEUES = {
  [TRANSACTIONAL_EMAIL_QUEUE]: {
    'send-email': z.object({ emailId: z.string().regex(/^\d+$/) }),
    // Template emails for one subscriber (see domain/emails.ts queueSubscriberEmail), rendered by the worker.
    'send-confirmation': z.object({ subscriberId: z.string().regex(/^\d+$/) }),
    'send-welcome': z.object({ subscriberId: z.string().regex(/^\d+$/) }),
    'send-preferences-changed': z.object({ subscriberId: z.string().regex(/^\d+$/) }),
    'send-already-subscribed': z.object({ subscriberId: z.string().regex(/^\d+$/) }),
  },
  maintenance: {
    cleanup: z.object({}),
    'sweep-sends': z.object({}),
  },
  // Edition sends (see domain/editions.ts and domain/deliveries.ts): the scheduled start, then one
  // job per batch of ≤ 100 recipients on their own queue, whose rate limit all workers share.
  [EDITIONS_QUEUE]: {
    'start-send': z.object({ editionId: z.string().regex(/^\d+$/), scheduleVersion: z.number().int() }),
  },
  [EDITION_BATCHES_QUEUE]: {
    'send-batch': z.object({ editionId: z.string().regex(/^\d+$/), batchNo: z.number().int().min(0) }),
  },
  // CSV import of subscribers (see domain/imports.ts); one job per import, id `import-<id>`.
  imports: {
    'run-import': z.object({ importId: z.string().regex(/^\d+$/) }),
  },
  // LinkedIn (see domain/linkedin.ts, processors/linkedin.ts): the announcement of a sent edition
  // (job id `announce-edition-<id>`), publishing a post (`linkedin-post-<id>-v<version>`), and
  // the recurring token refresh and sweep.
  linkedin: {
    'announce-edition': z.object({ editionId: z.string().regex(/^\d+$/) }),
    'announce-document': z.object({ documentId: z.string().regex(/^\d+$/) }),
    'publish-post': z.object({ postId: z.string().regex(/^\d+$/), version: z.number().int() }),
    'refresh-token': z.object({}),
    sweep: z.object({}),
  },
} as const;

export type QueueName = keyof typeof QUEUES;
export const QUEUE_NAMES = Object.keys(QUEUES) as QueueName[];

export function isQueueName(name: string): name is QueueName {
  return Object.hasOwn(QUEUES, name);
}

/**
 * Completed jobs are kept for a week: a re-relayed outbox row whose job already ran then finds
 * the old job id and is ignored by BullMQ. Processors are idempotent as a second line of defence.
 */
export const DEFAULT_JOB_OPTIONS: DefaultJobOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 2_000, jitter: 0.5 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 100_000 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

export interface RedisConnections {
  /** For producers: fail fast when Redis is down instead of buffering commands. */
  producer: Redis;
  /** Options for blocking worker connections (BullMQ opens its own from these). */
  workerOptions: ConnectionOptions;
  close(): Promise<void>;
}

export function connectRedis(url: string, onError: (error: Error) => void): RedisConnections {
  const base: RedisOptions = {
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(times * 200, 5_000),
    lazyConnect: false,
  };
  const producer = new Redis(url, { ...base, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  producer.on('error', onError);
  return {
    producer,
    workerOptions: { url, ...base } as ConnectionOptions,
    close: async () => {
      producer.disconnect();
    },
  };
}

export type Queues = Record<QueueName, Queue>;

export function createQueues(
  connection: Redis,
  prefix: string,
  defaultJobOptions = DEFAULT_JOB_OPTIONS,
): Queues {
  return Object.fromEntries(
    QUEUE_NAMES.map((name) => [name, new Queue(name, { connection, prefix, defaultJobOptions })]),
  ) as Queues;
}

export type JobState = 'waiting' | 'active' | 'delayed' | 'failed' | 'completed';

/** How many jobs each queue holds in each of `states` (one round trip per queue). */
export async function queueJobCounts<S extends JobState>(
  queues: Partial<Queues>,
  states: readonly S[],
): Promise<{ queue: string; counts: Record<S, number> }[]> {
  return Promise.all(
    Object.entries(queues).map(async ([queue, q]) => ({
      queue,
      counts: (await q!.getJobCounts(...states)) as Record<S, number>,
    })),
  );
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((queue) => queue.close()));
}
