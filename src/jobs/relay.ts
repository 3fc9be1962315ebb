import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from '../db/connection.js';
import type { Logger } from '../infra/logger.js';
import type { Clock } from '../providers/clock.js';
import { QUEUE_NAMES, type QueueName, type Queues } from './queues.js';

export interface RelayOptions {
  db: Db;
  /** A dedicated connection for LISTEN (a pooled one would be returned and lose it). */
  databaseUrl: string;
  queues: Queues;
  /** The connection the queues use: with it the relay notices Redis restarts (see the class comment). */
  redis?: Redis;
  clock: Clock;
  logger: Logger;
  sweepIntervalMs?: number;
  /** How soon after a drain that found rows to drain once more (see followUp). */
  followUpMs?: number;
  batchSize?: number;
  /** Test hook: runs after jobs were added to Redis and before the rows are marked relayed. */
  afterEnqueue?: (jobIds: string[]) => Promise<void> | void;
  /** Runs once after a Redis restart was noticed (e.g. to register recurring jobs again). */
  afterRedisRestart?: () => Promise<void>;
}

/** Rows relayed this long ago (or still due later) are added again after a Redis restart. */
export const REPLAY_WINDOW_MS = 24 * 60 * 60 * 1000;

type OutboxJobRow = {
  id: string;
  queue: string;
  job_name: string;
  job_id: string;
  payload: unknown;
  run_at: Date;
};

/**
 * Moves committed outbox rows into BullMQ. NOTIFY gives low latency; the sweep catches anything
 * a lost notification or a crash left behind. A crash between adding a job and marking its row
 * only means the row is added again later, with the same job id, which BullMQ ignores.
 *
 * Redis only holds jobs, and a restart may lose some (with AOF, the last second of writes) or all
 * of them. Its run_id changes with every restart: the first relay (of any process) to see a new
 * one adds every row relayed in the last day, and every one due later, again under the same job
 * ids. BullMQ ignores the ids it still has; processors are idempotent for the rest.
 */
export class OutboxRelay {
  private listener: pg.Client | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private followUpTimer: NodeJS.Timeout | null = null;
  private draining: Promise<void> | null = null;
  private drainAgain = false;
  private stopped = false;
  /** The run_id of the Redis this relay last checked, and whether the sweep asked for a check. */
  private redisRunId: string | null = null;
  private redisCheckDue = true;

  constructor(private readonly options: RelayOptions) {}

  async start(): Promise<void> {
    this.stopped = false;
    await this.listen().catch((error) => this.scheduleReconnect(error));
    this.sweepTimer = setInterval(() => {
      this.redisCheckDue = true;
      this.trigger();
    }, this.options.sweepIntervalMs ?? 5_000);
    this.trigger();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.followUpTimer) clearTimeout(this.followUpTimer);
    await this.draining?.catch(() => undefined);
    await this.listener?.end().catch(() => undefined);
    this.listener = null;
  }

  /** Drains now (or right after the drain in progress). */
  trigger(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = this.replayAfterRedisRestart()
      .then(() => this.drainAll())
      .then((relayed) => {
        if (relayed > 0) this.followUp();
      })
      .catch((error) =>
        this.options.logger.warn(
          { err: errorMessage(error) },
          'outbox relay: drain failed; retrying on the next sweep',
        ),
      )
      .finally(() => {
        this.draining = null;
        if (this.drainAgain) {
          this.drainAgain = false;
          this.trigger();
        }
      });
  }

  /**
   * Of transactions committing at the same moment only one sends the notification (migration
   * 0032_outbox_notify_once); the others may commit just after this drain read the table. One
   * more drain shortly after every drain that found rows picks them up without waiting for the sweep.
   */
  private followUp(): void {
    if (this.stopped || this.followUpTimer) return;
    this.followUpTimer = setTimeout(() => {
      this.followUpTimer = null;
      this.trigger();
    }, this.options.followUpMs ?? 100);
  }

  /** Relays until no pending row is left; returns how many rows were relayed. */
  async drainAll(): Promise<number> {
    let total = 0;
    for (;;) {
      const relayed = await this.drainBatch();
      total += relayed;
      if (relayed < (this.options.batchSize ?? 500) || this.stopped) return total;
    }
  }

  /** When the sweep asks: if Redis restarted since the last check, add the recent jobs again. */
  private async replayAfterRedisRestart(): Promise<void> {
    const { redis, queues } = this.options;
    if (!this.redisCheckDue || !redis) return;
    const runId = /run_id:(\w+)/.exec(await redis.info('server'))?.[1] ?? null;
    if (runId !== null && runId !== this.redisRunId) {
      // One relay per restart: the one that swaps the run_id it finds in Redis for the new one.
      const key = `${queues[QUEUE_NAMES[0]!].opts.prefix}:outbox-relay:redis-run-id`;
      const previous = await redis.set(key, runId, 'GET');
      this.redisRunId = runId;
      if (previous !== runId) {
        const replayed = await this.replayRelayed();
        await this.options.afterRedisRestart?.();
        if (previous !== null || replayed > 0) {
          this.options.logger.warn(
            { replayed },
            'outbox relay: Redis restarted; the jobs of the last day were added again (it ignores those it kept)',
          );
        }
      }
    }
    this.redisCheckDue = false;
  }

  private async replayRelayed(): Promise<number> {
    const { db, clock, batchSize = 500 } = this.options;
    const now = clock.now();
    const since = new Date(now.getTime() - REPLAY_WINDOW_MS);
    let total = 0;
    for (let after = '0'; ; ) {
      const rows = await db
        .selectFrom('outbox')
        .select(['id', 'queue', 'job_name', 'job_id', 'payload', 'run_at'])
        .where('relayed_at', 'is not', null)
        .where((eb) => eb.or([eb('relayed_at', '>=', since), eb('run_at', '>', now)]))
        .where('queue', 'in', QUEUE_NAMES)
        .where('id', '>', after)
        .orderBy('id')
        .limit(batchSize)
        .execute();
      if (rows.length === 0 || this.stopped) return total;
      await this.addJobs(rows);
      total += rows.length;
      after = rows.at(-1)!.id;
    }
  }

  /** Adds one job per row, under the row's job id (BullMQ ignores an id it has). */
  private async addJobs(rows: OutboxJobRow[]): Promise<void> {
    const now = this.options.clock.now().getTime();
    const byQueue = new Map<Queue, OutboxJobRow[]>();
    for (const row of rows) {
      const queue = this.options.queues[row.queue as QueueName];
      // Pushed, not spread into a new array per row: that made a drain of 500 rows allocate
      // 125,000 array slots, garbage while the jobs were in flight.
      const queueRows = byQueue.get(queue);
      if (queueRows) queueRows.push(row);
      else byQueue.set(queue, [row]);
    }
    for (const [queue, queueRows] of byQueue) {
      await queue.addBulk(
        queueRows.map((row) => ({
          name: row.job_name,
          data: row.payload,
          opts: { jobId: row.job_id, delay: Math.max(0, row.run_at.getTime() - now) },
        })),
      );
    }
  }

  private async drainBatch(): Promise<number> {
    const { db, clock, batchSize = 500 } = this.options;
    return db.transaction().execute(async (tx) => {
      const rows = await tx
        .selectFrom('outbox')
        .select(['id', 'queue', 'job_name', 'job_id', 'payload', 'run_at'])
        .where('relayed_at', 'is', null)
        // Rows for a queue this version does not know wait for a version that does.
        .where('queue', 'in', QUEUE_NAMES)
        .orderBy('id')
        .limit(batchSize)
        .forUpdate()
        .skipLocked()
        .execute();
      if (rows.length === 0) return 0;
      await this.addJobs(rows);
      await this.options.afterEnqueue?.(rows.map((row) => row.job_id));
      await tx
        .updateTable('outbox')
        .set({ relayed_at: clock.now(), relay_attempts: sql`relay_attempts + 1` })
        .where(
          'id',
          'in',
          rows.map((row) => row.id),
        )
        .execute();
      return rows.length;
    });
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.databaseUrl });
    client.on('error', (error) => this.scheduleReconnect(error));
    client.on('notification', () => this.trigger());
    await client.connect();
    await client.query('LISTEN outbox');
    this.listener = client;
    // Rows committed while we were not listening are found by this drain.
    this.trigger();
  }

  private scheduleReconnect(error: unknown): void {
    if (this.stopped || this.reconnectTimer) return;
    this.options.logger.warn(
      { err: errorMessage(error) },
      'outbox relay: LISTEN connection lost; reconnecting',
    );
    const old = this.listener;
    this.listener = null;
    old?.end().catch(() => undefined);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.listen().catch((next) => this.scheduleReconnect(next));
    }, 2_000);
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
