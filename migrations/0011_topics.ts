import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('topics')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('name_nl', 'text', (c) => c.notNull())
    .addColumn('name_en', 'text', (c) => c.notNull())
    .addColumn('description_nl', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('description_en', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('public', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('position', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('archived_at', 'timestamptz')
    .execute();
  await db
    .insertInto('topics')
    .values([
      {
        slug: 'nieuwsbrief',
        name_nl: 'Nieuwsbrief',
        name_en: 'Newsletter',
        description_nl: 'Elke editie van de nieuwsbrief.',
        description_en: 'Every edition of the newsletter.',
        position: 1,
      },
      {
        slug: 'artikelen',
        name_nl: 'Artikelen',
        name_en: 'Articles',
        description_nl: 'Nieuwe artikelen en achtergronden.',
        description_en: 'New articles and background pieces.',
        position: 2,
      },
      {
        slug: 'documenten',
        name_nl: 'Documenten en folders',
        name_en: 'Documents and leaflets',
        description_nl: 'Nieuwe documenten, folders en rapporten.',
        description_en: 'New documents, leaflets and reports.',
        position: 3,
      },
    ])
    .execute();
}
