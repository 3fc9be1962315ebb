import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { BodyData, ParseBodyOptions } from 'hono/utils/body';

/**
 * The fields of a form post. A body that is not the form its content type announces (multipart
 * without a boundary, or with parts that do not match it) is the client's mistake: a 400, never
 * an unhandled error.
 */
export async function parseFormBody<Options extends Partial<ParseBodyOptions>>(
  c: Context,
  options?: Options,
): Promise<BodyData<Options>> {
  try {
    return await c.req.parseBody<Options, BodyData<Options>>(options);
  } catch {
    throw new HTTPException(400, {
      message: 'The form could not be read: the body does not match its content type.',
    });
  }
}
