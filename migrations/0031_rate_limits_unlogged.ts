import { type Kysely, sql } from 'kysely';

/**
 * Rate-limit counters are short-lived and may be lost in a crash; without WAL they cost no
 * fsync, which every signup and login paid for before its real transaction.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table rate_limits set unlogged`.execute(db);
}
