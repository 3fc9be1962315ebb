import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Import, LawfulBasis } from '../../src/db/schema.js';
import { emailHash } from '../../src/domain/email-address.js';
import {
  createImport,
  csvField,
  detectSeparator,
  emailHashSql,
  type ImportOptions,
  mapHeader,
  purgeImports,
  startImportRun,
  validateRecord,
} from '../../src/domain/imports.js';
import { suppress } from '../../src/domain/suppressions.js';
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

async function importCsv(
  csv: string | Uint8Array,
  options: Partial<ImportOptions> = {},
  runOptions: Partial<ImportRunOptions> = {},
) {
  const created = await upload(csv, options);
  const result = await run(created.id, runOptions);
  const row = await ctx.db
    .selectFrom('imports')
    .selectAll()
    .where('id', '=', created.id)
    .executeTakeFirstOrThrow();
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

async function existing(
  email: string,
  status: 'active' | 'pending' | 'unsubscribed' | 'bounced' | 'complained',
  extra: { name?: string | null; topics?: string[] } = {},
) {
  const row = await ctx.db
    .insertInto('subscribers')
    .values({ email, name: extra.name ?? null, status, source: 'form', locale: 'nl' })
    .returning('id')
    .executeTakeFirstOrThrow();
  for (const slug of extra.topics ?? []) {
    await ctx.db
      .insertInto('subscriptions')
      .values({ subscriber_id: row.id, topic_id: topic[slug as keyof typeof topic] })
      .execute();
  }
  return row.id;
}

describe('header and record rules', () => {
  it('detects the separator from the header line and maps Dutch and English column names', () => {
    expect(detectSeparator('e-mail;naam;taal')).toBe(';');
    expect(detectSeparator('email,name,"a;b"')).toBe(',');
    expect(detectSeparator('email')).toBe(',');
    const map = mapHeader(['E-mail', 'Naam', 'TAAL', 'Onderwerpen', 'Organisatie', 'Telefoon']);
    expect(map).toMatchObject({
      email: 0,
      name: 1,
      locale: 2,
      topics: 3,
      organisation: 4,
      width: 6,
      ignored: ['Telefoon'],
    });
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
    expect(validateRecord(['a@voorbeeld.test', "'=SOM(1)", '', '', ''], rules)).toMatchObject({
      row: { name: '=SOM(1)' },
    });
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
    expect(row).toMatchObject({
      status: 'done',
      separator: ';',
      encoding: 'utf-8',
      total: 2,
      processed: 2,
      created: 2,
      errors: 0,
      organisations_created: 1,
    });
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
    expect(anna!.consent[0]).toMatchObject({
      kind: 'imported',
      lawful_basis: 'public_task',
      source: `import:${row.id}`,
    });
    // The ledger names the import, the line and the topics given (built while staging).
    expect(anna!.consent[0]!.details).toEqual({
      import: Number(row.id),
      line: 2,
      topics: [Number(topic.nieuwsbrief), Number(topic.artikelen)],
    });
    const bram = await subscriber(b);
    expect(bram).toMatchObject({
      name: 'Bram; van Dijk',
      locale: 'en',
      organisation: 'Gemeente Voorbeeldstad',
      topics: ['documenten'],
    });
  });
});

describe('importing: files', () => {
  it('reads a `,` file with English headers, quoted values and topics separated by `|` or `,`', async () => {
    const a = address('carla');
    const b = address('daan');
    const csv = [
      'email,name,locale,topics,organisation',
      `${a},"Vries, Carla de",en,"nieuwsbrief,documenten",`,
      `${b},Daan,,artikelen|Nieuwsbrief,"Zorg ""Thuis"" BV"`,
    ].join('\n');
    const { row, report } = await importCsv(csv);
    expect(report).toEqual([]);
    expect(row).toMatchObject({ separator: ',', created: 2, total: 2 });
    expect(await subscriber(a)).toMatchObject({
      name: 'Vries, Carla de',
      locale: 'en',
      topics: ['documenten', 'nieuwsbrief'],
      organisation: null,
    });
    expect(await subscriber(b)).toMatchObject({
      name: 'Daan',
      locale: 'nl',
      topics: ['artikelen', 'nieuwsbrief'],
      organisation: 'Zorg "Thuis" BV',
    });
  });

  it('reads Windows-1252 (Excel\'s plain "CSV") as well as UTF-8', async () => {
    const a = address('eef');
    const text = `e-mail;naam;onderwerpen\r\n${a};Eef Müller-Çelik;nieuwsbrief\r\n`;
    const bytes = Buffer.from(
      new Uint8Array(
        [...text].map((char) => (char === 'ü' ? 0xfc : char === 'Ç' ? 0xc7 : char.charCodeAt(0))),
      ),
    );
    const { row } = await importCsv(bytes);
    expect(row.encoding).toBe('windows-1252');
    expect((await subscriber(a))!.name).toBe('Eef Müller-Çelik');
  });

  it('reads a file with old Mac line ends (CR alone)', async () => {
    const a = address('mac');
    const b = address('mac');
    const { row, report } = await importCsv(
      `email;naam;onderwerpen\r${a};Mac Eén;nieuwsbrief\r${b};Mac Twee;artikelen`,
    );
    expect(report).toEqual([]);
    expect(row).toMatchObject({ total: 2, created: 2 });
    expect((await subscriber(b))!.name).toBe('Mac Twee');
  });

  it('reports bad rows with their line number, value and reason, and imports the good ones', async () => {
    const good = address('goed');
    const longLocal = `${'x'.repeat(70)}@voorbeeld.test`;
    const lines = [
      'email;naam;taal;onderwerpen;organisatie;opmerking',
      'geen-adres;Zonder Apenstaart;nl;nieuwsbrief;', // 2
      `${good};"Goed, Gerda";nl;nieuwsbrief;"Org";"een opmerking over\ntwee regels"`, // 3-4, valid
      `${longLocal};Te Lang;nl;nieuwsbrief;`, // 5
      `${address('onbekend')};Onbekend Onderwerp;nl;nieuwsbrief|tuinieren;`, // 6
      `${address('taal')};Verkeerde Taal;fr;nieuwsbrief;`, // 7
      '', // 8: blank, skipped
      ';;;;', // 9: blank, skipped
      `${address('naam')};${'N'.repeat(201)};nl;nieuwsbrief;`, // 10
      `${address('meer')};Jansen; Piet;nl;nieuwsbrief;Org;Opmerking`, // 11: a `;` in an unquoted name
      `${address('regel')};"Twee\nregels";nl;nieuwsbrief;`, // 12-13: a line break in a name
      'Jan <jan@voorbeeld.test>;Met Naam;nl;nieuwsbrief;', // 14
    ];
    const { row, report } = await importCsv(lines.join('\r\n'));
    expect(row).toMatchObject({ status: 'done', total: 9, processed: 9, created: 1, errors: 8 });
    expect(report.map((r) => [r.line, r.value])).toEqual([
      [2, 'geen-adres'],
      [5, longLocal],
      [6, 'tuinieren'],
      [7, 'fr'],
      [10, `${'N'.repeat(200)}…`],
      // Every problem of a line is reported: the extra value, and the shifted locale and topics.
      [11, 'Opmerking'],
      [11, 'Piet'],
      [11, 'nl'],
      [12, 'Twee\nregels'],
      [14, 'Jan <jan@voorbeeld.test>'],
    ]);
    const reasons = Object.fromEntries(report.map((r) => [r.line, r.reason]).reverse());
    expect(reasons[2]).toMatch(/naam@voorbeeld\.nl/);
    expect(reasons[5]).toMatch(/64 tekens/);
    expect(reasons[6]).toMatch(/Onbekend onderwerp/);
    expect(reasons[7]).toMatch(/nl of en/);
    expect(reasons[10]).toMatch(/te lang/);
    expect(reasons[11]).toMatch(/Meer waarden dan kolommen/);
    expect(reasons[12]).toMatch(/regeleinde/);
    expect(await subscriber(good)).toMatchObject({ organisation: 'Org', topics: ['nieuwsbrief'] });
    expect(await subscriber('geen-adres')).toBeUndefined();
  });

  it('fails the whole import on a quote that is never closed, and imports nothing', async () => {
    const a = address('voor');
    const csv = `email;naam;onderwerpen\n${a};Voor;nieuwsbrief\n${address('kapot')};"Niet gesloten;nieuwsbrief\n${address('na')};Na;nieuwsbrief\n`;
    const { row, result } = await importCsv(csv);
    expect(result.outcome).toBe('failed');
    expect(row.status).toBe('failed');
    expect(row.last_error).toMatch(/aanhalingsteken/);
    expect(await subscriber(a)).toBeUndefined();
    const files = await ctx.db
      .selectFrom('import_files')
      .select('chunk_no')
      .where('import_id', '=', row.id)
      .execute();
    expect(files).toEqual([]);
  });

  it('streams a file of many chunks and batches with exact line numbers across the boundaries', async () => {
    const rows = 30_000; // about 1.9 MB: two stored chunks, many parse slices, fifteen batches
    const prefix = `groot-${++counter}`;
    const lines = ['email;naam;taal;onderwerpen'];
    for (let i = 1; i <= rows; i++) {
      const email = i % 7_919 === 0 ? `fout-${i}` : `${prefix}-${i}@voorbeeld.test`;
      lines.push(`${email};Lid ${i} Ééntje-Ç;${i % 2 ? 'nl' : 'en'};nieuwsbrief`);
    }
    const { row, report } = await importCsv(lines.join('\n'), {}, { batchRows: 2_000 });
    const bad = [7_919, 15_838, 23_757];
    expect(report.map((r) => [r.line, r.value])).toEqual(bad.map((i) => [i + 1, `fout-${i}`]));
    expect(row).toMatchObject({ status: 'done', total: rows, processed: rows, created: rows - 3, errors: 3 });
    const sample = await subscriber(`${prefix}-29999@voorbeeld.test`);
    expect(sample).toMatchObject({ name: 'Lid 29999 Ééntje-Ç', locale: 'nl', topics: ['nieuwsbrief'] });
  });
});

describe('importing: duplicates, existing and suppressed addresses', () => {
  it('takes the first of duplicate lines (case-insensitive) and reports the others', async () => {
    const a = address('dubbel');
    const csv = `email;naam;onderwerpen\n${a};Eerste;nieuwsbrief\n${a.toUpperCase()};Tweede;artikelen\n${a};Derde;documenten\n`;
    const { row, report } = await importCsv(csv);
    expect(row).toMatchObject({ created: 1, skipped: 2 });
    expect(report.map((r) => [r.line, r.reason])).toEqual([
      [3, 'Dubbel in het bestand: regel 2 gaat voor.'],
      [4, 'Dubbel in het bestand: regel 2 gaat voor.'],
    ]);
    expect(await subscriber(a)).toMatchObject({ name: 'Eerste', topics: ['nieuwsbrief'] });
  });

  it('adds topics to existing active and pending subscribers, fills an empty name, never removes or re-activates', async () => {
    const active = address('actief');
    const pending = address('wacht');
    const named = address('genoemd');
    const same = address('zelfde');
    await existing(active, 'active', { topics: ['nieuwsbrief'] });
    await existing(pending, 'pending', { name: 'Al Bekend', topics: ['artikelen'] });
    await existing(named, 'active', { name: 'Oude Naam', topics: ['nieuwsbrief'] });
    await existing(same, 'active', { name: 'Zelfde', topics: ['nieuwsbrief'] });
    const csv = [
      'email;naam;taal;onderwerpen;organisatie',
      `${active.toUpperCase()};Nieuwe Naam;en;documenten;Woonstichting Voorbeeld`,
      `${pending};Andere Naam;en;nieuwsbrief;`,
      `${named};Nieuwe Naam;en;nieuwsbrief;`,
      `${same};Zelfde;nl;nieuwsbrief;`,
    ].join('\n');
    const { row, report } = await importCsv(csv);
    expect(report).toEqual([]);
    expect(row).toMatchObject({ created: 0, updated: 2, unchanged: 2, organisations_created: 1 });
    expect(await subscriber(active)).toMatchObject({
      status: 'active',
      source: 'form',
      name: 'Nieuwe Naam',
      locale: 'nl',
      organisation: 'Woonstichting Voorbeeld',
      topics: ['documenten', 'nieuwsbrief'],
    });
    const p = await subscriber(pending);
    expect(p).toMatchObject({ status: 'pending', name: 'Al Bekend', topics: ['artikelen', 'nieuwsbrief'] });
    expect(p!.consent).toEqual([
      expect.objectContaining({
        kind: 'imported',
        lawful_basis: 'legitimate_interest',
        details: expect.objectContaining({ topicsAdded: [Number(topic.nieuwsbrief)] }),
      }),
    ]);
    // Named differently, nothing new: the name in the file does not overwrite.
    expect(await subscriber(named)).toMatchObject({
      name: 'Oude Naam',
      topics: ['nieuwsbrief'],
      consent: [],
    });
  });

  it('never subscribes unsubscribed, bounced, complained or suppressed addresses again', async () => {
    const gone = address('afgemeld');
    const bounced = address('bounce');
    const complained = address('klacht');
    const erased = address('gewist');
    const fresh = address('nieuw');
    await existing(gone, 'unsubscribed');
    await existing(bounced, 'bounced');
    await existing(complained, 'complained');
    await suppress(ctx.db, gone, 'unsubscribed', 'test');
    await suppress(ctx.db, erased.toUpperCase(), 'erased', 'test');
    const csv = ['email;onderwerpen', gone, bounced, complained, erased, fresh]
      .map((line, i) => (i === 0 ? line : `${line};nieuwsbrief`))
      .join('\n');
    const { row, report } = await importCsv(csv);
    expect(row).toMatchObject({ created: 1, skipped: 4, updated: 0 });
    expect(report.map((r) => [r.line, r.value])).toEqual([
      [2, gone],
      [3, bounced],
      [4, complained],
      [5, erased],
    ]);
    expect(report[0]!.reason).toMatch(/blokkeerlijst \(afgemeld\)/);
    expect(report[1]!.reason).toMatch(/onbestelbaar/);
    expect(report[3]!.reason).toMatch(/gewist/);
    for (const email of [gone, bounced, complained]) {
      const s = await subscriber(email);
      expect(s!.status).not.toBe('active');
      expect(s!.topics).toEqual([]);
      expect(s!.consent).toEqual([]);
    }
    expect(await subscriber(erased)).toBeUndefined();
    expect((await subscriber(fresh))!.status).toBe('active');
  });

  it('needs topics for new addresses: from the row or the defaults', async () => {
    const without = address('zonder');
    const withDefault = address('standaard');
    const first = await importCsv(`email;taal\n${without};en\n`);
    expect(first.row).toMatchObject({ created: 0, errors: 1 });
    expect(first.report[0]).toMatchObject({
      line: 2,
      value: without,
      reason: expect.stringMatching(/Geen onderwerpen/),
    });
    const second = await importCsv(`email\n${withDefault}\n`, {
      defaultTopics: ['artikelen', 'documenten'],
      defaultLocale: 'en',
    });
    expect(second.row.created).toBe(1);
    expect(await subscriber(withDefault)).toMatchObject({
      locale: 'en',
      topics: ['artikelen', 'documenten'],
    });
  });

  it('computes the suppression hash in SQL exactly as emailHash does', async () => {
    for (const email of [
      'Jan.Jansen@voorbeeld.test',
      'a+b@xn--bcher-kva.example',
      "o'brien@voorbeeld.test",
    ]) {
      const { rows } = await sql<{
        hash: string;
      }>`select ${emailHashSql(sql`${email}::text`)} as hash`.execute(ctx.db);
      expect(rows[0]!.hash).toBe(emailHash(email));
    }
  });
});

describe('dry run, progress and retries', () => {
  it('dry run: reports what would happen and changes no subscriber', async () => {
    const a = address('droog');
    const known = address('bekend');
    await existing(known, 'active', { topics: ['nieuwsbrief'] });
    const csv = `email;onderwerpen;organisatie\n${a};nieuwsbrief;Droogstoppel BV\n${known};artikelen;\n${a};nieuwsbrief;\nfout;nieuwsbrief;\n`;
    const before = await ctx.db
      .selectFrom('consent_events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    const { row, report } = await importCsv(csv, { dryRun: true });
    expect(row).toMatchObject({
      status: 'done',
      dry_run: true,
      created: 1,
      updated: 1,
      skipped: 1,
      errors: 1,
      organisations_created: 1,
    });
    expect(report.map((r) => r.line)).toEqual([4, 5]);
    expect(await subscriber(a)).toBeUndefined();
    expect((await subscriber(known))!.topics).toEqual(['nieuwsbrief']);
    const org = await ctx.db
      .selectFrom('organisations')
      .select('id')
      .where('name', '=', 'Droogstoppel BV')
      .execute();
    expect(org).toEqual([]);
    const after = await ctx.db
      .selectFrom('consent_events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
  });

  it('shows progress while parsing and ends with processed = total (the estimate corrected)', async () => {
    const prefix = `voortgang-${++counter}`;
    // Blank lines and a quoted line break make the line count at upload differ from the records.
    const lines = ['email;naam;onderwerpen', ''];
    for (let i = 1; i <= 5_000; i++)
      lines.push(`${prefix}-${i}@voorbeeld.test;${i === 10 ? '"Twee\nregels"' : `Lid ${i}`};nieuwsbrief`);
    lines.push(';;', '');
    const created = await upload(lines.join('\n'));
    // Counted at upload: the line breaks after the header (blank lines and the break inside quotes too).
    expect(created.total).toBe(5_003);
    const seen: number[] = [];
    const result = await run(created.id, {
      batchRows: 1_000,
      hooks: {
        beforeMerge: async () => {
          const row = await ctx.db
            .selectFrom('imports')
            .select(['processed', 'status'])
            .where('id', '=', created.id)
            .executeTakeFirstOrThrow();
          seen.push(row.processed);
          expect(row.status).toBe('running');
        },
      },
    });
    expect(result.outcome).toBe('done');
    expect(seen).toEqual([5_000]);
    const done = await ctx.db
      .selectFrom('imports')
      .selectAll()
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(done).toMatchObject({ total: 5_000, processed: 5_000, errors: 1, created: 4_999 });
  });

  it('is idempotent: a second run after completion does nothing', async () => {
    const a = address('twee-keer');
    const { id, row } = await importCsv(`email;onderwerpen\n${a};nieuwsbrief\n`);
    expect(row.created).toBe(1);
    expect((await run(id)).outcome).toBe('nothing-to-do');
    const s = await subscriber(a);
    expect(s!.consent).toHaveLength(1);
    const count = await ctx.db.selectFrom('subscribers').select('id').where('email', '=', a).execute();
    expect(count).toHaveLength(1);
  });

  it('a crash inside the merge rolls everything back; the retry imports once, with one consent event each', async () => {
    const emails = [address('crash-a'), address('crash-b'), address('crash-c')];
    const csv = [
      'email;onderwerpen;organisatie',
      ...emails.map((e) => `${e};nieuwsbrief|artikelen;Crash Organisatie`),
    ].join('\n');
    const created = await upload(csv);
    await expect(
      run(created.id, { hooks: { beforeCommit: () => Promise.reject(new Error('worker killed')) } }),
    ).rejects.toThrow('worker killed');
    const half = await ctx.db
      .selectFrom('imports')
      .selectAll()
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(half).toMatchObject({ status: 'running', last_error: 'worker killed' });
    for (const email of emails) expect(await subscriber(email)).toBeUndefined();
    expect(
      await ctx.db.selectFrom('organisations').select('id').where('name', '=', 'Crash Organisatie').execute(),
    ).toEqual([]);

    // A crash between parsing and merging (the staging table is full) is redone from scratch too.
    await expect(
      run(created.id, { hooks: { beforeMerge: () => Promise.reject(new Error('killed again')) } }),
    ).rejects.toThrow();
    const result = await run(created.id);
    expect(result).toMatchObject({ outcome: 'done', counts: { created: 3 } });
    expect((await run(created.id)).outcome).toBe('nothing-to-do');
    for (const email of emails) {
      const s = await subscriber(email);
      expect(s!.consent).toHaveLength(1);
      expect(s!.topics).toEqual(['artikelen', 'nieuwsbrief']);
    }
    const rows = await ctx.db.selectFrom('subscribers').select('id').where('email', 'in', emails).execute();
    expect(rows).toHaveLength(3);
    const report = await ctx.db
      .selectFrom('import_errors')
      .select('line')
      .where('import_id', '=', created.id)
      .execute();
    expect(report).toEqual([]);
    const staging = await sql<{
      n: string;
    }>`select count(*) as n from pg_tables where tablename = ${`import_staging_${created.id}`}`.execute(
      ctx.db,
    );
    expect(staging.rows[0]!.n).toBe('0');
    const row = await ctx.db
      .selectFrom('imports')
      .selectAll()
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(row.run).toBe(3);
  });

  it('a run that was taken over by a later one stops without writing', async () => {
    const a = address('overgenomen');
    const created = await upload(`email;onderwerpen\n${a};nieuwsbrief\n`);
    const result = await run(created.id, {
      hooks: {
        // Another worker picks the same import up while this one is between parsing and merging.
        beforeMerge: async () => {
          await ctx.db
            .updateTable('imports')
            .set((eb) => ({ run: eb('run', '+', 1) }))
            .where('id', '=', created.id)
            .execute();
        },
      },
    });
    expect(result.outcome).toBe('superseded');
    expect(await subscriber(a)).toBeUndefined();
  });

  it('on the last attempt a technical failure marks the import failed', async () => {
    const created = await upload(`email;onderwerpen\n${address('laatste')};nieuwsbrief\n`);
    await expect(
      run(created.id, {
        lastAttempt: true,
        hooks: { beforeMerge: () => Promise.reject(new Error('database gone')) },
      }),
    ).rejects.toThrow();
    const row = await ctx.db
      .selectFrom('imports')
      .selectAll()
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'failed', last_error: 'Technische fout: database gone' });
    expect((await run(created.id)).outcome).toBe('nothing-to-do');
  });
});

describe('housekeeping', () => {
  it('drops old reports, ends runs that died, and removes files and staging tables nobody needs', async () => {
    const old = await importCsv(`email;onderwerpen\nkapot;nieuwsbrief\n${address('oud')};nieuwsbrief\n`);
    expect(old.report).toHaveLength(1);
    const dead = await upload(`email;onderwerpen\n${address('dood')};nieuwsbrief\n`);
    const started = await startImportRun(ctx.db, dead.id, new Date('2026-01-01T00:00:00Z'));
    expect(started).not.toBeNull();
    const queued = await upload(`email;onderwerpen\n${address('wachtend')};nieuwsbrief\n`);

    const now = new Date(Date.now() + 31 * 24 * 60 * 60 * 1000);
    await purgeImports(ctx.db, now);

    const rows = await ctx.db
      .selectFrom('imports')
      .select(['id', 'status', 'created', 'last_error'])
      .where('id', 'in', [old.id, dead.id, queued.id])
      .orderBy('id')
      .execute();
    expect(rows).toEqual([
      { id: old.id, status: 'done', created: 1, last_error: null },
      { id: dead.id, status: 'failed', created: 0, last_error: expect.stringMatching(/onderbroken/) },
      { id: queued.id, status: 'queued', created: 0, last_error: null },
    ]);
    const reports = await ctx.db
      .selectFrom('import_errors')
      .select('import_id')
      .where('import_id', '=', old.id)
      .execute();
    expect(reports).toEqual([]);
    const files = await ctx.db
      .selectFrom('import_files')
      .select('import_id')
      .distinct()
      .where('import_id', 'in', [old.id, dead.id, queued.id])
      .execute();
    expect(files).toEqual([{ import_id: queued.id }]);
    const staging = await sql<{
      n: string;
    }>`select count(*) as n from pg_tables where tablename = ${`import_staging_${dead.id}`}`.execute(ctx.db);
    expect(staging.rows[0]!.n).toBe('0');
    // The queued import still runs normally afterwards.
    expect((await run(queued.id)).outcome).toBe('done');
  });
});
