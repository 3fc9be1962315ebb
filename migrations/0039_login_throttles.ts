import { type Kysely, sql } from 'kysely';

/**
 * Login protection beyond fixed windows (see src/domain/login-throttle.ts):
 * - `login_throttles`: per account (a hash of the address), the failed attempts in a row and
 *   when the next attempt from an unfamiliar address may be made. Short-lived and rebuilt by
 *   use, so unlogged like `rate_limits`.
 * - `login_known_addresses`: the addresses (hashed) an account logged in from; they pass the
 *   account's slow-down, so that failures from elsewhere do not keep the owner out.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('login_throttles')
    .addColumn('account_key', 'text', (c) => c.primaryKey())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await sql`alter table login_throttles set unlogged`.execute(db);
  await sql`create index login_throttles_updated_idx on login_throttles (updated_at)`.execute(db);
  await db.schema
    .createTable('login_known_addresses')
    .addColumn('account_key', 'text', (c) => c.notNull())
    .addColumn('address_key', 'text', (c) => c.notNull())
    .addColumn('last_success_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('login_known_addresses_pkey', ['account_key', 'address_key'])
    .execute();
  await sql`create index login_known_addresses_last_idx on login_known_addresses (last_success_at)`.execute(
    db,
  );
}
