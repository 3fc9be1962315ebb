import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { createUser, getUser, listUsers, passwordSchema, updateUser } from '../../domain/users.js';
import { audited } from '../audited.js';
import type { AppEnv } from '../deps.js';
import { apiRoute, IdParam } from '../openapi.js';
import { UserSchema, userJson } from './auth.js';

const RoleSchema = z.enum(['admin', 'editor', 'viewer']);

const CreateUserSchema = z
  .object({
    email: z.string().trim().max(254).email('Enter a valid email address.'),
    name: z.string().trim().max(200).optional(),
    role: RoleSchema,
    password: passwordSchema,
  })
  .openapi('CreateUser');

const UpdateUserSchema = z
  .object({
    name: z.string().trim().max(200).optional(),
    role: RoleSchema.optional(),
    password: passwordSchema.optional(),
    disabled: z.boolean().optional(),
  })
  .strict()
  .openapi('UpdateUser');

/** Creates an account and its audit entry (the API and the admin's user form). */
export function createUserAudited(c: Context<AppEnv>, input: Parameters<typeof createUser>[1]) {
  return audited(c, (tx) => createUser(tx, input), {
    action: 'user.create',
    target: (created) => `user:${created.id}`,
    details: (created) => ({ role: created.role }),
  });
}

/** Changes an account and records it (never the password itself) in one transaction. */
export function changeUser(c: Context<AppEnv>, id: string, changes: Parameters<typeof updateUser>[2]) {
  const { password, ...logged } = changes;
  return audited(c, (tx) => updateUser(tx, id, changes), {
    action: 'user.update',
    target: `user:${id}`,
    details: { ...logged, passwordChanged: password !== undefined },
  });
}

export function userRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/',
      access: 'admin',
      tags: ['users'],
      summary: 'List editor accounts',
      responses: {
        200: {
          description: 'Users',
          content: { 'application/json': { schema: z.object({ users: z.array(UserSchema) }) } },
        },
      },
    }),
    async (c) => c.json({ users: (await listUsers(c.var.deps.db)).map(userJson) }, 200),
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/',
      access: 'admin',
      tags: ['users'],
      summary: 'Create an editor account',
      request: { body: { required: true, content: { 'application/json': { schema: CreateUserSchema } } } },
      responses: { 201: { description: 'Created', content: { 'application/json': { schema: UserSchema } } } },
    }),
    async (c) => c.json(userJson(await createUserAudited(c, c.req.valid('json'))), 201),
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/{id}',
      access: 'admin',
      tags: ['users'],
      summary: 'One editor account',
      request: { params: IdParam },
      responses: {
        200: { description: 'The user', content: { 'application/json': { schema: UserSchema } } },
      },
    }),
    async (c) => c.json(userJson(await getUser(c.var.deps.db, c.req.valid('param').id)), 200),
  );

  app.openapi(
    apiRoute({
      method: 'patch',
      path: '/{id}',
      access: 'admin',
      tags: ['users'],
      summary: 'Change name, role or password, or disable an account',
      request: {
        params: IdParam,
        body: { required: true, content: { 'application/json': { schema: UpdateUserSchema } } },
      },
      responses: { 200: { description: 'Updated', content: { 'application/json': { schema: UserSchema } } } },
    }),
    async (c) => c.json(userJson(await changeUser(c, c.req.valid('param').id, c.req.valid('json'))), 200),
  );

  return app;
}
