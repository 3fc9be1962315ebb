import { type Kysely, sql } from 'kysely';

/**
 * Work recorded in the same transaction as the change that causes it. The relay moves rows into
 * BullMQ with the row's job id; NOTIFY wakes it, a periodic sweep covers missed notifications.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('outbox')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('queue', 'text', (c) => c.notNull())
    .addColumn('job_name', 'text', (c) => c.notNull())
    .addColumn('job_id', 'text', (c) => c.notNull().unique())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('run_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('relayed_at', 'timestamptz')
    .addColumn('relay_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .execute();
  await sql`create index outbox_pending_idx on outbox (id) where relayed_at is null`.execute(db);
  await sql`
    create function outbox_notify() returns trigger language plpgsql as $$
    begin
      perform pg_notify('outbox', new.id::text);
      return new;
    end $$`.execute(db);
  await sql`create trigger outbox_notify after insert on outbox for each row execute function outbox_notify()`.execute(
    db,
  );
}
