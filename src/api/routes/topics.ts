import { z } from '@hono/zod-openapi';
import type { Selectable } from 'kysely';
import type { TopicsTable } from '../../db/schema.js';
import { patchSchema } from '../../domain/patch-schema.js';
import { createTopic, deleteTopic, getTopic, listTopics, updateTopic } from '../../domain/topics.js';
import { resourceRoutes } from '../crud.js';

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
  return resourceRoutes({
    tag: 'topics',
    entity: 'topic',
    listKey: 'topics',
    schema: TopicSchema,
    input: TopicInput,
    updateInput: patchSchema(TopicInput).extend({ archived: z.boolean().optional() }).strict(),
    toJson,
    summaries: {
      list: 'Topics people can subscribe to, with active subscriber counts',
      create: 'Add a topic',
      get: 'One topic',
      update: 'Change a topic, or archive it (archived: true)',
      remove: 'Delete a topic nobody subscribed to (otherwise archive it)',
    },
    list: listTopics,
    create: createTopic,
    get: getTopic,
    update: updateTopic,
    remove: deleteTopic,
  });
}
