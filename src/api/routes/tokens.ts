import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Role } from '../../db/schema.js';
import { audit } from '../../domain/audit.js';
import { createApiToken, listApiTokens, revokeApiToken } from '../../domain/auth.js';
import { getUser } from '../../domain/users.js';
import { audited } from '../audited.js';
import type { AppEnv } from '../deps.js';
import { apiRoute, IdParam } from '../openapi.js';

const RoleSchema = z.enum(['admin', 'editor', 'viewer']);

const TokenSchema = z
  .object({
    id: z.string(),
    userId: z.string(),
    name: z.string(),
    role: RoleSchema,
    prefix: z.string(),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    expiresAt: z.string().nullable(),
    revoked: z.boolean(),
  })
  .openapi('ApiToken');

const CreateTokenSchema = z
  .object({
    name: z.string().trim().min(1, 'Give the token a name.').max(100),
    role: RoleSchema.optional(),
    userId: z.string().regex(/^\d+$/).optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .openapi('CreateApiToken');

/**
 * Creates an API token for `userId` (default: the caller) with its audit entry; the secret is in
 * the answer only (the API's 201 and the admin's result page), never stored or logged.
 */
export function createTokenAudited(
  c: Context<AppEnv>,
  input: { name: string; role?: Role | undefined; userId?: string | undefined; expiresAt?: Date | null },
) {
  const principal = c.var.principal!;
  return c.var.deps.db.transaction().execute(async (tx) => {
    const owner = input.userId ? await getUser(tx, input.userId) : principal.user;
    const created = await createApiToken(tx, owner, {
      name: input.name,
      role: input.role,
      expiresAt: input.expiresAt ?? null,
    });
    await audit(tx, principal, 'token.create', `token:${created.id}`, {
      owner: owner.id,
      role: created.role,
    });
    return { ...created, userId: owner.id };
  });
}

export function revokeTokenAudited(c: Context<AppEnv>, id: string) {
  return audited(c, (tx) => revokeApiToken(tx, c.var.deps.clock, c.var.principal!, id), {
    action: 'token.revoke',
    target: `token:${id}`,
  });
}

export function tokenRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/',
      access: 'admin',
      tags: ['tokens'],
      summary: 'List API tokens (never their secret)',
      responses: {
        200: {
          description: 'Tokens',
          content: { 'application/json': { schema: z.object({ tokens: z.array(TokenSchema) }) } },
        },
      },
    }),
    async (c) => {
      const rows = await listApiTokens(c.var.deps.db, null);
      return c.json(
        {
          tokens: rows.map((row) => ({
            id: row.id,
            userId: row.user_id,
            name: row.name,
            role: row.role,
            prefix: row.prefix,
            createdAt: row.created_at.toISOString(),
            lastUsedAt: row.last_used_at?.toISOString() ?? null,
            expiresAt: row.expires_at?.toISOString() ?? null,
            revoked: row.revoked_at !== null,
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
      access: 'admin',
      tags: ['tokens'],
      summary: 'Create an API token; the secret is shown only in this answer',
      request: { body: { required: true, content: { 'application/json': { schema: CreateTokenSchema } } } },
      responses: {
        201: {
          description: 'Created',
          content: {
            'application/json': {
              schema: z.object({ id: z.string(), token: z.string(), role: RoleSchema, userId: z.string() }),
            },
          },
        },
      },
    }),
    async (c) => {
      const { expiresAt, ...input } = c.req.valid('json');
      const result = await createTokenAudited(c, {
        ...input,
        expiresAt: expiresAt ? new Date(expiresAt) : null,
      });
      return c.json({ id: result.id, token: result.token, role: result.role, userId: result.userId }, 201);
    },
  );

  app.openapi(
    apiRoute({
      method: 'delete',
      path: '/{id}',
      access: 'admin',
      tags: ['tokens'],
      summary: 'Revoke an API token',
      request: { params: IdParam },
      responses: { 204: { description: 'Revoked' } },
    }),
    async (c) => {
      await revokeTokenAudited(c, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );

  return app;
}
