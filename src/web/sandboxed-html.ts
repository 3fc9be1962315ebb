import type { Context } from 'hono';

/**
 * Email HTML shown inside the admin (a stored message in the dev mailbox, an edition's preview)
 * is not ours to trust: it is served under a sandboxing policy of its own, so nothing in it runs
 * script or reaches our origin, and only the admin itself may frame it.
 */
export const SANDBOXED_HTML_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** The paths answered with sandboxed email HTML; the app's default security headers stay off them. */
export const SANDBOXED_HTML_PATH = /^\/dev\/mailbox\/\d+\/html$|^\/admin\/editions\/\d+\/preview$/;

export function sandboxedHtml(c: Context, html: string): Response {
  return c.body(html, 200, SANDBOXED_HTML_HEADERS);
}
