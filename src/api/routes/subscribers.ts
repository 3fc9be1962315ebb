import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { audit } from '../../domain/audit.js';
import type { Principal } from '../../domain/auth.js';
import { consentHistory } from '../../domain/consent.js';
import {
  createSubscriber,
  eraseSubscriber,
  exportSubscriberData,
  getSubscriber,
  listSubscribers,
  type SubscriberSummary,
  updateSubscriber,
} from '../../domain/subscriber-admin.js';
import { audited } from '../audited.js';
import type { AppEnv } from '../deps.js';
import { apiRoute, IdParam, jsonContent } from '../openapi.js';

const StatusSchema = z.enum(['pending', 'active', 'unsubscribed', 'bounced', 'complained']);
export const LocaleSchema = z.enum(['nl', 'en']);
const LawfulBasisSchema = z.enum(['consent', 'legitimate_interest', 'contract', 'public_task']);

const SubscriberSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string().nullable(),
    locale: LocaleSchema,
    status: StatusSchema,
    source: z.enum(['form', 'import', 'api', 'editor']),
    organisationId: z.string().nullable(),
    organisationName: z.string().nullable(),
    topics: z.array(z.string()),
    createdAt: z.string(),
    confirmedAt: z.string().nullable(),
    unsubscribedAt: z.string().nullable(),
  })
  .openapi('Subscriber');

const ConsentEventSchema = z
  .object({
    id: z.string(),
    kind: z.enum(['given', 'confirmed', 'changed', 'withdrawn', 'imported']),
    consentVersion: z.string().nullable(),
    lawfulBasis: LawfulBasisSchema.nullable(),
    source: z.string(),
    details: z.record(z.string(), z.unknown()),
    ipHash: z.string().nullable().openapi({
      description:
        'Keyed pseudonym of the client IP ("hmac1:…", HMAC from APP_SECRET); a bare hex value is the older, unkeyed SHA-256',
    }),
    userAgent: z.string().nullable(),
    at: z.string(),
  })
  .openapi('ConsentEvent');

export const idString = z.string().regex(/^\d{1,18}$/, 'must be a numeric id');

export const CreateSubscriberSchema = z
  .object({
    email: z.string().max(320),
    name: z.string().trim().max(200).nullable().optional(),
    locale: LocaleSchema.optional(),
    topics: z.array(z.string().max(60)).min(1, 'Kies minstens één onderwerp.').max(50),
    organisationId: idString.nullable().optional(),
    lawfulBasis: LawfulBasisSchema,
    requireConfirmation: z.boolean().default(false),
  })
  .openapi('CreateSubscriber');

const UpdateSubscriberSchema = z
  .object({
    name: z.string().trim().max(200).nullable().optional(),
    locale: LocaleSchema.optional(),
    organisationId: idString.nullable().optional(),
    topics: z.array(z.string().max(60)).max(50).optional(),
    unsubscribe: z.literal(true).optional(),
  })
  .strict()
  .openapi('UpdateSubscriber');

export const ListQuery = z.object({
  status: StatusSchema.optional(),
  topic: z.string().max(60).optional(),
  organisationId: idString.optional(),
  q: z.string().max(200).optional(),
  after: idString.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const iso = (date: Date | null) => date?.toISOString() ?? null;

function toJson(s: SubscriberSummary) {
  return {
    ...s,
    createdAt: s.createdAt.toISOString(),
    confirmedAt: iso(s.confirmedAt),
    unsubscribedAt: iso(s.unsubscribedAt),
  };
}

/** Evidence for the consent ledger: which user or API token made the change. */
function evidenceOf(c: Context<AppEnv>) {
  const principal = c.var.principal as Principal;
  return {
    source: principal.via === 'token' ? `api:token:${principal.tokenId}` : `editor:user:${principal.user.id}`,
    userAgent: c.req.header('user-agent') ?? null,
  };
}

/*
 * The changes to subscribers, each with its consent evidence and audit entry in one transaction:
 * the API below and the admin pages (web/admin/subscribers.tsx) make them through these.
 */

export function addSubscriber(c: Context<AppEnv>, input: z.infer<typeof CreateSubscriberSchema>) {
  const principal = c.var.principal!;
  return audited(
    c,
    (tx) =>
      createSubscriber(
        tx,
        c.var.deps.clock,
        { ...input, source: principal.via === 'token' ? 'api' : 'editor' },
        evidenceOf(c),
      ),
    {
      action: 'subscriber.create',
      target: (created) => `subscriber:${created.id}`,
      details: { lawfulBasis: input.lawfulBasis },
    },
  );
}

export function changeSubscriber(
  c: Context<AppEnv>,
  id: string,
  changes: z.infer<typeof UpdateSubscriberSchema>,
) {
  return audited(c, (tx) => updateSubscriber(tx, c.var.deps.clock, id, changes, evidenceOf(c)), {
    action: 'subscriber.update',
    target: `subscriber:${id}`,
    details: { fields: Object.keys(changes) },
  });
}

/** GDPR erasure: personal data deleted, a hashed suppression entry kept (domain/subscriber-admin.ts). */
export function forgetSubscriber(c: Context<AppEnv>, id: string): Promise<void> {
  return audited(c, (tx) => eraseSubscriber(tx, id, evidenceOf(c).source), {
    action: 'subscriber.erase',
    target: `subscriber:${id}`,
  });
}

/** Everything held about one subscriber as a JSON download (GDPR access); the export is audited. */
export async function subscriberDataDownload(c: Context<AppEnv>, id: string) {
  const data = await exportSubscriberData(c.var.deps.db, id);
  await audit(c.var.deps.db, c.var.principal, 'subscriber.export', `subscriber:${id}`);
  c.header('content-disposition', `attachment; filename="subscriber-${id}.json"`);
  return c.json(JSON.parse(JSON.stringify(data)) as Record<string, unknown>, 200);
}

export function subscriberRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/',
      access: 'viewer',
      tags: ['subscribers'],
      summary: 'Search and filter subscribers (newest first, keyset pagination with `after`)',
      request: { query: ListQuery },
      responses: {
        200: {
          description: 'One page; pass `next` as `after` for the following page',
          content: jsonContent(z.object({ items: z.array(SubscriberSchema), next: z.string().nullable() })),
        },
      },
    }),
    async (c) => {
      const page = await listSubscribers(c.var.deps.db, c.req.valid('query'));
      return c.json({ items: page.items.map(toJson), next: page.next }, 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/',
      access: 'editor',
      tags: ['subscribers'],
      summary: 'Add a subscriber or partner with a recorded lawful basis',
      request: { body: { required: true, content: jsonContent(CreateSubscriberSchema) } },
      responses: { 201: { description: 'Created', content: jsonContent(SubscriberSchema) } },
    }),
    async (c) => c.json(toJson(await addSubscriber(c, c.req.valid('json'))), 201),
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/{id}',
      access: 'viewer',
      tags: ['subscribers'],
      summary: 'One subscriber',
      request: { params: IdParam },
      responses: { 200: { description: 'The subscriber', content: jsonContent(SubscriberSchema) } },
    }),
    async (c) => c.json(toJson(await getSubscriber(c.var.deps.db, c.req.valid('param').id)), 200),
  );

  app.openapi(
    apiRoute({
      method: 'patch',
      path: '/{id}',
      access: 'editor',
      tags: ['subscribers'],
      summary: 'Change name, language, organisation or topics, or unsubscribe (unsubscribe: true)',
      request: { params: IdParam, body: { required: true, content: jsonContent(UpdateSubscriberSchema) } },
      responses: { 200: { description: 'Updated', content: jsonContent(SubscriberSchema) } },
    }),
    async (c) => c.json(toJson(await changeSubscriber(c, c.req.valid('param').id, c.req.valid('json'))), 200),
  );

  app.openapi(
    apiRoute({
      method: 'delete',
      path: '/{id}',
      access: 'editor',
      tags: ['subscribers'],
      summary: 'Erase a subscriber (GDPR): personal data deleted, a hashed suppression entry kept',
      request: { params: IdParam },
      responses: { 204: { description: 'Erased' } },
    }),
    async (c) => {
      await forgetSubscriber(c, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/{id}/consent',
      access: 'viewer',
      tags: ['subscribers'],
      summary: 'The consent history of one subscriber (append-only ledger)',
      request: { params: IdParam },
      responses: {
        200: {
          description: 'Oldest first',
          content: jsonContent(z.object({ events: z.array(ConsentEventSchema) })),
        },
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await getSubscriber(c.var.deps.db, id);
      const events = await consentHistory(c.var.deps.db, id);
      return c.json(
        {
          events: events.map((e) => ({
            id: e.id,
            kind: e.kind,
            consentVersion: e.consent_version,
            lawfulBasis: e.lawful_basis,
            source: e.source,
            details: e.details,
            ipHash: e.ip_hash,
            userAgent: e.user_agent,
            at: e.at.toISOString(),
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/{id}/export',
      access: 'editor',
      tags: ['subscribers'],
      summary: 'Everything held about one subscriber (GDPR access request), as JSON',
      request: { params: IdParam },
      responses: {
        200: { description: 'The data', content: jsonContent(z.record(z.string(), z.unknown())) },
      },
    }),
    async (c) => subscriberDataDownload(c, c.req.valid('param').id),
  );

  return app;
}
