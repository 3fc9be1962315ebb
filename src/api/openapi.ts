import { createRoute, type RouteConfig, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { Role } from '../db/schema.js';
import type { AppEnv } from './deps.js';
import { requireRole } from './middleware/auth.js';
import { problem } from './problem.js';

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemSchema } },
});

export const problemResponses = {
  400: problemResponse('The request could not be read'),
  401: problemResponse('Not authenticated'),
  403: problemResponse('Authenticated, but the role or CSRF token does not allow this'),
  404: problemResponse('Not found'),
  409: problemResponse('Conflicts with the current state'),
  415: problemResponse('Unsupported content type'),
  422: problemResponse('Invalid input; `errors` lists each field'),
  429: problemResponse('Too many requests; see Retry-After'),
} as const;

/** JSON bodies must say so; anything else gets 415 instead of a confusing validation error. */
const requireJson: MiddlewareHandler<AppEnv> = async (c, next) => {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    return problem(
      c,
      415,
      'Unsupported media type',
      'Send the body as JSON with Content-Type: application/json.',
    );
  }
  await next();
};

type AccessRouteConfig = Omit<RouteConfig, 'middleware' | 'security'> & {
  /** The lowest role allowed, or 'public' for routes anyone may call. */
  access: Role | 'public';
};

/**
 * Every API route is declared through this helper so that its required role is enforced by the
 * same value that the OpenAPI document publishes (`x-required-role`), and the authorization
 * matrix test can read every route's rule from the document.
 */
export function apiRoute<const R extends AccessRouteConfig>(config: R) {
  const { access, ...rest } = config;
  const middleware: MiddlewareHandler<AppEnv>[] = [];
  if (access !== 'public') middleware.push(requireRole(access));
  const content = rest.request?.body?.content;
  const hasJsonBody = content && 'application/json' in content;
  // A route that also takes multipart/form-data (a file upload) checks the content type itself.
  if (hasJsonBody && !('multipart/form-data' in content)) middleware.push(requireJson);
  return createRoute({
    ...rest,
    middleware,
    ...(access === 'public' ? {} : { security: [{ bearerAuth: [] }, { sessionCookie: [] }] }),
    'x-required-role': access,
    responses: { ...problemResponses, ...rest.responses },
  } as Omit<R, 'access'> & { middleware: MiddlewareHandler<AppEnv>[] });
}

export const IdParam = z.object({
  id: z
    .string()
    .regex(/^\d{1,18}$/, 'must be a numeric id')
    .openapi({ param: { name: 'id', in: 'path' }, example: '1' }),
});

/** `content` of a JSON request or response body. */
export const jsonContent = <T extends z.ZodType>(schema: T) => ({ 'application/json': { schema } });
