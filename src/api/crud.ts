import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Db, Tx } from '../db/connection.js';
import { patchSchema } from '../domain/patch-schema.js';
import { audited } from './audited.js';
import type { AppEnv } from './deps.js';
import { apiRoute, IdParam, jsonContent } from './openapi.js';

/**
 * A plain resource (organisations, topics, document categories): list, create, read, change and
 * delete, each role-checked, documented in OpenAPI and audited as `<entity>.<action>` on
 * `<entity>:<id>`. The business rules stay in the domain functions passed in.
 */
export interface ResourceSpec<
  Row extends { id: string },
  Input extends z.ZodObject,
  Update extends z.ZodType,
> {
  /** The OpenAPI tag. */
  tag: string;
  /** Singular name in audit entries, e.g. `document-category`. */
  entity: string;
  /** The key of the list in the list answer, e.g. `organisations`. */
  listKey: string;
  schema: z.ZodType;
  input: Input;
  /** The body of a change; default: every input field optional, without the input's defaults. */
  updateInput?: Update;
  toJson(row: Row): unknown;
  summaries: { list: string; create: string; get: string; update: string; remove: string };
  list(db: Db): Promise<Row[]>;
  create(tx: Tx, input: z.output<Input>): Promise<Row>;
  get(db: Db, id: string): Promise<Row>;
  update(tx: Tx, id: string, input: z.output<Update>): Promise<Row>;
  remove(tx: Tx, id: string): Promise<unknown>;
}

export function resourceRoutes<
  Row extends { id: string },
  Input extends z.ZodObject,
  Update extends z.ZodType,
>(spec: ResourceSpec<Row, Input, Update>) {
  const app = new OpenAPIHono<AppEnv>();
  const { tag, entity, schema, summaries } = spec;
  const updateBody = spec.updateInput ?? patchSchema(spec.input).strict();
  const target = (id: string) => `${entity}:${id}`;
  // The handlers' answers are checked against `schema` by the OpenAPI document test, not by
  // TypeScript: the generic row-to-JSON mapping is beyond what the route types can follow.
  const json = (value: unknown) => value as never;
  const valid = <T>(c: { req: { valid: unknown } }, part: 'json' | 'param') =>
    (c.req.valid as (part: string) => T)(part);

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/',
      access: 'viewer',
      tags: [tag],
      summary: summaries.list,
      responses: {
        200: { description: 'The list', content: jsonContent(z.object({ [spec.listKey]: z.array(schema) })) },
      },
    }),
    async (c) => c.json(json({ [spec.listKey]: (await spec.list(c.var.deps.db)).map(spec.toJson) }), 200),
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/',
      access: 'editor',
      tags: [tag],
      summary: summaries.create,
      request: { body: { required: true, content: jsonContent(spec.input) } },
      responses: { 201: { description: 'Created', content: jsonContent(schema) } },
    }),
    async (c) => {
      const input = valid<z.output<Input>>(c, 'json');
      const row = await audited(c, (tx) => spec.create(tx, input), {
        action: `${entity}.create`,
        target: (created) => target(created.id),
      });
      return c.json(json(spec.toJson(row)), 201);
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/{id}',
      access: 'viewer',
      tags: [tag],
      summary: summaries.get,
      request: { params: IdParam },
      responses: { 200: { description: 'Found', content: jsonContent(schema) } },
    }),
    async (c) => c.json(json(spec.toJson(await spec.get(c.var.deps.db, c.req.valid('param').id))), 200),
  );

  app.openapi(
    apiRoute({
      method: 'patch',
      path: '/{id}',
      access: 'editor',
      tags: [tag],
      summary: summaries.update,
      request: { params: IdParam, body: { required: true, content: jsonContent(updateBody) } },
      responses: { 200: { description: 'Updated', content: jsonContent(schema) } },
    }),
    async (c) => {
      const { id } = valid<{ id: string }>(c, 'param');
      const changes = valid<z.output<Update>>(c, 'json');
      const row = await audited(c, (tx) => spec.update(tx, id, changes), {
        action: `${entity}.update`,
        target: target(id),
      });
      return c.json(json(spec.toJson(row)), 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'delete',
      path: '/{id}',
      access: 'editor',
      tags: [tag],
      summary: summaries.remove,
      request: { params: IdParam },
      responses: { 204: { description: 'Deleted' } },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await audited(c, (tx) => spec.remove(tx, id), { action: `${entity}.delete`, target: target(id) });
      return c.body(null, 204);
    },
  );

  return app;
}
