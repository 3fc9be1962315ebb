import { type Kysely, sql } from 'kysely';

/** Categories of the public "Relevante documenten" page; editable, seeded with four. */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table document_categories (
      id bigint generated always as identity primary key,
      slug text not null unique check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
      name_nl text not null,
      name_en text not null,
      position integer not null default 0,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db);
  await sql`
    insert into document_categories (slug, name_nl, name_en, position) values
      ('algemeen', 'Algemeen', 'General', 1),
      ('artikelen', 'Artikelen', 'Articles', 2),
      ('folders', 'Folders', 'Leaflets', 3),
      ('nieuwsbrieven', 'Nieuwsbrieven', 'Newsletters', 4)`.execute(db);
}
