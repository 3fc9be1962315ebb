import { type Kysely, sql } from 'kysely';

/** Resend webhook events, kept once per svix-id (idempotency), and click counts per link. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('provider_events')
    .addColumn('svix_id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('provider_message_id', 'text')
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createTable('link_clicks')
    .addColumn('edition_id', 'bigint', (c) => c.notNull().references('editions.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('clicks', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('link_clicks_pkey', ['edition_id', 'url'])
    .execute();
}
