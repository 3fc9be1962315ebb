import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import {
  type CategoryRow,
  contentDisposition,
  createCategory,
  createFileDocument,
  createLinkDocument,
  DOCUMENT_FORMATS,
  DOCUMENT_MAX_BYTES,
  type DocumentRow,
  DocumentTooLarge,
  deleteCategory,
  deleteDocument,
  documentAnchorPath,
  documentChunks,
  documentDateToday,
  documentFilePath,
  downloadName,
  getCategory,
  getDocument,
  listCategories,
  listDocuments,
  resolveCategory,
  titleFromFilename,
  updateCategory,
  updateDocument,
} from '../../domain/documents.js';
import { DomainError, Invalid } from '../../domain/errors.js';
import { urlField } from '../../domain/urls.js';
import { audited } from '../audited.js';
import { resourceRoutes } from '../crud.js';
import type { AppEnv } from '../deps.js';
import { type MultipartHandlers, multipartBoundary, readMultipart } from '../multipart.js';
import { apiRoute, IdParam, jsonContent } from '../openapi.js';
import { fieldErrorsFromZod } from '../problem.js';
import { csrfFirst, limitUpload } from '../uploads.js';

/**
 * Documents of the public site ("Relevante documenten") and their categories. A file is uploaded
 * as multipart/form-data (field `file`), a link is posted as JSON; both to POST /api/v1/documents.
 * Files are checked by content (PDF, DOCX, XLSX, PPTX, ODT, ODS), at most 20 MB, and stored in
 * Postgres (so uploads work on Workers too).
 */

/** The upload route enforces its own body limit (app.ts exempts it from the global 1 MB). */
export const DOCUMENT_UPLOAD_PATH = /^\/api\/v1\/documents\/?$/;
/** The whole multipart request: the file plus the framing and the small form fields. */
const UPLOAD_REQUEST_MAX_BYTES = DOCUMENT_MAX_BYTES + 64 * 1024;
const JSON_REQUEST_MAX_BYTES = 64 * 1024;
const FORM_FIELDS = new Set(['category', 'title', 'summary', 'date', 'published', 'announceOnLinkedIn']);

const isoDate = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'Gebruik de vorm JJJJ-MM-DD, bijvoorbeeld 2026-03-01.')
  .refine((value) => {
    const date = new Date(`${value}T00:00:00Z`);
    return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
  }, 'Dit is geen bestaande datum.')
  .openapi({ example: '2026-03-01' });

const webUrl = urlField('web').openapi({ example: 'https://www.voorbeeld.test/rapport' });

const documentCommonFields = {
  category: z
    .string()
    .trim()
    .min(1, 'Kies een categorie.')
    .max(100)
    .openapi({ description: 'Category id or slug', example: 'folders' }),
  title: z.string().trim().min(1, 'Vul een titel in.').max(200),
  summary: z.string().trim().max(2000).optional(),
  date: isoDate.optional().openapi({ description: 'The document date (YYYY-MM-DD); default today' }),
  published: z.boolean().optional().openapi({ description: 'Show it on the site (default true)' }),
  announceOnLinkedIn: z
    .boolean()
    .optional()
    .openapi({ description: 'Record a LinkedIn post about it (once; it must be published)' }),
};

export const LinkDocumentInput = z
  .object({ kind: z.literal('link').optional(), ...documentCommonFields, url: webUrl })
  .openapi('LinkDocumentInput');

/** A boolean sent as a form field: true/false, 1/0, on/off (a checked checkbox sends "on"). */
export const formBoolean = z
  .string()
  .optional()
  .refine(
    (value) =>
      value === undefined || ['true', 'false', '1', '0', 'on', 'off', ''].includes(value.toLowerCase()),
    {
      message: 'Gebruik true of false.',
    },
  )
  .transform((value) =>
    value === undefined || value === '' ? undefined : ['true', '1', 'on'].includes(value.toLowerCase()),
  );

const FileDocumentFields = z.object({
  ...documentCommonFields,
  title: documentCommonFields.title.optional(),
  published: formBoolean,
  announceOnLinkedIn: formBoolean,
});

export const DocumentPatch = z
  .object({
    category: documentCommonFields.category.optional(),
    title: documentCommonFields.title.optional(),
    summary: z.string().trim().max(2000).optional(),
    date: isoDate.optional(),
    url: webUrl.optional().openapi({ description: 'Only for link documents' }),
    published: z.boolean().optional(),
    announceOnLinkedIn: z.boolean().optional(),
  })
  .strict()
  .openapi('DocumentPatch');

const CategoryRef = z.object({ id: z.string(), slug: z.string(), nameNl: z.string(), nameEn: z.string() });

const DocumentSchema = z
  .object({
    id: z.string(),
    kind: z.enum(['file', 'link']),
    title: z.string(),
    slug: z.string(),
    summary: z.string(),
    date: z.string().openapi({ example: '2026-03-01' }),
    category: CategoryRef,
    url: z.string().nullable().openapi({ description: 'The target of a link document' }),
    file: z
      .object({
        format: z.enum(['pdf', 'docx', 'xlsx', 'pptx', 'odt', 'ods']),
        contentType: z.string(),
        size: z.number().int(),
        name: z.string().nullable().openapi({ description: 'The name it was uploaded with' }),
        sha256: z.string(),
      })
      .nullable(),
    published: z.boolean(),
    publishedAt: z.string().nullable(),
    publicUrl: z.string().nullable().openapi({
      description: 'Where it is on the public site (the file itself, or its entry); null while unpublished',
    }),
    announcedOnLinkedInAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Document');

const CategorySchema = z
  .object({
    id: z.string(),
    slug: z.string(),
    nameNl: z.string(),
    nameEn: z.string(),
    position: z.number().int(),
    documents: z.number().int(),
  })
  .openapi('DocumentCategory');

export const CategoryInput = z
  .object({
    slug: z
      .string()
      .trim()
      .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'Gebruik kleine letters, cijfers en streepjes.')
      .max(60),
    nameNl: z.string().trim().min(1, 'Vul een Nederlandse naam in.').max(120),
    nameEn: z.string().trim().min(1, 'Vul een Engelse naam in.').max(120),
    position: z.number().int().min(0).max(10_000).optional(),
  })
  .openapi('DocumentCategoryInput');

function documentJson(row: DocumentRow, base: string) {
  const file =
    row.kind === 'file' && row.file_format
      ? {
          format: row.file_format,
          contentType: DOCUMENT_FORMATS[row.file_format].contentType,
          size: Number(row.file_size ?? 0),
          name: row.file_name,
          sha256: row.file_sha256 ?? '',
        }
      : null;
  return {
    id: row.id,
    kind: row.kind,
    title: row.title,
    slug: row.slug,
    summary: row.summary,
    date: row.document_date,
    category: {
      id: row.category_id,
      slug: row.category_slug,
      nameNl: row.category_name_nl,
      nameEn: row.category_name_en,
    },
    url: row.url,
    file,
    published: row.published_at !== null,
    publishedAt: row.published_at?.toISOString() ?? null,
    publicUrl: row.published_at ? `${base}${file ? documentFilePath(row) : documentAnchorPath(row)}` : null,
    announcedOnLinkedInAt: row.announced_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function categoryJson(row: CategoryRow) {
  return {
    id: row.id,
    slug: row.slug,
    nameNl: row.name_nl,
    nameEn: row.name_en,
    position: row.position,
    documents: Number(row.documents),
  };
}

const baseOf = (c: Context<AppEnv>) => c.var.deps.config.publicBaseUrl.replace(/\/+$/, '');

/** A file upload may be 20 MB, JSON 64 kB: counted while the body is read. */
export const documentUploadLimit = limitUpload(
  (c) =>
    multipartBoundary(c.req.header('content-type')) ? UPLOAD_REQUEST_MAX_BYTES : JSON_REQUEST_MAX_BYTES,
  () => new DocumentTooLarge(),
);

export interface DocumentUpload {
  fields: Record<string, string>;
  file: { bytes: Buffer; filename: string | null } | null;
}

/**
 * Reads a multipart upload: the small fields and the bytes of the one file (≤ 20 MB).
 * `csrfInForm`: a browser form whose `_csrf` field is checked while the body streams.
 */
export async function readDocumentUpload(
  c: Context<AppEnv>,
  boundary: string,
  options: { csrfInForm?: boolean } = {},
): Promise<DocumentUpload> {
  const fields: Record<string, string> = {};
  // The CSRF check of a browser session may have read the form already (Hono keeps it).
  if (c.req.raw.bodyUsed) {
    const form = await c.req.parseBody();
    let file: { bytes: Buffer; filename: string | null } | null = null;
    for (const [name, value] of Object.entries(form)) {
      if (typeof value === 'string') {
        if (FORM_FIELDS.has(name)) fields[name] = value;
      } else if (name === 'file' && value instanceof File) {
        if (value.size > DOCUMENT_MAX_BYTES) throw new DocumentTooLarge();
        file = { bytes: Buffer.from(await value.arrayBuffer()), filename: value.name || null };
      }
    }
    return { fields, file };
  }
  const body = c.req.raw.body;
  if (!body) return { fields, file: null };
  const parts: Buffer[] = [];
  let size = 0;
  let files = 0;
  let filename: string | null = null;
  const handlers: MultipartHandlers = {
    onField: (name, value) => {
      if (FORM_FIELDS.has(name)) fields[name] = value;
    },
    onFile: (part) => {
      if (part.name !== 'file') return null;
      if (++files > 1)
        throw new Invalid('Send one file.', [{ field: 'file', message: 'Stuur één bestand per document.' }]);
      filename = part.filename;
      return {
        async write(bytes: Uint8Array) {
          size += bytes.byteLength;
          if (size > DOCUMENT_MAX_BYTES) throw new DocumentTooLarge();
          parts.push(Buffer.from(bytes));
        },
      };
    },
  };
  const guarded = options.csrfInForm ? csrfFirst(c, handlers) : null;
  await readMultipart(body, boundary, guarded ?? handlers);
  guarded?.assertChecked();
  // A browser sends an empty file part when no file was chosen.
  const file = files > 0 && (size > 0 || filename) ? { bytes: Buffer.concat(parts, size), filename } : null;
  return { fields, file };
}

/** Adds an uploaded file as a document: its fields checked, the change and its audit entry in one transaction. */
export async function addFileDocument(c: Context<AppEnv>, upload: DocumentUpload): Promise<DocumentRow> {
  const { file } = upload;
  if (!file) {
    throw new Invalid('No file.', [
      {
        field: 'file',
        message: 'Voeg het bestand toe als formulierveld "file", of stuur een link als JSON.',
      },
    ]);
  }
  const parsed = FileDocumentFields.safeParse(upload.fields);
  if (!parsed.success) throw new Invalid('One or more fields are invalid.', fieldErrorsFromZod(parsed.error));
  const input = parsed.data;
  const title = input.title ?? titleFromFilename(file.filename);
  if (!title) throw new Invalid('A title is needed.', [{ field: 'title', message: 'Vul een titel in.' }]);
  const now = c.var.deps.clock.now();
  return audited(
    c,
    (tx) =>
      createFileDocument(
        tx,
        c.var.principal,
        now,
        { ...input, title, date: input.date ?? documentDateToday(now) },
        file,
      ),
    {
      action: 'document.create',
      target: (created) => `document:${created.id}`,
      details: (created) => ({
        kind: 'file',
        format: created.file_format,
        size: Number(created.file_size),
      }),
    },
  );
}

/** Adds a link document, with its audit entry in the same transaction. */
export function addLinkDocument(
  c: Context<AppEnv>,
  input: Omit<z.infer<typeof LinkDocumentInput>, 'kind'>,
): Promise<DocumentRow> {
  const now = c.var.deps.clock.now();
  return audited(
    c,
    (tx) =>
      createLinkDocument(tx, c.var.principal, now, { ...input, date: input.date ?? documentDateToday(now) }),
    {
      action: 'document.create',
      target: (created) => `document:${created.id}`,
      details: { kind: 'link' },
    },
  );
}

/** Changes a document (publishing and announcing included), with its audit entry. */
export function changeDocument(c: Context<AppEnv>, id: string, changes: z.infer<typeof DocumentPatch>) {
  return audited(c, (tx) => updateDocument(tx, c.var.deps.clock.now(), id, changes), {
    action: 'document.update',
    target: `document:${id}`,
    details: { fields: Object.keys(changes) },
  });
}

export function documentRoutes() {
  const app = new OpenAPIHono<AppEnv>();
  app.use('/', documentUploadLimit);

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/',
      access: 'viewer',
      tags: ['documents'],
      summary: 'Documents (published and drafts), newest date first',
      request: {
        query: z.object({
          category: z.string().max(100).optional().openapi({ description: 'Category id or slug' }),
          kind: z.enum(['file', 'link']).optional(),
          published: z.enum(['true', 'false']).optional(),
        }),
      },
      responses: {
        200: {
          description: 'Documents',
          content: jsonContent(z.object({ documents: z.array(DocumentSchema) })),
        },
      },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const { db } = c.var.deps;
      const category = query.category ? await resolveCategory(db, query.category) : undefined;
      let rows = await listDocuments(db, { category, kind: query.kind });
      if (query.published)
        rows = rows.filter((row) => (row.published_at !== null) === (query.published === 'true'));
      const base = baseOf(c);
      return c.json({ documents: rows.map((row) => documentJson(row, base)) }, 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/',
      access: 'editor',
      tags: ['documents'],
      summary: 'Add a document: a file (multipart/form-data) or a link (JSON)',
      description: [
        'A **file**: send multipart/form-data with the field `file` (PDF, DOCX, XLSX, PPTX, ODT or ODS; at most 20 MB) and the fields `category` (id or slug), `title` (default: the file name), `summary`, `date` (YYYY-MM-DD, default today), `published` (default true) and `announceOnLinkedIn`. The type is decided by the content, not by the name: anything else gets a 422 naming what the file looks like; a larger file a 413.',
        '',
        'A **link**: send JSON with `url`, `category`, `title` and the same optional fields.',
        '',
        'Published documents appear at once on /documenten and in the feeds; files are served at `/documenten/<id>/<slug>.<ext>`. `announceOnLinkedIn: true` records a LinkedIn post about the document (once).',
      ].join('\n'),
      request: {
        body: {
          required: false,
          content: {
            'application/json': { schema: LinkDocumentInput },
            'multipart/form-data': {
              schema: {
                type: 'object',
                required: ['file', 'category'],
                properties: {
                  file: { type: 'string', format: 'binary' },
                  category: { type: 'string', description: 'Category id or slug' },
                  title: { type: 'string', description: 'Default: the file name without extension' },
                  summary: { type: 'string' },
                  date: { type: 'string', format: 'date' },
                  published: { type: 'boolean' },
                  announceOnLinkedIn: { type: 'boolean' },
                },
              },
            },
          },
        },
      },
      responses: {
        201: {
          description: 'Created; `Location` is its API address',
          headers: { location: { schema: { type: 'string' } } },
          content: jsonContent(DocumentSchema),
        },
        413: {
          description: 'The file is larger than 20 MB',
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        },
      },
    }),
    async (c) => {
      const contentType = c.req.header('content-type') ?? '';
      const boundary = multipartBoundary(contentType);
      let row: DocumentRow;
      if (boundary) {
        row = await addFileDocument(c, await readDocumentUpload(c, boundary));
      } else if (/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)) {
        // Validated by the route's JSON schema (the multipart branch above has no zod schema).
        row = await addLinkDocument(c, c.req.valid('json' as never) as z.infer<typeof LinkDocumentInput>);
      } else {
        throw new DomainError(
          'Send a file as multipart/form-data (field "file"), or a link as JSON (Content-Type: application/json).',
          415,
          'Unsupported media type',
        );
      }
      c.header('location', `/api/v1/documents/${row.id}`);
      return c.json(documentJson(row, baseOf(c)), 201);
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/{id}',
      access: 'viewer',
      tags: ['documents'],
      summary: 'One document',
      request: { params: IdParam },
      responses: { 200: { description: 'The document', content: jsonContent(DocumentSchema) } },
    }),
    async (c) =>
      c.json(documentJson(await getDocument(c.var.deps.db, c.req.valid('param').id), baseOf(c)), 200),
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/{id}/file',
      access: 'viewer',
      tags: ['documents'],
      summary: 'The stored file of a document (also while unpublished), as a download',
      request: { params: IdParam },
      responses: {
        200: {
          description: 'The file, streamed',
          content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
        },
      },
    }),
    async (c) => {
      const doc = await getDocument(c.var.deps.db, c.req.valid('param').id);
      if (doc.kind !== 'file' || !doc.file_format) {
        throw new DomainError('A link document has no file.', 404, 'Not found');
      }
      const chunks = documentChunks(c.var.deps.db, doc.id);
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const next = await chunks.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
        async cancel() {
          await chunks.return(undefined);
        },
      });
      return c.body(body, 200, {
        'content-type': DOCUMENT_FORMATS[doc.file_format].contentType,
        'content-length': String(doc.file_size),
        'content-disposition': contentDisposition(
          'attachment',
          downloadName(doc),
          `${doc.slug}.${doc.file_format}`,
        ),
        'x-content-type-options': 'nosniff',
        'cache-control': 'private, no-store',
      });
    },
  );

  app.openapi(
    apiRoute({
      method: 'patch',
      path: '/{id}',
      access: 'editor',
      tags: ['documents'],
      summary: 'Change, publish (published: true), unpublish or announce a document',
      description:
        'A file cannot be replaced: delete the document and upload the new file. `announceOnLinkedIn: true` records a LinkedIn post about a published document (once).',
      request: { params: IdParam, body: { required: true, content: jsonContent(DocumentPatch) } },
      responses: { 200: { description: 'Updated', content: jsonContent(DocumentSchema) } },
    }),
    async (c) => {
      const row = await changeDocument(c, c.req.valid('param').id, c.req.valid('json'));
      return c.json(documentJson(row, baseOf(c)), 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'delete',
      path: '/{id}',
      access: 'editor',
      tags: ['documents'],
      summary: 'Delete a document (and its file)',
      request: { params: IdParam },
      responses: { 204: { description: 'Deleted' } },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await audited(c, (tx) => deleteDocument(tx, id), {
        action: 'document.delete',
        target: `document:${id}`,
      });
      return c.body(null, 204);
    },
  );

  return app;
}

export function documentCategoryRoutes() {
  return resourceRoutes({
    tag: 'documents',
    entity: 'document-category',
    listKey: 'categories',
    schema: CategorySchema,
    input: CategoryInput,
    toJson: categoryJson,
    summaries: {
      list: 'Document categories, in their order on the site, with document counts',
      create: 'Add a document category (position: default last)',
      get: 'One document category',
      update: 'Rename, re-slug or move a document category',
      remove: 'Delete an empty document category (409 while it has documents)',
    },
    list: listCategories,
    create: createCategory,
    get: getCategory,
    update: updateCategory,
    remove: deleteCategory,
  });
}
