import { type Kysely, sql } from 'kysely';

/**
 * The LinkedIn connection made through the admin's OAuth flow: tokens encrypted at rest
 * (AES-256-GCM, see src/infra/secret-box.ts), their expiry, and the organisation posted as.
 * At most one connection is in use (active or broken); `pending` rows wait for the admin to
 * choose the organisation; replaced ones are kept as `disconnected` (tokens wiped).
 * OAuth `state` values are single use: only their hash is kept, bound to the admin who asked.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('linkedin_connections')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('pending').check(sql`status in ('pending', 'active', 'broken', 'disconnected')`),
    )
    .addColumn('organization_id', 'text')
    .addColumn('organization_name', 'text')
    /** [{ id, name }] the admin may choose from (pending only). */
    .addColumn('organizations', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('access_token_enc', 'text')
    .addColumn('access_token_expires_at', 'timestamptz')
    .addColumn('refresh_token_enc', 'text')
    .addColumn('refresh_token_expires_at', 'timestamptz')
    .addColumn('scopes', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('broken_reason', 'text')
    .addColumn('broken_at', 'timestamptz')
    .addColumn('last_refreshed_at', 'timestamptz')
    .addColumn('connected_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index linkedin_connections_current_key on linkedin_connections ((true)) where status in ('active', 'broken')`.execute(
    db,
  );

  await db.schema
    .createTable('linkedin_oauth_states')
    .addColumn('nonce_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .execute();
}
