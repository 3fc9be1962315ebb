import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection.js';
import type { EditionStatus, Locale } from '../db/schema.js';
import type { Principal } from './auth.js';
import { EDITION_BATCHES_QUEUE, EDITIONS_QUEUE, type EditionView, getEdition } from './editions.js';
import { Conflict } from './errors.js';
import { enqueue } from './outbox.js';
import { applyEarlyEvents } from './provider-events.js';

/** Resend's batch endpoint takes at most 100 emails. */
export const BATCH_SIZE = 100;
/** Resend keeps idempotency keys 24 h; a batch first tried longer ago than this is not retried blindly. */
export const IDEMPOTENCY_WINDOW_MS = 23 * 60 * 60 * 1000;

/** The SQL twin of emailHash() in email-address.ts, so suppressions apply inside INSERT … SELECT. */
const suppressionHashSql = sql`encode(sha256(convert_to('suppression:' || lower(s.email), 'UTF8')), 'hex')`;

/**
 * Snapshots the recipients of an edition into `deliveries` with one INSERT … SELECT: active
 * subscribers of at least one target topic, in the organisation kinds filter if any, not
 * suppressed. Each row gets a fixed batch number. Idempotent (unique per edition and subscriber).
 */
export async function snapshotRecipients(
  tx: DbOrTx,
  edition: EditionView,
  batchSize = BATCH_SIZE,
): Promise<number> {
  const kinds = edition.organisation_kinds;
  const result = await sql`
    insert into deliveries (edition_id, subscriber_id, email, locale, topic_id, batch_no)
    select ${edition.id}, s.id, s.email, s.locale,
           (select min(sub.topic_id) from subscriptions sub
              join edition_topics et on et.topic_id = sub.topic_id and et.edition_id = ${edition.id}
             where sub.subscriber_id = s.id),
           ((row_number() over (order by s.id)) - 1) / ${batchSize}
      from subscribers s
     where s.status = 'active'
       and exists (select 1 from subscriptions sub
                     join edition_topics et on et.topic_id = sub.topic_id and et.edition_id = ${edition.id}
                    where sub.subscriber_id = s.id)
       and not exists (select 1 from suppressions x where x.email_hash = ${suppressionHashSql})
       ${
         kinds.length > 0
           ? sql`and exists (select 1 from organisations o where o.id = s.organisation_id and o.kind = any(${kinds}::text[]))`
           : sql``
       }
    on conflict (edition_id, subscriber_id) do nothing`.execute(tx);
  await sql`
    insert into delivery_batches (edition_id, batch_no)
    select distinct edition_id, batch_no from deliveries where edition_id = ${edition.id}
    on conflict do nothing`.execute(tx);
  return Number(result.numAffectedRows ?? 0n);
}

/**
 * One outbox row per pending batch; the job id names edition and batch, so enqueuing twice is
 * harmless. One statement (what outbox.enqueue() writes, for every batch at once): a million
 * recipients are ten thousand batches, and a statement each made the start of a send cost memory
 * in proportion to the list.
 */
export async function enqueueBatches(tx: DbOrTx, editionId: string, round = 'a'): Promise<number> {
  const result = await sql<{ batches: string }>`
    with pending as (
      select edition_id, batch_no from delivery_batches
       where edition_id = ${editionId} and status = 'pending'),
    queued as (
      insert into outbox (queue, job_name, job_id, payload)
      select ${EDITION_BATCHES_QUEUE}, 'send-batch',
             'edition-' || edition_id || '-batch-' || batch_no || '-' || ${round},
             jsonb_build_object('editionId', edition_id::text, 'batchNo', batch_no)
        from pending order by batch_no
      on conflict (job_id) do nothing)
    select count(*) as batches from pending`.execute(tx);
  return Number(result.rows[0]!.batches);
}

export type BatchClaim =
  | { kind: 'send'; attempt: number; firstAttemptAt: Date; oneByOne: boolean }
  | { kind: 'skip'; reason: string };

/**
 * Claims a batch for an attempt. On the first attempt, recipients who left since the snapshot
 * are taken out; from then on the batch's recipient set is frozen, so every retry sends the same
 * request under the same idempotency key.
 */
export async function claimBatch(
  tx: DbOrTx,
  editionId: string,
  batchNo: number,
  now: Date,
): Promise<BatchClaim> {
  const edition = await tx
    .selectFrom('editions')
    .select(['status'])
    .where('id', '=', editionId)
    .executeTakeFirst();
  if (!edition) return { kind: 'skip', reason: 'edition gone' };
  if (edition.status !== 'sending') return { kind: 'skip', reason: `edition is ${edition.status}` };
  const batch = await tx
    .selectFrom('delivery_batches')
    .selectAll()
    .where('edition_id', '=', editionId)
    .where('batch_no', '=', batchNo)
    .forUpdate()
    .executeTakeFirst();
  if (batch?.status !== 'pending') return { kind: 'skip', reason: `batch is ${batch?.status ?? 'missing'}` };
  if (batch.first_attempt_at && now.getTime() - batch.first_attempt_at.getTime() > IDEMPOTENCY_WINDOW_MS) {
    await tx
      .updateTable('delivery_batches')
      .set({
        status: 'review',
        last_error: 'first attempt is older than the provider keeps idempotency keys; check before resending',
      })
      .where('edition_id', '=', editionId)
      .where('batch_no', '=', batchNo)
      .execute();
    return { kind: 'skip', reason: 'needs review' };
  }
  if (batch.attempts === 0) {
    await sql`
      update deliveries d set status = 'suppressed', updated_at = ${now}
        from subscribers s
       where d.subscriber_id = s.id and d.edition_id = ${editionId} and d.batch_no = ${batchNo} and d.status = 'queued'
         and (s.status <> 'active'
              or exists (select 1 from suppressions x where x.email_hash = ${suppressionHashSql}))`.execute(
      tx,
    );
    // Erased since the snapshot: nothing left to send to.
    await tx
      .updateTable('deliveries')
      .set({ status: 'cancelled', updated_at: now })
      .where('edition_id', '=', editionId)
      .where('batch_no', '=', batchNo)
      .where('status', '=', 'queued')
      .where('subscriber_id', 'is', null)
      .execute();
  }
  const firstAttemptAt = batch.first_attempt_at ?? now;
  await tx
    .updateTable('delivery_batches')
    .set({ attempts: batch.attempts + 1, first_attempt_at: firstAttemptAt, last_attempt_at: now })
    .where('edition_id', '=', editionId)
    .where('batch_no', '=', batchNo)
    .execute();
  return { kind: 'send', attempt: batch.attempts + 1, firstAttemptAt, oneByOne: batch.one_by_one };
}

/**
 * The provider refused the batch as a whole (one bad address fails all in strict mode): from now
 * on its messages go one at a time, each under its own key and committed as it goes. Committed
 * before the first single message, so that no later attempt sends the batch as a whole again.
 */
export async function fallBackToOneByOne(
  tx: DbOrTx,
  editionId: string,
  batchNo: number,
  reason: string,
): Promise<void> {
  await tx
    .updateTable('delivery_batches')
    .set({ one_by_one: true, last_error: `refused as a batch, sending one by one: ${reason}`.slice(0, 1000) })
    .where('edition_id', '=', editionId)
    .where('batch_no', '=', batchNo)
    .execute();
}

export interface BatchRecipient {
  deliveryId: string;
  subscriberId: string;
  email: string;
  name: string | null;
  locale: Locale;
  topicId: string | null;
}

/** The recipients of a claimed batch, in a stable order (the request body must not change between retries). */
export async function batchRecipients(
  db: DbOrTx,
  editionId: string,
  batchNo: number,
): Promise<BatchRecipient[]> {
  const rows = await db
    .selectFrom('deliveries')
    .innerJoin('subscribers', 'subscribers.id', 'deliveries.subscriber_id')
    .select([
      'deliveries.id',
      'deliveries.subscriber_id',
      'deliveries.email',
      'subscribers.name',
      'deliveries.locale',
      'deliveries.topic_id',
    ])
    .where('deliveries.edition_id', '=', editionId)
    .where('deliveries.batch_no', '=', batchNo)
    .where('deliveries.status', '=', 'queued')
    .orderBy('deliveries.id')
    .execute();
  return rows.map((row) => ({
    deliveryId: row.id,
    subscriberId: row.subscriber_id!,
    email: row.email!,
    name: row.name,
    locale: row.locale,
    topicId: row.topic_id,
  }));
}

export type DeliveryOutcome = { deliveryId: string } & (
  | { messageId: string }
  | { messageId: null; error: string }
);

/**
 * Records what the provider said of deliveries still queued: the message id of each one sent (and
 * any provider event that arrived before it), or the reason it failed. A delivery that is no
 * longer queued was recorded by an earlier attempt and stays as it is.
 */
async function recordOutcomes(tx: DbOrTx, outcomes: DeliveryOutcome[], now: Date): Promise<void> {
  const sent = outcomes.filter((o): o is { deliveryId: string; messageId: string } => o.messageId !== null);
  const failed = outcomes.filter(
    (o): o is { deliveryId: string; messageId: null; error: string } => o.messageId === null,
  );
  if (sent.length > 0) {
    await sql`
      update deliveries d set status = 'sent', provider_message_id = v.message_id, sent_at = ${now}, updated_at = ${now}
        from unnest(${sent.map((o) => o.deliveryId)}::bigint[], ${sent.map((o) => o.messageId)}::text[]) as v(id, message_id)
       where d.id = v.id and d.status = 'queued'`.execute(tx);
    // A webhook can beat this commit; events stored before the ids were known apply now.
    await applyEarlyEvents(
      tx,
      sent.map((o) => o.messageId),
      now,
    );
  }
  for (const outcome of failed) {
    await tx
      .updateTable('deliveries')
      .set({ status: 'failed', error: outcome.error.slice(0, 1000), updated_at: now })
      .where('id', '=', outcome.deliveryId)
      .where('status', '=', 'queued')
      .execute();
  }
}

/**
 * One message of a batch sent one by one: its outcome, and the batch marked as moving, so that
 * the sweep does not give a long fallback (a hundred paced requests) a second job.
 */
export async function recordOneOfBatch(
  tx: DbOrTx,
  batch: { editionId: string; batchNo: number },
  outcome: DeliveryOutcome,
  now: Date,
): Promise<void> {
  await recordOutcomes(tx, [outcome], now);
  await tx
    .updateTable('delivery_batches')
    .set({ last_attempt_at: now })
    .where('edition_id', '=', batch.editionId)
    .where('batch_no', '=', batch.batchNo)
    .execute();
}

/**
 * Closes a batch in one transaction: provider ids (or per-recipient errors) on every delivery
 * not recorded yet, the batch marked sent, and, when it was the last one, the edition finished.
 */
export async function closeBatch(
  tx: DbOrTx,
  editionId: string,
  batchNo: number,
  outcomes: DeliveryOutcome[],
  now: Date,
) {
  await recordOutcomes(tx, outcomes, now);
  await tx
    .updateTable('delivery_batches')
    .set({ status: 'sent', sent_at: now, last_error: null })
    .where('edition_id', '=', editionId)
    .where('batch_no', '=', batchNo)
    .execute();
  return finishIfComplete(tx, editionId, now);
}

/**
 * Marks the edition sent once no batch is pending, publishes it to the archive (sent_at) and
 * records the LinkedIn announcement. The edition row lock serialises the last batches.
 */
export async function finishIfComplete(tx: DbOrTx, editionId: string, now: Date): Promise<boolean> {
  const edition = await tx
    .selectFrom('editions')
    .select(['status'])
    .where('id', '=', editionId)
    .forUpdate()
    .executeTakeFirst();
  if (edition?.status !== 'sending') return false;
  const open = await tx
    .selectFrom('delivery_batches')
    .select('batch_no')
    .where('edition_id', '=', editionId)
    .where('status', 'in', ['pending', 'review'])
    .limit(1)
    .executeTakeFirst();
  if (open) return false;
  const counts = await tx
    .selectFrom('deliveries')
    .select((eb) => [
      eb.fn.countAll<string>().as('total'),
      eb.fn.count<string>('provider_message_id').as('sent'),
    ])
    .where('edition_id', '=', editionId)
    .executeTakeFirstOrThrow();
  const failedEntirely = Number(counts.total) > 0 && Number(counts.sent) === 0;
  const to = failedEntirely ? 'failed' : 'sent';
  await tx
    .updateTable('editions')
    .set({ status: to, sent_at: failedEntirely ? null : now, updated_at: now })
    .where('id', '=', editionId)
    .execute();
  await tx
    .insertInto('edition_events')
    .values({
      edition_id: editionId,
      actor_user_id: null,
      from_status: 'sending',
      to_status: to,
      note: `${counts.sent} of ${counts.total} sent`,
    })
    .execute();
  if (!failedEntirely) {
    await enqueue(tx, {
      queue: 'linkedin',
      jobName: 'announce-edition',
      jobId: `announce-edition-${editionId}`,
      payload: { editionId },
    });
  }
  return true;
}

/** Quota reached: the edition waits (visibly) instead of burning retries; an editor resumes it. */
export async function pauseForQuota(tx: DbOrTx, editionId: string, reason: string, now: Date): Promise<void> {
  const edition = await tx
    .selectFrom('editions')
    .select('status')
    .where('id', '=', editionId)
    .forUpdate()
    .executeTakeFirst();
  if (edition?.status !== 'sending') return;
  await tx
    .updateTable('editions')
    .set({ status: 'paused', paused_reason: reason, updated_at: now })
    .where('id', '=', editionId)
    .execute();
  await tx
    .insertInto('edition_events')
    .values({
      edition_id: editionId,
      actor_user_id: null,
      from_status: 'sending',
      to_status: 'paused',
      note: reason,
    })
    .execute();
}

/** Whether "resend to failed only" applies: the send is over (sent, or failed as a whole). */
export function canResendFailed(status: EditionStatus): boolean {
  return status === 'sent' || status === 'failed';
}

/** "Resend to failed only": failed deliveries get new batches and the edition sends again. */
export async function resendFailed(
  tx: DbOrTx,
  actor: Principal,
  editionId: string,
  now: Date,
): Promise<number> {
  const edition = await getEdition(tx, editionId, { forUpdate: true });
  if (!canResendFailed(edition.status)) {
    throw new Conflict(
      `Only a sent or failed edition can resend its failed deliveries (this one is ${edition.status}).`,
    );
  }
  const maxBatch = await tx
    .selectFrom('delivery_batches')
    .select((eb) => eb.fn.max('batch_no').as('max'))
    .where('edition_id', '=', editionId)
    .executeTakeFirstOrThrow();
  const first = (maxBatch.max ?? -1) + 1;
  const requeued = await sql`
    update deliveries d set status = 'queued', error = null, updated_at = ${now},
           batch_no = ${first} + (v.rn - 1) / ${BATCH_SIZE}
      from (select id, row_number() over (order by id) as rn from deliveries
             where edition_id = ${editionId} and status = 'failed') v
     where d.id = v.id`.execute(tx);
  const count = Number(requeued.numAffectedRows ?? 0n);
  if (count === 0) return 0;
  await sql`
    insert into delivery_batches (edition_id, batch_no)
    select distinct edition_id, batch_no from deliveries where edition_id = ${editionId} and batch_no >= ${first}
    on conflict do nothing`.execute(tx);
  await tx
    .updateTable('editions')
    .set({ status: 'sending', updated_at: now })
    .where('id', '=', editionId)
    .execute();
  await tx
    .insertInto('edition_events')
    .values({
      edition_id: editionId,
      actor_user_id: actor.user.id,
      from_status: edition.status,
      to_status: 'sending',
      note: `resend ${count} failed`,
    })
    .execute();
  await enqueueBatches(tx, editionId, `f${first}`);
  return count;
}

/** A batch or schedule untouched this long while it should be moving is assumed to have lost its job. */
export const STUCK_AFTER_MS = 2 * 60 * 1000;

/**
 * Safety net, run every minute: Redis only executes work, so whatever Postgres says should be
 * happening gets a job again — pending batches of a send that nobody tried for a while (a job
 * that failed for good, or was lost with Redis), and scheduled editions past their time. The
 * job ids are deterministic per minute (or per schedule version), so a sweep never doubles work.
 */
export async function sweepSends(tx: DbOrTx, now: Date): Promise<{ batches: number; schedules: number }> {
  const stuckBefore = new Date(now.getTime() - STUCK_AFTER_MS);
  const batches = await tx
    .selectFrom('delivery_batches')
    .innerJoin('editions', 'editions.id', 'delivery_batches.edition_id')
    .select(['delivery_batches.edition_id', 'delivery_batches.batch_no'])
    .where('editions.status', '=', 'sending')
    .where('delivery_batches.status', '=', 'pending')
    .where('editions.sending_started_at', '<', stuckBefore)
    .where((eb) =>
      eb.or([
        eb('delivery_batches.last_attempt_at', 'is', null),
        eb('delivery_batches.last_attempt_at', '<', stuckBefore),
      ]),
    )
    .execute();
  const round = `s${Math.floor(now.getTime() / 60_000).toString(36)}`;
  for (const batch of batches) {
    await enqueue(tx, {
      queue: EDITION_BATCHES_QUEUE,
      jobName: 'send-batch',
      jobId: `edition-${batch.edition_id}-batch-${batch.batch_no}-${round}`,
      payload: { editionId: batch.edition_id, batchNo: batch.batch_no },
    });
  }
  const overdue = await tx
    .selectFrom('editions')
    .select(['id', 'schedule_version'])
    .where('status', '=', 'scheduled')
    .where('send_at', '<', stuckBefore)
    .execute();
  for (const edition of overdue) {
    await enqueue(tx, {
      queue: EDITIONS_QUEUE,
      jobName: 'start-send',
      jobId: `edition-${edition.id}-v${edition.schedule_version}-${round}`,
      payload: { editionId: edition.id, scheduleVersion: edition.schedule_version },
    });
  }
  return { batches: batches.length, schedules: overdue.length };
}
