import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  batchRecipients,
  claimBatch,
  enqueueBatches,
  fallBackToOneByOne,
  IDEMPOTENCY_WINDOW_MS,
  recordOneOfBatch,
  STUCK_AFTER_MS,
  snapshotRecipients,
  sweepSends,
} from '../../src/domain/deliveries.js';
import { getEdition } from '../../src/domain/editions.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { approvedEdition, seedSubscribers } from '../helpers/editions.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

async function sendingEdition(startedAt: Date) {
  const id = await approvedEdition(ctx, { topics: ['artikelen'] });
  await ctx.db
    .updateTable('editions')
    .set({ status: 'sending', sending_started_at: startedAt })
    .where('id', '=', id)
    .execute();
  await snapshotRecipients(ctx.db, await getEdition(ctx.db, id), 10);
  return id;
}

describe('the send sweep', () => {
  it('requeues pending batches nobody tried for a while, once per minute, and overdue schedules', async () => {
    await seedSubscribers(ctx.db, 25, { prefix: 'sweep', topic: 'artikelen' });
    const now = new Date();
    const stuck = await sendingEdition(new Date(now.getTime() - STUCK_AFTER_MS - 1000));
    const fresh = await sendingEdition(now);
    const overdue = await approvedEdition(ctx, { topics: ['artikelen'] });
    await ctx.db
      .updateTable('editions')
      .set({
        status: 'scheduled',
        send_at: new Date(now.getTime() - STUCK_AFTER_MS - 1000),
        schedule_version: 4,
      })
      .where('id', '=', overdue)
      .execute();

    const first = await sweepSends(ctx.db, now);
    expect(first).toEqual({ batches: 3, schedules: 1 });
    const again = await sweepSends(ctx.db, now);
    expect(again.batches).toBe(3);
    const rows = await ctx.db
      .selectFrom('outbox')
      .select('job_id')
      .where('job_id', 'like', `edition-${stuck}-batch-%`)
      .execute();
    expect(rows).toHaveLength(3);
    expect(
      await ctx.db
        .selectFrom('outbox')
        .select('job_id')
        .where('job_id', 'like', `edition-${fresh}-batch-%`)
        .execute(),
    ).toHaveLength(0);
    const schedule = await ctx.db
      .selectFrom('outbox')
      .select(['payload'])
      .where('job_id', 'like', `edition-${overdue}-v4-%`)
      .executeTakeFirstOrThrow();
    expect(schedule.payload).toMatchObject({ editionId: overdue, scheduleVersion: 4 });
  });

  it('leaves a batch alone that is being sent one by one and recorded a message lately', async () => {
    await seedSubscribers(ctx.db, 5, { prefix: 'eenvoor', topic: 'documenten' });
    const start = new Date();
    const id = await approvedEdition(ctx, { topics: ['documenten'] });
    await ctx.db
      .updateTable('editions')
      .set({ status: 'sending', sending_started_at: start })
      .where('id', '=', id)
      .execute();
    await snapshotRecipients(ctx.db, await getEdition(ctx.db, id));
    expect((await claimBatch(ctx.db, id, 0, start)).kind).toBe('send');
    await fallBackToOneByOne(ctx.db, id, 0, 'Invalid `to` field');
    const [first] = await batchRecipients(ctx.db, id, 0);
    const later = new Date(start.getTime() + 2 * STUCK_AFTER_MS);
    await recordOneOfBatch(
      ctx.db,
      { editionId: id, batchNo: 0 },
      { deliveryId: first!.deliveryId, messageId: 'm-1' },
      later,
    );

    const sweep = new Date(later.getTime() + STUCK_AFTER_MS / 2);
    await sweepSends(ctx.db, sweep);
    const requeued = await ctx.db
      .selectFrom('outbox')
      .select('job_id')
      .where('job_id', 'like', `edition-${id}-batch-%`)
      .execute();
    expect(requeued).toEqual([]);
    expect(await claimBatch(ctx.db, id, 0, sweep)).toMatchObject({ kind: 'send', oneByOne: true });
    expect(await batchRecipients(ctx.db, id, 0)).toHaveLength(4);
  });

  it('puts a batch aside for review instead of resending after the idempotency window', async () => {
    await seedSubscribers(ctx.db, 5, { prefix: 'venster', topic: 'documenten' });
    const id = await approvedEdition(ctx, { topics: ['documenten'] });
    await ctx.db
      .updateTable('editions')
      .set({ status: 'sending', sending_started_at: new Date() })
      .where('id', '=', id)
      .execute();
    await snapshotRecipients(ctx.db, await getEdition(ctx.db, id));
    const start = new Date('2026-03-01T09:00:00Z');
    expect((await claimBatch(ctx.db, id, 0, start)).kind).toBe('send');
    const later = new Date(start.getTime() + IDEMPOTENCY_WINDOW_MS + 60_000);
    expect(await claimBatch(ctx.db, id, 0, later)).toEqual({ kind: 'skip', reason: 'needs review' });
    const batch = await ctx.db
      .selectFrom('delivery_batches')
      .select('status')
      .where('edition_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(batch.status).toBe('review');
  });
});

describe('queueing the batches of a send', () => {
  it('records one job per pending batch, with the ids and payloads the batch worker reads, once', async () => {
    await seedSubscribers(ctx.db, 25, { prefix: 'wachtrij', topic: 'artikelen' });
    const id = await sendingEdition(new Date());
    await ctx.db
      .updateTable('delivery_batches')
      .set({ status: 'sent' })
      .where('edition_id', '=', id)
      .where('batch_no', '=', 1)
      .execute();
    const jobs = () =>
      ctx.db
        .selectFrom('outbox')
        .select(['queue', 'job_name', 'job_id', 'payload'])
        .where('job_id', 'like', `edition-${id}-batch-%`)
        .orderBy('id')
        .execute();
    const pending = (
      await ctx.db
        .selectFrom('delivery_batches')
        .select('batch_no')
        .where('edition_id', '=', id)
        .where('status', '=', 'pending')
        .orderBy('batch_no')
        .execute()
    ).map((batch) => batch.batch_no);
    expect(pending).toContain(2);
    expect(pending).not.toContain(1);
    expect(await enqueueBatches(ctx.db, id, 'x')).toBe(pending.length);
    const expected = pending.map((batchNo) => ({
      queue: 'edition-batches',
      job_name: 'send-batch',
      job_id: `edition-${id}-batch-${batchNo}-x`,
      payload: { editionId: id, batchNo },
    }));
    expect(await jobs()).toEqual(expected);
    expect(await enqueueBatches(ctx.db, id, 'x')).toBe(pending.length);
    expect(await jobs()).toEqual(expected);
  });
});
