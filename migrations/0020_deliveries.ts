import { type Kysely, sql } from 'kysely';

/**
 * The send of an edition: its pre-rendered HTML/text per locale, the recipient snapshot (one row
 * per subscriber, with a fixed batch number) and the batches sent to the provider.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('edition_renders')
    .addColumn('edition_id', 'bigint', (c) => c.notNull().references('editions.id').onDelete('cascade'))
    .addColumn('locale', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('html', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('rendered_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('edition_renders_pkey', ['edition_id', 'locale'])
    .execute();

  await db.schema
    .createTable('deliveries')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('edition_id', 'bigint', (c) => c.notNull().references('editions.id').onDelete('cascade'))
    // Erasure sets these to null; the row stays as an anonymous count.
    .addColumn('subscriber_id', 'bigint', (c) => c.references('subscribers.id').onDelete('set null'))
    .addColumn('email', 'text')
    .addColumn('locale', 'text', (c) => c.notNull())
    .addColumn('topic_id', 'bigint')
    .addColumn('batch_no', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('queued')
        .check(
          sql`status in ('queued', 'sent', 'delivered', 'bounced', 'soft_bounced', 'complained', 'failed', 'suppressed', 'cancelled')`,
        ),
    )
    .addColumn('provider_message_id', 'text')
    .addColumn('error', 'text')
    .addColumn('sent_at', 'timestamptz')
    .addColumn('delivered_at', 'timestamptz')
    .addColumn('opened_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index deliveries_edition_subscriber_key on deliveries (edition_id, subscriber_id)`.execute(
    db,
  );
  await db.schema
    .createIndex('deliveries_batch_idx')
    .on('deliveries')
    .columns(['edition_id', 'batch_no'])
    .execute();
  await sql`create unique index deliveries_provider_message_key on deliveries (provider_message_id) where provider_message_id is not null`.execute(
    db,
  );

  await db.schema
    .createTable('delivery_batches')
    .addColumn('edition_id', 'bigint', (c) => c.notNull().references('editions.id').onDelete('cascade'))
    .addColumn('batch_no', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('pending')
        .check(sql`status in ('pending', 'sent', 'failed', 'review', 'cancelled')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('first_attempt_at', 'timestamptz')
    .addColumn('sent_at', 'timestamptz')
    .addColumn('last_error', 'text')
    .addPrimaryKeyConstraint('delivery_batches_pkey', ['edition_id', 'batch_no'])
    .execute();
}
