import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResendMailer } from '../../src/providers/resend-mailer.js';
import { FakeResend } from '../fakes/resend-server.js';
import { startTestBackground, type TestBackground } from '../helpers/background.js';
import { createTestContext, json, type TestContext } from '../helpers/context.js';
import { waitUntil } from '../helpers/process.js';

let ctx: TestContext;
let fake: FakeResend;
let background: TestBackground;

beforeAll(async () => {
  ctx = await createTestContext();
  fake = await new FakeResend().start();
  background = await startTestBackground(ctx, {
    mailer: new ResendMailer('re_test_key', fake.url),
    concurrency: 2,
  });
});
afterAll(async () => {
  await background.stop();
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
    const text = await background.metrics.metrics();
    expect(text).toMatch(/jobs_total\{queue="transactional-email",outcome="failed"\} 1/);
  });
});
