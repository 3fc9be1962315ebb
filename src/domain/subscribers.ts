import { sql } from 'kysely';
import { type DbOrTx, prepared } from '../db/connection.js';
import type { LawfulBasis, Locale, Subscriber, SubscriberSource } from '../db/schema.js';
import type { Clock } from '../providers/clock.js';
import { type ConsentEvidence, recordConsent, UNKNOWN_CONSENT_VERSION_FIELD } from './consent.js';
import { emailHash, normaliseEmail } from './email-address.js';
import { queueSubscriberEmail, TRANSACTIONAL_EMAIL_QUEUE } from './emails.js';
import { type FieldError, Invalid, NotFound } from './errors.js';
import { countHit, type RateLimit, rateLimitExceeded } from './rate-limits.js';
import { LIFTED_BY_CONFIRMATION, liftSuppression, suppress, suppressionOf } from './suppressions.js';

/** At most one confirmation (or "already subscribed") email per address per 10 minutes. */
export const CONFIRMATION_INTERVAL_MS = 10 * 60 * 1000;
export const CONFIRM_TOKEN_TTL_SECONDS = 7 * 24 * 3600;

export function parseEmailOrThrow(input: string, field = 'email'): string {
  const result = normaliseEmail(input);
  if (!result.ok) throw new Invalid('The email address is not valid.', [{ field, message: result.reason }]);
  return result.email;
}

/** Topic references as typed by people or programs: slugs and ids, trimmed, lower-cased, once each. */
function topicRefs(refs: string[]) {
  const all = [...new Set(refs.map((ref) => ref.trim().toLowerCase()))];
  // At most 18 digits fits a bigint; a longer number would make Postgres fail the whole query.
  const isId = (ref: string) => /^\d{1,18}$/.test(ref);
  return { all, ids: all.filter(isId), slugs: all.filter((ref) => !isId(ref)) };
}

function unknownTopicsField(field: string, unknown: string[]): FieldError {
  return { field, message: `Onbekend onderwerp: ${unknown.join(', ')}.` };
}

const NO_TOPIC_FIELD: FieldError = { field: 'topics', message: 'Kies minstens één onderwerp.' };

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
  const { all, ids, slugs } = topicRefs(refs);
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
  const unknown = all.filter((ref) => !known.has(ref));
  if (unknown.length > 0) throw new Invalid('Unknown topic.', [unknownTopicsField(field, unknown)]);
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
 * (no enumeration); the outcome is only for logs and tests.
 *
 * One statement (a prepared one: planning these CTEs costs more than running them), so one
 * round trip and one commit, as durable as any other. It checks the topics (public, not
 * archived), the consent text version and the suppression list; then an upsert on the address
 * both creates and locks: a concurrent signup for the same address waits for this one and then
 * finds it throttled. An active subscriber gets an "already subscribed" email; any other state
 * becomes pending again, with the chosen topics, a consent event and a confirmation email. At
 * most one of those emails per address per CONFIRMATION_INTERVAL_MS. `rateLimit` (per IP) is
 * counted in the same statement, whatever the outcome; past it, nothing else happens and
 * TooManyRequests is thrown.
 */
export async function signUp(
  db: DbOrTx,
  clock: Clock,
  input: SignupInput,
  evidence: ConsentEvidence,
  options: { rateLimit?: RateLimit } = {},
): Promise<SignupOutcome> {
  const email = parseEmailOrThrow(input.email);
  const refs = topicRefs(input.topics);
  const now = clock.now();
  const rateLimit = options.rateLimit ?? null;
  const { rows } = await sql<{
    within_limit: boolean;
    unknown_topics: string[];
    version_known: boolean;
    suppressed: boolean;
    status: 'pending' | 'active' | null;
  }>`${prepared('signup')}
    with topic as (
      select id, slug from topics
      where archived_at is null and public
        and (slug = any(${refs.slugs}::text[]) or id = any(${refs.ids}::bigint[]))
    ),
    unknown_topic as (
      select ref from unnest(${refs.all}::text[]) ref
      where ref not in (select slug from topic union all select id::text from topic)
    ),
    limited as (${countHit(rateLimit, now)}),
    checks as (
      select
        coalesce((select hits from limited) <= ${rateLimit?.limit ?? null}::integer, true) as within_limit,
        exists (select from consent_texts where version = ${input.consentVersion}) as version_known,
        exists (
          select from suppressions
          where email_hash = ${emailHash(email)} and reason <> all(${LIFTED_BY_CONFIRMATION}::text[])
        ) as suppressed
    ),
    signed as (
      insert into subscribers as s (email, name, locale, status, source, confirmation_sent_at, confirmation_count)
      select ${email}, ${input.name ?? null}::text, ${input.locale}, 'pending', 'form', ${now}::timestamptz, 1
      from checks
      where checks.within_limit and checks.version_known and not checks.suppressed
        and exists (select from topic) and not exists (select from unknown_topic)
      on conflict (lower(email)) do update set
        status = case when s.status = 'active' then s.status else 'pending' end,
        locale = case when s.status = 'active' then s.locale else excluded.locale end,
        name = case when s.status = 'active' then s.name else coalesce(excluded.name, s.name) end,
        updated_at = case when s.status = 'active' then s.updated_at else excluded.confirmation_sent_at end,
        confirmation_sent_at = excluded.confirmation_sent_at,
        confirmation_count = s.confirmation_count + 1
      where s.confirmation_sent_at is null
        or s.confirmation_sent_at <= excluded.confirmation_sent_at - ${CONFIRMATION_INTERVAL_MS} * interval '1 millisecond'
      returning id, status, confirmation_count
    ),
    pending as (select id from signed where status = 'pending'),
    left_topics as (
      delete from subscriptions
      where subscriber_id in (select id from pending) and topic_id not in (select id from topic)
    ),
    subscribed as (
      insert into subscriptions (subscriber_id, topic_id)
      select pending.id, topic.id from pending, topic
      on conflict do nothing
    ),
    consent as (
      insert into consent_events (subscriber_id, kind, consent_version, lawful_basis, source, details, ip_hash, user_agent)
      select id, 'given', ${input.consentVersion}, 'consent', ${evidence.source.slice(0, 500)},
        jsonb_build_object(
          'topics', (select jsonb_agg(id::text order by id) from topic),
          'locale', ${input.locale}::text
        ),
        ${evidence.ipHash ?? null}::text, ${evidence.userAgent?.slice(0, 300) ?? null}::text
      from pending
    ),
    -- The job id as queueSubscriberEmail makes it: <kind>-<subscriber id>-<n-th confirmation email>.
    queued as (
      insert into outbox (queue, job_name, job_id, payload)
      select ${TRANSACTIONAL_EMAIL_QUEUE}, 'send-' || kind, kind || '-' || id || '-' || confirmation_count,
        jsonb_build_object('subscriberId', id::text)
      from (
        select id, confirmation_count,
          case when status = 'active' then 'already-subscribed' else 'confirmation' end as kind
        from signed
      ) sent
      on conflict (job_id) do nothing
    )
    select
      within_limit,
      array(select ref from unknown_topic order by ref) as unknown_topics,
      version_known,
      suppressed,
      (select status from signed) as status
    from checks`.execute(db);
  const outcome = rows[0]!;
  if (!outcome.within_limit)
    throw rateLimitExceeded(rateLimit!, now, 'Too many signups from this network address.');
  const fields: FieldError[] = [];
  if (outcome.unknown_topics.length > 0) fields.push(unknownTopicsField('topics', outcome.unknown_topics));
  else if (refs.all.length === 0) fields.push(NO_TOPIC_FIELD);
  if (!outcome.version_known) fields.push(UNKNOWN_CONSENT_VERSION_FIELD);
  if (fields.length > 0) throw new Invalid('The signup is not valid.', fields);
  if (outcome.suppressed) return 'suppressed';
  if (outcome.status === null) return 'throttled';
  return outcome.status === 'active' ? 'already-subscribed-sent' : 'confirmation-sent';
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
