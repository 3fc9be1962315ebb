import { sql } from 'kysely';
import { type DbOrTx, prepared } from '../db/connection.js';
import { GroupCommit } from '../db/group-commit.js';
import type { LawfulBasis, Locale, Subscriber, SubscriberSource } from '../db/schema.js';
import type { Clock } from '../providers/clock.js';
import { type ConsentEvidence, recordConsent, UNKNOWN_CONSENT_VERSION_FIELD } from './consent.js';
import { emailHash, normaliseEmail } from './email-address.js';
import { queueSubscriberEmail, TRANSACTIONAL_EMAIL_QUEUE } from './emails.js';
import { type DomainError, type FieldError, Invalid, NotFound } from './errors.js';
import { type RateLimit, rateLimitExceeded, windowStart } from './rate-limits.js';
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

/** One public signup as the form handler has it: what was entered, the evidence, the per-IP limit. */
export interface SignupRequest {
  input: SignupInput;
  evidence: ConsentEvidence;
  rateLimit?: RateLimit;
}

/** A signup's outcome, or why it was refused (Invalid, TooManyRequests): each request its own. */
export type SignupResult = { ok: true; outcome: SignupOutcome } | { ok: false; error: DomainError };

/** Two signups of one address must not share a statement (an upsert cannot touch a row twice). */
export function signupAddressKey(request: SignupRequest): string {
  const address = normaliseEmail(request.input.email);
  return (address.ok ? address.email : request.input.email).toLowerCase();
}

/**
 * Public double opt-in signup. Whatever the address's state, the caller answers the same
 * (no enumeration); the outcome is only for logs and tests. Throws Invalid or TooManyRequests.
 */
export async function signUp(
  db: DbOrTx,
  clock: Clock,
  input: SignupInput,
  evidence: ConsentEvidence,
  options: { rateLimit?: RateLimit } = {},
): Promise<SignupOutcome> {
  const [result] = await signUpBatch(db, clock, [{ input, evidence, rateLimit: options.rateLimit }]);
  if (!result!.ok) throw result!.error;
  return result!.outcome;
}

/**
 * Several signups in one statement (a prepared one: planning these CTEs costs more than running
 * them), so one round trip and one commit for all of them, as durable as any other; the results
 * are in the requests' order. Addresses must differ (see signupAddressKey).
 *
 * Per request it checks the topics (public, not archived), the consent text version and the
 * suppression list; then an upsert on the address both creates and locks: a concurrent signup for
 * the same address waits for this one and then finds it throttled. An active subscriber gets an
 * "already subscribed" email; any other state becomes pending again, with the chosen topics, a
 * consent event and a confirmation email. At most one of those emails per address per
 * CONFIRMATION_INTERVAL_MS. Each request's `rateLimit` (per IP) is counted, whatever its outcome,
 * in request order; past it, nothing else happens for that request and its result is
 * TooManyRequests.
 */
export async function signUpBatch(
  db: DbOrTx,
  clock: Clock,
  requests: SignupRequest[],
): Promise<SignupResult[]> {
  const now = clock.now();
  const addresses = requests.map((request) => normaliseEmail(request.input.email));
  const results = addresses.map((address): SignupResult | undefined =>
    address.ok
      ? undefined
      : {
          ok: false,
          error: new Invalid('The email address is not valid.', [
            { field: 'email', message: address.reason },
          ]),
        },
  );
  const valid = requests.flatMap((request, index) => {
    const address = addresses[index]!;
    return address.ok ? [{ request, index, email: address.email }] : [];
  });
  if (valid.length === 0) return results as SignupResult[];

  const column = <T>(value: (request: SignupRequest) => T) => valid.map(({ request }) => value(request));
  const emails = valid.map(({ email }) => email);
  const refs = column(({ input }) => topicRefs(input.topics));
  const refOrdinals = refs.flatMap((ref, index) => ref.all.map(() => index + 1));
  const refAll = refs.flatMap((ref) => ref.all);
  const isId = new Set(refs.flatMap((ref) => ref.ids));
  const { rows } = await sql<{
    within_limit: boolean;
    unknown_topics: string[];
    version_known: boolean;
    suppressed: boolean;
    status: 'pending' | 'active' | null;
  }>`${prepared('signup')}
    with input as (
      select * from unnest(
        ${emails}::text[], ${column(({ input }) => input.name ?? null)}::text[],
        ${column(({ input }) => input.locale)}::text[], ${column(({ input }) => input.consentVersion)}::text[],
        ${emails.map(emailHash)}::text[], ${column(({ evidence }) => evidence.source.slice(0, 500))}::text[],
        ${column(({ evidence }) => evidence.ipHash ?? null)}::text[],
        ${column(({ evidence }) => evidence.userAgent?.slice(0, 300) ?? null)}::text[],
        ${column(({ rateLimit }) => rateLimit?.key ?? null)}::text[],
        ${column(({ rateLimit }) => (rateLimit ? windowStart(rateLimit, now) : null))}::timestamptz[],
        ${column(({ rateLimit }) => rateLimit?.limit ?? null)}::integer[]
      ) with ordinality as i(email, name, locale, consent_version, email_hash, source, ip_hash, user_agent,
                             limit_key, window_start, max_hits, ord)
    ),
    matched as (
      select r.ord, r.ref, t.id
      from unnest(
        ${refOrdinals}::integer[], ${refAll.map((ref) => (isId.has(ref) ? null : ref))}::text[],
        ${refAll.map((ref) => (isId.has(ref) ? ref : null))}::bigint[], ${refAll}::text[]
      ) as r(ord, slug, id, ref)
      left join topics t on t.archived_at is null and t.public and (t.slug = r.slug or t.id = r.id)
    ),
    chosen as (
      select ord,
        coalesce(array_agg(distinct id) filter (where id is not null), '{}') as topic_ids,
        coalesce(array_agg(ref order by ref) filter (where id is null), '{}') as unknown_topics
      from matched group by ord
    ),
    hit_counts as (
      select limit_key, max(window_start) as window_start, count(*)::integer as n
      from input where limit_key is not null group by limit_key
    ),
    limited as (
      insert into rate_limits as l (key, window_start, hits)
      select limit_key, window_start, n from hit_counts order by limit_key
      on conflict (key) do update set
        hits = case when l.window_start = excluded.window_start then l.hits + excluded.hits else excluded.hits end,
        window_start = excluded.window_start
      returning key, hits
    ),
    checks as (
      select i.*,
        coalesce(c.topic_ids, '{}') as topic_ids,
        coalesce(c.unknown_topics, '{}') as unknown_topics,
        -- The n-th request of a key in this statement sees the hits before it plus n.
        coalesce(
          l.hits - h.n + row_number() over (partition by i.limit_key order by i.ord) <= i.max_hits, true
        ) as within_limit,
        exists (select from consent_texts where version = i.consent_version) as version_known,
        exists (
          select from suppressions s
          where s.email_hash = i.email_hash and s.reason <> all(${LIFTED_BY_CONFIRMATION}::text[])
        ) as suppressed
      from input i
      left join chosen c on c.ord = i.ord
      left join hit_counts h on h.limit_key = i.limit_key
      left join limited l on l.key = i.limit_key
    ),
    signed as (
      insert into subscribers as s (email, name, locale, status, source, confirmation_sent_at, confirmation_count)
      select email, name, locale, 'pending', 'form', ${now}::timestamptz, 1
      from checks
      where within_limit and version_known and not suppressed
        and cardinality(topic_ids) > 0 and cardinality(unknown_topics) = 0
      -- One order for every statement: two statements locking the same rows do not deadlock.
      order by lower(email)
      on conflict (lower(email)) do update set
        status = case when s.status = 'active' then s.status else 'pending' end,
        locale = case when s.status = 'active' then s.locale else excluded.locale end,
        name = case when s.status = 'active' then s.name else coalesce(excluded.name, s.name) end,
        updated_at = case when s.status = 'active' then s.updated_at else excluded.confirmation_sent_at end,
        confirmation_sent_at = excluded.confirmation_sent_at,
        confirmation_count = s.confirmation_count + 1
      where s.confirmation_sent_at is null
        or s.confirmation_sent_at <= excluded.confirmation_sent_at - ${CONFIRMATION_INTERVAL_MS} * interval '1 millisecond'
      returning id, lower(email) as address, status, confirmation_count
    ),
    accepted as (
      select c.ord, c.topic_ids, c.locale, c.consent_version, c.source, c.ip_hash, c.user_agent,
        s.id, s.status, s.confirmation_count
      from signed s join checks c on lower(c.email) = s.address
    ),
    pending as (select * from accepted where status = 'pending'),
    left_topics as (
      delete from subscriptions x using pending p
      where x.subscriber_id = p.id and x.topic_id <> all(p.topic_ids)
    ),
    subscribed as (
      insert into subscriptions (subscriber_id, topic_id)
      select p.id, t.id from pending p, unnest(p.topic_ids) as t(id)
      order by 1, 2
      on conflict do nothing
    ),
    consent as (
      insert into consent_events (subscriber_id, kind, consent_version, lawful_basis, source, details, ip_hash, user_agent)
      select id, 'given', consent_version, 'consent', source,
        jsonb_build_object(
          'topics', (select jsonb_agg(t::text order by t) from unnest(topic_ids) t),
          'locale', locale
        ),
        ip_hash, user_agent
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
        from accepted
      ) sent
      on conflict (job_id) do nothing
    )
    select c.within_limit, c.unknown_topics, c.version_known, c.suppressed, a.status
    from checks c left join accepted a on a.ord = c.ord
    order by c.ord`.execute(db);

  rows.forEach((row, position) => {
    const { request, index } = valid[position]!;
    results[index] = signupResult(row, request, refs[position]!.all.length, now);
  });
  return results as SignupResult[];
}

function signupResult(
  row: {
    within_limit: boolean;
    unknown_topics: string[];
    version_known: boolean;
    suppressed: boolean;
    status: 'pending' | 'active' | null;
  },
  request: SignupRequest,
  topicCount: number,
  now: Date,
): SignupResult {
  if (!row.within_limit) {
    const error = rateLimitExceeded(request.rateLimit!, now, 'Too many signups from this network address.');
    return { ok: false, error };
  }
  const fields: FieldError[] = [];
  if (row.unknown_topics.length > 0) fields.push(unknownTopicsField('topics', row.unknown_topics));
  else if (topicCount === 0) fields.push(NO_TOPIC_FIELD);
  if (!row.version_known) fields.push(UNKNOWN_CONSENT_VERSION_FIELD);
  if (fields.length > 0) return { ok: false, error: new Invalid('The signup is not valid.', fields) };
  if (row.suppressed) return { ok: true, outcome: 'suppressed' };
  if (row.status === null) return { ok: true, outcome: 'throttled' };
  return { ok: true, outcome: row.status === 'active' ? 'already-subscribed-sent' : 'confirmation-sent' };
}

/** Stores public signups for the signup form (AppDeps.signups). */
export interface SignupWriter {
  /** Throws Invalid or TooManyRequests, as signUp does. */
  signUp(request: SignupRequest): Promise<SignupOutcome>;
}

/** Each signup in its own statement, on whatever connection `db` gives at the time (Workers). */
export function directSignups(db: DbOrTx, clock: Clock): SignupWriter {
  return {
    signUp: ({ input, evidence, rateLimit }) => signUp(db, clock, input, evidence, { rateLimit }),
  };
}

/**
 * Signups arriving together are written together (GroupCommit): one statement and one commit for
 * the lot, which is what lets a busy server take several times more signups per second. For a
 * long-lived process with a pool of its own (Node); at most `maxInFlight` of the pool's
 * connections are used for it at once.
 */
export function groupCommittedSignups(
  db: DbOrTx,
  clock: Clock,
  options: { maxInFlight: number; maxBatch: number } = { maxInFlight: 2, maxBatch: 100 },
): SignupWriter {
  const group = new GroupCommit((requests: SignupRequest[]) => signUpBatch(db, clock, requests), {
    ...options,
    key: signupAddressKey,
  });
  return {
    async signUp(request) {
      const result = await group.submit(request);
      if (!result.ok) throw result.error;
      return result.outcome;
    },
  };
}

/** The subscriber, locked for this transaction's changes (none: erased meanwhile). */
function lockSubscriber(tx: DbOrTx, subscriberId: string): Promise<Subscriber | undefined> {
  return tx
    .selectFrom('subscribers')
    .selectAll()
    .where('id', '=', subscriberId)
    .forUpdate()
    .executeTakeFirst();
}

const ERASED = 'This subscription no longer exists.';

/** Confirms a pending signup (POST from the confirmation page). Idempotent. */
export async function confirmSubscription(
  tx: DbOrTx,
  clock: Clock,
  subscriberId: string,
  evidence: ConsentEvidence,
): Promise<Subscriber> {
  const subscriber = await lockSubscriber(tx, subscriberId);
  if (!subscriber) throw new NotFound(ERASED);
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
  const subscriber = await lockSubscriber(tx, subscriberId);
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
  const subscriber = await lockSubscriber(tx, subscriberId);
  if (!subscriber) throw new NotFound(ERASED);
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
  const subscriber = await lockSubscriber(tx, subscriberId);
  if (!subscriber) throw new NotFound(ERASED);
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
