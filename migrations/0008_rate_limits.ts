import { type Kysely, sql } from 'kysely';

/** Fixed-window counters; kept in Postgres so the API needs no Redis (and runs on Workers). */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('rate_limits')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('window_start', 'timestamptz', (c) => c.notNull())
    .addColumn('hits', 'integer', (c) => c.notNull())
    .execute();
  await sql`create index rate_limits_window_idx on rate_limits (window_start)`.execute(db);
}
