import { type Kysely, sql } from 'kysely';

/** A document's announcement on LinkedIn, one per document (like editions). */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('linkedin_posts')
    .addColumn('document_id', 'bigint', (c) => c.references('documents.id').onDelete('set null'))
    .execute();
  await sql`create unique index linkedin_posts_document_key on linkedin_posts (document_id) where kind = 'document' and document_id is not null`.execute(
    db,
  );
}
