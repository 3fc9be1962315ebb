import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '../../src/infra/metrics.js';
import {
  connectRedis,
  createQueues,
  DEFAULT_JOB_OPTIONS,
  type Queues,
  type RedisConnections,
} from '../../src/jobs/queues.js';
import { OutboxRelay } from '../../src/jobs/relay.js';
import { startWorkers } from '../../src/jobs/workers.js';
import { systemClock } from '../../src/providers/clock.js';
import { ResendMailer } from '../../src/providers/resend-mailer.js';
import { FakeResend } from '../fakes/resend-server.js';
import { createTestContext, json, type TestContext } from '../helpers/context.js';
import { waitUntil } from '../helpers/process.js';

let ctx: TestContext;
let fake: FakeResend;
let redis: RedisConnections;
let queues: Queues;
let stop: () => Promise<void>;
const metrics = createMetricsRegistry({ defaultMetrics: false });

beforeAll(async () => {
  ctx = await createTestContext();
  fake = await new FakeResend().start();
  redis = connectRedis(ctx.redisUrl, () => undefined);
  // Fast retries so the test sees a retried job finish.
  queues = createQueues(redis.producer, ctx.redisPrefix, {
    ...DEFAULT_JOB_OPTIONS,
    backoff: { type: 'fixed', delay: 50 },
  });
  const workers = await startWorkers({
    db: ctx.db,
    mailer: new ResendMailer('re_test_key', fake.url),
    clock: systemClock,
    logger: ctx.deps.logger,
    metrics,
    emailFrom: 'Thuispost <nieuws@voorbeeld.test>',
    connection: redis.workerOptions,
    prefix: ctx.redisPrefix,
    concurrency: 2,
  });
  const relay = new OutboxRelay({
    db: ctx.db,
    databaseUrl: ctx.databaseUrl,
    queues,
    clock: systemClock,
    logger: ctx.deps.logger,
    sweepIntervalMs: 200,
  });
  await relay.start();
  stop = async () => {
    await relay.stop();
    await workers.close();
  };
});
afterAll(async () => {
  await stop();
  await Promise.all(Object.values(queues).map((q) => q.obliterate({ force: true }).catch(() => undefined)));
  await Promise.all(Object.values(queues).map((q) => q.close()));
  await redis.close();
  await fake.stop();
  await ctx.close();
});

async function sendTestEmail(to: string): Promise<string> {
  const admin = await ctx.userWithToken('admin');
  const res = await ctx.app.request('/api/v1/system/test-email', json({ to }, admin.headers));
  expect(res.status).toBe(202);
  return (await res.json()).emailId;
}

const emailRow = (id: string) =>
  ctx.db.selectFrom('emails').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('transactional email: API → outbox → relay → worker → Resend', () => {
  it('sends once with a stable idempotency key and records the provider id', async () => {
    const id = await sendTestEmail('beheerder@voorbeeld.test');
    await waitUntil(async () => (await emailRow(id)).status === 'sent', 'sent', 20_000);
    const row = await emailRow(id);
    const sent = fake.emails.filter((e) => e.to.includes('beheerder@voorbeeld.test'));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.idempotencyKey).toBe(`email-${id}`);
    expect(row.provider_message_id).toBe(sent[0]!.id);
  });

  it('retries a 500 and a dropped connection, then sends', async () => {
    fake.failNext(
      { status: 500, body: { name: 'internal_server_error', message: 'oops', statusCode: 500 } },
      { status: 0, drop: true },
    );
    const id = await sendTestEmail('na-storing@voorbeeld.test');
    await waitUntil(async () => (await emailRow(id)).status === 'sent', 'sent after retries', 20_000);
    expect((await emailRow(id)).attempts).toBe(3);
    expect(fake.emails.filter((e) => e.to.includes('na-storing@voorbeeld.test'))).toHaveLength(1);
  });

  it('gives up at once on a permanent error and keeps the reason', async () => {
    fake.failNext({
      status: 422,
      body: { name: 'validation_error', message: 'Invalid `to` field', statusCode: 422 },
    });
    const id = await sendTestEmail('ongeldig@voorbeeld.test');
    await waitUntil(async () => (await emailRow(id)).status === 'failed', 'failed', 20_000);
    const row = await emailRow(id);
    expect(row.attempts).toBe(1);
    expect(row.last_error).toContain('validation_error');
    const text = await metrics.metrics();
    expect(text).toMatch(/jobs_total\{queue="transactional-email",outcome="failed"\} 1/);
  });
});
