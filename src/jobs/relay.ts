import type { Queue } from 'bullmq';
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
  clock: Clock;
  logger: Logger;
  sweepIntervalMs?: number;
  /** How soon after a drain that found rows to drain once more (see followUp). */
  followUpMs?: number;
  batchSize?: number;
  /** Test hook: runs after jobs were added to Redis and before the rows are marked relayed. */
  afterEnqueue?: (jobIds: string[]) => Promise<void> | void;
}

/**
 * Moves committed outbox rows into BullMQ. NOTIFY gives low latency; the sweep catches anything
 * a lost notification or a crash left behind. A crash between adding a job and marking its row
 * only means the row is added again later, with the same job id, which BullMQ ignores.
 */
export class OutboxRelay {
  private listener: pg.Client | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private followUpTimer: NodeJS.Timeout | null = null;
  private draining: Promise<void> | null = null;
  private drainAgain = false;
  private stopped = false;

  constructor(private readonly options: RelayOptions) {}

  async start(): Promise<void> {
    this.stopped = false;
    await this.listen().catch((error) => this.scheduleReconnect(error));
    this.sweepTimer = setInterval(() => this.trigger(), this.options.sweepIntervalMs ?? 5_000);
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
    this.draining = this.drainAll()
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
   * 0033_outbox_notify_once); the others may commit just after this drain read the table. One
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

  private async drainBatch(): Promise<number> {
    const { db, queues, clock, batchSize = 500 } = this.options;
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
      const now = clock.now().getTime();
      const byQueue = new Map<Queue, typeof rows>();
      for (const row of rows) {
        const queue = queues[row.queue as QueueName];
        byQueue.set(queue, [...(byQueue.get(queue) ?? []), row]);
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
