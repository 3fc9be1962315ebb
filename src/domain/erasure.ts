import { type RawBuilder, sql } from 'kysely';
import type { Db, DbOrTx } from '../db/connection.js';
import { audit } from './audit.js';

/**
 * Removing a person's data (GDPR art. 17), for an erasure on request and for the purge of signups
 * that were never confirmed. Every column that can hold a subscriber's address or name:
 *
 * deleted with the subscriber row (ON DELETE CASCADE):
 *   subscribers.email, .name; subscriptions; consent_events (details, source, user_agent, ip_hash)
 * rows deleted:
 *   emails (to_address, subject, html, text, headers, last_error) addressed to them, and the
 *     provider_events of those emails (confirmation, welcome, …);
 *   provider_events of their edition deliveries;
 *   dev_mailbox rows sent to them or mentioning the address;
 *   import_errors lines whose value holds the address, with the other problems of the same line;
 *   rate_limits whose key holds the address.
 * kept, address removed:
 *   deliveries.email (null: the row stays as an anonymous count), deliveries.error (a bounce
 *     message quoting the address);
 *   every string (and key) in provider_events.payload, audit_log.details, outbox.payload that
 *   holds the address, and audit_log.target, outbox.last_error, emails.last_error,
 *   delivery_batches.last_error, imports.last_error, imports.filename: the address is replaced by
 *   ERASED_MARK, the rest (a bounce code, an event type, a time) stays.
 *
 * The name is removed wherever it is tied to the person (their row, their emails, their mailbox
 * copies); it is not searched for in free text elsewhere, where a short name matches unrelated
 * words. Not covered: the uploaded CSV of an import still running (bytes, deleted when it
 * finishes; the suppression written by an erasure keeps the address from being imported again),
 * logs and backups.
 */

export const ERASED_MARK = '[gewist]';

export interface ErasureSubject {
  id: string;
  email: string;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The address as a whole word, in a syntax both JavaScript and Postgres (ARE, `~*`) read: not
 * inside a longer address (`jan@x.nl` must not match `dejan@x.nl` or `jan@x.nl.example`), but
 * still at the end of a sentence (`… jan@x.nl.`).
 */
function wholeAddress(address: string): string {
  return `(?<![A-Za-z0-9._%+-])${escapeRegExp(address)}(?![A-Za-z0-9_-]|\\.[A-Za-z0-9])`;
}

/** Replaces every occurrence (any case) of the addresses in a string. */
function scrubText(value: string, pattern: RegExp): string {
  return value.replace(pattern, ERASED_MARK);
}

/** Every string and key of a JSON value, with the addresses replaced; other values as they are. */
export function scrubJson(value: unknown, pattern: RegExp): unknown {
  if (typeof value === 'string') return scrubText(value, pattern);
  if (Array.isArray(value)) return value.map((item) => scrubJson(item, pattern));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [scrubText(key, pattern), scrubJson(item, pattern)]),
    );
  }
  return value;
}

/** Columns scrubbed in place wherever they hold an address: [table, key columns, column, jsonb]. */
const SCRUBBED: readonly (readonly [string, readonly string[], string, boolean])[] = [
  ['provider_events', ['svix_id'], 'payload', true],
  ['audit_log', ['id'], 'details', true],
  ['audit_log', ['id'], 'target', false],
  ['outbox', ['id'], 'payload', true],
  ['outbox', ['id'], 'last_error', false],
  ['emails', ['id'], 'last_error', false],
  ['delivery_batches', ['edition_id', 'batch_no'], 'last_error', false],
  ['imports', ['id'], 'last_error', false],
  ['imports', ['id'], 'filename', false],
];

/**
 * Removes the subjects' addresses from everywhere they can be (see above) and deletes their
 * subscriber rows. Set-based: one statement per table for any number of subjects. Run it in the
 * caller's transaction, after locking the subscriber rows.
 */
export async function erasePersonalData(tx: DbOrTx, subjects: ErasureSubject[]): Promise<void> {
  if (subjects.length === 0) return;
  const ids = subjects.map((subject) => subject.id);
  const addresses = [...new Set(subjects.map((subject) => subject.email.toLowerCase()))];
  // ILIKE finds candidates cheaply; the regular expression decides (whole addresses only).
  const patterns = addresses.map((address) => `%${escapeLike(address)}%`);
  const words = addresses.map(wholeAddress);
  const regexp = new RegExp(words.join('|'), 'gi');
  const matches = (column: RawBuilder<unknown>) =>
    sql<boolean>`(${column} ilike any(${patterns}::text[]) and ${column} ~* any(${words}::text[]))`;

  // Events of their edition deliveries: the payload is about them; the delivery stays as a count.
  await tx
    .deleteFrom('provider_events')
    .where('provider_message_id', 'in', (eb) =>
      eb
        .selectFrom('deliveries')
        .select('provider_message_id')
        .where('subscriber_id', 'in', ids)
        .where('provider_message_id', 'is not', null),
    )
    .execute();
  const bounced = await tx
    .updateTable('deliveries')
    .set({ email: null })
    .where('subscriber_id', 'in', ids)
    .where(matches(sql`error`))
    .returning(['id', 'error'])
    .execute();
  for (const delivery of bounced) {
    await tx
      .updateTable('deliveries')
      .set({ error: scrubText(delivery.error!, regexp) })
      .where('id', '=', delivery.id)
      .execute();
  }
  await tx.updateTable('deliveries').set({ email: null }).where('subscriber_id', 'in', ids).execute();

  // Transactional emails (confirmation, welcome, test sends) to them, with their events.
  const emails = await tx
    .selectFrom('emails')
    .select(['id', 'provider_message_id'])
    .where(matches(sql`to_address`))
    .execute();
  const messageIds = emails.flatMap((email) =>
    email.provider_message_id ? [email.provider_message_id] : [],
  );
  if (messageIds.length > 0) {
    await tx.deleteFrom('provider_events').where('provider_message_id', 'in', messageIds).execute();
  }
  if (emails.length > 0) {
    await tx
      .deleteFrom('emails')
      .where(
        'id',
        'in',
        emails.map((email) => email.id),
      )
      .execute();
  }

  await tx
    .deleteFrom('dev_mailbox')
    .where(
      sql<boolean>`exists (select from unnest(to_addresses) a where ${matches(sql`a`)})
        or ${matches(sql`subject`)} or ${matches(sql`html`)} or ${matches(sql`text`)}
        or ${matches(sql`headers::text`)}`,
    )
    .execute();

  // An import's report line: the value is a cell of that line; the other problems of the line go too.
  await sql`
    delete from import_errors e using (
      select distinct import_id, line from import_errors where ${matches(sql`value`)}
    ) m
    where e.import_id = m.import_id and e.line = m.line`.execute(tx);

  await tx.deleteFrom('rate_limits').where(matches(sql`key`)).execute();

  for (const [table, keys, column, json] of SCRUBBED) {
    const { rows } = await sql<Record<string, unknown>>`
      select ${sql.join(keys.map((key) => sql.ref(key)))}, ${sql.ref(column)} as value
      from ${sql.table(table)}
      where ${matches(sql`${sql.ref(column)}::text`)}`.execute(tx);
    for (const row of rows) {
      const scrubbed = json
        ? JSON.stringify(scrubJson(row.value, regexp))
        : scrubText(String(row.value), regexp);
      const where = sql.join(
        keys.map((key) => sql`${sql.ref(key)} = ${row[key]}`),
        sql` and `,
      );
      await sql`update ${sql.table(table)} set ${sql.ref(column)} = ${scrubbed}${json ? sql`::jsonb` : sql``}
        where ${where}`.execute(tx);
    }
  }

  // subscriptions and consent_events go with the row (ON DELETE CASCADE).
  await tx.deleteFrom('subscribers').where('id', 'in', ids).execute();
}

/** How long a signup may wait for confirmation before it is purged (PENDING_SIGNUP_RETENTION_DAYS). */
export const DEFAULT_PENDING_SIGNUP_RETENTION_DAYS = 30;
const PURGE_BATCH = 500;

/**
 * Deletes signups never confirmed whose last confirmation email is older than `retentionDays`,
 * the same way as an erasure but without a suppression entry (they may sign up again). What
 * stays as evidence is non-personal: one audit entry per run with the count and the cut-off.
 * Their consent events (a "given" without "confirmed") go with them: a consent never confirmed
 * allowed nothing to be sent but the confirmation email itself. Idempotent; one transaction per
 * batch of PURGE_BATCH. Returns how many were purged.
 */
export async function purgePendingSignups(db: Db, now: Date, retentionDays: number): Promise<number> {
  const cutoff = new Date(now.getTime() - retentionDays * 24 * 60 * 60 * 1000);
  let total = 0;
  for (;;) {
    const purged = await db.transaction().execute(async (tx) => {
      const rows = await tx
        .selectFrom('subscribers')
        .select(['id', 'email'])
        .where('status', '=', 'pending')
        .where('confirmed_at', 'is', null)
        .where(sql<Date>`coalesce(confirmation_sent_at, created_at)`, '<', cutoff)
        .orderBy('id')
        .limit(PURGE_BATCH)
        .forUpdate()
        .skipLocked()
        .execute();
      if (rows.length === 0) return 0;
      await erasePersonalData(tx, rows);
      await audit(tx, null, 'subscriber.pending-purged', null, {
        count: rows.length,
        unconfirmedBefore: cutoff.toISOString(),
        retentionDays,
      });
      return rows.length;
    });
    total += purged;
    if (purged < PURGE_BATCH) return total;
  }
}
