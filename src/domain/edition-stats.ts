import { sql } from 'kysely';
import type { Registry } from 'prom-client';
import type { Db, DbOrTx } from '../db/connection.js';
import type { DeliveryStatus } from '../db/schema.js';
import { editionDeliveries } from '../infra/metrics.js';
import { NotFound } from './errors.js';

/**
 * Statistics and the per-recipient delivery log of an edition, computed from the deliveries
 * table (the truth), never from counters kept elsewhere.
 */

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = [
  'queued',
  'sent',
  'delivered',
  'bounced',
  'soft_bounced',
  'complained',
  'failed',
  'suppressed',
  'cancelled',
];

export interface EditionStats {
  editionId: string;
  editionStatus: string;
  openTracking: boolean;
  /** Every delivery row: the recipients snapshotted when sending started. */
  recipients: number;
  /** Accepted by the provider (has a provider message id), whatever happened after. */
  sent: number;
  /** Current status of each delivery; these add up to `recipients`. */
  byStatus: Record<DeliveryStatus, number>;
  delivered: number;
  bounced: number;
  softBounced: number;
  complained: number;
  failed: number;
  suppressed: number;
  cancelled: number;
  queued: number;
  /** Accepted by the provider, no outcome reported yet. */
  awaitingOutcome: number;
  /** Recipients who withdrew (everything or a topic) after the edition started sending. */
  unsubscribedSince: number;
  /** Opened at least once; null when the edition has open tracking off. */
  opened: number | null;
  clicks: { total: number; links: { url: string; clicks: number }[] };
  progress: { sent: number; processed: number; total: number; percent: number };
  /** Fractions of `sent` (0.001 = 0.1 %); null before anything was sent. */
  rates: { bounce: number | null; complaint: number | null; open: number | null };
}

const MAX_LINKS = 200;

const ratio = (part: number, whole: number) => (whole > 0 ? part / whole : null);

async function editionOrThrow(db: DbOrTx, editionId: string) {
  const edition = await db
    .selectFrom('editions')
    .select(['id', 'status', 'open_tracking', 'sending_started_at'])
    .where('id', '=', editionId)
    .executeTakeFirst();
  if (!edition) throw new NotFound('No such edition.');
  return edition;
}

export async function editionStats(db: DbOrTx, editionId: string): Promise<EditionStats> {
  const edition = await editionOrThrow(db, editionId);
  // One grouped pass over the edition's deliveries.
  const groups = await db
    .selectFrom('deliveries')
    .select((eb) => [
      'status',
      eb.fn.countAll<string>().as('n'),
      eb.fn.count<string>('provider_message_id').as('accepted'),
      eb.fn.count<string>('opened_at').as('opened'),
      eb.fn.min<Date | null>('sent_at').as('first_sent_at'),
    ])
    .where('edition_id', '=', editionId)
    .groupBy('status')
    .execute();
  const byStatus = Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, 0])) as Record<DeliveryStatus, number>;
  let recipients = 0;
  let sent = 0;
  let opened = 0;
  let firstSentAt: Date | null = null;
  for (const group of groups) {
    byStatus[group.status] = Number(group.n);
    recipients += Number(group.n);
    sent += Number(group.accepted);
    opened += Number(group.opened);
    if (group.first_sent_at && (!firstSentAt || group.first_sent_at < firstSentAt))
      firstSentAt = group.first_sent_at;
  }

  const since = edition.sending_started_at ?? firstSentAt;
  const unsubscribed = since
    ? await db
        .selectFrom('deliveries as d')
        .innerJoin('subscribers as s', 's.id', 'd.subscriber_id')
        .select((eb) => eb.fn.count<string>('d.subscriber_id').distinct().as('n'))
        .where('d.edition_id', '=', editionId)
        .where((eb) =>
          eb.or([
            eb('s.unsubscribed_at', '>=', since),
            eb.exists(
              eb
                .selectFrom('consent_events as c')
                .select(sql`1`.as('one'))
                .whereRef('c.subscriber_id', '=', 'd.subscriber_id')
                .where('c.kind', '=', 'withdrawn')
                .where('c.at', '>=', since),
            ),
          ]),
        )
        .executeTakeFirstOrThrow()
    : { n: '0' };

  const links = await db
    .selectFrom('link_clicks')
    .select(['url', 'clicks'])
    .where('edition_id', '=', editionId)
    .orderBy('clicks', 'desc')
    .orderBy('url')
    .limit(MAX_LINKS)
    .execute();
  const total = await db
    .selectFrom('link_clicks')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<string>('clicks'), sql<string>`0`).as('n'))
    .where('edition_id', '=', editionId)
    .executeTakeFirstOrThrow();

  const processed = recipients - byStatus.queued;
  return {
    editionId: edition.id,
    editionStatus: edition.status,
    openTracking: edition.open_tracking,
    recipients,
    sent,
    byStatus,
    delivered: byStatus.delivered,
    bounced: byStatus.bounced,
    softBounced: byStatus.soft_bounced,
    complained: byStatus.complained,
    failed: byStatus.failed,
    suppressed: byStatus.suppressed,
    cancelled: byStatus.cancelled,
    queued: byStatus.queued,
    awaitingOutcome: byStatus.sent,
    unsubscribedSince: Number(unsubscribed.n),
    opened: edition.open_tracking ? opened : null,
    clicks: { total: Number(total.n), links: links.map((l) => ({ url: l.url, clicks: l.clicks })) },
    progress: {
      sent,
      processed,
      total: recipients,
      percent: recipients > 0 ? Math.floor((processed / recipients) * 1000) / 10 : 0,
    },
    rates: {
      bounce: ratio(byStatus.bounced, sent),
      complaint: ratio(byStatus.complained, sent),
      open: edition.open_tracking ? ratio(opened, sent) : null,
    },
  };
}

const SUMMARY_STATUSES = ['delivered', 'bounced', 'complained', 'failed', 'queued'] as const;
type SummaryStatus = (typeof SUMMARY_STATUSES)[number];

/** The headline figures of an edition's send, as the dashboard lists them for several editions. */
export type SendSummary = Pick<EditionStats, 'recipients' | 'sent' | SummaryStatus>;

/** Headline figures of several editions in one grouped pass over their deliveries. */
export async function sendSummaries(db: DbOrTx, editionIds: string[]): Promise<Map<string, SendSummary>> {
  const summaries = new Map<string, SendSummary>(
    editionIds.map((id) => [
      id,
      { recipients: 0, sent: 0, delivered: 0, bounced: 0, complained: 0, failed: 0, queued: 0 },
    ]),
  );
  if (editionIds.length === 0) return summaries;
  const groups = await db
    .selectFrom('deliveries')
    .select((eb) => [
      'edition_id',
      'status',
      eb.fn.countAll<string>().as('n'),
      eb.fn.count<string>('provider_message_id').as('accepted'),
    ])
    .where('edition_id', 'in', editionIds)
    .groupBy(['edition_id', 'status'])
    .execute();
  for (const group of groups) {
    const summary = summaries.get(group.edition_id)!;
    const n = Number(group.n);
    summary.recipients += n;
    summary.sent += Number(group.accepted);
    if ((SUMMARY_STATUSES as readonly DeliveryStatus[]).includes(group.status))
      summary[group.status as SummaryStatus] += n;
  }
  return summaries;
}

export interface DeliveryLogFilter {
  /** Part of the email address, matched case-insensitively and literally (no wildcards). */
  q?: string;
  status?: DeliveryStatus;
  /** Keyset cursor: the last id of the previous page. */
  after?: string;
  limit: number;
}

export interface DeliveryLogEntry {
  id: string;
  subscriberId: string | null;
  email: string | null;
  status: DeliveryStatus;
  error: string | null;
  providerMessageId: string | null;
  sentAt: Date | null;
  deliveredAt: Date | null;
  openedAt: Date | null;
  updatedAt: Date;
}

export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** "Did this person get it?": the deliveries of an edition, oldest first, a page at a time. */
export async function deliveryLog(
  db: DbOrTx,
  editionId: string,
  filter: DeliveryLogFilter,
): Promise<{ items: DeliveryLogEntry[]; nextAfter: string | null }> {
  const edition = await editionOrThrow(db, editionId);
  const q = filter.q?.trim();
  const rows = await db
    .selectFrom('deliveries')
    .select([
      'id',
      'subscriber_id',
      'email',
      'status',
      'error',
      'provider_message_id',
      'sent_at',
      'delivered_at',
      'opened_at',
      'updated_at',
    ])
    .where('edition_id', '=', editionId)
    .$if(Boolean(q), (qb) => qb.where('email', 'ilike', `%${escapeLike(q!)}%`))
    .$if(filter.status !== undefined, (qb) => qb.where('status', '=', filter.status!))
    .$if(filter.after !== undefined, (qb) => qb.where('id', '>', filter.after!))
    .orderBy('id')
    .limit(filter.limit + 1)
    .execute();
  const page = rows.slice(0, filter.limit);
  return {
    items: page.map((row) => ({
      id: row.id,
      subscriberId: row.subscriber_id,
      email: row.email,
      status: row.status,
      error: row.error,
      providerMessageId: row.provider_message_id,
      sentAt: row.sent_at,
      deliveredAt: row.delivered_at,
      openedAt: edition.open_tracking ? row.opened_at : null,
      updatedAt: row.updated_at,
    })),
    nextAfter: rows.length > filter.limit ? page[page.length - 1]!.id : null,
  };
}

/**
 * Sets the `edition_deliveries{edition_id,status}` gauge for editions that are sending or paused
 * (every status, zeros included, so a graph shows progress); finished editions drop out.
 */
export async function refreshEditionMetrics(db: Db, registry: Registry): Promise<void> {
  const rows = await db
    .selectFrom('deliveries')
    .innerJoin('editions', 'editions.id', 'deliveries.edition_id')
    .select((eb) => ['deliveries.edition_id', 'deliveries.status', eb.fn.countAll<string>().as('n')])
    .where('editions.status', 'in', ['sending', 'paused'])
    .groupBy(['deliveries.edition_id', 'deliveries.status'])
    .execute();
  const gauge = editionDeliveries(registry);
  gauge.reset();
  for (const editionId of new Set(rows.map((row) => row.edition_id))) {
    for (const status of DELIVERY_STATUSES) gauge.set({ edition_id: editionId, status }, 0);
  }
  for (const row of rows) gauge.set({ edition_id: row.edition_id, status: row.status }, Number(row.n));
}
