import { type Kysely, sql } from 'kysely';

/**
 * The normalised address keeps the local part's case (RFC 5321 allows it to matter), but two
 * subscribers differing only in case would get every edition twice: uniqueness ignores case.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create unique index subscribers_email_lower_key on subscribers (lower(email))`.execute(db);
}
