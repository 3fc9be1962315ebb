import { type Kysely, sql } from 'kysely';

/**
 * Subscribers and partners. `email` is the normalised address (trimmed, domain lower-cased,
 * IDN as punycode) and unique in that form. Personal data is kept to what sending needs.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('subscribers')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text')
    .addColumn('locale', 'text', (c) => c.notNull().defaultTo('nl').check(sql`locale in ('nl', 'en')`))
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('pending', 'active', 'unsubscribed', 'bounced', 'complained')`),
    )
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('form', 'import', 'api', 'editor')`))
    .addColumn('organisation_id', 'bigint', (c) => c.references('organisations.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('confirmed_at', 'timestamptz')
    .addColumn('unsubscribed_at', 'timestamptz')
    .addColumn('confirmation_sent_at', 'timestamptz')
    .addColumn('confirmation_count', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('subscribers_status_idx').on('subscribers').columns(['status', 'id']).execute();
  await db.schema
    .createIndex('subscribers_organisation_idx')
    .on('subscribers')
    .column('organisation_id')
    .execute();
  await sql`create extension if not exists pg_trgm`.execute(db);
  await sql`create index subscribers_search_idx on subscribers using gin ((email || ' ' || coalesce(name, '')) gin_trgm_ops)`.execute(
    db,
  );

  await db.schema
    .createTable('subscriptions')
    .addColumn('subscriber_id', 'bigint', (c) => c.notNull().references('subscribers.id').onDelete('cascade'))
    .addColumn('topic_id', 'bigint', (c) => c.notNull().references('topics.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('subscriptions_pkey', ['subscriber_id', 'topic_id'])
    .execute();
  await db.schema
    .createIndex('subscriptions_topic_idx')
    .on('subscriptions')
    .columns(['topic_id', 'subscriber_id'])
    .execute();
}
