import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { Role } from '../../db/schema.js';
import { principalFromApiToken, principalFromSession } from '../../domain/auth.js';
import { Forbidden, Unauthorized } from '../../domain/errors.js';
import { roleAtLeast } from '../../domain/users.js';
import { constantTimeEqual } from '../../infra/crypto.js';
import type { AppEnv } from '../deps.js';
import { parseFormBody } from '../forms.js';

export const SESSION_COOKIE = 'tp_session';

/** Resolves who is calling (API token or session cookie); anonymous requests get `null`. */
export const loadPrincipal: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { db, clock } = c.var.deps;
  const authorization = c.req.header('authorization');
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    const principal = match ? await principalFromApiToken(db, clock, match[1]!) : null;
    // A wrong token is an error even on routes that also allow anonymous use: the caller meant to authenticate.
    if (!principal) throw new Unauthorized('The API token is invalid, expired or revoked.');
    c.set('principal', principal);
    return next();
  }
  const session = getCookie(c, SESSION_COOKIE);
  c.set('principal', session ? await principalFromSession(db, clock, session) : null);
  return next();
};

export function requireRole(role: Role): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.var.principal;
    if (!principal) throw new Unauthorized();
    if (!roleAtLeast(principal.role, role)) throw new Forbidden(`This needs the role "${role}" or higher.`);
    await assertCsrf(c);
    return next();
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Cookie-authenticated changes must carry the session's CSRF token (header `x-csrf-token` or
 * form field `_csrf`). API tokens are not sent by browsers on their own, so they need none.
 */
export async function assertCsrf(c: Context<AppEnv>): Promise<void> {
  const principal = c.var.principal;
  if (principal?.via !== 'session' || SAFE_METHODS.has(c.req.method)) return;
  let sent = c.req.header('x-csrf-token');
  if (sent === undefined && isFormRequest(c)) {
    const field = (await parseFormBody(c))._csrf;
    sent = typeof field === 'string' ? field : undefined;
  }
  if (!sent || !principal.csrfToken || !constantTimeEqual(sent, principal.csrfToken)) {
    throw new Forbidden(
      'The form has expired or did not come from this site. Reload the page and try again.',
    );
  }
}

export function isFormRequest(c: Context): boolean {
  const type = c.req.header('content-type') ?? '';
  return type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data');
}
