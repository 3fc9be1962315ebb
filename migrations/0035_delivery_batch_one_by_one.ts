import type { Kysely } from 'kysely';

/**
 * A batch that the provider refused as a whole is sent one message at a time from then on, each
 * delivery committed as it goes. The flag is durable so that no retry (after a crash, a 5xx or a
 * sweep) ever sends the whole batch again under the batch's own idempotency key: the provider
 * would not know that some of its messages already went out one by one.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('delivery_batches')
    .addColumn('one_by_one', 'boolean', (col) => col.notNull().defaultTo(false))
    .execute();
}
