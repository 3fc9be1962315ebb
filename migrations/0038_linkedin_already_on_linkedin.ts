import { type Kysely, sql } from 'kysely';

/**
 * A post LinkedIn answered with 422 "Content is a duplicate of urn:li:share:…" counts as
 * published with that URN, and says so (`already_on_linkedin`): the editor sees it was recognised
 * as already on LinkedIn, not posted again. Two of our posts with the same text and link then
 * share a URN, so the URN stays unique only among the posts that created theirs.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('linkedin_posts')
    .addColumn('already_on_linkedin', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await sql`drop index linkedin_posts_urn_key`.execute(db);
  await sql`create unique index linkedin_posts_urn_key on linkedin_posts (post_urn) where post_urn is not null and not already_on_linkedin`.execute(
    db,
  );
  // Looking a URN up (whose is it?) covers both kinds of rows.
  await sql`create index linkedin_posts_urn_idx on linkedin_posts (post_urn) where post_urn is not null`.execute(
    db,
  );
}
