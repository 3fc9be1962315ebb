import { OpenAPIHono, z } from '@hono/zod-openapi';
import {
  createOrganisation,
  deleteOrganisation,
  getOrganisation,
  listOrganisations,
  ORGANISATION_KINDS,
  updateOrganisation,
} from '../../domain/organisations.js';
import { audited } from '../audited.js';
import type { AppEnv } from '../deps.js';
import { apiRoute, IdParam, jsonContent } from '../openapi.js';

const KindSchema = z.enum(ORGANISATION_KINDS);
const OrganisationSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: KindSchema,
    createdAt: z.string(),
    subscriberCount: z.number().int().optional(),
  })
  .openapi('Organisation');
export const OrganisationInput = z
  .object({ name: z.string().trim().min(1, 'Vul een naam in.').max(200), kind: KindSchema })
  .openapi('OrganisationInput');

const toJson = (row: {
  id: string;
  name: string;
  kind: z.infer<typeof KindSchema>;
  created_at: Date;
  subscriber_count?: string;
}) => ({
  id: row.id,
  name: row.name,
  kind: row.kind,
  createdAt: row.created_at.toISOString(),
  ...(row.subscriber_count !== undefined ? { subscriberCount: Number(row.subscriber_count) } : {}),
});

export function organisationRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/',
      access: 'viewer',
      tags: ['organisations'],
      summary: 'Member organisations with their number of subscribers',
      responses: {
        200: {
          description: 'Organisations',
          content: jsonContent(z.object({ organisations: z.array(OrganisationSchema) })),
        },
      },
    }),
    async (c) => c.json({ organisations: (await listOrganisations(c.var.deps.db)).map(toJson) }, 200),
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/',
      access: 'editor',
      tags: ['organisations'],
      summary: 'Add a member organisation',
      request: { body: { required: true, content: jsonContent(OrganisationInput) } },
      responses: { 201: { description: 'Created', content: jsonContent(OrganisationSchema) } },
    }),
    async (c) => {
      const input = c.req.valid('json');
      const row = await audited(c, (tx) => createOrganisation(tx, input), {
        action: 'organisation.create',
        target: (o) => `organisation:${o.id}`,
      });
      return c.json(toJson(row), 201);
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/{id}',
      access: 'viewer',
      tags: ['organisations'],
      summary: 'One organisation',
      request: { params: IdParam },
      responses: { 200: { description: 'The organisation', content: jsonContent(OrganisationSchema) } },
    }),
    async (c) => c.json(toJson(await getOrganisation(c.var.deps.db, c.req.valid('param').id)), 200),
  );

  app.openapi(
    apiRoute({
      method: 'patch',
      path: '/{id}',
      access: 'editor',
      tags: ['organisations'],
      summary: 'Rename an organisation or change its kind',
      request: {
        params: IdParam,
        body: { required: true, content: jsonContent(OrganisationInput.partial().strict()) },
      },
      responses: { 200: { description: 'Updated', content: jsonContent(OrganisationSchema) } },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const row = await audited(c, (tx) => updateOrganisation(tx, id, c.req.valid('json')), {
        action: 'organisation.update',
        target: `organisation:${id}`,
      });
      return c.json(toJson(row), 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'delete',
      path: '/{id}',
      access: 'editor',
      tags: ['organisations'],
      summary: 'Remove an organisation (its members stay subscribed)',
      request: { params: IdParam },
      responses: { 204: { description: 'Removed' } },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await audited(c, (tx) => deleteOrganisation(tx, id), {
        action: 'organisation.delete',
        target: `organisation:${id}`,
      });
      return c.body(null, 204);
    },
  );
  return app;
}
