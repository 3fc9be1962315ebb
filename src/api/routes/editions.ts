import { OpenAPIHono, z } from '@hono/zod-openapi';
import { resendFailed } from '../../domain/deliveries.js';
import { blocksSchema } from '../../domain/edition-content.js';
import { previewEdition, sendTestEdition, TEST_SEND_MAX_ADDRESSES } from '../../domain/edition-preview.js';
import {
  createEdition,
  deleteEdition,
  type EditionAction,
  type EditionView,
  editionHistory,
  getEdition,
  listEditions,
  transitionEdition,
  updateEdition,
} from '../../domain/editions.js';
import { patchSchema } from '../../domain/patch-schema.js';
import { urlField } from '../../domain/urls.js';
import type { AppEnv } from '../deps.js';
import { apiRoute, IdParam, jsonContent } from '../openapi.js';

const StatusSchema = z.enum([
  'draft',
  'in_review',
  'approved',
  'scheduled',
  'sending',
  'sent',
  'paused',
  'cancelled',
  'failed',
]);
const KindSchema = z.enum(['gemeente', 'zorgaanbieder', 'woningcorporatie', 'overig']);

const EditionSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    subject: z.string(),
    preheader: z.string(),
    slug: z.string(),
    locale: z.enum(['nl', 'en']),
    topics: z.array(z.string()),
    organisationKinds: z.array(KindSchema),
    blocks: z.array(z.unknown()),
    imageUrl: z.string().nullable(),
    openTracking: z.boolean(),
    status: StatusSchema,
    sendAt: z.string().nullable(),
    approvedBy: z.string().nullable(),
    sentAt: z.string().nullable(),
    pausedReason: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Edition');

/** Also the admin UI's edition form (src/web/admin/editions.tsx). */
export const EditionInputSchema = z
  .object({
    title: z.string().trim().min(1, 'Vul een titel in.').max(200),
    subject: z
      .string()
      .trim()
      .min(1, 'Vul een onderwerpregel in.')
      .max(200)
      .refine((value) => !/[\r\n]/.test(value), 'Een onderwerpregel kan geen regelovergang bevatten.'),
    preheader: z.string().trim().max(250).optional(),
    slug: z
      .string()
      .trim()
      .regex(
        /^[a-z0-9]+(?:-[a-z0-9]+)*$/,
        'Gebruik kleine letters, cijfers en streepjes, bijvoorbeeld nieuwsbrief-maart-2026.',
      )
      .max(120),
    locale: z.enum(['nl', 'en']).default('nl'),
    topics: z.array(z.string().max(60)).min(1, 'Kies minstens één onderwerp.').max(20),
    organisationKinds: z.array(KindSchema).max(4).optional(),
    blocks: blocksSchema,
    imageUrl: urlField('fetchedImage').nullable().optional().openapi({
      description: 'Share image (og:image of the web version, LinkedIn thumbnail): an http(s) URL',
    }),
    openTracking: z.boolean().optional(),
  })
  .openapi('EditionInput');

/** An edition's version for If-Match: its last save, in milliseconds. */
const editionETag = (edition: EditionView) => `"v${edition.updated_at.getTime()}"`;

const IfMatchHeader = z.object({ 'if-match': z.string().max(200).optional() });

/**
 * The version an If-Match names; none (or `*`) means no check. A value that is no ETag of ours can
 * match no version: the edit is refused as RFC 9110 says.
 */
function versionOfETag(ifMatch: string | undefined): Date | undefined {
  const value = ifMatch?.trim();
  if (!value || value === '*') return undefined;
  const version = /^(?:W\/)?"v(\d{1,15})"$/.exec(value)?.[1];
  return new Date(version === undefined ? Number.NaN : Number(version));
}

function toJson(e: EditionView) {
  return {
    id: e.id,
    title: e.title,
    subject: e.subject,
    preheader: e.preheader,
    slug: e.slug,
    locale: e.locale,
    topics: e.topics,
    organisationKinds: e.organisation_kinds,
    blocks: e.blocks,
    imageUrl: e.image_url,
    openTracking: e.open_tracking,
    status: e.status,
    sendAt: e.send_at?.toISOString() ?? null,
    approvedBy: e.approved_by,
    sentAt: e.sent_at?.toISOString() ?? null,
    pausedReason: e.paused_reason,
    createdAt: e.created_at.toISOString(),
    updatedAt: e.updated_at.toISOString(),
  };
}

export const TestSendSchema = z.object({
  to: z
    .array(z.string().max(320))
    .min(1, 'Geef minstens één adres.')
    .max(TEST_SEND_MAX_ADDRESSES, `Hoogstens ${TEST_SEND_MAX_ADDRESSES} adressen per test.`),
  locale: z.enum(['nl', 'en']).optional(),
});

/** ISO 8601 with an explicit offset, so "09:00" is never silently UTC or server time. */
const SendAtSchema = z.iso.datetime({
  offset: true,
  message: 'Geef datum en tijd met tijdzone, bijvoorbeeld 2026-03-10T09:00:00+01:00.',
});

const ACTIONS: {
  path: string;
  action: EditionAction;
  access: 'editor';
  summary: string;
  body?: z.ZodObject;
}[] = [
  { path: 'submit', action: 'submit', access: 'editor', summary: 'Submit a draft for review' },
  {
    path: 'request-changes',
    action: 'requestChanges',
    access: 'editor',
    summary: 'Send an edition under review back to draft',
    body: z.object({ note: z.string().max(1000).optional() }),
  },
  {
    path: 'approve',
    action: 'approve',
    access: 'editor',
    summary: 'Approve (four-eyes: not the last editor)',
  },
  {
    path: 'schedule',
    action: 'schedule',
    access: 'editor',
    summary: 'Schedule or reschedule an approved edition',
    body: z.object({ sendAt: SendAtSchema }),
  },
  { path: 'send', action: 'schedule', access: 'editor', summary: 'Send an approved edition now' },
  {
    path: 'cancel',
    action: 'cancel',
    access: 'editor',
    summary: 'Cancel a scheduled edition, or stop a send in progress',
  },
  { path: 'pause', action: 'pause', access: 'editor', summary: 'Pause a send in progress' },
  { path: 'resume', action: 'resume', access: 'editor', summary: 'Resume a paused send' },
  {
    path: 'reopen',
    action: 'reopen',
    access: 'editor',
    summary: 'Turn a cancelled edition back into a draft',
  },
];

export function editionRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/',
      access: 'viewer',
      tags: ['editions'],
      summary: 'Editions, newest first',
      request: {
        query: z.object({
          status: StatusSchema.optional(),
          q: z.string().max(200).optional(),
          before: z
            .string()
            .regex(/^\d{1,18}$/)
            .optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
      },
      responses: {
        200: {
          description: 'Editions',
          content: jsonContent(
            z.object({
              items: z.array(
                z.object({
                  id: z.string(),
                  title: z.string(),
                  subject: z.string(),
                  slug: z.string(),
                  status: StatusSchema,
                  sendAt: z.string().nullable(),
                  sentAt: z.string().nullable(),
                }),
              ),
            }),
          ),
        },
      },
    }),
    async (c) => {
      const rows = await listEditions(c.var.deps.db, c.req.valid('query'));
      return c.json(
        {
          items: rows.map((r) => ({
            id: r.id,
            title: r.title,
            subject: r.subject,
            slug: r.slug,
            status: r.status,
            sendAt: r.send_at?.toISOString() ?? null,
            sentAt: r.sent_at?.toISOString() ?? null,
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/',
      access: 'editor',
      tags: ['editions'],
      summary: 'Create a draft edition',
      request: { body: { required: true, content: jsonContent(EditionInputSchema) } },
      responses: { 201: { description: 'Created', content: jsonContent(EditionSchema) } },
    }),
    async (c) => {
      const input = c.req.valid('json');
      const edition = await c.var.deps.db
        .transaction()
        .execute((tx) => createEdition(tx, c.var.principal!, input));
      return c.json(toJson(edition), 201);
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/{id}',
      access: 'viewer',
      tags: ['editions'],
      summary: 'One edition',
      request: { params: IdParam },
      responses: { 200: { description: 'The edition', content: jsonContent(EditionSchema) } },
    }),
    async (c) => {
      const edition = await getEdition(c.var.deps.db, c.req.valid('param').id);
      c.header('etag', editionETag(edition));
      return c.json(toJson(edition), 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'patch',
      path: '/{id}',
      access: 'editor',
      tags: ['editions'],
      summary: 'Edit an edition (an approved or scheduled one goes back to draft)',
      description:
        'Send `If-Match` with the ETag of the version you edited (GET /editions/{id}): if someone saved in between, the answer is 412 and nothing changes.',
      request: {
        params: IdParam,
        headers: IfMatchHeader,
        body: { required: true, content: jsonContent(patchSchema(EditionInputSchema).strict()) },
      },
      responses: {
        200: { description: 'Updated', content: jsonContent(EditionSchema) },
        412: { description: 'Someone else saved the edition after the version named in If-Match' },
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const changes = c.req.valid('json');
      const basedOn = versionOfETag(c.req.valid('header')['if-match']);
      const edition = await c.var.deps.db
        .transaction()
        .execute((tx) => updateEdition(tx, c.var.principal!, id, changes, { basedOn }));
      c.header('etag', editionETag(edition));
      return c.json(toJson(edition), 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'delete',
      path: '/{id}',
      access: 'editor',
      tags: ['editions'],
      summary: 'Delete a draft or a cancelled edition that never went out',
      request: { params: IdParam },
      responses: { 204: { description: 'Deleted' } },
    }),
    async (c) => {
      await c.var.deps.db.transaction().execute((tx) => deleteEdition(tx, c.req.valid('param').id));
      return c.body(null, 204);
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/{id}/history',
      access: 'viewer',
      tags: ['editions'],
      summary: 'Every status change: who, when, from, to',
      request: { params: IdParam },
      responses: {
        200: {
          description: 'Oldest first',
          content: jsonContent(
            z.object({
              events: z.array(
                z.object({
                  from: StatusSchema.nullable(),
                  to: StatusSchema,
                  by: z.string().nullable(),
                  at: z.string(),
                  note: z.string().nullable(),
                }),
              ),
            }),
          ),
        },
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await getEdition(c.var.deps.db, id);
      const events = await editionHistory(c.var.deps.db, id);
      return c.json(
        {
          events: events.map((e) => ({
            from: e.from_status,
            to: e.to_status,
            by: e.actor_email,
            at: e.at.toISOString(),
            note: e.note,
          })),
        },
        200,
      );
    },
  );

  for (const spec of ACTIONS) {
    app.openapi(
      apiRoute({
        method: 'post',
        path: `/{id}/${spec.path}`,
        access: spec.access,
        tags: ['editions'],
        summary: spec.summary,
        request: {
          params: IdParam,
          ...(spec.body ? { body: { required: true, content: jsonContent(spec.body) } } : {}),
        },
        responses: {
          200: { description: 'The edition after the change', content: jsonContent(EditionSchema) },
        },
      }),
      async (c) => {
        const { id } = c.req.param() as { id: string };
        const body = (spec.body ? await c.req.json() : {}) as { sendAt?: string; note?: string };
        const edition = await c.var.deps.db.transaction().execute((tx) =>
          transitionEdition(tx, c.var.deps.clock, c.var.principal, id, spec.action, {
            ...(body.sendAt ? { sendAt: new Date(body.sendAt) } : {}),
            ...(body.note ? { note: body.note } : {}),
          }),
        );
        return c.json(toJson(edition), 200);
      },
    );
  }

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/{id}/resend-failed',
      access: 'editor',
      tags: ['editions'],
      summary: 'Send again to the recipients whose delivery failed (and only to them)',
      request: { params: IdParam },
      responses: {
        200: { description: 'Requeued', content: jsonContent(z.object({ requeued: z.number().int() })) },
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { db, clock } = c.var.deps;
      const requeued = await db
        .transaction()
        .execute((tx) => resendFailed(tx, c.var.principal!, id, clock.now()));
      return c.json({ requeued }, 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/{id}/preview',
      access: 'viewer',
      tags: ['editions'],
      summary: 'The email as a reader in the given language would get it (HTML or plain text)',
      request: {
        params: IdParam,
        query: z.object({
          locale: z.enum(['nl', 'en']).default('nl'),
          format: z.enum(['html', 'text']).default('html'),
        }),
      },
      responses: {
        200: {
          description: 'The rendered email',
          content: { 'text/html': { schema: z.string() }, 'text/plain': { schema: z.string() } },
        },
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { locale, format } = c.req.valid('query');
      const { db, config } = c.var.deps;
      const email = await previewEdition(db, await getEdition(db, id), config.publicBaseUrl, locale);
      c.header('x-email-subject', encodeURIComponent(email.subject));
      // The preview is our own rendering of editor content: no script runs in it (CSP of the app).
      return format === 'html' ? c.html(email.html, 200) : c.text(email.text, 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/{id}/test-send',
      access: 'editor',
      tags: ['editions'],
      summary: 'Send a marked test version to at most 10 addresses (not counted as deliveries)',
      request: {
        params: IdParam,
        body: {
          required: true,
          content: jsonContent(TestSendSchema),
        },
      },
      responses: {
        202: { description: 'Queued', content: jsonContent(z.object({ queued: z.number().int() })) },
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { db, config, clock } = c.var.deps;
      const queued = await sendTestEdition(
        db,
        clock,
        c.var.principal!,
        id,
        c.req.valid('json'),
        config.publicBaseUrl,
      );
      return c.json({ queued }, 202);
    },
  );

  return app;
}
