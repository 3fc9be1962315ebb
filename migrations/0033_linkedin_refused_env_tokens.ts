import { type Kysely, sql } from 'kysely';

/**
 * LINKEDIN_ACCESS_TOKEN values LinkedIn refused (401), by SHA-256 fingerprint, never the token:
 * while the environment holds a refused token, posts are held without asking LinkedIn again; once
 * it holds another (the admin replaced it and restarted), the held posts go out by themselves.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('linkedin_refused_env_tokens')
    .addColumn('fingerprint', 'text', (c) => c.primaryKey())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('refused_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}
