import { type Kysely, sql } from 'kysely';

/** Newsletter editions, their target topics and the audit trail of every status change. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('editions')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('preheader', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('locale', 'text', (c) => c.notNull().defaultTo('nl').check(sql`locale in ('nl', 'en')`))
    .addColumn('organisation_kinds', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('blocks', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('image_url', 'text')
    .addColumn('open_tracking', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('draft')
        .check(
          sql`status in ('draft', 'in_review', 'approved', 'scheduled', 'sending', 'sent', 'paused', 'cancelled', 'failed')`,
        ),
    )
    .addColumn('send_at', 'timestamptz')
    .addColumn('schedule_version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('last_edited_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('approved_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('approved_at', 'timestamptz')
    .addColumn('sending_started_at', 'timestamptz')
    .addColumn('sent_at', 'timestamptz')
    .addColumn('paused_reason', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('editions_status_idx').on('editions').columns(['status', 'send_at']).execute();

  await db.schema
    .createTable('edition_topics')
    .addColumn('edition_id', 'bigint', (c) => c.notNull().references('editions.id').onDelete('cascade'))
    .addColumn('topic_id', 'bigint', (c) => c.notNull().references('topics.id'))
    .addPrimaryKeyConstraint('edition_topics_pkey', ['edition_id', 'topic_id'])
    .execute();

  await db.schema
    .createTable('edition_events')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('edition_id', 'bigint', (c) => c.notNull().references('editions.id').onDelete('cascade'))
    .addColumn('actor_user_id', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('from_status', 'text')
    .addColumn('to_status', 'text', (c) => c.notNull())
    .addColumn('note', 'text')
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('edition_events_edition_idx')
    .on('edition_events')
    .columns(['edition_id', 'id'])
    .execute();
}
