import { type Kysely, sql } from 'kysely';

/**
 * Dry run (no LinkedIn credentials): the requests that would have been sent, for /dev/linkedin.
 * Headers are stored without the access token.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('linkedin_dry_run_feed')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('post_id', 'bigint', (c) => c.references('linkedin_posts.id').onDelete('cascade'))
    .addColumn('post_urn', 'text', (c) => c.notNull())
    /** [{ method, url, headers, body }] in the order they would have been sent. */
    .addColumn('requests', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}
