import type { MiddlewareHandler } from 'hono';

/**
 * Paths whose answers can carry personal data or monitoring details: the admin, the dev pages
 * (mailbox, LinkedIn dry-run feed), the whole JSON API, the pages reached by a personal link
 * (confirm, unsubscribe, preferences) and the monitoring endpoints. Their answers are never kept by
 * a browser, proxy or CDN: a shared computer's history or a shared cache must not show one person's
 * data to the next.
 */
const PERSONAL = /^\/(?:admin|dev|api\/v1|confirm|unsubscribe|preferences)(?:\/|$)|^\/(?:metrics|readyz)$/;

/**
 * Within those paths, what may be cached as the handler says: the OpenAPI document (public) and the
 * admin's own small scripts (code, no data; they set `private, max-age=3600`).
 */
const CACHEABLE = /^\/api\/v1\/openapi\.json$|^\/admin\/(?:[a-z-]+\/)*assets\/[a-z0-9-]+\.js$/;

export function isPersonalPath(path: string): boolean {
  return PERSONAL.test(path) && !CACHEABLE.test(path);
}

/**
 * `Cache-Control: no-store` on every answer under a personal path, whatever the handler set and
 * also on errors and refusals (a 401 or 404 is no more cacheable than the page).
 */
export const noStoreForPersonalPaths: MiddlewareHandler = async (c, next) => {
  await next();
  if (!isPersonalPath(c.req.path)) return;
  try {
    c.res.headers.set('cache-control', 'no-store');
  } catch {
    // A response with immutable headers (one passed through from fetch): copy it first.
    c.res = new Response(c.res.body, c.res);
    c.res.headers.set('cache-control', 'no-store');
  }
};
