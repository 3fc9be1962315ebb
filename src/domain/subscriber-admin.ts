import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection.js';
import type { LawfulBasis, Locale, SubscriberSource, SubscriberStatus } from '../db/schema.js';
import type { Clock } from '../providers/clock.js';
import { type ConsentEvidence, consentHistory, recordConsent } from './consent.js';
import { queueSubscriberEmail } from './emails.js';
import { erasePersonalData } from './erasure.js';
import { Conflict, Invalid, NotFound } from './errors.js';
import { getOrganisation } from './organisations.js';
import { parseEmailOrThrow, resolveTopics, topicIdsOf, unsubscribe } from './subscribers.js';
import { suppress, suppressionOf } from './suppressions.js';

/** What editors see of a subscriber in lists. */
export interface SubscriberSummary {
  id: string;
  email: string;
  name: string | null;
  locale: Locale;
  status: SubscriberStatus;
  source: SubscriberSource;
  organisationId: string | null;
  organisationName: string | null;
  topics: string[];
  createdAt: Date;
  confirmedAt: Date | null;
  unsubscribedAt: Date | null;
}

export interface SubscriberFilter {
  status?: SubscriberStatus;
  topic?: string;
  organisationId?: string;
  /** Matches anywhere in email or name. */
  q?: string;
  /** Keyset cursor: the id of the last row of the previous page (ids descend). */
  after?: string;
  limit: number;
}

function baseQuery(db: DbOrTx) {
  return db
    .selectFrom('subscribers')
    .leftJoin('organisations', 'organisations.id', 'subscribers.organisation_id')
    .select([
      'subscribers.id',
      'subscribers.email',
      'subscribers.name',
      'subscribers.locale',
      'subscribers.status',
      'subscribers.source',
      'subscribers.organisation_id',
      'organisations.name as organisation_name',
      'subscribers.created_at',
      'subscribers.confirmed_at',
      'subscribers.unsubscribed_at',
    ])
    .select((eb) =>
      eb
        .fn<string[]>('array', [
          eb
            .selectFrom('subscriptions')
            .innerJoin('topics', 'topics.id', 'subscriptions.topic_id')
            .select('topics.slug')
            .whereRef('subscriptions.subscriber_id', '=', 'subscribers.id')
            .orderBy('topics.position'),
        ])
        .as('topics'),
    );
}

type Row = Awaited<ReturnType<ReturnType<typeof baseQuery>['executeTakeFirstOrThrow']>>;

function toSummary(row: Row): SubscriberSummary {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    locale: row.locale,
    status: row.status,
    source: row.source,
    organisationId: row.organisation_id,
    organisationName: row.organisation_name,
    topics: row.topics,
    createdAt: row.created_at,
    confirmedAt: row.confirmed_at,
    unsubscribedAt: row.unsubscribed_at,
  };
}

/** One page of subscribers, newest first, with keyset pagination (stable under inserts). */
export async function listSubscribers(
  db: DbOrTx,
  filter: SubscriberFilter,
): Promise<{ items: SubscriberSummary[]; next: string | null }> {
  const topicIds = filter.topic ? await resolveTopics(db, [filter.topic], 'topic') : [];
  const rows = await baseQuery(db)
    .$if(filter.status !== undefined, (q) => q.where('subscribers.status', '=', filter.status!))
    .$if(filter.organisationId !== undefined, (q) =>
      q.where('subscribers.organisation_id', '=', filter.organisationId!),
    )
    .$if(topicIds.length > 0, (q) =>
      q.where((eb) =>
        eb.exists(
          eb
            .selectFrom('subscriptions')
            .select('subscriptions.topic_id')
            .whereRef('subscriptions.subscriber_id', '=', 'subscribers.id')
            .where('subscriptions.topic_id', '=', topicIds[0]!),
        ),
      ),
    )
    .$if(Boolean(filter.q), (q) =>
      // Parameterised ILIKE with the wildcards of the search text escaped; served by the trigram index.
      q.where(
        sql<boolean>`(subscribers.email || ' ' || coalesce(subscribers.name, '')) ilike ${`%${escapeLike(filter.q!)}%`}`,
      ),
    )
    .$if(filter.after !== undefined, (q) => q.where('subscribers.id', '<', filter.after!))
    .orderBy('subscribers.id', 'desc')
    .limit(filter.limit + 1)
    .execute();
  const items = rows.slice(0, filter.limit).map(toSummary);
  return { items, next: rows.length > filter.limit ? items[items.length - 1]!.id : null };
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export async function getSubscriber(db: DbOrTx, id: string): Promise<SubscriberSummary> {
  const row = await baseQuery(db).where('subscribers.id', '=', id).executeTakeFirst();
  if (!row) throw new NotFound('Deze abonnee bestaat niet (meer).');
  return toSummary(row);
}

export interface CreateSubscriberInput {
  email: string;
  name?: string | null;
  locale?: Locale;
  topics: string[];
  organisationId?: string | null;
  lawfulBasis: LawfulBasis;
  /** true: the person confirms by email first (double opt-in); false: active at once. */
  requireConfirmation: boolean;
  source: Extract<SubscriberSource, 'api' | 'editor'>;
}

/**
 * Editors add partners (and API clients add contacts) with a recorded lawful basis. Never
 * revives a suppressed, unsubscribed, bounced or complained address.
 */
export async function createSubscriber(
  tx: DbOrTx,
  clock: Clock,
  input: CreateSubscriberInput,
  evidence: ConsentEvidence,
) {
  const email = parseEmailOrThrow(input.email);
  const topicIds = await resolveTopics(tx, input.topics);
  if (topicIds.length === 0)
    throw new Invalid('Choose at least one topic.', [
      { field: 'topics', message: 'Kies minstens één onderwerp.' },
    ]);
  if (input.organisationId) await getOrganisation(tx, input.organisationId);
  if (await suppressionOf(tx, email)) {
    throw new Conflict(
      'This address unsubscribed, bounced or was erased; only the person can sign up again, through the form.',
      [
        {
          field: 'email',
          message:
            'Dit adres is afgemeld, onbestelbaar of gewist; alleen de persoon zelf kan zich opnieuw aanmelden, via het formulier.',
        },
      ],
    );
  }
  // Addresses are unique whatever the case of the local part (the unique index is on lower(email)).
  const existing = await tx
    .selectFrom('subscribers')
    .select('id')
    .where(sql`lower(email)`, '=', email.toLowerCase())
    .executeTakeFirst();
  if (existing) {
    throw new Conflict(`This address is already a subscriber (id ${existing.id}).`, [
      { field: 'email', message: 'Dit adres staat al in de lijst met abonnees.' },
    ]);
  }
  const now = clock.now();
  const status = input.requireConfirmation ? 'pending' : 'active';
  const row = await tx
    .insertInto('subscribers')
    .values({
      email,
      name: input.name ?? null,
      locale: input.locale ?? 'nl',
      status,
      source: input.source,
      organisation_id: input.organisationId ?? null,
      confirmed_at: status === 'active' ? now : null,
      confirmation_sent_at: input.requireConfirmation ? now : null,
      confirmation_count: input.requireConfirmation ? 1 : 0,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await tx
    .insertInto('subscriptions')
    .values(topicIds.map((topic_id) => ({ subscriber_id: row.id, topic_id })))
    .execute();
  await recordConsent(tx, row.id, input.requireConfirmation ? 'given' : 'imported', evidence, {
    lawfulBasis: input.lawfulBasis,
    details: { topics: topicIds, addedBy: evidence.source },
  });
  if (input.requireConfirmation) await queueSubscriberEmail(tx, 'confirmation', row.id, 1);
  return getSubscriber(tx, row.id);
}

export async function updateSubscriber(
  tx: DbOrTx,
  clock: Clock,
  id: string,
  changes: {
    name?: string | null;
    locale?: Locale;
    organisationId?: string | null;
    topics?: string[];
    unsubscribe?: boolean;
  },
  evidence: ConsentEvidence,
) {
  const current = await getSubscriber(tx, id);
  if (changes.organisationId) await getOrganisation(tx, changes.organisationId);
  const now = clock.now();
  await tx
    .updateTable('subscribers')
    .set({
      updated_at: now,
      ...(changes.name !== undefined ? { name: changes.name } : {}),
      ...(changes.locale !== undefined ? { locale: changes.locale } : {}),
      ...(changes.organisationId !== undefined ? { organisation_id: changes.organisationId } : {}),
    })
    .where('id', '=', id)
    .execute();
  if (changes.topics !== undefined) {
    const topicIds = await resolveTopics(tx, changes.topics);
    if (topicIds.length === 0)
      throw new Invalid('Choose at least one topic.', [
        { field: 'topics', message: 'Kies minstens één onderwerp, of meld af.' },
      ]);
    const before = await topicIdsOf(tx, id);
    const removed = before.filter((topic) => !topicIds.includes(topic));
    const added = topicIds.filter((topic) => !before.includes(topic));
    if (removed.length > 0)
      await tx
        .deleteFrom('subscriptions')
        .where('subscriber_id', '=', id)
        .where('topic_id', 'in', removed)
        .execute();
    if (added.length > 0)
      await tx
        .insertInto('subscriptions')
        .values(added.map((topic_id) => ({ subscriber_id: id, topic_id })))
        .execute();
    if (removed.length + added.length > 0)
      await recordConsent(tx, id, 'changed', evidence, { details: { added, removed } });
  }
  if (changes.unsubscribe && current.status !== 'unsubscribed') {
    await unsubscribe(tx, clock, id, { topicId: null, everything: true, reason: 'by editor' }, evidence);
  }
  return getSubscriber(tx, id);
}

/** The editions sent (or being sent) to one subscriber, newest first, with each delivery's state. */
export function subscriberDeliveries(db: DbOrTx, id: string, limit = 100) {
  return db
    .selectFrom('deliveries')
    .innerJoin('editions', 'editions.id', 'deliveries.edition_id')
    .select([
      'deliveries.id',
      'deliveries.edition_id',
      'editions.title as edition_title',
      'deliveries.status',
      'deliveries.error',
      'deliveries.sent_at',
      'deliveries.delivered_at',
    ])
    .where('deliveries.subscriber_id', '=', id)
    .orderBy('deliveries.id', 'desc')
    .limit(limit)
    .execute();
}

/** Everything we hold about one person (GDPR art. 15), as one JSON document. */
export async function exportSubscriberData(db: DbOrTx, id: string) {
  const subscriber = await getSubscriber(db, id);
  const [consent, deliveries, emails] = await Promise.all([
    consentHistory(db, id),
    subscriberDeliveries(db, id, 10_000),
    db
      .selectFrom('emails')
      .select(['id', 'kind', 'subject', 'status', 'created_at', 'sent_at'])
      .where('to_address', '=', subscriber.email)
      .orderBy('id')
      .execute(),
  ]);
  return {
    exportedAt: new Date().toISOString(),
    subscriber,
    consentHistory: consent,
    deliveries,
    emails,
    suppressed: (await suppressionOf(db, subscriber.email)) !== null,
  };
}

/**
 * Erasure (GDPR art. 17): the address and name go from every table (domain/erasure.ts lists
 * each column and how); what stays is a hashed suppression entry, so the address is never
 * re-imported by accident, delivery rows as anonymous counts, and the audit entry that counts the
 * erasure. Run in one transaction.
 */
export async function eraseSubscriber(tx: DbOrTx, id: string, source: string): Promise<void> {
  const subscriber = await tx
    .selectFrom('subscribers')
    .select(['id', 'email'])
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  if (!subscriber) throw new NotFound('Deze abonnee bestaat niet (meer).');
  await suppress(tx, subscriber.email, 'erased', source);
  await erasePersonalData(tx, [subscriber]);
}
