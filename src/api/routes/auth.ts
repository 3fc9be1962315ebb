import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { createSession, deleteSession } from '../../domain/auth.js';
import { Unauthorized } from '../../domain/errors.js';
import { admitLoginAttempt, loginSucceeded } from '../../domain/login-throttle.js';
import { authenticate, type PublicUser } from '../../domain/users.js';
import { deleteAppCookie, setAppCookie } from '../cookies.js';
import type { AppEnv } from '../deps.js';
import { assertCsrf, SESSION_COOKIE } from '../middleware/auth.js';
import { apiRoute } from '../openapi.js';

export const UserSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    role: z.enum(['admin', 'editor', 'viewer']),
    createdAt: z.string(),
    disabled: z.boolean(),
  })
  .openapi('User');

export function userJson(user: PublicUser) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    createdAt: user.created_at.toISOString(),
    disabled: user.disabled_at !== null,
  };
}

/**
 * Checks the credentials under the login limits (domain/login-throttle.ts: per address, per
 * account and address, and a per-account slow-down that addresses the account logged in from
 * skip) and opens a session. Shared by the JSON API and the admin login form.
 */
export async function logIn(c: Context<AppEnv>, email: string, password: string) {
  const { db, clock, clientIp, pseudonyms } = c.var.deps;
  const keys = { account: pseudonyms.loginAccount(email), address: pseudonyms.ip(clientIp(c)) };
  await admitLoginAttempt(db, clock, keys);
  const user = await authenticate(db, email, password);
  if (!user) throw new Unauthorized('The email address or password is not correct.');
  await loginSucceeded(db, clock, keys);
  const session = await createSession(db, clock, user.id, c.req.header('user-agent') ?? null);
  setAppCookie(c, SESSION_COOKIE, session.sessionToken, {
    httpOnly: true,
    sameSite: 'Lax',
    path: '/',
    expires: session.expiresAt,
  });
  return { user, csrfToken: session.csrfToken };
}

export async function logOut(c: Context<AppEnv>) {
  const token = getCookie(c, SESSION_COOKIE);
  if (token) await deleteSession(c.var.deps.db, token);
  deleteAppCookie(c, SESSION_COOKIE, { path: '/' });
}

export function authRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/login',
      access: 'public',
      tags: ['auth'],
      summary: 'Log in with email and password; sets the session cookie',
      request: {
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.object({ email: z.string().min(1).max(254), password: z.string().min(1).max(200) }),
            },
          },
        },
      },
      responses: {
        200: {
          description: 'Logged in',
          content: { 'application/json': { schema: z.object({ user: UserSchema, csrfToken: z.string() }) } },
        },
      },
    }),
    async (c) => {
      const { email, password } = c.req.valid('json');
      const { user, csrfToken } = await logIn(c, email, password);
      return c.json({ user: userJson(user), csrfToken }, 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/logout',
      access: 'public',
      tags: ['auth'],
      summary: 'End the session (with the session, its CSRF token is needed too)',
      responses: { 204: { description: 'Logged out' } },
    }),
    async (c) => {
      // Ending a session is a change made with it: a cross-site form must not log someone out.
      await assertCsrf(c);
      await logOut(c);
      return c.body(null, 204);
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/me',
      access: 'viewer',
      tags: ['auth'],
      summary: 'The calling user and the role in effect',
      responses: {
        200: {
          description: 'The caller',
          content: {
            'application/json': {
              schema: z.object({
                user: UserSchema,
                role: z.enum(['admin', 'editor', 'viewer']),
                via: z.enum(['session', 'token']),
                csrfToken: z.string().nullable(),
              }),
            },
          },
        },
      },
    }),
    (c) => {
      const principal = c.var.principal!;
      return c.json(
        {
          user: userJson(principal.user),
          role: principal.role,
          via: principal.via,
          csrfToken: principal.csrfToken,
        },
        200,
      );
    },
  );

  return app;
}
