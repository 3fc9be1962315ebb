import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ZodError } from 'zod';
import type { Import } from '../../db/schema.js';
import { audit } from '../../domain/audit.js';
import { DomainError, Invalid } from '../../domain/errors.js';
import {
  type CsvSeparator,
  csvLine,
  EXPORT_COLUMNS,
  exportSubscriberPages,
  getImport,
  IMPORT_MAX_BYTES,
  type ImportOptions,
  ImportUpload,
  importErrorPages,
  importView,
  LAWFUL_BASES,
  resolveExportTopic,
  UploadTooLarge,
} from '../../domain/imports.js';
import type { AppEnv } from '../deps.js';
import { type MultipartHandlers, multipartBoundary, readMultipart } from '../multipart.js';
import { apiRoute, IdParam } from '../openapi.js';
import { fieldErrorsFromZod } from '../problem.js';
import { csrfFirst, limitUpload, requestBody } from '../uploads.js';

/**
 * CSV import and export of subscribers, mounted under /api/v1/subscribers (before the subscriber
 * routes, so that /imports… and /export.csv match here first).
 *
 * The upload streams into Postgres inside one transaction (no Redis, no local disk: it runs on
 * Workers too) and answers 202; a worker does the rest (see domain/imports.ts).
 */

/** The upload route enforces its own body limit (app.ts exempts it from the global 1 MB). */
export const IMPORT_UPLOAD_PATH = /^\/api\/v1\/subscribers\/imports\/?$/;
/** The whole request: the file may be 50 MB, plus multipart framing and the small form fields. */
const REQUEST_MAX_BYTES = IMPORT_MAX_BYTES + 64 * 1024;
const OPTION_FIELDS = new Set(['lawfulBasis', 'dryRun', 'defaultTopics', 'defaultLocale']);

const TRUE_VALUES = ['true', '1', 'yes', 'on'];
const FALSE_VALUES = ['false', '0', 'no', 'off', ''];

const ImportOptionsSchema = z.object({
  lawfulBasis: z.enum(LAWFUL_BASES, {
    error: (issue) =>
      issue.input === undefined || issue.input === ''
        ? 'Kies de rechtsgrond (lawful basis) om de geïmporteerde mensen te mailen.'
        : 'De rechtsgrond moet consent, legitimate_interest, contract of public_task zijn.',
  }),
  dryRun: z
    .string()
    .optional()
    .refine(
      (value) => value === undefined || [...TRUE_VALUES, ...FALSE_VALUES].includes(value.toLowerCase()),
      { message: 'Gebruik true of false.' },
    )
    .transform((value) => value !== undefined && TRUE_VALUES.includes(value.toLowerCase())),
  defaultTopics: z
    .string()
    .max(2000)
    .optional()
    .transform((value) =>
      (value ?? '')
        .split(/[,|;]/)
        .map((slug) => slug.trim())
        .filter(Boolean),
    ),
  defaultLocale: z
    .enum(['nl', 'en'], { error: 'Kies nl of en.' })
    .optional()
    .transform((value) => value ?? null),
}) satisfies z.ZodType<ImportOptions, Record<string, string | undefined>>;

const ImportQuerySchema = z.object({
  lawfulBasis: z.enum(LAWFUL_BASES).optional().openapi({
    description:
      "Required, here or as a form field: the lawful basis for mailing the imported people. Recorded in each new subscriber's consent event.",
  }),
  dryRun: z.string().optional().openapi({
    description: 'true: check and count everything, change no subscriber.',
    example: 'false',
  }),
  defaultTopics: z.string().optional().openapi({
    description: 'Comma-separated topic slugs for rows without topics.',
    example: 'nieuwsbrief',
  }),
  defaultLocale: z
    .enum(['nl', 'en'])
    .optional()
    .openapi({ description: 'Locale for rows without one (else nl).' }),
});

const ImportSchema = z
  .object({
    id: z.string(),
    status: z.enum(['queued', 'running', 'done', 'failed']),
    dryRun: z.boolean(),
    lawfulBasis: z.enum(LAWFUL_BASES),
    filename: z.string().nullable(),
    sizeBytes: z.number().int(),
    encoding: z.enum(['utf-8', 'windows-1252']),
    separator: z.enum([',', ';']),
    ignoredColumns: z
      .array(z.string())
      .openapi({ description: 'Header names that are not ours; their values were ignored.' }),
    defaultLocale: z.enum(['nl', 'en']).nullable(),
    total: z.number().int().openapi({
      description: 'Rows in the file: counted line breaks until the run has parsed it, then exact.',
    }),
    processed: z.number().int(),
    progress: z.number().openapi({ description: 'processed / total, from 0 to 1' }),
    created: z.number().int(),
    updated: z
      .number()
      .int()
      .openapi({ description: 'Existing subscribers that got topics, a name or an organisation.' }),
    unchanged: z.number().int(),
    skipped: z.number().int().openapi({
      description: 'Duplicates in the file, suppressed, unsubscribed, bounced or complained addresses.',
    }),
    errors: z.number().int().openapi({ description: 'Invalid rows; see the error report.' }),
    organisationsCreated: z.number().int(),
    error: z
      .string()
      .nullable()
      .openapi({ description: 'Why the import failed (or why an attempt failed; it is retried).' }),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    links: z.object({ self: z.string(), errors: z.string() }),
  })
  .openapi('SubscriberImport');

export const CsvOptionsSchema = z.object({
  separator: z
    .enum(['comma', 'semicolon'])
    .default('comma')
    .openapi({ description: 'semicolon for Dutch Excel' }),
  bom: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((value) => value === 'true' || value === '1')
    .openapi({ description: 'Start with a UTF-8 byte order mark (Excel then reads the accents right).' }),
});

export const ExportQuerySchema = CsvOptionsSchema.extend({
  status: z
    .enum(['active', 'pending', 'unsubscribed', 'bounced', 'complained'])
    .default('active')
    .openapi({ description: 'Only subscribers with this status (default active).' }),
  topic: z.string().max(100).optional().openapi({ description: 'Only subscribers of this topic (slug).' }),
});

const csvResponse = (description: string) => ({
  description,
  content: { 'text/csv': { schema: { type: 'string' as const } } },
});

function importJson(row: Parameters<typeof importView>[0]) {
  const self = `/api/v1/subscribers/imports/${row.id}`;
  return { ...importView(row), links: { self, errors: `${self}/errors.csv` } };
}

/** The upload's own body limit: the whole request, counted while it streams. */
export const importUploadLimit = limitUpload(
  () => REQUEST_MAX_BYTES,
  () => new UploadTooLarge(),
);

/**
 * A CSV download streamed from an async source of text pieces, with backpressure: the next piece
 * (a page from Postgres) is only read when the client has taken the previous one. The first piece
 * is read before answering, so early failures still get an error response; a later failure
 * breaks the response off instead of ending it as if the file were complete.
 */
export async function csvDownload(c: Context<AppEnv>, filename: string, pieces: AsyncGenerator<string>) {
  const encoder = new TextEncoder();
  const first = await pieces.next();
  let pending: IteratorResult<string> | null = first;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = pending ?? (await pieces.next());
        pending = null;
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      } catch (error) {
        c.var.logger.error({ err: error }, 'CSV download failed while streaming');
        controller.error(error);
      }
    },
    async cancel() {
      await pieces.return(undefined);
    },
  });
  return c.body(body, 200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="${filename}"`,
    'cache-control': 'no-store',
  });
}

const invalidInput = (error: ZodError) =>
  new Invalid('One or more fields are invalid.', fieldErrorsFromZod(error));

const separatorOf = (option: 'comma' | 'semicolon'): CsvSeparator => (option === 'semicolon' ? ';' : ',');

export type CsvOptions = z.infer<typeof CsvOptionsSchema>;
export type ExportQuery = z.infer<typeof ExportQuerySchema>;

/**
 * Receives a CSV upload (raw `text/csv` with options in the query, or a multipart form with the
 * field `file`) and streams it into Postgres in one transaction; the API and the admin page both
 * use it. `csrfInForm`: a browser form whose `_csrf` field is checked while the body streams.
 */
export async function receiveImportUpload(
  c: Context<AppEnv>,
  options: {
    csrfInForm?: boolean;
    /** Receives the option fields as they are read: a form shown again after an error keeps them. */
    fields?: Record<string, string>;
  } = {},
): Promise<Import> {
  const contentType = c.req.header('content-type');
  const boundary = multipartBoundary(contentType);
  const isCsv = contentType !== undefined && /^text\/csv\s*(?:;|$)/i.test(contentType);
  if (!isCsv && !boundary) {
    throw new DomainError(
      'Send the CSV file as the body with Content-Type: text/csv, or as the field "file" of a multipart/form-data form.',
      415,
      'Unsupported media type',
    );
  }
  if (Number(c.req.header('content-length') ?? 0) > REQUEST_MAX_BYTES) throw new UploadTooLarge();
  const fields = options.fields ?? {};
  // An empty field (a form's "none" choice) counts as absent; repeated topics (checkboxes) add up.
  const setOption = (name: string, value: string) => {
    const text = value.trim();
    if (!OPTION_FIELDS.has(name) || text === '') return;
    fields[name] = name === 'defaultTopics' && fields[name] ? `${fields[name]},${text}` : text;
  };
  for (const [name, value] of Object.entries(c.req.query())) setOption(name, value);
  // A raw upload has its options in the query: refuse bad ones before reading a byte.
  if (isCsv) {
    const early = ImportOptionsSchema.safeParse(fields);
    if (!early.success) throw invalidInput(early.error);
  }
  const body = await requestBody(c);
  let invalidOptions: ZodError | null = null;
  const rollback = new Error('rollback');
  try {
    return await c.var.deps.db.transaction().execute(async (tx) => {
      const upload = await ImportUpload.begin(tx);
      let filename: string | null = null;
      if (body && isCsv) {
        const reader = body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          await upload.write(value);
        }
      } else if (body && boundary) {
        let files = 0;
        const handlers: MultipartHandlers = {
          onField: setOption,
          onFile: (part) => {
            if (part.name !== 'file') return null;
            if (++files > 1) {
              throw new Invalid('Send one file.', [
                { field: 'file', message: 'Stuur één bestand per import.' },
              ]);
            }
            filename = part.filename;
            return upload;
          },
        };
        const guarded = options.csrfInForm ? csrfFirst(c, handlers) : null;
        await readMultipart(body, boundary, guarded ?? handlers);
        guarded?.assertChecked();
        if (files === 0) {
          throw new Invalid('No file.', [
            { field: 'file', message: 'Kies het CSV-bestand (het formulierveld "file").' },
          ]);
        }
      }
      const parsed = ImportOptionsSchema.safeParse(fields);
      if (!parsed.success) {
        invalidOptions = parsed.error;
        throw rollback;
      }
      return upload.finish(parsed.data, { filename, actor: c.var.principal });
    });
  } catch (error) {
    if (error === rollback && invalidOptions) throw invalidInput(invalidOptions);
    throw error;
  }
}

/** The per-line report of an import (line, value, reason) as a streamed CSV download. */
export async function importReportDownload(c: Context<AppEnv>, id: string, options: CsvOptions) {
  const db = c.var.deps.db;
  await getImport(db, id);
  const separator = separatorOf(options.separator);
  async function* pieces() {
    yield `${options.bom ? '\uFEFF' : ''}${csvLine(['line', 'value', 'reason'], separator)}`;
    for await (const page of importErrorPages(db, id)) {
      yield page.map((row) => csvLine([row.line, row.value, row.reason], separator)).join('');
    }
  }
  return csvDownload(c, `import-${id}-report.csv`, pieces());
}

/** Subscribers as a streamed CSV download with the import's columns; recorded in the audit log. */
export async function subscriberExportDownload(c: Context<AppEnv>, query: ExportQuery) {
  const { db } = c.var.deps;
  const topicId = query.topic ? await resolveExportTopic(db, query.topic) : null;
  const separator = separatorOf(query.separator);
  await audit(db, c.var.principal, 'subscriber.export', null, {
    status: query.status,
    topic: query.topic ?? null,
  });
  async function* pieces() {
    yield `${query.bom ? '\uFEFF' : ''}${csvLine([...EXPORT_COLUMNS], separator)}`;
    for await (const page of exportSubscriberPages(db, { status: query.status, topicId })) {
      yield page
        .map((row) => csvLine([row.email, row.name, row.locale, row.topics, row.organisation], separator))
        .join('');
    }
  }
  const day = c.var.deps.clock.now().toISOString().slice(0, 10);
  return csvDownload(c, `subscribers-${day}.csv`, pieces());
}

export function importRoutes() {
  const app = new OpenAPIHono<AppEnv>();
  app.use('/imports', importUploadLimit);

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/imports',
      access: 'editor',
      tags: ['subscribers'],
      summary: 'Import subscribers from a CSV file',
      description: [
        'Upload a CSV file (UTF-8 with or without BOM, or Windows-1252; separator `;` or `,`, detected from the header line) as the raw body (`Content-Type: text/csv`, options in the query) or as the field `file` of a multipart/form-data form (options as form fields or in the query). At most 50 MB.',
        '',
        'Columns, named in the first line (case-insensitive; Dutch names work too): `email` (e-mail, required), `name` (naam), `locale` (taal: nl or en), `topics` (onderwerpen: slugs separated by `|` or `,`), `organisation` (organisatie: by name; unknown ones are created with kind "overig"). Other columns are ignored and listed in `ignoredColumns`.',
        '',
        "The file is stored and imported by a background job: follow `links.self` for the progress and `links.errors` for the per-line report. New addresses become active subscribers with an `imported` consent event carrying the lawful basis; existing active or pending subscribers get the file's topics added (never removed) and an empty name or organisation filled in; unsubscribed, bounced, complained or suppressed addresses are never subscribed again. Duplicates in the file: the first line wins.",
      ].join('\n'),
      request: {
        query: ImportQuerySchema,
        body: {
          required: true,
          content: {
            'text/csv': { schema: { type: 'string', format: 'binary' } },
            'multipart/form-data': {
              schema: {
                type: 'object',
                required: ['file', 'lawfulBasis'],
                properties: {
                  file: { type: 'string', format: 'binary' },
                  lawfulBasis: { type: 'string', enum: [...LAWFUL_BASES] },
                  dryRun: { type: 'boolean' },
                  defaultTopics: { type: 'string', description: 'Comma-separated topic slugs' },
                  defaultLocale: { type: 'string', enum: ['nl', 'en'] },
                },
              },
            },
          },
        },
      },
      responses: {
        202: {
          description: 'Stored and queued; `Location` is the status URL',
          headers: { location: { schema: { type: 'string' }, description: 'The status URL' } },
          content: { 'application/json': { schema: ImportSchema } },
        },
        413: {
          description: 'The file is larger than 50 MB',
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        },
      },
    }),
    async (c) => {
      const json = importJson(await receiveImportUpload(c));
      c.header('location', json.links.self);
      return c.json(json, 202);
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/imports/{id}',
      access: 'editor',
      tags: ['subscribers'],
      summary: 'Status, progress and counts of an import',
      request: { params: IdParam },
      responses: {
        200: { description: 'The import', content: { 'application/json': { schema: ImportSchema } } },
      },
    }),
    async (c) => c.json(importJson(await getImport(c.var.deps.db, c.req.valid('param').id)), 200),
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/imports/{id}/errors.csv',
      access: 'editor',
      tags: ['subscribers'],
      summary: 'The per-line report of an import (line, value, reason), as CSV',
      description:
        'Invalid rows, duplicates in the file and skipped addresses, in line order; line 1 is the header line. Complete once the import is done.',
      request: { params: IdParam, query: CsvOptionsSchema },
      responses: { 200: csvResponse('The report, streamed') },
    }),
    async (c) => importReportDownload(c, c.req.valid('param').id, c.req.valid('query')),
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/export.csv',
      access: 'editor',
      tags: ['subscribers'],
      summary: "Export subscribers as CSV (the import's columns)",
      description:
        'Columns email, name, locale, topics (slugs joined by `|`), organisation: the file imports again as it is. Only active subscribers unless `status` says otherwise. Values starting with =, +, - or @ get a leading apostrophe so spreadsheets do not run them as formulas (the import removes it). Streamed; every export is recorded in the audit log.',
      request: { query: ExportQuerySchema },
      responses: { 200: csvResponse('The subscribers, streamed') },
    }),
    async (c) => subscriberExportDownload(c, c.req.valid('query')),
  );

  return app;
}
