import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection.js';
import type { DeliveryStatus, SubscriberStatus } from '../db/schema.js';
import type { Clock } from '../providers/clock.js';
import { audit } from './audit.js';
import { ERASED_MARK, scrubJson } from './erasure.js';
import { DomainError } from './errors.js';
import { suppress } from './suppressions.js';

/**
 * Resend webhook events (delivered, bounced, complained, …) applied to deliveries, subscribers,
 * suppressions and link counts. The route verifies the Svix signature first; everything for one
 * event happens in the caller's transaction, keyed by the svix-id so a replay changes nothing.
 */

/** Every event type Resend sends (resend SDK 6, `WebhookEvent`); anything else is refused with 400. */
export const RESEND_EVENT_TYPES: ReadonlySet<string> = new Set([
  'email.sent',
  'email.scheduled',
  'email.delivered',
  'email.delivery_delayed',
  'email.complained',
  'email.bounced',
  'email.opened',
  'email.clicked',
  'email.received',
  'email.failed',
  'email.suppressed',
  'contact.created',
  'contact.updated',
  'contact.deleted',
  'contact.topics.updated',
  'domain.created',
  'domain.updated',
  'domain.deleted',
  'suppression.added',
  'suppression.removed',
  'topic.created',
  'topic.updated',
  'topic.deleted',
  'inbox.created',
  'inbox.updated',
  'inbox.deleted',
  'inbox.thread.created',
  'inbox.thread.folder.updated',
  'inbox.thread.assigned',
  'inbox.thread.unassigned',
  'inbox.thread.labels.updated',
  'inbox.email.received',
  'inbox.email.sent',
  'inbox.draft.created',
  'inbox.draft.updated',
  'inbox.draft.sent',
  'inbox.draft.deleted',
]);

/** Events about an email we sent: `data.email_id` is the id Resend gave it (deliveries.provider_message_id). */
const OUTGOING_EMAIL_EVENTS: ReadonlySet<string> = new Set([
  'email.sent',
  'email.scheduled',
  'email.delivered',
  'email.delivery_delayed',
  'email.complained',
  'email.bounced',
  'email.opened',
  'email.clicked',
  'email.failed',
  'email.suppressed',
]);

/** Keys of an event's data that name people; never stored (the delivery row already says who). */
const PERSONAL_KEYS = ['to', 'cc', 'bcc', 'from', 'reply_to', 'received_for'];

/**
 * Anything shaped like an address, in the provider's free text (a bounce message quoting the
 * recipient, a header): replaced before storing, so an event arriving after an erasure cannot
 * bring the address back, and stored events never need searching for one.
 */
const ADDRESS_LIKE = /[^\s<>"'(),;:[\]\\]+@[^\s<>"'(),;:[\]\\]+/g;

const MAX_TEXT = 1000;
const MAX_URL = 2000;

export class UnreadableEvent extends DomainError {
  constructor(message: string) {
    super(message, 400, 'Bad request');
  }
}

export interface ProviderEvent {
  type: string;
  /** When Resend says it happened (ISO 8601), if it says so. */
  createdAt: string | null;
  data: Record<string, unknown>;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** Reads a verified request body. Not JSON, not an event, or an unknown type: 400 (never 500). */
export function parseResendEvent(raw: string): ProviderEvent {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new UnreadableEvent('The body is not JSON.');
  }
  if (!isObject(body) || typeof body.type !== 'string' || !isObject(body.data)) {
    throw new UnreadableEvent('Expected a Resend event: a JSON object with "type" and "data".');
  }
  if (!RESEND_EVENT_TYPES.has(body.type)) {
    throw new UnreadableEvent(`Unknown event type "${body.type.slice(0, 100)}".`);
  }
  if (
    OUTGOING_EMAIL_EVENTS.has(body.type) &&
    (typeof body.data.email_id !== 'string' || body.data.email_id === '')
  ) {
    throw new UnreadableEvent(`A ${body.type} event needs data.email_id.`);
  }
  return { type: body.type, createdAt: text(body.created_at), data: body.data };
}

/** What an event does to a delivery. */
export type EventEffect =
  | 'delivered'
  | 'hard_bounce'
  | 'soft_bounce'
  | 'complained'
  | 'failed'
  | 'suppressed'
  | 'opened'
  | 'clicked'
  | 'none';

export function effectOf(event: ProviderEvent): EventEffect {
  switch (event.type) {
    case 'email.delivered':
      return 'delivered';
    case 'email.bounced': {
      // Only a permanent bounce stops mail to the address; Transient and Undetermined may recover.
      const bounce = isObject(event.data.bounce) ? event.data.bounce : {};
      return text(bounce.type)?.toLowerCase() === 'permanent' ? 'hard_bounce' : 'soft_bounce';
    }
    case 'email.complained':
      return 'complained';
    case 'email.failed':
      return 'failed';
    case 'email.suppressed':
      return 'suppressed';
    case 'email.opened':
      return 'opened';
    case 'email.clicked':
      return 'clicked';
    default:
      // email.sent, email.delivery_delayed, …: stored, nothing else.
      return 'none';
  }
}

/**
 * Status changes, tolerant of events arriving out of order or twice: a status only moves to one
 * that says more (a late "delivered" does not undo a bounce; a complaint overrides everything).
 */
const TRANSITIONS: Partial<Record<EventEffect, { to: DeliveryStatus; from: readonly DeliveryStatus[] }>> = {
  delivered: { to: 'delivered', from: ['queued', 'sent', 'soft_bounced'] },
  soft_bounce: { to: 'soft_bounced', from: ['queued', 'sent'] },
  failed: { to: 'failed', from: ['queued', 'sent', 'soft_bounced'] },
  suppressed: { to: 'suppressed', from: ['queued', 'sent', 'soft_bounced'] },
  hard_bounce: {
    to: 'bounced',
    from: ['queued', 'sent', 'soft_bounced', 'delivered', 'failed', 'suppressed'],
  },
  complained: {
    to: 'complained',
    from: ['queued', 'sent', 'soft_bounced', 'delivered', 'bounced', 'failed', 'suppressed'],
  },
};

export function nextDeliveryStatus(current: DeliveryStatus, effect: EventEffect): DeliveryStatus {
  const rule = TRANSITIONS[effect];
  return rule?.from.includes(current) ? rule.to : current;
}

/** The provider's reason, for the delivery log ("550 5.1.1 user unknown", …). */
function reasonOf(event: ProviderEvent, effect: EventEffect): string | null {
  const part = (key: string) =>
    isObject(event.data[key]) ? (event.data[key] as Record<string, unknown>) : {};
  let reason: string | null = null;
  if (effect === 'hard_bounce' || effect === 'soft_bounce') {
    const bounce = part('bounce');
    reason =
      [text(bounce.type), text(bounce.subType), text(bounce.message)].filter(Boolean).join(': ') || null;
  } else if (effect === 'failed') {
    reason = text(part('failed').reason) ?? 'failed';
  } else if (effect === 'suppressed') {
    const suppressed = part('suppressed');
    reason =
      [text(suppressed.type), text(suppressed.message)].filter(Boolean).join(': ') || 'suppressed by Resend';
  }
  return reason === null ? null : reason.replace(ADDRESS_LIKE, ERASED_MARK).slice(0, MAX_TEXT);
}

/** Personal links (unsubscribe, preferences, confirm) carry a token: counted by path, never stored with it. */
export function normaliseClickedUrl(url: string): string {
  return url.replace(/\/(unsubscribe|preferences|confirm)\/[^/?#]+/g, '/$1/{token}').slice(0, MAX_URL);
}

/** When it happened: the provider's time when it is sensible, else now. */
function eventTime(event: ProviderEvent, now: Date): Date {
  const stamp = Date.parse(event.createdAt ?? text(event.data.created_at) ?? '');
  // A clock skew of a few minutes is normal; a time in the future is not believable.
  return Number.isFinite(stamp) && stamp <= now.getTime() + 5 * 60_000 ? new Date(stamp) : now;
}

/**
 * The stored form of an event: without addresses (the keys that name people dropped, any other
 * address in its text replaced), and for opens and clicks without the message
 * id, so provider_events never holds a per-person open or click history (the delivery row keeps
 * `opened_at` only when the edition has open tracking on).
 */
function storedForm(event: ProviderEvent, effect: EventEffect, editionId: string | null) {
  if (effect === 'opened' || effect === 'clicked') {
    const click = isObject(event.data.click) ? event.data.click : {};
    const link = text(click.link);
    return {
      messageId: null,
      payload: {
        type: event.type,
        created_at: event.createdAt,
        data: {
          edition_id: editionId,
          ...(effect === 'clicked' && link !== null ? { link: normaliseClickedUrl(link) } : {}),
        },
      },
    };
  }
  const data = scrubJson({ ...event.data }, ADDRESS_LIKE) as Record<string, unknown>;
  for (const key of PERSONAL_KEYS) delete data[key];
  return {
    messageId: OUTGOING_EMAIL_EVENTS.has(event.type) ? (text(event.data.email_id) ?? null) : null,
    payload: { type: event.type, created_at: event.createdAt, data },
  };
}

interface MatchedDelivery {
  id: string;
  edition_id: string;
  subscriber_id: string | null;
  email: string | null;
  status: DeliveryStatus;
  open_tracking: boolean;
}

function lockDelivery(tx: DbOrTx, messageId: string): Promise<MatchedDelivery | undefined> {
  return tx
    .selectFrom('deliveries')
    .innerJoin('editions', 'editions.id', 'deliveries.edition_id')
    .select([
      'deliveries.id',
      'deliveries.edition_id',
      'deliveries.subscriber_id',
      'deliveries.email',
      'deliveries.status',
      'editions.open_tracking',
    ])
    .where('deliveries.provider_message_id', '=', messageId)
    .forUpdate('deliveries')
    .executeTakeFirst();
}

export interface EventOutcome {
  /** The svix-id was seen before: nothing changed. */
  duplicate: boolean;
  /** The message id belongs to one of our deliveries (else: transactional mail, or not ours). */
  matched: boolean;
  effect: EventEffect;
}

/**
 * Stores a verified event once per svix-id and applies it. Run inside one transaction: a replay
 * (same svix-id) stores and changes nothing.
 */
export async function recordResendEvent(
  tx: DbOrTx,
  clock: Clock,
  svixId: string,
  event: ProviderEvent,
): Promise<EventOutcome> {
  const now = clock.now();
  const effect = effectOf(event);
  const messageId = OUTGOING_EMAIL_EVENTS.has(event.type) ? text(event.data.email_id) : null;
  // Locks the delivery first: concurrent events about one message apply one after the other.
  const delivery = messageId ? await lockDelivery(tx, messageId) : undefined;
  const stored = storedForm(event, effect, delivery?.edition_id ?? null);
  const inserted = await tx
    .insertInto('provider_events')
    .values({
      svix_id: svixId,
      type: event.type,
      provider_message_id: stored.messageId,
      payload: JSON.stringify(stored.payload),
      received_at: now,
    })
    .onConflict((oc) => oc.column('svix_id').doNothing())
    .returning('svix_id')
    .executeTakeFirst();
  if (!inserted) return { duplicate: true, matched: delivery !== undefined, effect };
  if (delivery) await applyToDelivery(tx, delivery, event, effect, now);
  else if (messageId) await applyToTransactionalEmail(tx, messageId, event, effect, now);
  return { duplicate: false, matched: delivery !== undefined, effect };
}

/**
 * A confirmation, welcome or test email bounced hard or drew a complaint: the address is
 * suppressed all the same (and its subscriber, if any, marked), so it is never mailed again.
 */
async function applyToTransactionalEmail(
  tx: DbOrTx,
  messageId: string,
  event: ProviderEvent,
  effect: EventEffect,
  now: Date,
) {
  const reason =
    effect === 'complained'
      ? 'complained'
      : effect === 'hard_bounce' || effect === 'suppressed'
        ? 'bounced'
        : null;
  if (!reason) return;
  const email = await tx
    .selectFrom('emails')
    .select(['id', 'to_address'])
    .where('provider_message_id', '=', messageId)
    .executeTakeFirst();
  if (!email) return;
  const subscriber = await tx
    .selectFrom('subscribers')
    .select('id')
    .where(sql<string>`lower(email)`, '=', email.to_address.toLowerCase())
    .executeTakeFirst();
  await stopMailing(
    tx,
    { email: email.to_address, subscriber_id: subscriber?.id ?? null },
    reason,
    `resend:${event.type}`,
    { emailId: email.id, event: event.type },
    now,
  );
}

async function applyToDelivery(
  tx: DbOrTx,
  delivery: MatchedDelivery,
  event: ProviderEvent,
  effect: EventEffect,
  now: Date,
): Promise<void> {
  const at = eventTime(event, now);
  const next = nextDeliveryStatus(delivery.status, effect);
  if (effect === 'delivered') {
    // Also after a bounce: the receiving server did accept it first (the bounce came later).
    await tx
      .updateTable('deliveries')
      .set({
        status: next,
        delivered_at: sql<Date>`coalesce(delivered_at, ${at})`,
        ...(next !== delivery.status ? { error: null } : {}),
        updated_at: now,
      })
      .where('id', '=', delivery.id)
      .execute();
  } else if (next !== delivery.status) {
    const reason = reasonOf(event, effect);
    await tx
      .updateTable('deliveries')
      .set({ status: next, ...(reason !== null ? { error: reason } : {}), updated_at: now })
      .where('id', '=', delivery.id)
      .execute();
  }
  delivery.status = next;

  const details = { editionId: delivery.edition_id, deliveryId: delivery.id, event: event.type };
  if (effect === 'hard_bounce' || effect === 'suppressed') {
    // Resend refuses addresses on its own suppression list after earlier bounces: the same for us.
    await stopMailing(tx, delivery, 'bounced', `resend:${event.type}`, details, now);
  } else if (effect === 'complained') {
    await stopMailing(tx, delivery, 'complained', `resend:${event.type}`, details, now);
  } else if (effect === 'opened' && delivery.open_tracking) {
    await tx
      .updateTable('deliveries')
      .set({ opened_at: at, updated_at: now })
      .where('id', '=', delivery.id)
      .where('opened_at', 'is', null)
      .execute();
  } else if (effect === 'clicked') {
    const click = isObject(event.data.click) ? event.data.click : {};
    const link = text(click.link);
    if (link) {
      await tx
        .insertInto('link_clicks')
        .values({ edition_id: delivery.edition_id, url: normaliseClickedUrl(link), clicks: 1 })
        .onConflict((oc) =>
          oc.columns(['edition_id', 'url']).doUpdateSet({ clicks: sql<number>`link_clicks.clicks + 1` }),
        )
        .execute();
    }
  }
}

/** Hard bounce or complaint: suppress the address and mark the subscriber (never downgrading). */
async function stopMailing(
  tx: DbOrTx,
  delivery: Pick<MatchedDelivery, 'email' | 'subscriber_id'>,
  reason: 'bounced' | 'complained',
  source: string,
  details: Record<string, unknown>,
  now: Date,
): Promise<void> {
  // An erased subscriber's delivery has no address left; the erasure suppressed it already.
  if (delivery.email) await suppress(tx, delivery.email, reason, source);
  if (!delivery.subscriber_id) return;
  // A complaint outranks a bounce; neither is replaced by the other's weaker form.
  const keep: SubscriberStatus[] = reason === 'bounced' ? ['bounced', 'complained'] : ['complained'];
  const changed = await tx
    .updateTable('subscribers')
    .set({ status: reason, updated_at: now })
    .where('id', '=', delivery.subscriber_id)
    .where('status', 'not in', keep)
    .returning('id')
    .executeTakeFirst();
  if (changed) await audit(tx, null, `subscriber.${reason}`, `subscriber:${delivery.subscriber_id}`, details);
}

/**
 * Applies stored events whose message id was unknown when they arrived. Resend can report
 * "delivered" or a bounce before the batch that sent the email has recorded its provider ids;
 * the send pipeline calls this in the transaction that records them (closeBatch, with the ids it
 * just stored). Safe to repeat: every effect it applies is idempotent (opens and clicks are not
 * stored with a message id, so they are never applied twice).
 */
export async function applyEarlyEvents(tx: DbOrTx, messageIds: string[], now: Date): Promise<number> {
  if (messageIds.length === 0) return 0;
  const rows = await tx
    .selectFrom('provider_events')
    .select(['provider_message_id', 'type', 'payload'])
    .where('provider_message_id', 'in', messageIds)
    .orderBy('received_at')
    .orderBy('svix_id')
    .execute();
  let applied = 0;
  for (const row of rows) {
    const delivery = await lockDelivery(tx, row.provider_message_id!);
    if (!delivery) continue;
    const payload = row.payload as { created_at?: unknown; data?: unknown };
    const event: ProviderEvent = {
      type: row.type,
      createdAt: text(payload.created_at),
      data: isObject(payload.data) ? payload.data : {},
    };
    await applyToDelivery(tx, delivery, event, effectOf(event), now);
    applied++;
  }
  return applied;
}
