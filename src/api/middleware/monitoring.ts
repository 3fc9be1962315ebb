import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { principalFromApiToken, principalFromSession } from '../../domain/auth.js';
import { Forbidden, Unauthorized } from '../../domain/errors.js';
import { roleAtLeast } from '../../domain/users.js';
import type { AppEnv } from '../deps.js';
import { SESSION_COOKIE } from './auth.js';

/**
 * Compares a sent secret with the configured one in constant time, lengths included: both are
 * hashed first, so neither the content nor the length of METRICS_TOKEN leaks through timing.
 */
function sameSecret(sent: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(sent), digest(expected));
}

/**
 * Who may read monitoring details (/metrics, the checks of /readyz): whoever sends
 * `Authorization: Bearer <METRICS_TOKEN>`, or an admin (API token or browser session).
 *
 * - no credentials at all: `false` (the caller decides: /metrics refuses, /readyz answers briefly);
 * - a Bearer header that is neither METRICS_TOKEN nor a valid API token: 401, since the caller meant
 *   to authenticate (a wrong token must not silently get the anonymous answer);
 * - an API token or session of a lower role: 403.
 */
export async function canSeeMonitoring(c: Context<AppEnv>): Promise<boolean> {
  const { db, clock, config } = c.var.deps;
  const authorization = c.req.header('authorization');
  if (authorization !== undefined) {
    const sent = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
    if (sent === undefined) throw new Unauthorized('Send the token as Authorization: Bearer <token>.');
    if (config.metricsToken !== undefined && sameSecret(sent, config.metricsToken)) return true;
    const principal = await principalFromApiToken(db, clock, sent);
    if (!principal) throw new Unauthorized('The token is not METRICS_TOKEN, nor a valid API token.');
    if (!roleAtLeast(principal.role, 'admin')) throw new Forbidden('Monitoring details are for admins.');
    return true;
  }
  const session = getCookie(c, SESSION_COOKIE);
  if (!session) return false;
  const principal = await principalFromSession(db, clock, session);
  if (!principal) return false;
  if (!roleAtLeast(principal.role, 'admin')) throw new Forbidden('Monitoring details are for admins.');
  return true;
}
