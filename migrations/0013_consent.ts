import { type Kysely, sql } from 'kysely';

/**
 * Provable consent: the exact texts shown (versioned) and an append-only ledger of events.
 * The ledger is never updated; rows go only when their subscriber is erased.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('consent_texts')
    .addColumn('version', 'text', (c) => c.primaryKey())
    .addColumn('text_nl', 'text', (c) => c.notNull())
    .addColumn('text_en', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db
    .insertInto('consent_texts')
    .values({
      version: '2026-01',
      text_nl:
        'Ja, ik wil de gekozen berichten per e-mail ontvangen. Ik kan me altijd met één klik afmelden. Mijn gegevens worden alleen hiervoor gebruikt.',
      text_en:
        'Yes, I want to receive the chosen messages by email. I can unsubscribe at any time with one click. My data is used for this purpose only.',
    })
    .execute();

  await db.schema
    .createTable('consent_events')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('subscriber_id', 'bigint', (c) => c.notNull().references('subscribers.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) =>
      c.notNull().check(sql`kind in ('given', 'confirmed', 'changed', 'withdrawn', 'imported')`),
    )
    .addColumn('consent_version', 'text', (c) => c.references('consent_texts.version'))
    .addColumn('lawful_basis', 'text', (c) =>
      c.check(sql`lawful_basis in ('consent', 'legitimate_interest', 'contract', 'public_task')`),
    )
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('ip_hash', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('consent_events_subscriber_idx')
    .on('consent_events')
    .columns(['subscriber_id', 'id'])
    .execute();
  await sql`
    create function consent_events_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'consent_events is append-only';
    end $$`.execute(db);
  await sql`create trigger consent_events_no_update before update on consent_events for each row execute function consent_events_append_only()`.execute(
    db,
  );
}
