import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';
import { isDatabaseUnavailable, isUnstorableText } from '../db/connection.js';
import { Conflict, DomainError, type FieldError, Invalid, TooManyRequests } from '../domain/errors.js';

/** RFC 9457 problem details. `errors` lists per-field problems for validation failures. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldError[];
}

export function problem(
  c: Context,
  status: ContentfulStatusCode,
  title: string,
  detail?: string,
  errors?: FieldError[],
) {
  const body: Problem = {
    type: 'about:blank',
    title,
    status,
    ...(detail ? { detail } : {}),
    instance: c.req.path.startsWith('/api/') ? c.req.path : undefined,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
  return c.body(JSON.stringify(body), status, { 'content-type': 'application/problem+json' });
}

export function fieldErrorsFromZod(error: ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.join('.') : '(body)',
    message: issue.message,
  }));
}

export function validationProblem(c: Context, error: ZodError) {
  return problem(c, 422, 'Invalid input', 'One or more fields are invalid.', fieldErrorsFromZod(error));
}

/** Maps any thrown error to a problem response; unknown errors become a bare 500 without details. */
export function errorToProblem(c: Context, error: unknown) {
  if (error instanceof TooManyRequests) {
    c.header('retry-after', String(error.retryAfterSeconds));
  }
  if (error instanceof Invalid || error instanceof Conflict) {
    return problem(c, error.status, error.title, error.message, error.fields);
  }
  if (error instanceof DomainError) return problem(c, error.status, error.title, error.message);
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    const title = status === 413 ? 'Payload too large' : status === 401 ? 'Unauthorized' : 'Bad request';
    const detail =
      status === 413 ? 'The request body is too large.' : error.message || 'The request could not be read.';
    return problem(c, status, title, detail);
  }
  if (isDatabaseUnavailable(error)) {
    c.header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS));
    return problem(
      c,
      503,
      'Service unavailable',
      'The service is briefly unavailable; try again in a few seconds.',
    );
  }
  if (isUnstorableText(error)) {
    return problem(c, 422, 'Invalid input', 'Text may not contain the NUL character (U+0000).');
  }
  return problem(c, 500, 'Internal server error', 'Something went wrong on our side; it has been logged.');
}

/** A Postgres restart takes seconds (crash recovery included). */
const DATABASE_RETRY_AFTER_SECONDS = 5;
