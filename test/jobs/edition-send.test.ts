import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { emailHash } from '../../src/domain/email-address.js';
import { ResendMailer } from '../../src/providers/resend-mailer.js';
import { type ChaosFault, ScriptedChaos } from '../fakes/chaos.js';
import { FakeResend } from '../fakes/resend-server.js';
import { startTestBackground, type TestBackground } from '../helpers/background.js';
import { createTestContext, json, type TestContext } from '../helpers/context.js';
import { approvedEdition, seedSubscribers, waitForEditionStatus } from '../helpers/editions.js';

let ctx: TestContext;
let fake: FakeResend;
let background: TestBackground;
let editor: Record<string, string>;

beforeAll(async () => {
  ctx = await createTestContext();
  fake = await new FakeResend().start();
  background = await startTestBackground(ctx, { mailer: new ResendMailer('re_test_key', fake.url) });
  editor = (await ctx.userWithToken('editor')).headers;
});
afterAll(async () => {
  await background.stop();
  await fake.stop();
  await ctx.close();
});
afterEach(() => {
  fake.rejectedRecipients.clear();
  fake.chaos = null;
});

const sendNow = (id: string) => ctx.app.request(`/api/v1/editions/${id}/send`, json({}, editor));
const receivedBy = (prefix: string) => fake.emails.filter((e) => e.to[0]!.startsWith(`${prefix}-`));

describe('sending an edition', () => {
  it('sends exactly once to every active, subscribed, unsuppressed recipient, in batches of ≤ 100', async () => {
    await seedSubscribers(ctx.db, 250, { prefix: 'basis' });
    await seedSubscribers(ctx.db, 5, { prefix: 'ander-onderwerp', topic: 'artikelen' });
    await ctx.db
      .updateTable('subscribers')
      .set({ status: 'unsubscribed' })
      .where('email', '=', 'basis-7@voorbeeld.test')
      .execute();
    await ctx.db
      .insertInto('suppressions')
      .values({ email_hash: emailHash('basis-8@voorbeeld.test'), reason: 'bounced', source: 'test' })
      .execute();
    const id = await approvedEdition(ctx);
    expect((await sendNow(id)).status).toBe(200);
    await waitForEditionStatus(ctx.db, id, ['sent']);

    const received = receivedBy('basis');
    const addresses = received.map((e) => e.to[0]);
    expect(new Set(addresses).size).toBe(addresses.length);
    expect(addresses).toHaveLength(248);
    expect(addresses).not.toContain('basis-7@voorbeeld.test');
    expect(addresses).not.toContain('basis-8@voorbeeld.test');
    expect(receivedBy('ander-onderwerp')).toHaveLength(0);

    const keys = new Map<string, number>();
    for (const email of received) keys.set(email.idempotencyKey!, (keys.get(email.idempotencyKey!) ?? 0) + 1);
    expect([...keys.keys()].every((key) => /^edition-\d+-batch-\d+$/.test(key))).toBe(true);
    expect(Math.max(...keys.values())).toBeLessThanOrEqual(100);

    const deliveries = await ctx.db
      .selectFrom('deliveries')
      .select(['status', 'provider_message_id'])
      .where('edition_id', '=', id)
      .execute();
    expect(deliveries.filter((d) => d.status === 'sent')).toHaveLength(248);
    const ids = new Set(received.map((e) => e.id));
    expect(
      deliveries.filter((d) => d.provider_message_id).every((d) => ids.has(d.provider_message_id!)),
    ).toBe(true);

    const announce = await ctx.db
      .selectFrom('outbox')
      .select(['queue', 'job_name'])
      .where('job_id', '=', `announce-edition-${id}`)
      .executeTakeFirst();
    expect(announce).toEqual({ queue: 'linkedin', job_name: 'announce-edition' });
  });

  it('carries one-click unsubscribe headers and personal links that work, in the reader’s language', async () => {
    await seedSubscribers(ctx.db, 2, { prefix: 'kop', topic: 'documenten' });
    const id = await approvedEdition(ctx, { topics: ['documenten'] });
    await sendNow(id);
    await waitForEditionStatus(ctx.db, id, ['sent']);
    const [nl, en] = ['kop-1@voorbeeld.test', 'kop-2@voorbeeld.test'].map(
      (to) => fake.emails.find((e) => e.to[0] === to)!,
    );
    expect(nl!.headers!['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    const url = /^<(http:\/\/localhost:3000\/unsubscribe\/([^>]+))>$/.exec(
      nl!.headers!['List-Unsubscribe']!,
    )!;
    expect(url).not.toBeNull();
    const verified = ctx.deps.linkTokens.verify(url[2]!, 'unsubscribe');
    expect(verified.ok && verified.payload.t).toBeTruthy();
    expect(nl!.html).toContain(url[1]!.replaceAll('&', '&amp;'));
    expect(nl!.html).toContain('Beste Lid 1,');
    expect(nl!.html).toContain('/preferences/');
    expect(nl!.html).not.toContain('__TP_');
    expect(nl!.text).not.toContain('__TP_');
    expect(en!.html).toContain('Dear Lid 2,');
    expect(en!.html).toContain('Unsubscribe');
  });

  it('sends a batch refused as a whole one by one: each delivery once, progress kept, 429s free', async () => {
    await seedSubscribers(ctx.db, 20, { prefix: 'weigering', topic: 'artikelen' });
    fake.rejectedRecipients.add('weigering-3@voorbeeld.test');
    // The batch request is refused (422). Of the single sends that follow, one message meets four
    // transient errors in a row (accepted-then-500, then three 500s: more than are retried in
    // place), which ends the job's attempt; the next attempt goes on where it stopped. Nine 429s
    // in a row would use up the job's eight attempts on their own if they counted as failures.
    const chaos = new ScriptedChaos([
      null,
      null,
      'server-error',
      null,
      'server-error-after-work',
      'server-error',
      'server-error',
      'server-error',
      ...Array<ChaosFault>(9).fill('rate-limited'),
      null,
      null,
      'server-error-after-work',
    ]);
    fake.chaos = chaos;
    const id = await approvedEdition(ctx, { topics: ['artikelen'] });
    await sendNow(id);
    await waitForEditionStatus(ctx.db, id, ['sent']);
    expect(chaos.injected).toMatchObject({
      'server-error': 4,
      'server-error-after-work': 2,
      'rate-limited': 9,
    });

    const received = receivedBy('weigering').map((e) => e.to[0]);
    expect(received).toHaveLength(19);
    expect(new Set(received).size).toBe(19);
    expect(received).not.toContain('weigering-3@voorbeeld.test');
    const failed = await ctx.db
      .selectFrom('deliveries')
      .select(['email', 'error'])
      .where('edition_id', '=', id)
      .where('status', '=', 'failed')
      .execute();
    expect(failed.map((f) => f.email)).toEqual(['weigering-3@voorbeeld.test']);
    expect(failed[0]!.error).toContain('weigering-3@voorbeeld.test');
    // Once refused, the batch never went to the batch endpoint again.
    const batchKey = `edition-${id}-batch-0`;
    expect(fake.requests.filter((r) => r.headers['idempotency-key'] === batchKey)).toHaveLength(1);
    const batch = await ctx.db
      .selectFrom('delivery_batches')
      .select(['status', 'one_by_one'])
      .where('edition_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(batch).toEqual({ status: 'sent', one_by_one: true });

    fake.rejectedRecipients.clear();
    const resend = await ctx.app.request(`/api/v1/editions/${id}/resend-failed`, json({}, editor));
    expect(resend.status).toBe(200);
    expect((await resend.json()).requeued).toBe(1);
    await waitForEditionStatus(ctx.db, id, ['sent']);
    const after = receivedBy('weigering').map((e) => e.to[0]);
    expect(after).toHaveLength(20);
    expect(new Set(after).size).toBe(20);
  }, 60_000);

  it('pauses on a quota error instead of burning retries, and resumes', async () => {
    await seedSubscribers(ctx.db, 20, { prefix: 'quota', topic: 'artikelen' });
    fake.failNext({
      status: 429,
      body: { name: 'daily_quota_exceeded', message: 'daily quota', statusCode: 429 },
    });
    const id = await approvedEdition(ctx, { topics: ['artikelen'] });
    await sendNow(id);
    await waitForEditionStatus(ctx.db, id, ['paused']);
    const edition = await (await ctx.app.request(`/api/v1/editions/${id}`, { headers: editor })).json();
    expect(edition.pausedReason).toMatch(/quota/);
    expect((await ctx.app.request(`/api/v1/editions/${id}/resume`, json({}, editor))).status).toBe(200);
    await waitForEditionStatus(ctx.db, id, ['sent']);
    expect(receivedBy('quota')).toHaveLength(20);
  });

  it('waits out a 429 and retries a 500 and a dropped connection without sending twice', async () => {
    await seedSubscribers(ctx.db, 150, { prefix: 'storing', topic: 'artikelen' });
    fake.failNext(
      {
        status: 429,
        body: { name: 'rate_limit_exceeded', message: 'slow down', statusCode: 429 },
        headers: { 'retry-after': '1' },
      },
      { status: 500, body: { name: 'internal_server_error', message: 'oops', statusCode: 500 } },
      { status: 0, drop: true },
    );
    const id = await approvedEdition(ctx, { topics: ['artikelen'] });
    await sendNow(id);
    await waitForEditionStatus(ctx.db, id, ['sent']);
    const received = receivedBy('storing').map((e) => e.to[0]);
    expect(received).toHaveLength(150);
    expect(new Set(received).size).toBe(150);
  });

  it('never sends at the old time after a reschedule or a cancel', async () => {
    await seedSubscribers(ctx.db, 3, { prefix: 'planning', topic: 'artikelen' });
    const soon = () => new Date(Date.now() + 1_500).toISOString();
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const rescheduled = await approvedEdition(ctx, { topics: ['artikelen'] });
    await ctx.app.request(`/api/v1/editions/${rescheduled}/schedule`, json({ sendAt: soon() }, editor));
    await ctx.app.request(`/api/v1/editions/${rescheduled}/schedule`, json({ sendAt: later }, editor));
    const cancelled = await approvedEdition(ctx, { topics: ['artikelen'] });
    await ctx.app.request(`/api/v1/editions/${cancelled}/schedule`, json({ sendAt: soon() }, editor));
    await ctx.app.request(`/api/v1/editions/${cancelled}/cancel`, json({}, editor));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(receivedBy('planning')).toHaveLength(0);
    const statuses = await ctx.db
      .selectFrom('editions')
      .select(['id', 'status'])
      .where('id', 'in', [rescheduled, cancelled])
      .orderBy('id')
      .execute();
    expect(statuses.map((s) => s.status)).toEqual(['scheduled', 'cancelled']);
    const jobs = await background.queues.editions.getJobs(['completed']);
    const returned = jobs
      .filter((job) => [rescheduled, cancelled].includes(job.data.editionId))
      .map((job) => job.returnvalue);
    expect(returned).toEqual(['stale schedule: nothing to do', 'stale schedule: nothing to do']);
  });
});
