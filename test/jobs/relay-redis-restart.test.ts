import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueEmail } from '../../src/domain/emails.js';
import { type EmbeddedService, startEmbeddedRedis } from '../../src/infra/embedded-redis.js';
import {
  closeQueues,
  connectRedis,
  createQueues,
  type Queues,
  type RedisConnections,
} from '../../src/jobs/queues.js';
import { OutboxRelay } from '../../src/jobs/relay.js';
import { systemClock } from '../../src/providers/clock.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { freePort, waitUntil } from '../helpers/process.js';

/**
 * Redis holds jobs only. The fault suite found confirmation and welcome emails that never went out:
 * their rows were relayed, then Redis was killed before its AOF reached the disk (it writes once a
 * second), and nothing ever added those jobs again. A Redis of its own here, restarted empty.
 */
let ctx: TestContext;
let dataDir: string;
let port: number;
let redisServer: EmbeddedService;
let redis: RedisConnections;
let queues: Queues;
const quiet = pino({ level: 'silent' });

beforeAll(async () => {
  ctx = await createTestContext();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'thuispost-relay-redis-'));
  await chmod(dataDir, 0o711);
  port = await freePort();
  redisServer = await startEmbeddedRedis({ dataDir, port, logger: quiet });
  redis = connectRedis(redisServer.url, () => undefined);
  queues = createQueues(redis.producer, 'herstart');
});
afterAll(async () => {
  await closeQueues(queues);
  await redis.close();
  await redisServer.stop();
  await rm(dataDir, { recursive: true, force: true });
  await ctx.close();
});

describe('outbox relay and a Redis restart', () => {
  it('adds the jobs a restarted Redis lost again, and registers the recurring ones again', async () => {
    let restartsNoticed = 0;
    const relay = new OutboxRelay({
      db: ctx.db,
      databaseUrl: ctx.databaseUrl,
      queues,
      redis: redis.producer,
      clock: systemClock,
      logger: ctx.deps.logger,
      sweepIntervalMs: 100,
      afterRedisRestart: async () => {
        restartsNoticed++;
      },
    });
    await relay.start();
    try {
      const emailId = await ctx.db.transaction().execute((tx) =>
        queueEmail(tx, {
          kind: 'test',
          to: 'herstart@voorbeeld.test',
          subject: 'Na een herstart',
          html: '<p>x</p>',
          text: 'x',
        }),
      );
      const jobId = `email-${emailId}`;
      const queue = queues['transactional-email'];
      // No worker runs: the job waits in Redis.
      await waitUntil(async () => (await queue.getJob(jobId)) !== undefined, 'the job in Redis');
      // The first look at this Redis counts as a restart (nothing relayed could be older than it).
      await waitUntil(() => restartsNoticed === 1, 'the first check');

      // Redis dies and comes back without its data: a new run_id, the job gone.
      await redisServer.stop();
      await rm(path.join(dataDir, 'redis'), { recursive: true, force: true });
      redisServer = await startEmbeddedRedis({ dataDir, port, logger: quiet });
      await waitUntil(async () => (await redis.producer.ping().catch(() => null)) === 'PONG', 'Redis back');

      await waitUntil(async () => (await queue.getJob(jobId)) !== undefined, 'the job added again', 20_000);
      expect(restartsNoticed).toBe(2);
      const row = await ctx.db
        .selectFrom('outbox')
        .select('relay_attempts')
        .where('job_id', '=', jobId)
        .executeTakeFirstOrThrow();
      // Added again from the relayed row, not relayed as a new one.
      expect(row.relay_attempts).toBe(1);
    } finally {
      await relay.stop();
    }
  });
});
