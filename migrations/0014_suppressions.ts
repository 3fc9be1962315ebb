import { type Kysely, sql } from 'kysely';

/**
 * Addresses that must never be mailed or re-imported, stored only as a hash of the normalised
 * address (so an erased person leaves no address behind).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('suppressions')
    .addColumn('email_hash', 'text', (c) => c.primaryKey())
    .addColumn('reason', 'text', (c) =>
      c.notNull().check(sql`reason in ('unsubscribed', 'bounced', 'complained', 'erased', 'manual')`),
    )
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}
