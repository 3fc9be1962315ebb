import { parse as parseCsv } from 'csv-parse/sync';
import { type RawBuilder, sql } from 'kysely';
import type { DbOrTx } from '../db/connection.js';
import type {
  Import,
  ImportEncoding,
  ImportSeparator,
  LawfulBasis,
  Locale,
  SubscriberStatus,
} from '../db/schema.js';
import { audit } from './audit.js';
import type { Principal } from './auth.js';
import { normaliseEmail } from './email-address.js';
import { DomainError, Invalid, NotFound } from './errors.js';
import { enqueue } from './outbox.js';

/**
 * CSV import and export of subscribers.
 *
 * Import, in three steps that each keep memory independent of the file size:
 * 1. Upload (API, one transaction): the bytes go into `import_files` in chunks of about 1 MB while
 *    they stream in; the header line, the encoding and a line count are checked on the way; then
 *    the `imports` row and an outbox row `imports/run-import` are written.
 * 2. Parse (worker, `jobs/processors/subscriber-import.ts`): the chunks stream through csv-parse;
 *    each record is checked here (`validateRecord`) and staged in batches into an UNLOGGED table of
 *    the import's own, invalid lines into `import_errors`; `processed` shows the progress.
 * 3. Merge (worker, one transaction, `mergeImport`): set-based SQL classifies every staged line
 *    (duplicate in the file, suppressed, unsubscribed/bounced/complained, new, existing) and, unless
 *    it is a dry run, creates and updates subscribers, subscriptions, organisations and consent
 *    events. A run is redone from a clean staging table, and the import is marked done in the same
 *    transaction as the merge, so a retry after a crash never doubles anything.
 */

export const IMPORT_QUEUE = 'imports';
export const IMPORT_JOB = 'run-import';
export const IMPORT_MAX_BYTES = 50 * 1024 * 1024;
export const IMPORT_CHUNK_BYTES = 1024 * 1024;
/** One CSV record may not be longer than this (a quote left open would otherwise swallow the file). */
export const IMPORT_MAX_RECORD_BYTES = 64 * 1024;
export const LAWFUL_BASES = [
  'consent',
  'legitimate_interest',
  'contract',
  'public_task',
] as const satisfies readonly LawfulBasis[];
export const EXPORT_COLUMNS = ['email', 'name', 'locale', 'topics', 'organisation'] as const;

const HEADER_MAX_BYTES = 64 * 1024;
const MAX_NAME_LENGTH = 200;
const MAX_REPORTED_VALUE = 200;

export class UploadTooLarge extends DomainError {
  constructor() {
    super(
      `The file is larger than ${IMPORT_MAX_BYTES / 1024 / 1024} MB; split it into smaller files.`,
      413,
      'Payload too large',
    );
  }
}

/** The stored file cannot be read as CSV (a quote never closed, a record too long): nothing is imported. */
export class ImportFileError extends Error {}

/** Another run of the same import took over (a stalled job ran twice); this run stops without writing. */
export class ImportSuperseded extends Error {}

// ---------------------------------------------------------------------------------------------
// Columns

export type ImportColumn = (typeof EXPORT_COLUMNS)[number];
export interface ColumnMap {
  email: number;
  name: number | null;
  locale: number | null;
  topics: number | null;
  organisation: number | null;
  /** Number of columns in the header line. */
  width: number;
  /** Header names that are not one of ours; their values are ignored. */
  ignored: string[];
}

/** Header names, compared lower-case without spaces, dashes, dots and underscores; Dutch too. */
const COLUMN_ALIASES: Record<string, ImportColumn> = {
  email: 'email',
  emailadres: 'email',
  emailaddress: 'email',
  mail: 'email',
  mailadres: 'email',
  name: 'name',
  naam: 'name',
  fullname: 'name',
  volledigenaam: 'name',
  locale: 'locale',
  taal: 'locale',
  language: 'locale',
  lang: 'locale',
  topics: 'topics',
  topic: 'topics',
  onderwerpen: 'topics',
  onderwerp: 'topics',
  organisation: 'organisation',
  organization: 'organisation',
  organisatie: 'organisation',
  org: 'organisation',
};

/** Maps header names to our columns; throws Invalid (field `file`) without an email column or with one twice. */
export function mapHeader(names: string[]): ColumnMap {
  const found: Partial<Record<ImportColumn, number>> = {};
  const ignored: string[] = [];
  names.forEach((raw, index) => {
    const name = raw.replace(/^\uFEFF/, '').trim();
    const column = COLUMN_ALIASES[name.toLowerCase().replace(/[\s_.-]/g, '')];
    if (!column) {
      if (name !== '') ignored.push(name.slice(0, 100));
      return;
    }
    if (found[column] !== undefined) {
      throw new Invalid('The header line names a column twice.', [
        { field: 'file', message: `De kolom "${column}" staat twee keer in de eerste regel ("${name}").` },
      ]);
    }
    found[column] = index;
  });
  if (found.email === undefined) {
    throw new Invalid('The file has no email column.', [
      {
        field: 'file',
        message:
          'De eerste regel moet de kolommen noemen, met ten minste een kolom e-mail: e-mail;naam;taal;onderwerpen;organisatie (Engelse namen mogen ook: email;name;locale;topics;organisation).',
      },
    ]);
  }
  return {
    email: found.email,
    name: found.name ?? null,
    locale: found.locale ?? null,
    topics: found.topics ?? null,
    organisation: found.organisation ?? null,
    width: names.length,
    ignored,
  };
}

/** `;` when the header line has more semicolons than commas outside quotes (Dutch Excel), else `,`. */
export function detectSeparator(headerLine: string): ImportSeparator {
  let semicolons = 0;
  let commas = 0;
  let quoted = false;
  for (const char of headerLine) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && char === ';') semicolons++;
    else if (!quoted && char === ',') commas++;
  }
  return semicolons > commas ? ';' : ',';
}

export function parseHeaderLine(headerLine: string, separator: ImportSeparator): string[] {
  const records = parseCsv(headerLine, {
    delimiter: separator,
    relax_quotes: true,
    relax_column_count: true,
    to_line: 1,
  }) as string[][];
  return records[0] ?? [];
}

// ---------------------------------------------------------------------------------------------
// Upload (API side): streamed into Postgres, checked on the way

export interface ImportOptions {
  lawfulBasis: LawfulBasis;
  dryRun: boolean;
  /** Topic slugs for rows without topics. */
  defaultTopics: string[];
  /** Locale for rows without one (else `nl`). */
  defaultLocale: Locale | null;
}

export interface InspectedFile {
  sizeBytes: number;
  encoding: ImportEncoding;
  separator: ImportSeparator;
  columns: ColumnMap;
  /** Data lines counted while uploading (line breaks); corrected to the exact record count by the run. */
  estimatedRows: number;
}

const fileError = (message: string) =>
  new Invalid('The file cannot be imported.', [{ field: 'file', message }]);

const withoutBom = (bytes: Buffer) =>
  bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;

/**
 * Looks at an upload as it streams past, in constant memory: the first line (the header), whether
 * the bytes are valid UTF-8 (else they are read as Windows-1252, what Excel's plain "CSV" writes),
 * the number of line breaks, and the signatures of files that are not CSV at all.
 */
export class UploadInspector {
  size = 0;
  private newlines = 0;
  /** Counted only while no LF has been seen: files with old Mac line ends (CR alone). */
  private carriageReturns = 0;
  private lastByte = -1;
  private readonly head: number[] = [];
  private readonly headerParts: Buffer[] = [];
  private headerBytes = 0;
  private headerDone = false;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  private validUtf8 = true;

  write(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (this.head.length < 4) {
      for (let i = 0; i < view.length && this.head.length < 4; i++) this.head.push(view[i]!);
      if (this.head.length >= 2) this.checkSignature();
    }
    let newline = view.indexOf(10);
    if (!this.headerDone) {
      const cr = view.indexOf(13);
      const ends = [newline, cr].filter((at) => at !== -1);
      const end = ends.length > 0 ? Math.min(...ends) : view.length;
      this.headerParts.push(Buffer.from(view.subarray(0, end)));
      this.headerBytes += end;
      if (end < view.length) {
        this.headerDone = true;
        // Plain ASCII reads the same in either encoding: refuse a wrong header before the rest arrives.
        const header = withoutBom(Buffer.concat(this.headerParts));
        if (header.every((byte) => byte < 0x80)) this.columnsOf(header.toString('latin1'));
      } else if (this.headerBytes > HEADER_MAX_BYTES) {
        throw fileError('De eerste regel (de kolomnamen) is te lang.');
      }
    }
    while (newline !== -1) {
      this.newlines++;
      newline = view.indexOf(10, newline + 1);
    }
    if (this.newlines === 0) {
      for (let at = view.indexOf(13); at !== -1; at = view.indexOf(13, at + 1)) this.carriageReturns++;
    }
    if (this.validUtf8) {
      try {
        this.utf8.decode(view, { stream: true });
      } catch {
        this.validUtf8 = false;
      }
    }
    this.size += view.length;
    this.lastByte = view[view.length - 1]!;
  }

  private columnsOf(headerLine: string): { separator: ImportSeparator; columns: ColumnMap } {
    const line = headerLine.replace(/^\uFEFF/, '');
    if (line.trim() === '') {
      throw fileError(
        'De eerste regel moet de kolommen noemen, bijvoorbeeld e-mail;naam;taal;onderwerpen;organisatie.',
      );
    }
    const separator = detectSeparator(line);
    return { separator, columns: mapHeader(parseHeaderLine(line, separator)) };
  }

  private checkSignature(): void {
    const [a, b, c, d] = this.head;
    const excel =
      'Dit is een Excel-werkmap, geen CSV-bestand: kies in Excel Opslaan als > "CSV UTF-8 (door komma\'s gescheiden)".';
    if (a === 0x50 && b === 0x4b && (c === undefined || c === 0x03)) throw fileError(excel);
    if (a === 0xd0 && b === 0xcf && (c === undefined || (c === 0x11 && (d === undefined || d === 0xe0)))) {
      throw fileError(excel);
    }
    if ((a === 0xff && b === 0xfe) || (a === 0xfe && b === 0xff)) {
      throw fileError('Het bestand is UTF-16 ("Unicode-tekst"); sla het op als "CSV UTF-8".');
    }
  }

  finish(): InspectedFile {
    if (this.size === 0) throw fileError('Het bestand is leeg.');
    if (this.validUtf8) {
      try {
        this.utf8.decode();
      } catch {
        this.validUtf8 = false;
      }
    }
    const header = Buffer.concat(this.headerParts);
    const bom = header[0] === 0xef && header[1] === 0xbb && header[2] === 0xbf;
    if (bom && !this.validUtf8) {
      throw fileError(
        'Het bestand zegt UTF-8 te zijn (het begint met een byte order mark) maar is geen geldige UTF-8.',
      );
    }
    const encoding: ImportEncoding = this.validUtf8 ? 'utf-8' : 'windows-1252';
    // Latin-1 for a Windows-1252 header: they differ only in 0x80-0x9F (no letters of column names),
    // and not every runtime's TextDecoder has windows-1252 (the worker, on Node, decodes the rows).
    const headerLine = (encoding === 'utf-8' ? header.toString('utf8') : header.toString('latin1'))
      .replace(/^\uFEFF/, '')
      .replace(/\r$/, '');
    const { separator, columns } = this.columnsOf(headerLine);
    const [breaks, last] = this.newlines > 0 ? [this.newlines, 10] : [this.carriageReturns, 13];
    const estimatedRows = Math.max(0, breaks + (this.lastByte === last ? 0 : 1) - 1);
    if (estimatedRows === 0) throw fileError('Het bestand heeft een kopregel maar geen regels daaronder.');
    return { sizeBytes: this.size, encoding, separator, columns, estimatedRows };
  }
}

/**
 * An upload in progress, inside the caller's transaction: `begin`, `write` the bytes as they
 * arrive, then `finish` with the options. Throws Invalid, UploadTooLarge (the caller rolls back).
 */
export class ImportUpload {
  readonly inspector = new UploadInspector();
  private buffer: Buffer | null = null;
  private used = 0;
  private chunkNo = 0;

  private constructor(
    private readonly tx: DbOrTx,
    readonly id: string,
  ) {}

  /** Reserves the import id; the `imports` row itself is written by `finish`. */
  static async begin(tx: DbOrTx): Promise<ImportUpload> {
    const { rows } = await sql<{
      id: string;
    }>`select nextval(pg_get_serial_sequence('imports', 'id'))::text as id`.execute(tx);
    return new ImportUpload(tx, rows[0]!.id);
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.inspector.size + bytes.byteLength > IMPORT_MAX_BYTES) throw new UploadTooLarge();
    this.inspector.write(bytes);
    let offset = 0;
    while (offset < bytes.byteLength) {
      this.buffer ??= Buffer.allocUnsafe(IMPORT_CHUNK_BYTES);
      const n = Math.min(bytes.byteLength - offset, IMPORT_CHUNK_BYTES - this.used);
      this.buffer.set(bytes.subarray(offset, offset + n), this.used);
      this.used += n;
      offset += n;
      if (this.used === IMPORT_CHUNK_BYTES) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    if (!this.buffer || this.used === 0) return;
    const data = this.buffer.subarray(0, this.used);
    this.buffer = null;
    this.used = 0;
    await this.tx
      .insertInto('import_files')
      .values({ import_id: this.id, chunk_no: this.chunkNo++, data })
      .execute();
  }

  async finish(
    options: ImportOptions,
    meta: { filename: string | null; actor: Principal | null },
  ): Promise<Import> {
    await this.flush();
    const file = this.inspector.finish();
    const topics = await loadTopicIndex(this.tx);
    const unknown = options.defaultTopics.filter((slug) => !topics.has(slug.trim().toLowerCase()));
    if (unknown.length > 0) {
      throw new Invalid('Unknown topic.', [
        { field: 'defaultTopics', message: `Onbekend of gearchiveerd onderwerp: ${unknown.join(', ')}.` },
      ]);
    }
    const defaultTopicIds = [
      ...new Set(options.defaultTopics.map((slug) => topics.get(slug.trim().toLowerCase())!)),
    ];
    const row = await this.tx
      .insertInto('imports')
      .values({
        id: this.id,
        dry_run: options.dryRun,
        lawful_basis: options.lawfulBasis,
        default_topic_ids: defaultTopicIds,
        default_locale: options.defaultLocale,
        filename: meta.filename?.slice(0, 255) ?? null,
        size_bytes: file.sizeBytes,
        encoding: file.encoding,
        separator: file.separator,
        ignored_columns: file.columns.ignored,
        total: file.estimatedRows,
        created_by: meta.actor?.user.id ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await enqueue(this.tx, {
      queue: IMPORT_QUEUE,
      jobName: IMPORT_JOB,
      jobId: `import-${this.id}`,
      payload: { importId: this.id },
    });
    await audit(this.tx, meta.actor, 'subscriber.import', `import:${this.id}`, {
      dryRun: options.dryRun,
      lawfulBasis: options.lawfulBasis,
      sizeBytes: file.sizeBytes,
      estimatedRows: file.estimatedRows,
    });
    return row;
  }
}

/** Stores a whole CSV at once (CLI, tests, benchmarks); the API streams through ImportUpload instead. */
export async function createImport(
  tx: DbOrTx,
  csv: string | Uint8Array,
  options: ImportOptions,
  meta: { filename?: string | null; actor?: Principal | null } = {},
): Promise<Import> {
  const upload = await ImportUpload.begin(tx);
  const bytes = typeof csv === 'string' ? Buffer.from(csv, 'utf8') : csv;
  for (let offset = 0; offset < bytes.byteLength; offset += IMPORT_CHUNK_BYTES) {
    await upload.write(bytes.subarray(offset, offset + IMPORT_CHUNK_BYTES));
  }
  return upload.finish(options, { filename: meta.filename ?? null, actor: meta.actor ?? null });
}

// ---------------------------------------------------------------------------------------------
// Status

export async function getImport(db: DbOrTx, id: string): Promise<Import> {
  const row = await db.selectFrom('imports').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFound('Deze import bestaat niet (meer).');
  return row;
}

/** The latest imports, newest first (the admin's list; reports older than 30 days are gone). */
export function listImports(db: DbOrTx, limit = 20): Promise<Import[]> {
  return db.selectFrom('imports').selectAll().orderBy('id', 'desc').limit(limit).execute();
}

/** The import as the API shows it; `progress` is processed / total (total is exact once done). */
export function importView(row: Import) {
  const total = row.total;
  return {
    id: row.id,
    status: row.status,
    dryRun: row.dry_run,
    lawfulBasis: row.lawful_basis,
    filename: row.filename,
    sizeBytes: Number(row.size_bytes),
    encoding: row.encoding,
    separator: row.separator,
    ignoredColumns: row.ignored_columns,
    defaultLocale: row.default_locale,
    total,
    processed: row.processed,
    progress: row.status === 'done' ? 1 : total > 0 ? Math.min(1, row.processed / total) : 0,
    created: row.created,
    updated: row.updated,
    unchanged: row.unchanged,
    skipped: row.skipped,
    errors: row.errors,
    organisationsCreated: row.organisations_created,
    error: row.last_error,
    createdAt: row.created_at.toISOString(),
    startedAt: row.started_at?.toISOString() ?? null,
    finishedAt: row.finished_at?.toISOString() ?? null,
  };
}

/** The per-line report, in pages by line (keyset), for streaming. */
export async function* importErrorPages(db: DbOrTx, importId: string, pageSize = 2000) {
  let after = { line: -1, id: '0' };
  for (;;) {
    const rows = await db
      .selectFrom('import_errors')
      .select(['id', 'line', 'value', 'reason'])
      .where('import_id', '=', importId)
      .where((eb) =>
        eb.or([eb('line', '>', after.line), eb.and([eb('line', '=', after.line), eb('id', '>', after.id)])]),
      )
      .orderBy('line')
      .orderBy('id')
      .limit(pageSize)
      .execute();
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1]!;
    after = { line: last.line, id: last.id };
  }
}

// ---------------------------------------------------------------------------------------------
// Checking one record (worker side, pure)

/** Lower-cased slugs and names (nl, en) of the active topics → topic id. */
export async function loadTopicIndex(db: DbOrTx): Promise<Map<string, string>> {
  const topics = await db
    .selectFrom('topics')
    .select(['id', 'slug', 'name_nl', 'name_en'])
    .where('archived_at', 'is', null)
    .orderBy('id')
    .execute();
  const index = new Map<string, string>();
  // Names first, so that a slug wins where a name of one topic is the slug of another.
  for (const topic of topics) {
    index.set(topic.name_nl.trim().toLowerCase(), topic.id);
    index.set(topic.name_en.trim().toLowerCase(), topic.id);
  }
  for (const topic of topics) index.set(topic.slug.toLowerCase(), topic.id);
  return index;
}

export interface RecordRules {
  columns: ColumnMap;
  topics: Map<string, string>;
  defaultTopicIds: string[];
  defaultLocale: Locale;
}

export interface StagedRow {
  email: string;
  name: string | null;
  locale: Locale;
  /** Postgres array literal of topic ids, e.g. `{1,3}`. */
  topicIds: string;
  organisation: string | null;
}

export interface RowProblem {
  value: string;
  reason: string;
}

export type RecordResult =
  | { kind: 'row'; row: StagedRow }
  | { kind: 'invalid'; problems: RowProblem[] }
  | { kind: 'blank' };

const BLANK: RecordResult = { kind: 'blank' };

/** A line break, tab or other control character (C0 or DEL). */
function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
const FORMULA_ESCAPED = /^'[=+\-@\t\r]/;

/** Our export writes a `'` before a leading =, +, -, @ (against spreadsheet formulas); undo it. */
function unescapeFormula(value: string): string {
  return FORMULA_ESCAPED.test(value) ? value.slice(1) : value;
}

export function reportValue(value: string): string {
  const trimmed = value.trim();
  return trimmed.length > MAX_REPORTED_VALUE ? `${trimmed.slice(0, MAX_REPORTED_VALUE)}…` : trimmed;
}

function textField(raw: string | undefined, label: string, problems: RowProblem[]): string | null {
  if (raw === undefined) return null;
  const value = unescapeFormula(raw.trim());
  if (value === '') return null;
  if (value.length > MAX_NAME_LENGTH) {
    problems.push({
      value: reportValue(value),
      reason: `${label} is te lang (hoogstens ${MAX_NAME_LENGTH} tekens).`,
    });
    return null;
  }
  if (hasControlCharacter(value)) {
    problems.push({
      value: reportValue(value),
      reason: `${label} bevat een regeleinde of een ander stuurteken.`,
    });
    return null;
  }
  return value;
}

/**
 * One CSV record (fields as parsed) to a staged row, or the problems with it. A record whose fields
 * are all empty (Excel's `;;;;` lines) is `blank` and skipped silently.
 */
export function validateRecord(fields: string[], rules: RecordRules): RecordResult {
  const { columns } = rules;
  const rawEmail = fields[columns.email] ?? '';
  if (rawEmail.trim() === '' && fields.every((field) => field.trim() === '')) return BLANK;
  const problems: RowProblem[] = [];

  if (fields.length > columns.width) {
    const extra = fields.slice(columns.width).filter((field) => field.trim() !== '');
    if (extra.length > 0) {
      problems.push({
        value: reportValue(extra.join(' ')),
        reason:
          'Meer waarden dan kolommen in de kopregel: staat het scheidingsteken in een waarde zonder aanhalingstekens?',
      });
    }
  }

  const emailInput = unescapeFormula(rawEmail.trim());
  const normalised = normaliseEmail(emailInput);
  if (!normalised.ok) problems.push({ value: reportValue(emailInput), reason: normalised.reason });

  const name = textField(columns.name === null ? undefined : fields[columns.name], 'De naam', problems);
  const organisation = textField(
    columns.organisation === null ? undefined : fields[columns.organisation],
    'De organisatie',
    problems,
  );

  let locale = rules.defaultLocale;
  const rawLocale = columns.locale === null ? '' : (fields[columns.locale] ?? '').trim();
  if (rawLocale !== '') {
    const match = /^(nl|en)(?:[-_][a-z]{2})?$/i.exec(rawLocale);
    if (match) locale = match[1]!.toLowerCase() as Locale;
    else problems.push({ value: reportValue(rawLocale), reason: 'Onbekende taal: gebruik nl of en.' });
  }

  let topicIds = rules.defaultTopicIds;
  const rawTopics = columns.topics === null ? '' : (fields[columns.topics] ?? '').trim();
  if (rawTopics !== '') {
    const ids = new Set<string>();
    const unknown: string[] = [];
    for (const part of rawTopics.split(/[|,;]/)) {
      const ref = part.trim().toLowerCase();
      if (ref === '') continue;
      const id = rules.topics.get(ref);
      if (id) ids.add(id);
      else unknown.push(part.trim());
    }
    if (unknown.length > 0) {
      problems.push({
        value: reportValue(unknown.join('|')),
        reason: 'Onbekend onderwerp (gebruik de korte naam, bijvoorbeeld nieuwsbrief).',
      });
    }
    topicIds = [...ids];
  }

  if (problems.length > 0 || !normalised.ok) return { kind: 'invalid', problems };
  return {
    kind: 'row',
    row: {
      email: normalised.email,
      name,
      locale,
      topicIds: `{${topicIds.join(',')}}`,
      organisation,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Running an import (worker side)

export interface ImportRun {
  id: string;
  run: number;
  dryRun: boolean;
  lawfulBasis: LawfulBasis;
  encoding: ImportEncoding;
  separator: ImportSeparator;
  sizeBytes: number;
  defaultTopicIds: string[];
  defaultLocale: Locale;
  createdBy: string | null;
}

const stagingTable = (importId: string) => {
  if (!/^\d+$/.test(importId)) throw new Error(`not an import id: ${importId}`);
  return sql.table(`import_staging_${importId}`);
};

/**
 * Starts (or restarts) a run: takes the import over from any earlier run, clears its report and
 * creates an empty staging table. Returns null when there is nothing to do (done, failed, gone).
 */
export async function startImportRun(db: DbOrTx, importId: string, now: Date): Promise<ImportRun | null> {
  const row = await db
    .updateTable('imports')
    .set((eb) => ({
      status: 'running',
      run: eb('run', '+', 1),
      started_at: now,
      processed: 0,
      errors: 0,
      last_error: null,
    }))
    .where('id', '=', importId)
    .where('status', 'in', ['queued', 'running'])
    .returningAll()
    .executeTakeFirst();
  if (!row) return null;
  const staging = stagingTable(importId);
  await db.deleteFrom('import_errors').where('import_id', '=', importId).execute();
  await sql`drop table if exists ${staging}`.execute(db);
  await sql`
    create unlogged table ${staging} (
      line integer not null,
      email text not null,
      email_key text not null,
      email_hash text not null,
      name text,
      locale text not null,
      topic_ids bigint[] not null,
      organisation text,
      organisation_key text,
      details jsonb not null
    )`.execute(db);
  const topics = await loadTopicIndex(db);
  const active = new Set(topics.values());
  return {
    id: row.id,
    run: row.run,
    dryRun: row.dry_run,
    lawfulBasis: row.lawful_basis,
    encoding: row.encoding,
    separator: row.separator,
    sizeBytes: Number(row.size_bytes),
    // A default topic archived since the upload is left out rather than revived.
    defaultTopicIds: row.default_topic_ids.map(String).filter((id) => active.has(id)),
    defaultLocale: row.default_locale ?? 'nl',
    createdBy: row.created_by,
  };
}

/** The stored file's chunk count, checked against the size recorded at upload. */
export async function importChunkCount(db: DbOrTx, run: ImportRun): Promise<number> {
  const stats = await db
    .selectFrom('import_files')
    .select((eb) => [
      eb.fn.countAll<string>().as('chunks'),
      sql<string | null>`sum(octet_length(data))`.as('bytes'),
      eb.fn.max('chunk_no').as('last'),
    ])
    .where('import_id', '=', run.id)
    .executeTakeFirstOrThrow();
  const chunks = Number(stats.chunks);
  if (Number(stats.bytes ?? 0) !== run.sizeBytes || (chunks > 0 && Number(stats.last) !== chunks - 1)) {
    throw new ImportFileError('Het opgeslagen bestand is onvolledig; laad het opnieuw op.');
  }
  return chunks;
}

export async function readImportChunk(db: DbOrTx, importId: string, chunkNo: number): Promise<Buffer> {
  const row = await db
    .selectFrom('import_files')
    .select('data')
    .where('import_id', '=', importId)
    .where('chunk_no', '=', chunkNo)
    .executeTakeFirstOrThrow();
  return row.data;
}

/** One batch of parsed records, column by column (sent to Postgres as arrays, unnested there). */
export class StagingBatch {
  lines: number[] = [];
  emails: string[] = [];
  names: (string | null)[] = [];
  locales: string[] = [];
  topicIds: string[] = [];
  organisations: (string | null)[] = [];
  errorLines: number[] = [];
  errorValues: string[] = [];
  errorReasons: string[] = [];

  get size(): number {
    return this.lines.length + this.errorLines.length;
  }

  add(line: number, result: RecordResult): void {
    if (result.kind === 'row') {
      const { row } = result;
      this.lines.push(line);
      this.emails.push(row.email);
      this.names.push(row.name);
      this.locales.push(row.locale);
      this.topicIds.push(row.topicIds);
      this.organisations.push(row.organisation);
    } else if (result.kind === 'invalid') {
      for (const problem of result.problems) {
        this.errorLines.push(line);
        this.errorValues.push(problem.value);
        this.errorReasons.push(problem.reason);
      }
    }
  }
}

/**
 * Writes a batch to the staging table and the report, and the progress, in one statement. Throws
 * ImportSuperseded when a later run has taken the import over.
 *
 * What the merge needs per line and can be worked out from the line alone is computed here, not
 * in the merge: the lower-cased address (the key of duplicates and of existing subscribers), its
 * suppression-list hash, the organisation's key and the consent event's details. These statements
 * run on one core while the worker parses the next batch on the other; the merge, one statement
 * after another in one transaction, is what the import waits for.
 */
export async function stageImportBatch(
  db: DbOrTx,
  run: ImportRun,
  batch: StagingBatch,
  progress: { processed: number; errors: number },
): Promise<void> {
  const result = await sql<{ id: string }>`
    with staged as (
      insert into ${stagingTable(run.id)}
        (line, email, email_key, email_hash, name, locale, topic_ids, organisation, organisation_key, details)
      select l, e, lower(e), ${emailHashSql(sql`e`)}, n, lo, t::bigint[], o, lower(o),
             jsonb_build_object('import', ${run.id}::bigint, 'line', l, 'topics', to_jsonb(t::bigint[]))
      from unnest(${batch.lines}::int[], ${batch.emails}::text[], ${batch.names}::text[],
                  ${batch.locales}::text[], ${batch.topicIds}::text[], ${batch.organisations}::text[])
        as r(l, e, n, lo, t, o)
    ), reported as (
      insert into import_errors (import_id, line, value, reason)
      select ${run.id}::bigint, l, v, r
      from unnest(${batch.errorLines}::int[], ${batch.errorValues}::text[], ${batch.errorReasons}::text[]) as e(l, v, r)
    )
    update imports set processed = ${progress.processed}, errors = ${progress.errors}
    where id = ${run.id} and run = ${run.run}
    returning id`.execute(db);
  if (result.rows.length === 0) throw new ImportSuperseded();
}

export interface ImportCounts {
  total: number;
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
  errors: number;
  organisationsCreated: number;
}

const SUBSCRIBER_STATES_NL: Record<string, string> = {
  unsubscribed: 'afgemeld',
  bounced: 'onbestelbaar (bounce)',
  complained: 'klacht over ongewenste mail',
  erased: 'gegevens gewist op verzoek',
  manual: 'handmatig geblokkeerd',
};

const dutch = (column: RawBuilder<unknown>) =>
  sql`case ${column} ${sql.join(
    Object.entries(SUBSCRIBER_STATES_NL).map(([key, text]) => sql`when ${key} then ${text}`),
    sql` `,
  )} else ${column} end`;

/**
 * The suppression-list key of an address, computed by Postgres: the same as `emailHash` in
 * email-address.ts (sha256 of `suppression:` + the lower-cased address; a normalised address is
 * ASCII, so lower() and toLowerCase() agree). A test keeps the two equal.
 */
export const emailHashSql = (email: RawBuilder<unknown>) =>
  sql<string>`encode(sha256(convert_to('suppression:' || lower(${email}), 'UTF8')), 'hex')`;

/**
 * Classifies every staged line and, unless it is a dry run, applies it; reports skipped lines and
 * records the counts; marks the import done. One transaction: all or nothing. Set-based throughout.
 *
 * - duplicate: a later line with the same address (case-insensitive); the first line wins
 * - suppressed: the address's hash is on the suppression list (never re-subscribed)
 * - blocked: an existing subscriber who unsubscribed, bounced or complained (never re-subscribed)
 * - no-topics: a new address without topics (and no default topics)
 * - create: a new subscriber, `active`, source `import`, with an `imported` consent event
 * - update / unchanged: an existing active or pending subscriber: the file's topics are added
 *   (never removed), an empty name and organisation filled in; status and locale stay as they are
 *
 * New subscribers get their ids from the sequence while being classified, so that subscriptions
 * and consent events are written straight from the plan. Someone signing up with one of the new
 * addresses while this runs makes the insert fail on the unique index: the transaction rolls back
 * and the job's retry classifies that address as existing.
 */
export async function mergeImport(
  db: DbOrTx,
  run: ImportRun,
  parsed: { records: number; errors: number },
  options: { now: Date; beforeCommit?: () => Promise<void> | void },
): Promise<ImportCounts> {
  const exec = async (tx: DbOrTx) => {
    const locked = await tx
      .selectFrom('imports')
      .select(['run', 'status'])
      .where('id', '=', run.id)
      .forUpdate()
      .executeTakeFirst();
    if (!locked || locked.run !== run.run || locked.status !== 'running') throw new ImportSuperseded();
    const staging = stagingTable(run.id);
    const source = `import:${run.id}`;
    // The plan sorts the whole file by address twice: in memory rather than in temp files (8 MB
    // per 100,000 lines). For this transaction only.
    await sql`set local work_mem = '64MB'`.execute(tx);
    // The row count (and the key's distinct count) for the planner; the other columns' statistics
    // would cost a sort each and steer nothing.
    await sql`analyze ${staging} (email_key)`.execute(tx);
    // Ordered by address key, so that new ids follow it: the subscribers' indexes on id and on
    // lower(email) then both grow at their right end, and so do the later inserts, which read the
    // plan in this (physical) order.
    await sql`
      create temp table import_plan on commit drop as
      select c.*,
             case when c.outcome = 'create' then nextval(pg_get_serial_sequence('subscribers', 'id')) end as new_id
      from (
        select s.line, s.email, s.email_key, s.name, s.locale, s.topic_ids, s.organisation,
               s.organisation_key, s.details, s.first_line,
               sub.id as subscriber_id, sub.status as existing_status, sub.organisation_id as existing_org,
               sup.reason as suppression,
               case
                 when s.line <> s.first_line then 'duplicate'
                 when sup.reason is not null then 'suppressed'
                 when sub.status in ('unsubscribed', 'bounced', 'complained') then 'blocked'
                 when sub.id is null and cardinality(s.topic_ids) = 0 then 'no-topics'
                 when sub.id is null then 'create'
                 when (coalesce(sub.name, '') = '' and s.name is not null)
                   or (sub.organisation_id is null and s.organisation is not null)
                   or exists (
                     select 1 from unnest(s.topic_ids) as t(topic_id)
                     where not exists (
                       select 1 from subscriptions x where x.subscriber_id = sub.id and x.topic_id = t.topic_id))
                   then 'update'
                 else 'unchanged'
               end as outcome
        from (select *, min(line) over (partition by email_key) as first_line from ${staging}) s
        left join subscribers sub on lower(sub.email) = s.email_key
        left join suppressions sup on sup.email_hash = s.email_hash
      ) c
      order by c.email_key`.execute(tx);

    // Each new organisation as spelled on the first line naming it (a hash aggregate over the
    // plan, then that line again; lines are unique).
    const organisations = sql`
      with firsts as (
        select p.organisation_key, min(p.line) as line
        from import_plan p
        where p.organisation_key is not null
          and (p.outcome = 'create' or (p.outcome = 'update' and p.existing_org is null))
        group by p.organisation_key
      )
      select p.organisation as name
      from firsts f
      join import_plan p on p.line = f.line
      where not exists (select 1 from organisations o where lower(o.name) = f.organisation_key)`;
    let organisationsCreated: number;
    if (run.dryRun) {
      const { rows } = await sql<{ n: string }>`select count(*) as n from (${organisations}) o`.execute(tx);
      organisationsCreated = Number(rows[0]!.n);
    } else {
      const { rows } = await sql<{ id: string }>`
        insert into organisations (name, kind)
        select name, 'overig' from (${organisations}) o
        on conflict do nothing
        returning id`.execute(tx);
      organisationsCreated = rows.length;

      await sql`
        insert into subscribers (id, email, name, locale, status, source, organisation_id)
        overriding system value
        select p.new_id, p.email, p.name, p.locale, 'active', 'import', o.id
        from import_plan p
        left join organisations o on lower(o.name) = p.organisation_key
        where p.outcome = 'create'`.execute(tx);
      await sql`
        insert into subscriptions (subscriber_id, topic_id)
        select p.new_id, t.topic_id
        from import_plan p
        cross join lateral unnest(p.topic_ids) as t(topic_id)
        where p.outcome = 'create'`.execute(tx);
      // details: {import, line, topics}, built while staging.
      await sql`
        insert into consent_events (subscriber_id, kind, lawful_basis, source, details)
        select p.new_id, 'imported', ${run.lawfulBasis}, ${source}, p.details
        from import_plan p
        where p.outcome = 'create'`.execute(tx);

      await sql`
        with added as (
          insert into subscriptions (subscriber_id, topic_id)
          select p.subscriber_id, t.topic_id
          from import_plan p
          join subscribers s on s.id = p.subscriber_id and s.status in ('active', 'pending')
          cross join lateral unnest(p.topic_ids) as t(topic_id)
          where p.outcome = 'update'
          order by p.subscriber_id, t.topic_id
          on conflict do nothing
          returning subscriber_id, topic_id
        ), consented as (
          insert into consent_events (subscriber_id, kind, lawful_basis, source, details)
          select a.subscriber_id, 'imported', ${run.lawfulBasis}, ${source},
                 jsonb_build_object('import', ${run.id}::bigint, 'topicsAdded', jsonb_agg(a.topic_id order by a.topic_id))
          from added a
          group by a.subscriber_id
        )
        update subscribers s set
          name = case when coalesce(s.name, '') = '' then coalesce(p.name, s.name) else s.name end,
          organisation_id = coalesce(s.organisation_id, o.id),
          updated_at = ${options.now}
        from import_plan p
        left join organisations o on lower(o.name) = p.organisation_key
        where s.id = p.subscriber_id and p.outcome = 'update' and s.status in ('active', 'pending')`.execute(
        tx,
      );
    }

    await sql`
      insert into import_errors (import_id, line, value, reason)
      select ${run.id}::bigint, p.line, p.email,
             case p.outcome
               when 'duplicate' then 'Dubbel in het bestand: regel ' || p.first_line || ' gaat voor.'
               when 'suppressed' then 'Staat op de blokkeerlijst (' || ${dutch(sql`p.suppression`)} || '); niet aangemeld.'
               when 'blocked' then 'Bestaande abonnee is ' || ${dutch(sql`p.existing_status`)} || '; niet opnieuw aangemeld.'
               else 'Geen onderwerpen: vul de kolom onderwerpen in of kies standaardonderwerpen.'
             end
      from import_plan p
      where p.outcome in ('duplicate', 'suppressed', 'blocked', 'no-topics')`.execute(tx);

    const { rows: outcomes } = await sql<{ outcome: string; n: string }>`
      select outcome, count(*) as n from import_plan group by outcome`.execute(tx);
    const count = (...names: string[]) =>
      outcomes.filter((row) => names.includes(row.outcome)).reduce((sum, row) => sum + Number(row.n), 0);
    const counts: ImportCounts = {
      total: parsed.records,
      created: count('create'),
      updated: count('update'),
      unchanged: count('unchanged'),
      skipped: count('duplicate', 'suppressed', 'blocked'),
      errors: parsed.errors + count('no-topics'),
      organisationsCreated,
    };

    await tx
      .updateTable('imports')
      .set({
        status: 'done',
        total: counts.total,
        processed: counts.total,
        created: counts.created,
        updated: counts.updated,
        unchanged: counts.unchanged,
        skipped: counts.skipped,
        errors: counts.errors,
        organisations_created: counts.organisationsCreated,
        last_error: null,
        finished_at: options.now,
      })
      .where('id', '=', run.id)
      .execute();
    // The uploaded file holds personal data and is not needed any more.
    await tx.deleteFrom('import_files').where('import_id', '=', run.id).execute();
    await sql`drop table if exists ${staging}`.execute(tx);
    await audit(tx, null, 'subscriber.import.done', `import:${run.id}`, {
      dryRun: run.dryRun,
      createdBy: run.createdBy,
      ...counts,
    });
    await options.beforeCommit?.();
    return counts;
  };
  return db.isTransaction ? exec(db) : db.transaction().execute(exec);
}

/** Ends an import that cannot succeed; nothing of it was merged. Only the owning run may do this. */
export async function failImport(db: DbOrTx, run: ImportRun, message: string, now: Date): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const result = await tx
      .updateTable('imports')
      .set({ status: 'failed', last_error: message.slice(0, 1000), finished_at: now })
      .where('id', '=', run.id)
      .where('run', '=', run.run)
      .where('status', '=', 'running')
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) return;
    await tx.deleteFrom('import_files').where('import_id', '=', run.id).execute();
    await sql`drop table if exists ${stagingTable(run.id)}`.execute(tx);
    await audit(tx, null, 'subscriber.import.failed', `import:${run.id}`, { reason: message.slice(0, 300) });
  });
}

/** The per-line report holds addresses: it is kept this long after an import finished. */
export const IMPORT_REPORT_RETENTION_DAYS = 30;
/** A run that has not finished after this long died for good (a worker killed on its last attempt). */
const STALE_RUN_MS = 24 * 60 * 60 * 1000;

/**
 * Housekeeping (hourly): drops the reports of imports that finished more than 30 days ago (the
 * counts stay), ends runs that died without finishing, and removes stored files and staging
 * tables that no running import needs any more.
 */
export async function purgeImports(db: DbOrTx, now: Date): Promise<void> {
  const reportCutoff = new Date(now.getTime() - IMPORT_REPORT_RETENTION_DAYS * 24 * 60 * 60 * 1000);
  await db
    .deleteFrom('import_errors')
    .where('import_id', 'in', (eb) =>
      eb.selectFrom('imports').select('id').where('finished_at', '<', reportCutoff),
    )
    .execute();
  await db
    .updateTable('imports')
    .set({
      status: 'failed',
      last_error: 'Het importeren is onderbroken en niet afgemaakt; laad het bestand opnieuw op.',
      finished_at: now,
    })
    .where('status', '=', 'running')
    .where('started_at', '<', new Date(now.getTime() - STALE_RUN_MS))
    .execute();
  await db
    .deleteFrom('import_files')
    .where('import_id', 'in', (eb) =>
      eb.selectFrom('imports').select('id').where('status', 'in', ['done', 'failed']),
    )
    .execute();
  const { rows } = await sql<{ tablename: string }>`
    select t.tablename from pg_tables t
    where t.schemaname = current_schema() and t.tablename ~ '^import_staging_[0-9]+$'
      and not exists (
        select 1 from imports i
        where i.id = substring(t.tablename from 16)::bigint and i.status in ('queued', 'running'))`.execute(
    db,
  );
  for (const { tablename } of rows) await sql`drop table if exists ${sql.table(tablename)}`.execute(db);
}

/** Notes a passing failure (the job will be retried) where the status endpoint shows it. */
export async function noteImportError(db: DbOrTx, run: ImportRun, message: string): Promise<void> {
  await db
    .updateTable('imports')
    .set({ last_error: message.slice(0, 1000) })
    .where('id', '=', run.id)
    .where('run', '=', run.run)
    .execute();
}

// ---------------------------------------------------------------------------------------------
// Export and CSV writing

export type CsvSeparator = ',' | ';';

/**
 * One CSV field: quoted when needed; a value starting with =, +, -, @, tab or CR gets a leading `'`
 * so that a spreadsheet does not run it as a formula (our import takes the `'` off again).
 */
export function csvField(value: string | number | null | undefined, separator: CsvSeparator): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  if (text.includes(separator) || /["\r\n]/.test(text) || text !== text.trim()) {
    return `"${text.replaceAll('"', '""')}"`;
  }
  return text;
}

export function csvLine(values: (string | number | null | undefined)[], separator: CsvSeparator): string {
  return `${values.map((value) => csvField(value, separator)).join(separator)}\r\n`;
}

export interface ExportFilter {
  status: SubscriberStatus;
  topicId: string | null;
}

/** The topic id of an export filter's slug; an unknown slug is a field error. */
export async function resolveExportTopic(db: DbOrTx, slug: string): Promise<string> {
  const topic = await db
    .selectFrom('topics')
    .select('id')
    .where('slug', '=', slug.trim().toLowerCase())
    .executeTakeFirst();
  if (!topic)
    throw new Invalid('Unknown topic.', [
      { field: 'topic', message: `Er is geen onderwerp met de korte naam "${slug}".` },
    ]);
  return topic.id;
}

/**
 * Subscribers in pages by id (keyset; memory O(page)), with the import's columns: topics as slugs
 * joined by `|` (active topics only, so the file imports again as it is), organisation by name.
 */
export async function* exportSubscriberPages(db: DbOrTx, filter: ExportFilter, pageSize = 1000) {
  let after = '0';
  for (;;) {
    const rows = await db
      .selectFrom('subscribers as s')
      .leftJoin('organisations as o', 'o.id', 's.organisation_id')
      .select(['s.id', 's.email', 's.name', 's.locale', 'o.name as organisation'])
      .select(
        sql<string | null>`(
          select string_agg(t.slug, '|' order by t.position, t.slug)
          from subscriptions x join topics t on t.id = x.topic_id
          where x.subscriber_id = s.id and t.archived_at is null)`.as('topics'),
      )
      .where('s.status', '=', filter.status)
      .where('s.id', '>', after)
      .$if(filter.topicId !== null, (q) =>
        q.where(({ exists, selectFrom }) =>
          exists(
            selectFrom('subscriptions as x')
              .select('x.topic_id')
              .whereRef('x.subscriber_id', '=', 's.id')
              .where('x.topic_id', '=', filter.topicId!),
          ),
        ),
      )
      .orderBy('s.id')
      .limit(pageSize)
      .execute();
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < pageSize) return;
    after = rows[rows.length - 1]!.id;
  }
}
