import { type Kysely, sql } from 'kysely';

/**
 * Indexes for provider events and delivery statistics: the per-edition delivery log pages by id
 * (keyset), and events that arrived before their batch recorded its provider ids are found again
 * by message id when the batch closes.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('deliveries_edition_id_idx')
    .on('deliveries')
    .columns(['edition_id', 'id'])
    .execute();
  await sql`create index provider_events_message_idx on provider_events (provider_message_id) where provider_message_id is not null`.execute(
    db,
  );
}
