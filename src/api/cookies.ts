import type { Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import type { CookieOptions } from 'hono/utils/cookie';
import type { AppEnv } from './deps.js';

/**
 * Every cookie this service sets goes through here, so that none lacks `Secure` when the site is
 * served over https: by its public base URL (behind a TLS-terminating proxy the request itself
 * may arrive over http) or by the request's own URL.
 */
export function isSecureRequest(c: Context<AppEnv>): boolean {
  if (c.var.deps.config.publicBaseUrl.startsWith('https:')) return true;
  try {
    return new URL(c.req.url).protocol === 'https:';
  } catch {
    return false;
  }
}

export function setAppCookie(
  c: Context<AppEnv>,
  name: string,
  value: string,
  options: Omit<CookieOptions, 'secure'>,
): void {
  setCookie(c, name, value, { ...options, secure: isSecureRequest(c) });
}

export function deleteAppCookie(
  c: Context<AppEnv>,
  name: string,
  options: Omit<CookieOptions, 'secure'>,
): void {
  deleteCookie(c, name, { ...options, secure: isSecureRequest(c) });
}
