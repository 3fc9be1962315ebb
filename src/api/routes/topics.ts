import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Selectable } from 'kysely';
import type { TopicsTable } from '../../db/schema.js';
import { createTopic, deleteTopic, getTopic, listTopics, updateTopic } from '../../domain/topics.js';
import { audited } from '../audited.js';
import type { AppEnv } from '../deps.js';
import { apiRoute, IdParam, jsonContent } from '../openapi.js';

const TopicSchema = z
  .object({
    id: z.string(),
    slug: z.string(),
    nameNl: z.string(),
    nameEn: z.string(),
    descriptionNl: z.string(),
    descriptionEn: z.string(),
    public: z.boolean(),
    position: z.number().int(),
    archived: z.boolean(),
    activeSubscribers: z.number().int().optional(),
  })
  .openapi('Topic');

export const TopicInput = z
  .object({
    slug: z
      .string()
      .trim()
      .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'Gebruik kleine letters, cijfers en streepjes.')
      .max(60),
    nameNl: z.string().trim().min(1, 'Vul een Nederlandse naam in.').max(120),
    nameEn: z.string().trim().min(1, 'Vul een Engelse naam in.').max(120),
    descriptionNl: z.string().trim().max(500).optional(),
    descriptionEn: z.string().trim().max(500).optional(),
    public: z.boolean().optional(),
    position: z.number().int().min(0).max(10_000).optional(),
  })
  .openapi('TopicInput');

function toJson(row: Selectable<TopicsTable> & { active_subscribers?: string | null }) {
  return {
    id: row.id,
    slug: row.slug,
    nameNl: row.name_nl,
    nameEn: row.name_en,
    descriptionNl: row.description_nl,
    descriptionEn: row.description_en,
    public: row.public,
    position: row.position,
    archived: row.archived_at !== null,
    ...(row.active_subscribers !== undefined
      ? { activeSubscribers: Number(row.active_subscribers ?? 0) }
      : {}),
  };
}

export function topicRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/',
      access: 'viewer',
      tags: ['topics'],
      summary: 'Topics people can subscribe to, with active subscriber counts',
      request: { query: z.object({ includeArchived: z.enum(['true', 'false']).optional() }) },
      responses: {
        200: { description: 'Topics', content: jsonContent(z.object({ topics: z.array(TopicSchema) })) },
      },
    }),
    async (c) => {
      const rows = await listTopics(c.var.deps.db, {
        includeArchived: c.req.valid('query').includeArchived === 'true',
      });
      return c.json({ topics: rows.map(toJson) }, 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/',
      access: 'editor',
      tags: ['topics'],
      summary: 'Add a topic',
      request: { body: { required: true, content: jsonContent(TopicInput) } },
      responses: { 201: { description: 'Created', content: jsonContent(TopicSchema) } },
    }),
    async (c) => {
      const row = await audited(c, (tx) => createTopic(tx, c.req.valid('json')), {
        action: 'topic.create',
        target: (t) => `topic:${t.id}`,
      });
      return c.json(toJson(row), 201);
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/{id}',
      access: 'viewer',
      tags: ['topics'],
      summary: 'One topic',
      request: { params: IdParam },
      responses: { 200: { description: 'The topic', content: jsonContent(TopicSchema) } },
    }),
    async (c) => c.json(toJson(await getTopic(c.var.deps.db, c.req.valid('param').id)), 200),
  );

  app.openapi(
    apiRoute({
      method: 'patch',
      path: '/{id}',
      access: 'editor',
      tags: ['topics'],
      summary: 'Change a topic, or archive it (archived: true)',
      request: {
        params: IdParam,
        body: {
          required: true,
          content: jsonContent(TopicInput.partial().extend({ archived: z.boolean().optional() }).strict()),
        },
      },
      responses: { 200: { description: 'Updated', content: jsonContent(TopicSchema) } },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const row = await audited(c, (tx) => updateTopic(tx, id, c.req.valid('json')), {
        action: 'topic.update',
        target: `topic:${id}`,
      });
      return c.json(toJson(row), 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'delete',
      path: '/{id}',
      access: 'editor',
      tags: ['topics'],
      summary: 'Delete a topic nobody subscribed to (otherwise archive it)',
      request: { params: IdParam },
      responses: { 204: { description: 'Deleted' } },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await audited(c, (tx) => deleteTopic(tx, id), { action: 'topic.delete', target: `topic:${id}` });
      return c.body(null, 204);
    },
  );
  return app;
}
