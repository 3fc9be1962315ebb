import type { Kysely } from 'kysely';

/** When a batch was last tried, so that a sweep can revive batches whose job was lost. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('delivery_batches').addColumn('last_attempt_at', 'timestamptz').execute();
}
