import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { DEFAULT_LINKEDIN_VERSION } from '../../config.js';
import { audit } from '../../domain/audit.js';
import {
  approvePost,
  cancelPost,
  createPost,
  getPost,
  linkedinHealth,
  listPosts,
  type PostRow,
  postAttempts,
  postUrl,
  requeueHeldPosts,
  schedulePost,
  updatePost,
} from '../../domain/linkedin.js';
import { patchSchema } from '../../domain/patch-schema.js';
import { getSettings, updateSettings } from '../../domain/settings.js';
import { urlField } from '../../domain/urls.js';
import { composeCommentary, escapedLength, MAX_COMMENTARY } from '../../providers/linkedin-text.js';
import { audited } from '../audited.js';
import type { AppEnv } from '../deps.js';
import { apiRoute, IdParam, jsonContent } from '../openapi.js';

export const StatusSchema = z.enum([
  'draft',
  'scheduled',
  'publishing',
  'published',
  'failed',
  'held',
  'cancelled',
]);
const KindSchema = z.enum(['edition', 'article', 'document', 'custom']);
const InputKindSchema = z.enum(['article', 'document', 'custom']);
// LinkedIn is given links to web pages, and images it gets from our SSRF-guarded fetch (see urls.ts).
const LINK_MESSAGE = 'Geef een http(s)-link.';
const IMAGE_MESSAGE = 'Geef een http(s)-adres van een afbeelding.';
const AtSchema = z.iso.datetime({
  offset: true,
  message: 'Geef datum en tijd met tijdzone, bijvoorbeeld 2026-03-10T09:00:00+01:00.',
});

const PostSchema = z
  .object({
    id: z.string(),
    kind: KindSchema,
    editionId: z.string().nullable(),
    commentary: z.string(),
    /** Length after escaping for LinkedIn; over 3,000 it is cut on a word boundary with an ellipsis. */
    commentaryLength: z.number().int(),
    truncated: z.boolean(),
    link: z.string(),
    title: z.string(),
    description: z.string(),
    imageUrl: z.string().nullable(),
    scheduledAt: z.string().nullable(),
    status: StatusSchema,
    version: z.number().int(),
    postUrn: z.string().nullable(),
    postUrl: z.string().nullable(),
    /** LinkedIn answered "Content is a duplicate of <postUrn>": published as that existing post, not posted again. */
    alreadyOnLinkedIn: z.boolean(),
    dryRun: z.boolean(),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    retryAt: z.string().nullable(),
    publishedAt: z.string().nullable(),
    approvedBy: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('LinkedInPost');

const AttemptSchema = z.object({
  step: z.string(),
  responseStatus: z.number().int().nullable(),
  outcome: z.string(),
  detail: z.string().nullable(),
  dryRun: z.boolean(),
  at: z.string(),
});

/** A post's fields as editors give them (the admin's compose form validates with it too). */
export const PostInputSchema = z
  .object({
    kind: InputKindSchema.default('article'),
    commentary: z
      .string()
      .trim()
      .min(1, 'Schrijf een tekst voor het bericht.')
      .max(MAX_COMMENTARY, `Hoogstens ${MAX_COMMENTARY} tekens.`),
    link: urlField('web', LINK_MESSAGE),
    title: z.string().trim().min(1, 'Geef een titel voor de link.').max(200),
    description: z.string().trim().min(1, 'Geef een korte beschrijving voor de link.').max(300),
    imageUrl: urlField('fetchedImage', IMAGE_MESSAGE).nullable().optional(),
    scheduledAt: AtSchema.nullable().optional(),
  })
  .openapi('LinkedInPostInput');

const HealthSchema = z
  .object({
    mode: z.enum(['dry-run', 'environment', 'connected', 'broken']),
    organizationId: z.string().nullable(),
    organizationName: z.string().nullable(),
    accessTokenExpiresAt: z.string().nullable(),
    daysLeft: z.number().int().nullable(),
    refreshable: z.boolean(),
    version: z.string(),
    versionAgeMonths: z.number().int(),
    heldPosts: z.number().int(),
    failedPosts: z.number().int(),
    /** Drafts go nowhere until someone approves or schedules them. */
    draftPosts: z.number().int(),
    warnings: z.array(z.string()),
  })
  .openapi('LinkedInHealth');

const SettingsSchema = z
  .object({
    announcementTemplate: z.string(),
    announcementNeedsApproval: z.boolean(),
    defaultImageUrl: z.string().nullable(),
  })
  .openapi('LinkedInSettings');

function toJson(p: PostRow) {
  const escaped = composeCommentary(p.commentary);
  return {
    id: p.id,
    kind: p.kind,
    editionId: p.edition_id,
    commentary: p.commentary,
    commentaryLength: escaped.length,
    truncated: escapedLength(p.commentary) > MAX_COMMENTARY,
    link: p.link,
    title: p.title,
    description: p.description,
    imageUrl: p.image_url,
    scheduledAt: p.scheduled_at?.toISOString() ?? null,
    status: p.status,
    version: p.schedule_version,
    postUrn: p.post_urn,
    postUrl: p.post_urn && !p.dry_run ? postUrl(p.post_urn) : null,
    alreadyOnLinkedIn: p.already_on_linkedin,
    dryRun: p.dry_run,
    attempts: p.attempts,
    lastError: p.last_error,
    retryAt: p.retry_at?.toISOString() ?? null,
    publishedAt: p.published_at?.toISOString() ?? null,
    approvedBy: p.approved_by,
    createdAt: p.created_at.toISOString(),
    updatedAt: p.updated_at.toISOString(),
  };
}

/** Held posts go out again, now (also the admin's button); returns how many. */
export function requeueHeld(c: Context<AppEnv>): Promise<number> {
  return audited(c, (tx) => requeueHeldPosts(tx, c.var.deps.clock.now()), {
    action: 'linkedin.requeue-held',
    target: null,
    details: (count) => ({ count }),
  });
}

const postResponse = (description: string) => ({ 200: { description, content: jsonContent(PostSchema) } });

export function linkedinRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/health',
      access: 'viewer',
      tags: ['linkedin'],
      summary:
        'Connection, token expiry (warnings at 14, 7 and 1 days), API version age, and posts that wait for a person (held, failed, drafts)',
      responses: { 200: { description: 'Health', content: jsonContent(HealthSchema) } },
    }),
    async (c) => {
      const { db, clock, linkedin } = c.var.deps;
      const health = await linkedinHealth(
        db,
        {
          version: linkedin?.settings.version ?? DEFAULT_LINKEDIN_VERSION,
          envAccessToken: linkedin?.envAccessToken,
          envOrganizationId: linkedin?.envOrganizationId,
        },
        clock.now(),
      );
      return c.json(health, 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/settings',
      access: 'viewer',
      tags: ['linkedin'],
      summary:
        'Announcement template (placeholders {titel}, {onderwerp}, {samenvatting}, {link}), approval rule, default image',
      responses: { 200: { description: 'Settings', content: jsonContent(SettingsSchema) } },
    }),
    async (c) => {
      const s = await getSettings(c.var.deps.db);
      return c.json(
        {
          announcementTemplate: s.linkedinAnnouncementTemplate,
          announcementNeedsApproval: s.linkedinAnnouncementNeedsApproval,
          defaultImageUrl: s.linkedinDefaultImageUrl,
        },
        200,
      );
    },
  );

  app.openapi(
    apiRoute({
      method: 'patch',
      path: '/settings',
      access: 'admin',
      tags: ['linkedin'],
      summary: 'Change the announcement template, approval rule or default image',
      request: {
        body: {
          required: true,
          content: jsonContent(
            z
              .object({
                announcementTemplate: z.string().trim().min(1).max(MAX_COMMENTARY),
                announcementNeedsApproval: z.boolean(),
                defaultImageUrl: urlField('fetchedImage', IMAGE_MESSAGE).nullable(),
              })
              .partial()
              .strict(),
          ),
        },
      },
      responses: { 200: { description: 'Settings after the change', content: jsonContent(SettingsSchema) } },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const { db } = c.var.deps;
      const s = await db.transaction().execute(async (tx) => {
        const updated = await updateSettings(tx, {
          ...(body.announcementTemplate !== undefined
            ? { linkedinAnnouncementTemplate: body.announcementTemplate }
            : {}),
          ...(body.announcementNeedsApproval !== undefined
            ? { linkedinAnnouncementNeedsApproval: body.announcementNeedsApproval }
            : {}),
          ...(body.defaultImageUrl !== undefined ? { linkedinDefaultImageUrl: body.defaultImageUrl } : {}),
        });
        await audit(tx, c.var.principal, 'linkedin.settings', null, { fields: Object.keys(body) });
        return updated;
      });
      return c.json(
        {
          announcementTemplate: s.linkedinAnnouncementTemplate,
          announcementNeedsApproval: s.linkedinAnnouncementNeedsApproval,
          defaultImageUrl: s.linkedinDefaultImageUrl,
        },
        200,
      );
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/posts',
      access: 'viewer',
      tags: ['linkedin'],
      summary: 'LinkedIn posts, newest first',
      request: {
        query: z.object({
          status: StatusSchema.optional(),
          kind: KindSchema.optional(),
          before: z
            .string()
            .regex(/^\d{1,18}$/)
            .optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
      },
      responses: {
        200: { description: 'Posts', content: jsonContent(z.object({ items: z.array(PostSchema) })) },
      },
    }),
    async (c) => {
      const rows = await listPosts(c.var.deps.db, c.req.valid('query'));
      return c.json({ items: rows.map(toJson) }, 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/posts',
      access: 'editor',
      tags: ['linkedin'],
      summary: 'Create a draft post for an article, folder or document (approve or schedule it to publish)',
      request: { body: { required: true, content: jsonContent(PostInputSchema) } },
      responses: { 201: { description: 'Created', content: jsonContent(PostSchema) } },
    }),
    async (c) => {
      const { scheduledAt, ...input } = c.req.valid('json');
      const post = await c.var.deps.db.transaction().execute((tx) =>
        createPost(tx, c.var.principal!, {
          ...input,
          scheduledAt: scheduledAt ? new Date(scheduledAt) : null,
        }),
      );
      return c.json(toJson(post), 201);
    },
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/posts/requeue-held',
      access: 'admin',
      tags: ['linkedin'],
      summary:
        'Send the posts held for a refused token again now, trying a refused LINKEDIN_ACCESS_TOKEN once more (reconnecting, or restarting with a new LINKEDIN_ACCESS_TOKEN, does this by itself)',
      responses: {
        200: { description: 'Requeued', content: jsonContent(z.object({ requeued: z.number().int() })) },
      },
    }),
    async (c) => c.json({ requeued: await requeueHeld(c) }, 200),
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/posts/{id}',
      access: 'viewer',
      tags: ['linkedin'],
      summary: 'One post, with every publishing attempt and its response status',
      request: { params: IdParam },
      responses: {
        200: {
          description: 'The post',
          content: jsonContent(PostSchema.extend({ attemptLog: z.array(AttemptSchema) })),
        },
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { db } = c.var.deps;
      const post = await getPost(db, id);
      const attempts = await postAttempts(db, id);
      return c.json(
        {
          ...toJson(post),
          attemptLog: attempts.map((a) => ({
            step: a.step,
            responseStatus: a.response_status,
            outcome: a.outcome,
            detail: a.detail,
            dryRun: a.dry_run,
            at: a.at.toISOString(),
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    apiRoute({
      method: 'patch',
      path: '/posts/{id}',
      access: 'editor',
      tags: ['linkedin'],
      summary: 'Edit a draft or scheduled post (a new time for a scheduled post reschedules it)',
      request: {
        params: IdParam,
        body: { required: true, content: jsonContent(patchSchema(PostInputSchema).strict()) },
      },
      responses: postResponse('Updated'),
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const { db, clock } = c.var.deps;
      const { scheduledAt, ...rest } = body;
      const post = await db.transaction().execute((tx) =>
        updatePost(
          tx,
          c.var.principal!,
          id,
          {
            ...rest,
            ...(scheduledAt !== undefined ? { scheduledAt: scheduledAt ? new Date(scheduledAt) : null } : {}),
          },
          clock.now(),
        ),
      );
      return c.json(toJson(post), 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/posts/{id}/schedule',
      access: 'editor',
      tags: ['linkedin'],
      summary: 'Schedule or reschedule a post (no time: now); also sends a failed or held post again',
      request: {
        params: IdParam,
        body: {
          required: true,
          content: jsonContent(z.object({ scheduledAt: AtSchema.optional() }).strict()),
        },
      },
      responses: postResponse('Scheduled'),
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { scheduledAt } = c.req.valid('json');
      const { db, clock } = c.var.deps;
      const post = await db
        .transaction()
        .execute((tx) =>
          schedulePost(tx, c.var.principal, id, scheduledAt ? new Date(scheduledAt) : null, clock.now()),
        );
      return c.json(toJson(post), 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/posts/{id}/approve',
      access: 'editor',
      tags: ['linkedin'],
      summary: 'Approve a draft: it goes out at its scheduled time, or now',
      request: { params: IdParam },
      responses: postResponse('Approved and scheduled'),
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { db, clock } = c.var.deps;
      const post = await db.transaction().execute((tx) => approvePost(tx, c.var.principal!, id, clock.now()));
      return c.json(toJson(post), 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/posts/{id}/cancel',
      access: 'editor',
      tags: ['linkedin'],
      summary: 'Cancel a post that has not gone out',
      request: { params: IdParam },
      responses: postResponse('Cancelled'),
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { db, clock } = c.var.deps;
      const post = await db.transaction().execute((tx) => cancelPost(tx, c.var.principal!, id, clock.now()));
      return c.json(toJson(post), 200);
    },
  );

  return app;
}
