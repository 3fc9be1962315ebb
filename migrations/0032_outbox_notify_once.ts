import { type Kysely, sql } from 'kysely';

/**
 * Postgres serialises every transaction that sent a NOTIFY through its commit (a database-wide
 * lock held from before the commit record until after its flush), so at a few hundred signups a
 * second the commits queued on that lock instead of sharing WAL flushes. Now the notification is
 * sent at commit (a deferred trigger), and only by a transaction that finds no other one sending
 * one at that moment (a try-lock, never a wait): the others commit next to it in parallel. The
 * relay, woken by that one, drains once more shortly after to pick theirs up (jobs/relay.ts); the
 * sweep stays the safety net. The payload is empty: the relay reads rows, not notifications.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop trigger outbox_notify on outbox`.execute(db);
  await sql`
    create or replace function outbox_notify() returns trigger language plpgsql as $$
    begin
      if pg_try_advisory_xact_lock(hashtext('thuispost-outbox-notify')) then
        perform pg_notify('outbox', '');
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create constraint trigger outbox_notify after insert on outbox
    deferrable initially deferred for each row execute function outbox_notify()`.execute(db);
}
