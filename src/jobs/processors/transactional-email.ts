import { type Job, UnrecoverableError } from 'bullmq';
import type { Db } from '../../db/connection.js';
import type { Locale, Subscriber } from '../../db/schema.js';
import type { SubscriberEmailKind } from '../../domain/emails.js';
import { confirmUrl, listUnsubscribeHeaders, personalLinks } from '../../domain/links.js';
import { getSettings } from '../../domain/settings.js';
import { CONFIRM_TOKEN_TTL_SECONDS } from '../../domain/subscribers.js';
import { LIFTED_BY_CONFIRMATION, suppressionOf } from '../../domain/suppressions.js';
import { renderSubscriberEmail, type SubscriberTemplate } from '../../emails/render.js';
import type { Logger } from '../../infra/logger.js';
import type { Clock } from '../../providers/clock.js';
import type { LinkTokens } from '../../providers/link-tokens.js';
import { type Mailer, MailerError } from '../../providers/mailer.js';
import type { ProviderRateLimit } from '../provider-rate-limit.js';
import { QUEUES } from '../queues.js';

export interface TransactionalEmailDeps {
  db: Db;
  mailer: Mailer;
  clock: Clock;
  logger: Logger;
  emailFrom: string;
  /** Public address of the web app, for the personal links in template emails. */
  publicBaseUrl: string;
  linkTokens: LinkTokens;
}

const jobs = QUEUES['transactional-email'];

/** Job name → template kind (the job names queueSubscriberEmail records). */
const SUBSCRIBER_EMAIL_JOBS: Record<string, SubscriberEmailKind> = {
  'send-confirmation': 'confirmation',
  'send-welcome': 'welcome',
  'send-preferences-changed': 'preferences-changed',
  'send-already-subscribed': 'already-subscribed',
};

/**
 * One queue, two kinds of job. `send-email` sends a stored email. `send-<template>` renders a
 * template for a subscriber in their language with fresh personal links, stores it once under
 * the job id (`emails.dedupe_key`), and sends it the same way. Both are idempotent.
 */
export function transactionalEmailProcessor(deps: TransactionalEmailDeps, rateLimit: ProviderRateLimit) {
  return async (job: Job): Promise<void> => {
    if (job.name === 'send-email') {
      const { emailId } = jobs['send-email'].parse(job.data);
      return sendStoredEmail(deps, rateLimit, emailId, job);
    }
    const kind = SUBSCRIBER_EMAIL_JOBS[job.name];
    if (!kind) throw new UnrecoverableError(`unknown job ${job.name} on the transactional-email queue`);
    const { subscriberId } = jobs[`send-${kind}`].parse(job.data);
    const emailId = await storeSubscriberEmail(
      deps,
      kind,
      subscriberId,
      job.id ?? `${job.name}-${subscriberId}`,
    );
    if (emailId) await sendStoredEmail(deps, rateLimit, emailId, job);
  };
}

/**
 * Sends one stored email. A row already sent is skipped, and the provider's idempotency key
 * (`email-<id>`) makes a retry after a crash between send and commit harmless. It takes its turn
 * in the provider's rate limit that edition batches share: a confirmation during a send neither
 * gets a 429 nor pushes the batches over the limit.
 */
export async function sendStoredEmail(
  deps: TransactionalEmailDeps,
  rateLimit: ProviderRateLimit,
  emailId: string,
  job: Job,
): Promise<void> {
  const email = await deps.db.selectFrom('emails').selectAll().where('id', '=', emailId).executeTakeFirst();
  if (email?.status !== 'queued') return;
  await deps.db
    .updateTable('emails')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('id', '=', emailId)
    .execute();
  try {
    await rateLimit.acquire();
    const { id } = await deps.mailer.send(
      {
        from: deps.emailFrom,
        to: [email.to_address],
        subject: email.subject,
        html: email.html,
        text: email.text,
        headers: email.headers,
        tags: [{ name: 'kind', value: email.kind.replace(/[^a-zA-Z0-9_-]/g, '_') }],
      },
      { idempotencyKey: `email-${email.id}` },
    );
    await deps.db
      .updateTable('emails')
      .set({ status: 'sent', provider_message_id: id, sent_at: deps.clock.now(), last_error: null })
      .where('id', '=', emailId)
      .execute();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const permanent = error instanceof MailerError && error.kind === 'permanent';
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    await deps.db
      .updateTable('emails')
      .set({
        last_error: message.slice(0, 1000),
        ...(permanent || lastAttempt ? { status: 'failed' as const } : {}),
      })
      .where('id', '=', emailId)
      .execute();
    deps.logger.warn({ emailId, err: message, permanent }, 'transactional email not sent');
    // The provider said "slow down": every worker waits, not only this job's retry.
    if (error instanceof MailerError && error.status === 429 && error.retryAfterMs !== null) {
      await rateLimit.pause(error.retryAfterMs);
    }
    if (permanent) throw new UnrecoverableError(message);
    throw error;
  }
}

/** Why a template email is not sent (the job then completes without sending). */
async function skipReason(
  deps: TransactionalEmailDeps,
  kind: SubscriberEmailKind,
  subscriber: Subscriber | undefined,
) {
  if (!subscriber) return 'subscriber gone';
  const suppression = await suppressionOf(deps.db, subscriber.email);
  if (kind === 'confirmation') {
    // Only a pending signup needs confirming; the person's own confirmation lifts an unsubscribe.
    if (subscriber.status !== 'pending') return `status ${subscriber.status}`;
    if (suppression && !LIFTED_BY_CONFIRMATION.includes(suppression)) return `suppressed (${suppression})`;
    return null;
  }
  if (subscriber.status !== 'active') return `status ${subscriber.status}`;
  if (suppression) return `suppressed (${suppression})`;
  return null;
}

async function topicNames(db: Db, subscriberId: string, locale: Locale): Promise<string[]> {
  const rows = await db
    .selectFrom('subscriptions')
    .innerJoin('topics', 'topics.id', 'subscriptions.topic_id')
    .select(['topics.name_nl', 'topics.name_en'])
    .where('subscriptions.subscriber_id', '=', subscriberId)
    .where('topics.archived_at', 'is', null)
    .orderBy('topics.position')
    .orderBy('topics.id')
    .execute();
  return rows.map((row) => (locale === 'en' ? row.name_en : row.name_nl));
}

/**
 * Renders and stores the email for one job, once: a retry finds the stored row by its dedupe key
 * and sends exactly that (same links, same idempotency key). Returns null when nothing is to be sent.
 */
async function storeSubscriberEmail(
  deps: TransactionalEmailDeps,
  kind: SubscriberEmailKind,
  subscriberId: string,
  dedupeKey: string,
): Promise<string | null> {
  const { db } = deps;
  const stored = await db
    .selectFrom('emails')
    .select('id')
    .where('dedupe_key', '=', dedupeKey)
    .executeTakeFirst();
  if (stored) return stored.id;

  const subscriber = await db
    .selectFrom('subscribers')
    .selectAll()
    .where('id', '=', subscriberId)
    .executeTakeFirst();
  const skip = await skipReason(deps, kind, subscriber);
  if (skip || !subscriber) {
    deps.logger.info({ kind, subscriberId, reason: skip }, 'template email skipped');
    return null;
  }
  const settings = await getSettings(db);
  const frame = {
    locale: subscriber.locale,
    programmeName: settings.programmeName,
    postalAddress: settings.postalAddress,
    contactEmail: settings.contactEmail,
  };
  const links = personalLinks(deps.linkTokens, deps.publicBaseUrl, subscriber.id);
  const topics = await topicNames(db, subscriber.id, subscriber.locale);
  let template: SubscriberTemplate;
  // The confirmation goes to an address that is not on the list (yet): no unsubscribe link or
  // List-Unsubscribe header there; ignoring the email is how one says no.
  let headers: Record<string, string> = listUnsubscribeHeaders(links.unsubscribeUrl);
  switch (kind) {
    case 'confirmation':
      headers = {};
      template = {
        kind,
        props: {
          ...frame,
          name: subscriber.name,
          topics,
          confirmUrl: confirmUrl(
            deps.linkTokens,
            deps.publicBaseUrl,
            subscriber.id,
            subscriber.confirmation_count,
          ),
          validDays: Math.round(CONFIRM_TOKEN_TTL_SECONDS / 86_400),
        },
      };
      break;
    case 'welcome':
    case 'preferences-changed':
      template = { kind, props: { ...frame, ...links, name: subscriber.name, topics } };
      break;
    case 'already-subscribed':
      template = { kind, props: { ...frame, ...links, name: subscriber.name } };
      break;
  }
  const rendered = await renderSubscriberEmail(template);
  // Stored under a share lock of the subscriber, with the address checked again: an erasure
  // (which locks the row for update) either ran before, and nothing is stored, or waits for this
  // commit and then deletes the stored email with everything else.
  const inserted = await db.transaction().execute(async (tx) => {
    const current = await tx
      .selectFrom('subscribers')
      .select('email')
      .where('id', '=', subscriber.id)
      .forShare()
      .executeTakeFirst();
    if (current?.email !== subscriber.email) return 'gone' as const;
    return (
      tx
        .insertInto('emails')
        .values({
          kind,
          to_address: subscriber.email,
          subject: rendered.subject,
          html: rendered.html,
          text: rendered.text,
          headers: JSON.stringify(headers),
          dedupe_key: dedupeKey,
        })
        // Two workers racing on the same job: the first row wins, the other sends that one.
        .onConflict((oc) => oc.column('dedupe_key').doNothing())
        .returning('id')
        .executeTakeFirst()
    );
  });
  if (inserted === 'gone') {
    deps.logger.info({ kind, subscriberId, reason: 'erased' }, 'template email skipped');
    return null;
  }
  if (inserted) return inserted.id;
  const winner = await db
    .selectFrom('emails')
    .select('id')
    .where('dedupe_key', '=', dedupeKey)
    .executeTakeFirstOrThrow();
  return winner.id;
}
