import { type Kysely, sql } from 'kysely';

/**
 * Deliveries by subscriber. Erasing a subscriber (and the purge of unconfirmed signups, up to 500
 * in one transaction) detaches their deliveries: `ON DELETE SET NULL` and the erasure itself look
 * deliveries up by subscriber_id, which without an index is a scan of the largest table for every
 * person erased. Also serves a subscriber's delivery history in the admin. Partial: erased rows
 * (subscriber_id null) are never looked up this way.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index deliveries_subscriber_idx on deliveries (subscriber_id) where subscriber_id is not null`.execute(
    db,
  );
}
