import { type Kysely, sql } from 'kysely';

/** The public archive, feeds and sitemap list sent editions by send time. */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index editions_sent_at_idx on editions (sent_at desc) where status = 'sent'`.execute(db);
}
