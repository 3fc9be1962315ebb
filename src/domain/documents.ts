import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection.js';
import type { DocumentFormat, DocumentKind } from '../db/schema.js';
import type { Principal } from './auth.js';
import { Conflict, DomainError, Invalid, NotFound } from './errors.js';
import { enqueue } from './outbox.js';

/**
 * "Relevante documenten": documents on the public site, grouped by category. A document is an
 * uploaded file (PDF or an office format; the type is decided by the bytes, never by the name or
 * the Content-Type the browser sent) or a link, with a title, summary and date. Files are kept
 * in Postgres in chunks of about 1 MB (bytea): this works on Node and on Workers alike, and a
 * download is streamed one chunk at a time.
 */

export const DOCUMENT_MAX_BYTES = 20 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;

/** The LinkedIn announcement of a document: handled by the LinkedIn worker (domain/linkedin.ts). */
export const ANNOUNCE_DOCUMENT = { queue: 'linkedin', jobName: 'announce-document' } as const;

export const DOCUMENT_FORMATS: Record<DocumentFormat, { contentType: string; label: string }> = {
  pdf: { contentType: 'application/pdf', label: 'PDF' },
  docx: {
    contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    label: 'Word',
  },
  xlsx: { contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', label: 'Excel' },
  pptx: {
    contentType: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
    label: 'PowerPoint',
  },
  odt: { contentType: 'application/vnd.oasis.opendocument.text', label: 'OpenDocument' },
  ods: { contentType: 'application/vnd.oasis.opendocument.spreadsheet', label: 'OpenDocument' },
};

export class DocumentTooLarge extends DomainError {
  constructor() {
    super(`The file is larger than ${DOCUMENT_MAX_BYTES / 1024 / 1024} MB.`, 413, 'Payload too large');
  }
}

/* ------------------------------------------------------------------------------ type detection */

const ZIP_LOCAL = 0x04034b50;
const ZIP_CENTRAL = 0x02014b50;
const ZIP_END = 0x06054b50;

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** The central directory of a ZIP file, or null when it is not a (readable, non-ZIP64) ZIP file. */
function zipEntries(bytes: Buffer): ZipEntry[] | null {
  if (bytes.length < 22 || bytes.readUInt32LE(0) !== ZIP_LOCAL) return null;
  let end = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (bytes.readUInt32LE(at) === ZIP_END) {
      end = at;
      break;
    }
  }
  if (end === -1) return null;
  const count = bytes.readUInt16LE(end + 10);
  const offset = bytes.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  let at = offset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > bytes.length || bytes.readUInt32LE(at) !== ZIP_CENTRAL) return null;
    const nameLength = bytes.readUInt16LE(at + 28);
    const extraLength = bytes.readUInt16LE(at + 30);
    const commentLength = bytes.readUInt16LE(at + 32);
    if (at + 46 + nameLength > bytes.length) return null;
    entries.push({
      name: bytes.toString('utf8', at + 46, at + 46 + nameLength),
      method: bytes.readUInt16LE(at + 10),
      compressedSize: bytes.readUInt32LE(at + 20),
      size: bytes.readUInt32LE(at + 24),
      localOffset: bytes.readUInt32LE(at + 42),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The uncompressed bytes of a small ZIP entry (stored or deflated), or null. */
async function zipEntryData(bytes: Buffer, entry: ZipEntry, maxBytes: number): Promise<Buffer | null> {
  if (entry.size > maxBytes || entry.compressedSize > maxBytes) return null;
  const local = entry.localOffset;
  if (local + 30 > bytes.length || bytes.readUInt32LE(local) !== ZIP_LOCAL) return null;
  const start = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28);
  if (start + entry.compressedSize > bytes.length) return null;
  const raw = bytes.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return raw;
  if (entry.method !== 8) return null;
  try {
    // Web-standard (Node and Workers); never more than the declared size is kept.
    const stream = new Blob([new Uint8Array(raw)])
      .stream()
      .pipeThrough(new DecompressionStream('deflate-raw'));
    const parts: Uint8Array[] = [];
    let seen = 0;
    for await (const part of stream as unknown as AsyncIterable<Uint8Array>) {
      seen += part.byteLength;
      if (seen > maxBytes) return null;
      parts.push(part);
    }
    return Buffer.concat(parts);
  } catch {
    return null;
  }
}

const OOXML_MAIN: [DocumentFormat, string][] = [
  ['docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml'],
  ['xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml'],
  ['pptx', 'application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml'],
];

const ODF_MIME: Record<string, DocumentFormat> = {
  'application/vnd.oasis.opendocument.text': 'odt',
  'application/vnd.oasis.opendocument.spreadsheet': 'ods',
};

export type Detection =
  | { format: DocumentFormat }
  | { format: null /** What the bytes look like, for the error message. */; seen: string | null };

function startsWith(bytes: Buffer, signature: number[] | string): boolean {
  const sig = typeof signature === 'string' ? Buffer.from(signature, 'latin1') : Buffer.from(signature);
  return bytes.length >= sig.length && bytes.subarray(0, sig.length).equals(sig);
}

/**
 * The document format of a file, from its bytes: `%PDF-` … `%%EOF` for PDF; for a ZIP file
 * (`PK\x03\x04`), an OpenDocument `mimetype` entry, or an Office Open XML `[Content_Types].xml`
 * that names the main part of a Word, Excel or PowerPoint document (macro-enabled ones are refused).
 */
export async function detectFormat(bytes: Buffer): Promise<Detection> {
  if (startsWith(bytes, '%PDF-')) {
    const tail = bytes.subarray(Math.max(0, bytes.length - 1024)).toString('latin1');
    return tail.includes('%%EOF') ? { format: 'pdf' } : { format: null, seen: 'an incomplete PDF file' };
  }
  const entries = zipEntries(bytes);
  if (entries) {
    const byName = new Map(entries.map((entry) => [entry.name, entry]));
    const mimetype = byName.get('mimetype');
    if (mimetype) {
      const data = await zipEntryData(bytes, mimetype, 200);
      const format = data ? ODF_MIME[data.toString('ascii').trim()] : undefined;
      if (format && byName.has('META-INF/manifest.xml')) return { format };
    }
    const types = byName.get('[Content_Types].xml');
    if (types) {
      const data = await zipEntryData(bytes, types, 1024 * 1024);
      const xml = data?.toString('utf8') ?? '';
      if (/macroEnabled/i.test(xml) || entries.some((entry) => /vbaProject\.bin$/i.test(entry.name))) {
        return { format: null, seen: 'an Office file with macros' };
      }
      for (const [format, type] of OOXML_MAIN) if (xml.includes(type)) return { format };
    }
    return { format: null, seen: 'a ZIP file' };
  }
  // A ZIP file whose directory cannot be read (damaged, or ZIP64 for more than 4 GB).
  if (startsWith(bytes, 'PK\x03\x04')) return { format: null, seen: 'a ZIP file' };
  if (startsWith(bytes, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) {
    return { format: null, seen: 'an old Office file (.doc, .xls or .ppt)' };
  }
  if (
    startsWith(bytes, [0x89, 0x50, 0x4e, 0x47]) ||
    startsWith(bytes, [0xff, 0xd8, 0xff]) ||
    startsWith(bytes, 'GIF8')
  ) {
    return { format: null, seen: 'an image' };
  }
  const head = bytes
    .subarray(0, 1024)
    .toString('latin1')
    .replace(/^\uFEFF|^\xEF\xBB\xBF/, '')
    .trimStart();
  if (/^<(?:!doctype\s+html|html|head|body|script)\b/i.test(head))
    return { format: null, seen: 'an HTML page' };
  if (/^<\?xml|^<svg\b/i.test(head)) return { format: null, seen: 'an XML or SVG file' };
  return { format: null, seen: null };
}

const SEEN_NL: Record<string, string> = {
  'an incomplete PDF file': 'een onvolledig PDF-bestand',
  'an Office file with macros': 'een Office-bestand met macro’s',
  'a ZIP file': 'een ZIP-bestand',
  'an old Office file (.doc, .xls or .ppt)':
    'een oud Office-bestand (.doc, .xls of .ppt); sla het op als .docx, .xlsx, .pptx of PDF',
  'an image': 'een afbeelding',
  'an HTML page': 'een HTML-pagina',
  'an XML or SVG file': 'een XML- of SVG-bestand',
};

/** The Invalid error for a file whose content is not an accepted type (422, field `file`). */
export function unsupportedFile(detection: { seen: string | null }): Invalid {
  const seen = detection.seen;
  return new Invalid(
    `The file's content is not a PDF, DOCX, XLSX, PPTX, ODT or ODS document${seen ? ` (it looks like ${seen})` : ''}; the content decides, not the file name.`,
    [
      {
        field: 'file',
        message: `Dit bestand is geen PDF-, Word-, Excel-, PowerPoint- of OpenDocument-bestand${
          seen ? ` (het lijkt ${SEEN_NL[seen] ?? seen})` : ''
        }. De inhoud telt, niet de naam van het bestand.`,
      },
    ],
  );
}

/* ------------------------------------------------------------------------------------- helpers */

/** A URL-safe slug of a title (accents removed), for file names and addresses. */
export function slugify(text: string, fallback = 'document'): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80)
    .replace(/-+$/g, '');
  return slug === '' ? fallback : slug;
}

/** The public address of a file document (relative): `/documenten/<id>/<slug>.<ext>`. */
export function documentFilePath(doc: {
  id: string;
  slug: string;
  file_format: DocumentFormat | null;
}): string {
  return `/documenten/${doc.id}/${doc.slug}.${doc.file_format}`;
}

/** Where a document's entry is on the documents page (links point elsewhere, so this is their home). */
export function documentAnchorPath(doc: { id: string }): string {
  return `/documenten#document-${doc.id}`;
}

/** `Content-Disposition` with an ASCII fallback and the UTF-8 name (RFC 6266 / RFC 8187). */
export function contentDisposition(
  kind: 'inline' | 'attachment',
  name: string,
  asciiFallback: string,
): string {
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  const fallback = asciiFallback.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** "Rapport 2026.pdf" → "Rapport 2026": the default title of an upload without one. */
export function titleFromFilename(filename: string | null): string | undefined {
  if (!filename) return undefined;
  const base = filename
    .replace(/^.*[\\/]/, '')
    .replace(/\.[^.]{1,5}$/, '')
    .replace(/[_]+/g, ' ')
    .trim();
  return base === '' ? undefined : base.slice(0, 200);
}

/** Today in the programme's time zone, as YYYY-MM-DD: the default date of a new document. */
export function documentDateToday(now: Date): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Amsterdam' }).format(now);
}

/** A file name for downloads: the title without characters file systems refuse. */
export function downloadName(doc: { title: string; file_format: DocumentFormat | null }): string {
  let out = '';
  for (const char of doc.title) {
    const code = char.codePointAt(0)!;
    out += code < 0x20 || code === 0x7f || '\\/:*?"<>|'.includes(char) ? ' ' : char;
  }
  const base = out.replace(/\s+/g, ' ').trim().slice(0, 120) || 'document';
  return `${base}.${doc.file_format}`;
}

/* ---------------------------------------------------------------------------------- categories */

export interface CategoryInput {
  slug: string;
  nameNl: string;
  nameEn: string;
  position?: number;
}

export function listCategories(db: DbOrTx) {
  return db
    .selectFrom('document_categories')
    .leftJoin('documents', 'documents.category_id', 'document_categories.id')
    .select([
      'document_categories.id',
      'document_categories.slug',
      'document_categories.name_nl',
      'document_categories.name_en',
      'document_categories.position',
      (eb) => eb.fn.count<string>('documents.id').as('documents'),
    ])
    .groupBy('document_categories.id')
    .orderBy('document_categories.position')
    .orderBy('document_categories.id')
    .execute();
}

export type CategoryRow = Awaited<ReturnType<typeof listCategories>>[number];

export async function getCategory(db: DbOrTx, id: string): Promise<CategoryRow> {
  const row = (await listCategories(db)).find((category) => category.id === id);
  if (!row) throw new NotFound('Deze categorie bestaat niet (meer).');
  return row;
}

async function assertCategorySlugFree(db: DbOrTx, slug: string, exceptId?: string) {
  const clash = await db
    .selectFrom('document_categories')
    .select('id')
    .where('slug', '=', slug)
    .$if(exceptId !== undefined, (q) => q.where('id', '!=', exceptId!))
    .executeTakeFirst();
  if (clash) {
    throw new Invalid('The slug is taken.', [
      { field: 'slug', message: 'Deze korte naam is al in gebruik door een andere categorie.' },
    ]);
  }
}

export async function createCategory(tx: DbOrTx, input: CategoryInput): Promise<CategoryRow> {
  await assertCategorySlugFree(tx, input.slug);
  const position =
    input.position ??
    Number(
      (
        await tx
          .selectFrom('document_categories')
          .select((eb) => eb.fn.coalesce(eb.fn.max('position'), eb.lit(0)).as('max'))
          .executeTakeFirstOrThrow()
      ).max,
    ) + 1;
  const row = await tx
    .insertInto('document_categories')
    .values({ slug: input.slug, name_nl: input.nameNl, name_en: input.nameEn, position })
    .returning('id')
    .executeTakeFirstOrThrow();
  return getCategory(tx, row.id);
}

export async function updateCategory(
  tx: DbOrTx,
  id: string,
  changes: Partial<CategoryInput>,
): Promise<CategoryRow> {
  await getCategory(tx, id);
  if (changes.slug !== undefined) await assertCategorySlugFree(tx, changes.slug, id);
  await tx
    .updateTable('document_categories')
    .set({
      ...(changes.slug !== undefined ? { slug: changes.slug } : {}),
      ...(changes.nameNl !== undefined ? { name_nl: changes.nameNl } : {}),
      ...(changes.nameEn !== undefined ? { name_en: changes.nameEn } : {}),
      ...(changes.position !== undefined ? { position: changes.position } : {}),
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .execute();
  return getCategory(tx, id);
}

export async function deleteCategory(tx: DbOrTx, id: string): Promise<void> {
  const category = await getCategory(tx, id);
  if (Number(category.documents) > 0) {
    throw new Conflict('Deze categorie heeft nog documenten; verplaats of verwijder die eerst.');
  }
  await tx.deleteFrom('document_categories').where('id', '=', id).execute();
}

/** A category by id or slug (as the API accepts either). */
export async function resolveCategory(db: DbOrTx, ref: string): Promise<string> {
  const value = ref.trim().toLowerCase();
  const row = await db
    .selectFrom('document_categories')
    .select('id')
    .$if(/^\d{1,18}$/.test(value), (q) => q.where('id', '=', value))
    .$if(!/^\d{1,18}$/.test(value), (q) => q.where('slug', '=', value))
    .executeTakeFirst();
  if (!row) {
    throw new Invalid('Unknown category.', [{ field: 'category', message: 'Kies een bestaande categorie.' }]);
  }
  return row.id;
}

/* ----------------------------------------------------------------------------------- documents */

export interface DocumentInput {
  /** Category id or slug. */
  category: string;
  title: string;
  summary?: string;
  /** YYYY-MM-DD */
  date: string;
  /** Show it on the site now (default) or keep it as a draft. */
  published?: boolean;
  /** Record a LinkedIn post about it (once; the document must be published). */
  announceOnLinkedIn?: boolean;
}

export interface LinkDocumentInput extends DocumentInput {
  url: string;
}

const documentColumns = [
  'documents.id',
  'documents.category_id',
  'documents.kind',
  'documents.title',
  'documents.slug',
  'documents.summary',
  'documents.url',
  'documents.file_format',
  'documents.file_name',
  'documents.file_size',
  'documents.file_sha256',
  'documents.published_at',
  'documents.announced_at',
  'documents.created_at',
  'documents.updated_at',
  'document_categories.slug as category_slug',
  'document_categories.name_nl as category_name_nl',
  'document_categories.name_en as category_name_en',
  'document_categories.position as category_position',
] as const;

function selectDocuments(db: DbOrTx) {
  return db
    .selectFrom('documents')
    .innerJoin('document_categories', 'document_categories.id', 'documents.category_id')
    .select(documentColumns)
    .select(sql<string>`to_char(documents.document_date, 'YYYY-MM-DD')`.as('document_date'));
}

export type DocumentRow = Awaited<ReturnType<ReturnType<typeof selectDocuments>['executeTakeFirstOrThrow']>>;

export async function getDocument(
  db: DbOrTx,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<DocumentRow> {
  if (options.forUpdate) {
    await db.selectFrom('documents').select('id').where('id', '=', id).forUpdate().executeTakeFirst();
  }
  const row = await selectDocuments(db).where('documents.id', '=', id).executeTakeFirst();
  if (!row) throw new NotFound('Dit document bestaat niet (meer).');
  return row;
}

/** Documents, newest date first; the public site asks for published ones only. */
export function listDocuments(
  db: DbOrTx,
  filter: { publishedOnly?: boolean; category?: string; kind?: DocumentKind; limit?: number } = {},
) {
  return selectDocuments(db)
    .$if(filter.publishedOnly === true, (q) => q.where('documents.published_at', 'is not', null))
    .$if(filter.category !== undefined, (q) => q.where('documents.category_id', '=', filter.category!))
    .$if(filter.kind !== undefined, (q) => q.where('documents.kind', '=', filter.kind!))
    .orderBy('documents.document_date', 'desc')
    .orderBy('documents.id', 'desc')
    .$if(filter.limit !== undefined, (q) => q.limit(filter.limit!))
    .execute();
}

/** The published documents that arrived last (feeds, home page): by publication time. */
export function latestPublishedDocuments(db: DbOrTx, limit: number) {
  return selectDocuments(db)
    .where('documents.published_at', 'is not', null)
    .orderBy('documents.published_at', 'desc')
    .orderBy('documents.id', 'desc')
    .limit(limit)
    .execute();
}

async function announce(tx: DbOrTx, id: string, now: Date) {
  const claimed = await tx
    .updateTable('documents')
    .set({ announced_at: now })
    .where('id', '=', id)
    .where('announced_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  if (!claimed) return;
  await enqueue(tx, {
    queue: ANNOUNCE_DOCUMENT.queue,
    jobName: ANNOUNCE_DOCUMENT.jobName,
    jobId: `announce-document-${id}`,
    payload: { documentId: id },
  });
}

function assertAnnounceable(published: boolean) {
  if (!published) {
    throw new Invalid('Only a published document can be announced.', [
      {
        field: 'announceOnLinkedIn',
        message: 'Publiceer het document om het op LinkedIn aan te kondigen.',
      },
    ]);
  }
}

async function insertDocument(
  tx: DbOrTx,
  actor: Principal | null,
  now: Date,
  input: DocumentInput,
  values:
    | { kind: 'link'; url: string }
    | {
        kind: 'file';
        file_format: DocumentFormat;
        file_name: string | null;
        file_size: number;
        file_sha256: string;
      },
): Promise<string> {
  const published = input.published ?? true;
  if (input.announceOnLinkedIn) assertAnnounceable(published);
  const categoryId = await resolveCategory(tx, input.category);
  const row = await tx
    .insertInto('documents')
    .values({
      category_id: categoryId,
      title: input.title,
      slug: slugify(input.title),
      summary: input.summary ?? '',
      document_date: input.date,
      published_at: published ? now : null,
      created_by: actor?.user.id ?? null,
      url: null,
      ...values,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function createLinkDocument(
  tx: DbOrTx,
  actor: Principal | null,
  now: Date,
  input: LinkDocumentInput,
): Promise<DocumentRow> {
  const id = await insertDocument(tx, actor, now, input, { kind: 'link', url: input.url });
  if (input.announceOnLinkedIn) await announce(tx, id, now);
  return getDocument(tx, id);
}

/**
 * A file document: checks the bytes (Invalid when they are no accepted format), then stores
 * them in chunks. The caller has enforced DOCUMENT_MAX_BYTES while reading the upload.
 */
export async function createFileDocument(
  tx: DbOrTx,
  actor: Principal | null,
  now: Date,
  input: DocumentInput,
  file: { bytes: Buffer; filename: string | null },
): Promise<DocumentRow> {
  if (file.bytes.length > DOCUMENT_MAX_BYTES) throw new DocumentTooLarge();
  if (file.bytes.length === 0) {
    throw new Invalid('The file is empty.', [{ field: 'file', message: 'Het bestand is leeg.' }]);
  }
  const detection = await detectFormat(file.bytes);
  if (!detection.format) throw unsupportedFile(detection);
  const id = await insertDocument(tx, actor, now, input, {
    kind: 'file',
    file_format: detection.format,
    file_name: file.filename ? file.filename.slice(0, 255) : null,
    file_size: file.bytes.length,
    file_sha256: createHash('sha256').update(file.bytes).digest('hex'),
  });
  for (let offset = 0, chunkNo = 0; offset < file.bytes.length; offset += CHUNK_BYTES, chunkNo++) {
    await tx
      .insertInto('document_files')
      .values({ document_id: id, chunk_no: chunkNo, data: file.bytes.subarray(offset, offset + CHUNK_BYTES) })
      .execute();
  }
  if (input.announceOnLinkedIn) await announce(tx, id, now);
  return getDocument(tx, id);
}

export type DocumentChanges = Partial<Omit<DocumentInput, 'category'>> & { category?: string; url?: string };

export async function updateDocument(
  tx: DbOrTx,
  now: Date,
  id: string,
  changes: DocumentChanges,
): Promise<DocumentRow> {
  const doc = await getDocument(tx, id, { forUpdate: true });
  if (changes.url !== undefined && doc.kind !== 'link') {
    throw new Invalid('Only a link document has a URL.', [
      {
        field: 'url',
        message: 'Een geüpload bestand heeft geen webadres; verwijder het en voeg een link toe.',
      },
    ]);
  }
  const published = changes.published ?? doc.published_at !== null;
  if (changes.announceOnLinkedIn) assertAnnounceable(published);
  const categoryId = changes.category !== undefined ? await resolveCategory(tx, changes.category) : undefined;
  await tx
    .updateTable('documents')
    .set({
      ...(categoryId !== undefined ? { category_id: categoryId } : {}),
      ...(changes.title !== undefined ? { title: changes.title, slug: slugify(changes.title) } : {}),
      ...(changes.summary !== undefined ? { summary: changes.summary } : {}),
      ...(changes.date !== undefined ? { document_date: changes.date } : {}),
      ...(changes.url !== undefined ? { url: changes.url } : {}),
      ...(changes.published === true && doc.published_at === null ? { published_at: now } : {}),
      ...(changes.published === false ? { published_at: null } : {}),
      updated_at: now,
    })
    .where('id', '=', id)
    .execute();
  if (changes.announceOnLinkedIn) await announce(tx, id, now);
  return getDocument(tx, id);
}

export async function deleteDocument(tx: DbOrTx, id: string): Promise<void> {
  await getDocument(tx, id, { forUpdate: true });
  await tx.deleteFrom('documents').where('id', '=', id).execute();
}

/** The stored bytes of a file document, one chunk (≈ 1 MB) per step: for streaming responses. */
export async function* documentChunks(db: DbOrTx, id: string): AsyncGenerator<Uint8Array> {
  for (let chunkNo = 0; ; chunkNo++) {
    const row = await db
      .selectFrom('document_files')
      .select('data')
      .where('document_id', '=', id)
      .where('chunk_no', '=', chunkNo)
      .executeTakeFirst();
    if (!row) return;
    yield new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength);
  }
}
