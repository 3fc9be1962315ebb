import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Import, LawfulBasis } from '../../src/db/schema.js';
import { emailHash } from '../../src/domain/email-address.js';
import {
  createImport,
  csvField,
  detectSeparator,
  type ImportOptions,
  mapHeader,
  validateRecord,
} from '../../src/domain/imports.js';
import { type ImportRunOptions, runImport } from '../../src/jobs/processors/subscriber-import.js';
import { systemClock } from '../../src/providers/clock.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

let ctx: TestContext;
let topic: Record<'nieuwsbrief' | 'artikelen' | 'documenten', string>;

beforeAll(async () => {
  ctx = await createTestContext();
  const topics = await ctx.db.selectFrom('topics').select(['id', 'slug']).execute();
  topic = Object.fromEntries(topics.map((t) => [t.slug, t.id])) as typeof topic;
});
afterAll(() => ctx.close());

const BOM = '\uFEFF';
let counter = 0;
/** A unique address per call, so that the tests in this file do not meet each other's subscribers. */
const address = (name: string) => `${name}-${++counter}@voorbeeld.test`;

async function upload(csv: string | Uint8Array, options: Partial<ImportOptions> = {}): Promise<Import> {
  return ctx.db.transaction().execute((tx) =>
    createImport(tx, csv, {
      lawfulBasis: 'legitimate_interest' as LawfulBasis,
      dryRun: false,
      defaultTopics: [],
      defaultLocale: null,
      ...options,
    }),
  );
}

async function run(id: string, options: Partial<ImportRunOptions> = {}) {
  return runImport(ctx.db, id, { logger: ctx.deps.logger, clock: systemClock, ...options });
}

async function importCsv(csv: string | Uint8Array, options: Partial<ImportOptions> = {}, runOptions: Partial<ImportRunOptions> = {}) {
  const created = await upload(csv, options);
  const result = await run(created.id, runOptions);
  const row = await ctx.db.selectFrom('imports').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
  const report = await ctx.db
    .selectFrom('import_errors')
    .select(['line', 'value', 'reason'])
    .where('import_id', '=', created.id)
    .orderBy('line')
    .orderBy('id')
    .execute();
  return { id: created.id, result, row, report };
}

async function subscriber(email: string) {
  const row = await ctx.db
    .selectFrom('subscribers')
    .leftJoin('organisations', 'organisations.id', 'subscribers.organisation_id')
    .select([
      'subscribers.id',
      'subscribers.email',
      'subscribers.name',
      'subscribers.locale',
      'subscribers.status',
      'subscribers.source',
      'organisations.name as organisation',
      'organisations.kind as organisationKind',
    ])
    .where('subscribers.email', '=', email)
    .executeTakeFirst();
  if (!row) return undefined;
  const topics = await ctx.db
    .selectFrom('subscriptions')
    .innerJoin('topics', 'topics.id', 'subscriptions.topic_id')
    .select('topics.slug')
    .where('subscriber_id', '=', row.id)
    .orderBy('topics.slug')
    .execute();
  const consent = await ctx.db
    .selectFrom('consent_events')
    .select(['kind', 'lawful_basis', 'source', 'details'])
    .where('subscriber_id', '=', row.id)
    .orderBy('id')
    .execute();
  return { ...row, topics: topics.map((t) => t.slug), consent };
}

async function existing(email: string, status: 'active' | 'pending' | 'unsubscribed' | 'bounced' | 'complained', extra: { name?: string | null; topics?: string[] } = {}) {
  const row = await ctx.db
    .insertInto('subscribers')
    .values({ email, name: extra.name ?? null, status, source: 'form', locale: 'nl' })
    .returning('id')
    .executeTakeFirstOrThrow();
  for (const slug of extra.topics ?? []) {
    await ctx.db.insertInto('subscriptions').values({ subscriber_id: row.id, topic_id: topic[slug as keyof typeof topic] }).execute();
  }
  return row.id;
}

describe('header and record rules', () => {
  it('detects the separator from the header line and maps Dutch and English column names', () => {
    expect(detectSeparator('e-mail;naam;taal')).toBe(';');
    expect(detectSeparator('email,name,"a;b"')).toBe(',');
    expect(detectSeparator('email')).toBe(',');
    const map = mapHeader(['E-mail', 'Naam', 'TAAL', 'Onderwerpen', 'Organisatie', 'Telefoon']);
    expect(map).toMatchObject({ email: 0, name: 1, locale: 2, topics: 3, organisation: 4, width: 6, ignored: ['Telefoon'] });
    expect(() => mapHeader(['naam', 'taal'])).toThrow(/email column/);
    expect(() => mapHeader(['email', 'E-mail'])).toThrow(/twice/);
  });

  it('checks each field and reports every problem of a record', () => {
    const rules = {
      columns: mapHeader(['email', 'name', 'locale', 'topics', 'organisation']),
      topics: new Map([['nieuwsbrief', '1']]),
      defaultTopicIds: ['1'],
      defaultLocale: 'nl' as const,
    };
    expect(validateRecord(['  Jan@Voorbeeld.TEST ', ' Jan ', 'EN-gb', '', ''], rules)).toMatchObject({
      kind: 'row',
      row: { email: 'Jan@voorbeeld.test', name: 'Jan', locale: 'en', topicIds: '{1}', organisation: null },
    });
    expect(validateRecord(['', '', '', '', ''], rules)).toEqual({ kind: 'blank' });
    const bad = validateRecord(['geen-adres', 'x'.repeat(201), 'fr', 'nieuwsbrief|onbekend', ''], rules);
    expect(bad.kind).toBe('invalid');
    expect(bad.kind === 'invalid' && bad.problems.map((p) => p.value)).toEqual([
      'geen-adres',
      `${'x'.repeat(200)}…`,
      'fr',
      'onbekend',
    ]);
    // The export's protection against spreadsheet formulas is undone.
    expect(validateRecord(['a@voorbeeld.test', "'=SOM(1)", '', '', ''], rules)).toMatchObject({ row: { name: '=SOM(1)' } });
    expect(csvField('=SOM(1)', ',')).toBe("'=SOM(1)");
    expect(csvField('Vries, de', ',')).toBe('"Vries, de"');
    expect(csvField('Vries, de', ';')).toBe('Vries, de');
    expect(csvField('zegt "hoi"', ';')).toBe('"zegt ""hoi"""');
  });
});

describe('importing', () => {
  it('reads a UTF-8 file with BOM, `;`, CRLF and Dutch headers', async () => {
    const a = address('anna');
    const b = address('bram');
    const csv = `${BOM}E-mail;Naam;Taal;Onderwerpen;Organisatie\r\n${a};Anna de Wit;nl;nieuwsbrief|artikelen;Gemeente Voorbeeldstad\r\n${b};"Bram; van Dijk";EN;documenten;gemeente voorbeeldstad\r\n`;
    const { row, result, report } = await importCsv(csv, { lawfulBasis: 'public_task' });
    expect(result.outcome).toBe('done');
    expect(report).toEqual([]);
    expect(row).toMatchObject({ status: 'done', separator: ';', encoding: 'utf-8', total: 2, processed: 2, created: 2, errors: 0, organisations_created: 1 });
    const anna = await subscriber(a);
    expect(anna).toMatchObject({
      name: 'Anna de Wit',
      locale: 'nl',
      status: 'active',
      source: 'import',
      organisation: 'Gemeente Voorbeeldstad',
      organisationKind: 'overig',
      topics: ['artikelen', 'nieuwsbrief'],
    });
    expect(anna!.consent).toHaveLength(1);
    expect(anna!.consent[0]).toMatchObject({ kind: 'imported', lawful_basis: 'public_task', source: `import:${row.id}` });
    const bram = await subscriber(b);
    expect(bram).toMatchObject({ name: 'Bram; van Dijk', locale: 'en', organisation: 'Gemeente Voorbeeldstad', topics: ['documenten'] });
  });
});
