import type { Kysely } from 'kysely';

/**
 * Template emails rendered by the worker (confirmation, welcome, …) are stored once per job: the
 * job id is the dedupe key, so a retried job sends the stored email instead of rendering a new one.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('emails')
    .addColumn('dedupe_key', 'text', (c) => c.unique())
    .execute();
}
