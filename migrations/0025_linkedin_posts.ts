import { type Kysely, sql } from 'kysely';

/**
 * LinkedIn posts (edition announcements and ad-hoc posts) and every attempt made to publish
 * them. `commentary` is stored as written; escaping for LinkedIn happens when publishing.
 * `create_sent_at` is set before a create request leaves: when it is set and no URN is known,
 * the outcome of that request is unknown and the next attempt looks for the post first.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('linkedin_posts')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('kind', 'text', (c) =>
      c.notNull().check(sql`kind in ('edition', 'article', 'document', 'custom')`),
    )
    .addColumn('edition_id', 'bigint', (c) => c.references('editions.id').onDelete('set null'))
    .addColumn('commentary', 'text', (c) => c.notNull())
    .addColumn('link', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('image_url', 'text')
    .addColumn('scheduled_at', 'timestamptz')
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('draft')
        .check(
          sql`status in ('draft', 'scheduled', 'publishing', 'published', 'failed', 'held', 'cancelled')`,
        ),
    )
    .addColumn('schedule_version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('post_urn', 'text')
    .addColumn('thumbnail_urn', 'text')
    .addColumn('dry_run', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('first_attempt_at', 'timestamptz')
    .addColumn('create_sent_at', 'timestamptz')
    /** The commentary exactly as sent (escaped), to recognise the post when looking for it. */
    .addColumn('sent_commentary', 'text')
    .addColumn('lease_job_id', 'text')
    .addColumn('lease_until', 'timestamptz')
    .addColumn('retry_at', 'timestamptz')
    .addColumn('published_at', 'timestamptz')
    .addColumn('created_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('approved_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('approved_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // One announcement per edition, whatever happens to the job that creates it.
  await sql`create unique index linkedin_posts_edition_key on linkedin_posts (edition_id) where kind = 'edition' and edition_id is not null`.execute(
    db,
  );
  await sql`create unique index linkedin_posts_urn_key on linkedin_posts (post_urn) where post_urn is not null`.execute(
    db,
  );
  await db.schema
    .createIndex('linkedin_posts_status_idx')
    .on('linkedin_posts')
    .columns(['status', 'scheduled_at'])
    .execute();

  await db.schema
    .createTable('linkedin_post_attempts')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('post_id', 'bigint', (c) => c.notNull().references('linkedin_posts.id').onDelete('cascade'))
    .addColumn('step', 'text', (c) => c.notNull())
    /** HTTP status of the answer; null when none came (timeout, dropped connection). */
    .addColumn('response_status', 'integer')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('detail', 'text')
    .addColumn('dry_run', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('linkedin_post_attempts_post_idx')
    .on('linkedin_post_attempts')
    .columns(['post_id', 'id'])
    .execute();
}
