import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection.js';
import type { LawfulBasis, Locale, Subscriber, SubscriberSource } from '../db/schema.js';
import type { Clock } from '../providers/clock.js';
import { assertConsentVersion, type ConsentEvidence, recordConsent } from './consent.js';
import { normaliseEmail } from './email-address.js';
import { queueSubscriberEmail } from './emails.js';
import { Invalid, NotFound } from './errors.js';
import { LIFTED_BY_CONFIRMATION, liftSuppression, suppress, suppressionOf } from './suppressions.js';

/** At most one confirmation (or "already subscribed") email per address per 10 minutes. */
export const CONFIRMATION_INTERVAL_MS = 10 * 60 * 1000;
export const CONFIRM_TOKEN_TTL_SECONDS = 7 * 24 * 3600;

export function parseEmailOrThrow(input: string, field = 'email'): string {
  const result = normaliseEmail(input);
  if (!result.ok) throw new Invalid('The email address is not valid.', [{ field, message: result.reason }]);
  return result.email;
}

/**
 * Topic ids for slugs or ids; unknown or archived ones are a field error, not silently dropped.
 * `publicOnly`: only the topics offered to the public (the signup form), not internal ones.
 */
export async function resolveTopics(
  db: DbOrTx,
  refs: string[],
  field = 'topics',
  options: { publicOnly?: boolean } = {},
): Promise<string[]> {
  if (refs.length === 0) return [];
  const unique = [...new Set(refs.map((ref) => ref.trim().toLowerCase()))];
  // At most 18 digits fits a bigint; a longer number would make Postgres fail the whole query.
  const isId = (ref: string) => /^\d{1,18}$/.test(ref);
  const ids = unique.filter(isId);
  const slugs = unique.filter((ref) => !isId(ref));
  const rows = await db
    .selectFrom('topics')
    .select(['id', 'slug'])
    .where('archived_at', 'is', null)
    .$if(options.publicOnly === true, (q) => q.where('public', '=', true))
    .where((eb) => {
      const conditions = [];
      if (ids.length > 0) conditions.push(eb('id', 'in', ids));
      if (slugs.length > 0) conditions.push(eb('slug', 'in', slugs));
      return eb.or(conditions);
    })
    .execute();
  const known = new Set(rows.flatMap((row) => [row.id, row.slug]));
  const unknown = unique.filter((ref) => !known.has(ref));
  if (unknown.length > 0) {
    throw new Invalid('Unknown topic.', [{ field, message: `Onbekend onderwerp: ${unknown.join(', ')}.` }]);
  }
  return [...new Set(rows.map((row) => row.id))];
}

async function setSubscriptions(db: DbOrTx, subscriberId: string, topicIds: string[]): Promise<void> {
  await db
    .deleteFrom('subscriptions')
    .where('subscriber_id', '=', subscriberId)
    .$if(topicIds.length > 0, (q) => q.where('topic_id', 'not in', topicIds))
    .execute();
  if (topicIds.length > 0) {
    await db
      .insertInto('subscriptions')
      .values(topicIds.map((topic_id) => ({ subscriber_id: subscriberId, topic_id })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
}

export async function topicIdsOf(db: DbOrTx, subscriberId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('subscriptions')
    .select('topic_id')
    .where('subscriber_id', '=', subscriberId)
    .orderBy('topic_id')
    .execute();
  return rows.map((row) => row.topic_id);
}

export interface SignupInput {
  email: string;
  name?: string | null;
  topics: string[];
  locale: Locale;
  consentVersion: string;
}

export type SignupOutcome = 'confirmation-sent' | 'already-subscribed-sent' | 'throttled' | 'suppressed';

/**
 * Public double opt-in signup. Whatever the address's state, the caller answers the same
 * (no enumeration); the outcome is only for logs and tests. Run inside one transaction.
 */
export async function signUp(
  tx: DbOrTx,
  clock: Clock,
  input: SignupInput,
  evidence: ConsentEvidence,
): Promise<SignupOutcome> {
  const email = parseEmailOrThrow(input.email);
  await assertConsentVersion(tx, input.consentVersion);
  const topicIds = await resolveTopics(tx, input.topics, 'topics', { publicOnly: true });
  if (topicIds.length === 0)
    throw new Invalid('Choose at least one topic.', [
      { field: 'topics', message: 'Kies minstens één onderwerp.' },
    ]);

  const suppression = await suppressionOf(tx, email);
  if (suppression && !LIFTED_BY_CONFIRMATION.includes(suppression)) return 'suppressed';

  // Serialise concurrent signups for the same address (the row may not exist yet).
  await sql`select pg_advisory_xact_lock(hashtext(${`signup:${email}`}))`.execute(tx);
  const now = clock.now();
  const existing = await tx
    .selectFrom('subscribers')
    .selectAll()
    .where('email', '=', email)
    .executeTakeFirst();
  const throttled = (s: Subscriber) =>
    s.confirmation_sent_at !== null &&
    now.getTime() - s.confirmation_sent_at.getTime() < CONFIRMATION_INTERVAL_MS;

  if (existing?.status === 'active') {
    if (throttled(existing)) return 'throttled';
    const count = existing.confirmation_count + 1;
    await tx
      .updateTable('subscribers')
      .set({ confirmation_sent_at: now, confirmation_count: count })
      .where('id', '=', existing.id)
      .execute();
    await queueSubscriberEmail(tx, 'already-subscribed', existing.id, count);
    return 'already-subscribed-sent';
  }
  // Whatever the status (pending, unsubscribed, …): at most one confirmation per interval.
  if (existing && throttled(existing)) return 'throttled';

  let subscriber: Subscriber;
  if (existing) {
    subscriber = await tx
      .updateTable('subscribers')
      .set({
        status: 'pending',
        locale: input.locale,
        name: input.name ?? existing.name,
        updated_at: now,
        confirmation_sent_at: now,
        confirmation_count: existing.confirmation_count + 1,
      })
      .where('id', '=', existing.id)
      .returningAll()
      .executeTakeFirstOrThrow();
  } else {
    subscriber = await tx
      .insertInto('subscribers')
      .values({
        email,
        name: input.name ?? null,
        locale: input.locale,
        status: 'pending',
        source: 'form',
        confirmation_sent_at: now,
        confirmation_count: 1,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }
  await setSubscriptions(tx, subscriber.id, topicIds);
  await recordConsent(tx, subscriber.id, 'given', evidence, {
    consentVersion: input.consentVersion,
    lawfulBasis: 'consent',
    details: { topics: topicIds, locale: input.locale },
  });
  await queueSubscriberEmail(tx, 'confirmation', subscriber.id, subscriber.confirmation_count);
  return 'confirmation-sent';
}

/** Confirms a pending signup (POST from the confirmation page). Idempotent. */
export async function confirmSubscription(
  tx: DbOrTx,
  clock: Clock,
  subscriberId: string,
  evidence: ConsentEvidence,
): Promise<Subscriber> {
  const subscriber = await tx
    .selectFrom('subscribers')
    .selectAll()
    .where('id', '=', subscriberId)
    .forUpdate()
    .executeTakeFirst();
  if (!subscriber) throw new NotFound('This subscription no longer exists.');
  if (subscriber.status !== 'pending') return subscriber;
  const suppression = await suppressionOf(tx, subscriber.email);
  if (suppression && !LIFTED_BY_CONFIRMATION.includes(suppression)) return subscriber;
  const now = clock.now();
  const confirmed = await tx
    .updateTable('subscribers')
    .set({ status: 'active', confirmed_at: now, unsubscribed_at: null, updated_at: now })
    .where('id', '=', subscriberId)
    .returningAll()
    .executeTakeFirstOrThrow();
  await liftSuppression(tx, subscriber.email, LIFTED_BY_CONFIRMATION);
  await recordConsent(tx, subscriberId, 'confirmed', evidence, { lawfulBasis: 'consent' });
  await queueSubscriberEmail(tx, 'welcome', subscriberId, `c${subscriber.confirmation_count}`);
  return confirmed;
}

/**
 * A new confirmation email for a pending signup (from the page of an expired confirmation link).
 * The same interval as signUp; does nothing for an address that is no longer pending.
 */
export async function resendConfirmation(
  tx: DbOrTx,
  clock: Clock,
  subscriberId: string,
): Promise<'confirmation-sent' | 'throttled' | 'not-pending' | 'suppressed'> {
  const subscriber = await tx
    .selectFrom('subscribers')
    .selectAll()
    .where('id', '=', subscriberId)
    .forUpdate()
    .executeTakeFirst();
  if (subscriber?.status !== 'pending') return 'not-pending';
  const suppression = await suppressionOf(tx, subscriber.email);
  if (suppression && !LIFTED_BY_CONFIRMATION.includes(suppression)) return 'suppressed';
  const now = clock.now();
  const sentAt = subscriber.confirmation_sent_at;
  if (sentAt && now.getTime() - sentAt.getTime() < CONFIRMATION_INTERVAL_MS) return 'throttled';
  const count = subscriber.confirmation_count + 1;
  await tx
    .updateTable('subscribers')
    .set({ confirmation_sent_at: now, confirmation_count: count, updated_at: now })
    .where('id', '=', subscriberId)
    .execute();
  await queueSubscriberEmail(tx, 'confirmation', subscriberId, count);
  return 'confirmation-sent';
}

/**
 * Unsubscribes from one topic (the one the email was sent for) or from everything. Idempotent:
 * repeating it changes nothing and records nothing new.
 */
export async function unsubscribe(
  tx: DbOrTx,
  clock: Clock,
  subscriberId: string,
  scope: { topicId: string | null; everything: boolean; reason?: string | null },
  evidence: ConsentEvidence,
): Promise<{ subscriber: Subscriber; changed: boolean }> {
  const subscriber = await tx
    .selectFrom('subscribers')
    .selectAll()
    .where('id', '=', subscriberId)
    .forUpdate()
    .executeTakeFirst();
  if (!subscriber) throw new NotFound('This subscription no longer exists.');
  const now = clock.now();
  const reason = scope.reason?.trim().slice(0, 500) || undefined;
  if (!scope.everything && scope.topicId) {
    const removed = await tx
      .deleteFrom('subscriptions')
      .where('subscriber_id', '=', subscriberId)
      .where('topic_id', '=', scope.topicId)
      .executeTakeFirst();
    const remaining = await topicIdsOf(tx, subscriberId);
    if (remaining.length > 0) {
      if (removed.numDeletedRows > 0n) {
        await recordConsent(tx, subscriberId, 'withdrawn', evidence, {
          details: { topic: scope.topicId, reason },
        });
        await tx.updateTable('subscribers').set({ updated_at: now }).where('id', '=', subscriberId).execute();
      }
      return { subscriber, changed: removed.numDeletedRows > 0n };
    }
  }
  // Bounced and complained keep their status; their unsubscribed_at tells that they already left.
  const stopped = subscriber.status === 'bounced' || subscriber.status === 'complained';
  if (subscriber.status === 'unsubscribed' || (stopped && subscriber.unsubscribed_at !== null)) {
    return { subscriber, changed: false };
  }
  const updated = await tx
    .updateTable('subscribers')
    .set({
      // Bounced and complained stay as they are: they explain why we stopped, and suppress already.
      status:
        subscriber.status === 'bounced' || subscriber.status === 'complained'
          ? subscriber.status
          : 'unsubscribed',
      unsubscribed_at: now,
      updated_at: now,
    })
    .where('id', '=', subscriberId)
    .returningAll()
    .executeTakeFirstOrThrow();
  await suppress(tx, subscriber.email, 'unsubscribed', evidence.source);
  await recordConsent(tx, subscriberId, 'withdrawn', evidence, { details: { everything: true, reason } });
  return { subscriber: updated, changed: true };
}

/** Saves the preference centre: topics and language (and name). No topics left means unsubscribed. */
export async function updatePreferences(
  tx: DbOrTx,
  clock: Clock,
  subscriberId: string,
  input: { topics: string[]; locale: Locale; name?: string | null },
  evidence: ConsentEvidence,
): Promise<Subscriber> {
  const subscriber = await tx
    .selectFrom('subscribers')
    .selectAll()
    .where('id', '=', subscriberId)
    .forUpdate()
    .executeTakeFirst();
  if (!subscriber) throw new NotFound('This subscription no longer exists.');
  const topicIds = await resolveTopics(tx, input.topics);
  if (topicIds.length === 0) {
    return (await unsubscribe(tx, clock, subscriberId, { topicId: null, everything: true }, evidence))
      .subscriber;
  }
  const before = await topicIdsOf(tx, subscriberId);
  await setSubscriptions(tx, subscriberId, topicIds);
  const updated = await tx
    .updateTable('subscribers')
    .set({
      locale: input.locale,
      updated_at: clock.now(),
      ...(input.name !== undefined ? { name: input.name } : {}),
    })
    .where('id', '=', subscriberId)
    .returningAll()
    .executeTakeFirstOrThrow();
  // Both sides in numeric order: ids are strings, and as text '10' sorts before '2'.
  const byNumber = (a: string, b: string) => Number(a) - Number(b);
  const topicsChanged = [...before].sort(byNumber).join(',') !== [...topicIds].sort(byNumber).join(',');
  if (topicsChanged || subscriber.locale !== input.locale) {
    await recordConsent(tx, subscriberId, 'changed', evidence, {
      details: { topics: topicIds, locale: input.locale },
    });
    if (subscriber.status === 'active') {
      const count = await tx
        .selectFrom('consent_events')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('subscriber_id', '=', subscriberId)
        .executeTakeFirstOrThrow();
      await queueSubscriberEmail(tx, 'preferences-changed', subscriberId, count.n);
    }
  }
  return updated;
}

export interface DirectSubscriberInput {
  email: string;
  name?: string | null;
  locale?: Locale;
  topics: string[];
  organisationId?: string | null;
  lawfulBasis: LawfulBasis;
  source: Extract<SubscriberSource, 'api' | 'editor' | 'import'>;
}
