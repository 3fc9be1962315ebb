import type { Queue } from 'bullmq';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueEmail } from '../../src/domain/emails.js';
import { connectRedis, createQueues, type Queues, type RedisConnections } from '../../src/jobs/queues.js';
import { OutboxRelay } from '../../src/jobs/relay.js';
import { systemClock } from '../../src/providers/clock.js';
import { startTestBackground } from '../helpers/background.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { childEnv, startScript } from '../helpers/process.js';

let ctx: TestContext;
let redis: RedisConnections;
let queues: Queues;

beforeAll(async () => {
  ctx = await createTestContext();
  redis = connectRedis(ctx.redisUrl, () => undefined);
  queues = createQueues(redis.producer, ctx.redisPrefix);
});
afterAll(async () => {
  await Promise.all(Object.values(queues).map((q) => q.obliterate({ force: true }).catch(() => undefined)));
  await Promise.all(Object.values(queues).map((q) => q.close()));
  await redis.close();
  await ctx.close();
});

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function queueTestEmail(to: string) {
  return ctx.db
    .transaction()
    .execute((tx) =>
      queueEmail(tx, { kind: 'test', to, subject: `Test ${to}`, html: '<p>x</p>', text: 'x' }),
    );
}

async function runCrashingRelay(): Promise<string> {
  const run = startScript(
    'test/fixtures/relay-crash.ts',
    [],
    childEnv({ DATABASE_URL: ctx.databaseUrl, REDIS_URL: ctx.redisUrl, REDIS_PREFIX: ctx.redisPrefix }),
  );
  const { signal } = await run.exited;
  return `${signal} ${run.stdout()}`;
}

const startBackground = () => startTestBackground(ctx);

const sentTo = (address: string) =>
  ctx.db.selectFrom('dev_mailbox').select('id').where(sql<boolean>`${address} = any(to_addresses)`).execute();

describe('outbox relay', () => {
  it('delivers work committed while no relay ran, exactly once', async () => {
    const emailId = await queueTestEmail('niemand-luisterde@voorbeeld.test');
    const background = await startBackground();
    try {
      const status = await waitFor(async () => {
        const row = await ctx.db
          .selectFrom('emails')
          .select('status')
          .where('id', '=', emailId)
          .executeTakeFirst();
        return row?.status === 'sent' ? row.status : undefined;
      }, 'the email to be sent');
      expect(status).toBe('sent');
      expect(await sentTo('niemand-luisterde@voorbeeld.test')).toHaveLength(1);
    } finally {
      await background.stop();
    }
  });

  it('runs the job exactly once when the relay is killed between enqueue and marking the row', async () => {
    const emailId = await queueTestEmail('na-de-crash@voorbeeld.test');
    const result = await runCrashingRelay();
    expect(result).toMatch(/^SIGKILL enqueued .*email-/);
    const row = await ctx.db
      .selectFrom('outbox')
      .select('relayed_at')
      .where('job_id', '=', `email-${emailId}`)
      .executeTakeFirstOrThrow();
    expect(row.relayed_at).toBeNull();

    const background = await startBackground();
    try {
      await waitFor(async () => {
        const email = await ctx.db
          .selectFrom('emails')
          .select('status')
          .where('id', '=', emailId)
          .executeTakeFirst();
        return email?.status === 'sent' ? true : undefined;
      }, 'the email to be sent');
      await waitFor(async () => {
        const outbox = await ctx.db
          .selectFrom('outbox')
          .select('relayed_at')
          .where('job_id', '=', `email-${emailId}`)
          .executeTakeFirst();
        return outbox?.relayed_at ? true : undefined;
      }, 'the outbox row to be marked');
      // Give a duplicate job every chance to run before counting.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await sentTo('na-de-crash@voorbeeld.test')).toHaveLength(1);
      const jobs = await (queues['transactional-email'] as Queue).getJobs([
        'completed',
        'active',
        'waiting',
        'delayed',
        'failed',
      ]);
      expect(jobs.filter((job) => job.id === `email-${emailId}`)).toHaveLength(1);
    } finally {
      await background.stop();
    }
  });

  it('records nothing when the surrounding transaction rolls back', async () => {
    await expect(
      ctx.db.transaction().execute(async (tx) => {
        await queueEmail(tx, {
          kind: 'test',
          to: 'teruggedraaid@voorbeeld.test',
          subject: 'x',
          html: 'x',
          text: 'x',
        });
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    const rows = await ctx.db
      .selectFrom('emails')
      .select('id')
      .where('to_address', '=', 'teruggedraaid@voorbeeld.test')
      .execute();
    expect(rows).toHaveLength(0);
  });

  it('a commit while another transaction is sending the notification sends none itself', async () => {
    const listener = new pg.Client({ connectionString: ctx.databaseUrl });
    const notifications: string[] = [];
    listener.on('notification', (message) => notifications.push(message.channel));
    await listener.connect();
    const notifier = new pg.Client({ connectionString: ctx.databaseUrl });
    await notifier.connect();
    try {
      await listener.query('LISTEN outbox');
      await listener.query('LISTEN test_marker');
      // Stands in for a transaction that is committing with the notification right now.
      await notifier.query(`select pg_advisory_lock(hashtext('thuispost-outbox-notify'))`);
      await queueTestEmail('naast-een-ander@voorbeeld.test');
      await notifier.query(`select pg_advisory_unlock(hashtext('thuispost-outbox-notify'))`);
      await queueTestEmail('daarna@voorbeeld.test');
      await sql`select pg_notify('test_marker', '')`.execute(ctx.db);
      // Notifications arrive in commit order: once the marker is in, every earlier one is too.
      await waitFor(async () => (notifications.includes('test_marker') ? true : undefined), 'the marker');
      expect(notifications).toEqual(['outbox', 'test_marker']);
    } finally {
      await notifier.end();
      await listener.end();
    }
  });

  it('relays a row that was committed without a notification right after the drain before it', async () => {
    const relay = new OutboxRelay({
      db: ctx.db,
      databaseUrl: ctx.databaseUrl,
      queues,
      clock: systemClock,
      logger: ctx.deps.logger,
      // No sweep during the test: only a notification or the follow-up drain can relay the row.
      sweepIntervalMs: 3_600_000,
      followUpMs: 2_000,
    });
    const notifier = new pg.Client({ connectionString: ctx.databaseUrl });
    await notifier.connect();
    const relayedAt = (emailId: string) => async () =>
      (
        await ctx.db
          .selectFrom('outbox')
          .select('relayed_at')
          .where('job_id', '=', `email-${emailId}`)
          .executeTakeFirst()
      )?.relayed_at ?? undefined;
    await relay.start();
    try {
      const first = await queueTestEmail('met-bericht@voorbeeld.test');
      await waitFor(relayedAt(first), 'the notified row to be relayed');
      await notifier.query(`select pg_advisory_lock(hashtext('thuispost-outbox-notify'))`);
      const second = await queueTestEmail('zonder-bericht@voorbeeld.test');
      await waitFor(relayedAt(second), 'the row committed without a notification to be relayed');
    } finally {
      await notifier.end();
      await relay.stop();
    }
  });

  it('two relays racing relay each row once', async () => {
    const ids = await Promise.all(
      Array.from({ length: 40 }, (_, i) => queueTestEmail(`race-${i}@voorbeeld.test`)),
    );
    const make = () =>
      new OutboxRelay({
        db: ctx.db,
        databaseUrl: ctx.databaseUrl,
        queues,
        clock: systemClock,
        logger: ctx.deps.logger,
        batchSize: 7,
      });
    const [a, b] = await Promise.all([make().drainAll(), make().drainAll()]);
    const relayedHere = await ctx.db
      .selectFrom('outbox')
      .select(['job_id', 'relay_attempts'])
      .where(
        'job_id',
        'in',
        ids.map((id) => `email-${id}`),
      )
      .execute();
    expect(a + b).toBeGreaterThanOrEqual(40);
    expect(relayedHere.every((row) => row.relay_attempts === 1)).toBe(true);
  });
});
