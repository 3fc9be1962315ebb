import type { Context, MiddlewareHandler } from 'hono';
import { Forbidden } from '../domain/errors.js';
import { constantTimeEqual } from '../infra/crypto.js';
import type { AppEnv } from './deps.js';
import type { MultipartHandlers } from './multipart.js';

/**
 * Plumbing shared by the routes that take large uploads (CSV import, documents), in the API and
 * in the admin pages: app.ts exempts them from the global body limit, so each enforces its own.
 */

/**
 * Counts the raw request body as it is read, by whoever reads it (the upload, or a CSRF check
 * reading a form), and fails the read past `maxBytes(c)`; a declared Content-Length past it fails
 * at once.
 */
export function limitUpload(
  maxBytes: (c: Context<AppEnv>) => number,
  tooLarge: () => Error,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const body = c.req.raw.body;
    if (c.req.method === 'POST' && body) {
      const max = maxBytes(c);
      if (Number(c.req.header('content-length') ?? 0) > max) throw tooLarge();
      let seen = 0;
      const counted = body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            seen += chunk.byteLength;
            if (seen > max) controller.error(tooLarge());
            else controller.enqueue(chunk);
          },
        }),
      );
      c.req.raw = new Request(c.req.raw, { body: counted, duplex: 'half' } as RequestInit);
    }
    await next();
  };
}

/** The request body, also when the CSRF check of a session form has read (and cached) it already. */
export async function requestBody(c: Context<AppEnv>): Promise<ReadableStream<Uint8Array> | null> {
  if (c.req.raw.bodyUsed) return new Blob([await c.req.arrayBuffer()]).stream();
  return c.req.raw.body;
}

/**
 * The CSRF check of a browser form, done while the multipart body streams past instead of by
 * reading the whole body first: the `_csrf` field must come before any file (browsers send the
 * fields in page order, and our forms start with it), so not one byte of a forged upload is kept.
 */
export function csrfFirst(
  c: Context<AppEnv>,
  handlers: MultipartHandlers,
): MultipartHandlers & {
  /** Call after the body was read: a form without a valid `_csrf` field at all is refused too. */
  assertChecked(): void;
} {
  const expected = c.var.principal?.csrfToken ?? '';
  let checked = false;
  const refuse = () =>
    new Forbidden('Het formulier is verlopen of kwam niet van deze site. Laad de pagina opnieuw.');
  return {
    onField(name, value) {
      if (name === '_csrf') {
        if (!expected || !constantTimeEqual(value, expected)) throw refuse();
        checked = true;
        return;
      }
      handlers.onField(name, value);
    },
    onFile(part) {
      if (!checked) throw refuse();
      return handlers.onFile(part);
    },
    assertChecked() {
      if (!checked) throw refuse();
    },
  };
}
