import { setTimeout as delay } from 'node:timers/promises';
import { type Job, Worker } from 'bullmq';
import { z } from 'zod';
import type { Db } from '../../db/connection.js';
import type { Locale } from '../../db/schema.js';
import {
  type BatchRecipient,
  batchRecipients,
  claimBatch,
  closeBatch,
  type DeliveryOutcome,
  fallBackToOneByOne,
  pauseForQuota,
  recordOneOfBatch,
} from '../../domain/deliveries.js';
import { personalisable, recipientGapValues } from '../../emails/personalise.js';
import type { Logger } from '../../infra/logger.js';
import type { Clock } from '../../providers/clock.js';
import type { LinkTokens } from '../../providers/link-tokens.js';
import {
  type BatchEmail,
  fillBatchEmail,
  type Mailer,
  MailerError,
  type SharedEmailContent,
} from '../../providers/mailer.js';
import type { ProviderRateLimit } from '../provider-rate-limit.js';

export interface BatchProcessorDeps {
  db: Db;
  mailer: Mailer;
  clock: Clock;
  logger: Logger;
  linkTokens: LinkTokens;
  publicBaseUrl: string;
  emailFrom: string;
}

const payloadSchema = z.object({ editionId: z.string().regex(/^\d+$/), batchNo: z.number().int().min(0) });

export function batchIdempotencyKey(editionId: string, batchNo: number): string {
  return `edition-${editionId}-batch-${batchNo}`;
}

/**
 * `send-batch`: sends one batch of ≤ 100 through the provider's batch endpoint under a key derived
 * from edition and batch number, and records every provider id in the transaction that closes
 * the batch. A crash between the provider's answer and that commit only means a retry, which the
 * provider answers from its idempotency cache; the recipient set and body are identical. A batch
 * the provider refuses as a whole is sent one message at a time from then on (sendOneByOne).
 */
export function editionBatchProcessor(deps: BatchProcessorDeps, rateLimit: ProviderRateLimit) {
  const contentsOf = editionContents(deps);
  return async (job: Job): Promise<string> => {
    const { editionId, batchNo } = payloadSchema.parse(job.data);
    const now = deps.clock.now();
    const claim = await deps.db.transaction().execute((tx) => claimBatch(tx, editionId, batchNo, now));
    if (claim.kind === 'skip') return `skipped: ${claim.reason}`;

    const edition = await deps.db
      .selectFrom('editions')
      .select(['sending_started_at'])
      .where('id', '=', editionId)
      .executeTakeFirstOrThrow();
    const byLocale = await contentsOf(editionId, edition.sending_started_at);
    const fallback = byLocale.values().next().value!;
    // Links are issued "at" the send's start, so every retry produces byte-identical messages.
    const issuedAt = edition.sending_started_at ?? now;
    // Messages are built right before the request and not kept, and of the recipients only their
    // delivery ids are: what a job holds while it waits for the provider dies young, instead of
    // filling the old generation until the next full garbage collection.
    const emailsOf = (recipients: BatchRecipient[]) =>
      recipients.map((recipient) =>
        personalBatchEmail(deps, recipient, byLocale.get(recipient.locale) ?? fallback, issuedAt),
      );
    const close = (outcomes: DeliveryOutcome[]) =>
      deps.db.transaction().execute((tx) => closeBatch(tx, editionId, batchNo, outcomes, deps.clock.now()));
    const oneByOne = async () => {
      // Only the deliveries no earlier attempt recorded: each is sent at most once.
      const queued = await batchRecipients(deps.db, editionId, batchNo);
      const result = await sendOneByOne(deps, rateLimit, { editionId, batchNo }, queued, emailsOf(queued));
      if (result === 'paused') return 'paused: quota';
      await close([]);
      return `sent one by one: ${result.sent} sent, ${result.failed} failed`;
    };
    if (claim.oneByOne) return oneByOne();

    const recipients = await batchRecipients(deps.db, editionId, batchNo);
    const deliveryIds = recipients.map((recipient) => recipient.deliveryId);
    let outcomes: DeliveryOutcome[];
    try {
      await rateLimit.acquire();
      const { ids } = await deps.mailer.sendBatch(emailsOf(recipients), {
        idempotencyKey: batchIdempotencyKey(editionId, batchNo),
      });
      outcomes = deliveryIds.map((deliveryId, i) => ({ deliveryId, messageId: ids[i]! }));
    } catch (error) {
      if (!(error instanceof MailerError)) throw error;
      if (error.kind === 'quota') return pause(deps, editionId, batchNo, error);
      if (error.kind === 'retryable') {
        if (error.status === 429) {
          await rateLimit.pause(error.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS);
          throw Worker.RateLimitError();
        }
        throw error;
      }
      if (error.kind === 'permanent') {
        await deps.db
          .transaction()
          .execute((tx) => fallBackToOneByOne(tx, editionId, batchNo, error.message));
        deps.logger.warn({ editionId, batchNo, err: error.message }, 'batch refused: sending one by one');
        return oneByOne();
      }
      // An earlier attempt went through with this key; its message ids are unknown, but sending again would double.
      outcomes = deliveryIds.map((deliveryId) => ({
        deliveryId,
        messageId: `accepted:${batchIdempotencyKey(editionId, batchNo)}:${deliveryId}`,
      }));
    }
    await close(outcomes);
    return `sent ${outcomes.length} of ${outcomes.length}`;
  };
}

/** A 429 without Retry-After: nobody sends for a second, then the shared schedule resumes. */
const DEFAULT_RETRY_AFTER_MS = 1_000;

/** Waits before retrying one message of the one-by-one fallback after a 5xx or a network error. */
const IN_PLACE_RETRIES = [500, 1_000, 2_000];

/** Quota reached: the edition waits, visibly, until an editor resumes it. */
async function pause(deps: BatchProcessorDeps, editionId: string, batchNo: number, error: MailerError) {
  await deps.db
    .transaction()
    .execute((tx) =>
      pauseForQuota(tx, editionId, `provider quota reached: ${error.message}`, deps.clock.now()),
    );
  deps.logger.warn({ editionId, batchNo }, 'edition paused: provider quota reached');
  return 'paused: quota' as const;
}

/** How many editions' contents a worker keeps: sends seldom overlap. */
const CACHED_EDITIONS = 4;

/**
 * The shared content of an edition being sent, per locale: read, cut at its markers (and, by the
 * mailer, encoded) once per send and worker process instead of once per batch. The renders are
 * written once, in the transaction that starts the send and sets `sending_started_at`, so that
 * moment names them.
 */
function editionContents(deps: Pick<BatchProcessorDeps, 'db' | 'emailFrom'>) {
  const cache = new Map<string, Map<Locale, SharedEmailContent>>();
  return async (editionId: string, sendingStartedAt: Date | null) => {
    const key = sendingStartedAt ? `${editionId}@${sendingStartedAt.toISOString()}` : null;
    const cached = key ? cache.get(key) : undefined;
    if (cached) return cached;
    const renders = await deps.db
      .selectFrom('edition_renders')
      .select(['locale', 'subject', 'html', 'text'])
      .where('edition_id', '=', editionId)
      .execute();
    if (renders.length === 0) throw new Error(`edition ${editionId} is sending without renders`);
    const byLocale = new Map(renders.map((r) => [r.locale, personalisable(r, deps.emailFrom)]));
    if (key) {
      cache.set(key, byLocale);
      if (cache.size > CACHED_EDITIONS) cache.delete(cache.keys().next().value!);
    }
    return byLocale;
  };
}

/** One recipient's email of a batch: signed personal links, greeting, one-click unsubscribe headers. */
export function personalBatchEmail(
  deps: Pick<BatchProcessorDeps, 'linkTokens' | 'publicBaseUrl'>,
  recipient: Pick<BatchRecipient, 'subscriberId' | 'topicId' | 'email' | 'name' | 'locale'>,
  content: SharedEmailContent,
  issuedAt: Date,
): BatchEmail {
  const unsubscribeToken = deps.linkTokens.issue(
    { p: 'unsubscribe', s: recipient.subscriberId, ...(recipient.topicId ? { t: recipient.topicId } : {}) },
    undefined,
    issuedAt,
  );
  const preferencesToken = deps.linkTokens.issue(
    { p: 'preferences', s: recipient.subscriberId },
    undefined,
    issuedAt,
  );
  const unsubscribeUrl = `${deps.publicBaseUrl}/unsubscribe/${unsubscribeToken}`;
  const values = recipientGapValues({
    locale: recipient.locale,
    name: recipient.name,
    unsubscribeUrl,
    preferencesUrl: `${deps.publicBaseUrl}/preferences/${preferencesToken}`,
  });
  return {
    content,
    to: [recipient.email],
    headers: {
      'List-Unsubscribe': `<${unsubscribeUrl}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
    htmlValues: values.html,
    textValues: values.text,
  };
}

export function deliveryIdempotencyKey(deliveryId: string): string {
  return `delivery-${deliveryId}`;
}

/**
 * The batch was refused as a whole (strict validation: one bad address fails all): each message
 * goes on its own, under a key of its own delivery, and is committed as soon as the provider
 * answers, so that a retry (after a crash, a 5xx or a sweep) goes on where this one stopped. A
 * permanent refusal fails only that delivery, with its reason; a 429 waits on the shared
 * schedule and tries the same message again, without using up an attempt of the job; another
 * transient error (5xx, network) is retried in place a few times, then ends the attempt, keeping
 * what was done. In place, because a hundred requests each failing now and then would otherwise
 * use up the job's attempts long before the batch is through.
 */
async function sendOneByOne(
  deps: BatchProcessorDeps,
  rateLimit: ProviderRateLimit,
  batch: { editionId: string; batchNo: number },
  recipients: BatchRecipient[],
  emails: BatchEmail[],
): Promise<{ sent: number; failed: number } | 'paused'> {
  const tally = { sent: 0, failed: 0 };
  const record = (outcome: DeliveryOutcome) =>
    deps.db.transaction().execute((tx) => recordOneOfBatch(tx, batch, outcome, deps.clock.now()));
  for (const [index, recipient] of recipients.entries()) {
    const { deliveryId } = recipient;
    const key = deliveryIdempotencyKey(deliveryId);
    for (let transientFailures = 0; ; ) {
      try {
        await rateLimit.acquire();
        const { id } = await deps.mailer.send(fillBatchEmail(emails[index]!), { idempotencyKey: key });
        await record({ deliveryId, messageId: id });
        tally.sent++;
        break;
      } catch (error) {
        if (!(error instanceof MailerError)) throw error;
        if (error.kind === 'retryable' && error.status === 429) {
          await rateLimit.pause(error.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS);
          continue;
        }
        if (error.kind === 'quota') {
          await pause(deps, batch.editionId, batch.batchNo, error);
          return 'paused';
        }
        if (error.kind === 'retryable') {
          // The same key again is safe: an accepted message is answered from the provider's cache.
          if (transientFailures >= IN_PLACE_RETRIES.length) throw error;
          await delay(IN_PLACE_RETRIES[transientFailures++]!);
          continue;
        }
        if (error.kind === 'already-accepted') {
          await record({ deliveryId, messageId: `accepted:${key}` });
          tally.sent++;
        } else {
          await record({ deliveryId, messageId: null, error: error.message });
          tally.failed++;
        }
        break;
      }
    }
  }
  return tally;
}
