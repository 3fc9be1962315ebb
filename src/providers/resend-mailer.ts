import { Resend } from 'resend';
import { type PostAnswer, postPieces } from './http-post.js';
import {
  assertSafeHeaders,
  type BatchEmail,
  MAX_BATCH_SIZE,
  type Mailer,
  MailerError,
  type OutgoingEmail,
  type SendOptions,
} from './mailer.js';
import { resendBatchBody } from './resend-batch-body.js';

type ResendError = { name?: string; message?: string; statusCode?: number | null };

/** Reads a wait time from `retry-after` (seconds) or `ratelimit-reset` (seconds until reset). */
function retryAfterMs(headers: Record<string, string> | null): number | null {
  const value = headers?.['retry-after'] ?? headers?.['ratelimit-reset'];
  const seconds = value === undefined ? Number.NaN : Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds * 1000) : null;
}

/**
 * The SDK never throws: it answers `{ data, error, headers }`. Map its errors onto what the
 * caller must do next (retry, stop for the day, or give up on this message).
 */
export function classifyResendError(error: ResendError, headers: Record<string, string> | null): MailerError {
  const status = typeof error.statusCode === 'number' ? error.statusCode : null;
  const name = error.name ?? 'unknown';
  const message = `resend ${status ?? 'network'} ${name}: ${error.message ?? ''}`.trim();
  if (name === 'invalid_idempotent_request') return new MailerError(message, 'already-accepted', status);
  if (name === 'daily_quota_exceeded' || name === 'monthly_quota_exceeded') {
    return new MailerError(message, 'quota', status, retryAfterMs(headers));
  }
  if (
    status === null ||
    status === 429 ||
    status >= 500 ||
    name === 'concurrent_idempotent_requests' ||
    name === 'application_error' ||
    name === 'internal_server_error'
  ) {
    return new MailerError(message, 'retryable', status, retryAfterMs(headers));
  }
  return new MailerError(message, 'permanent', status);
}

/** A provider that has not answered a batch within this is treated like a dropped connection. */
const REQUEST_TIMEOUT_MS = 120_000;

type SdkAnswer<T> =
  | { data: T; error: null; headers: Record<string, string> | null }
  | { data: null; error: ResendError; headers: Record<string, string> | null };

/** An HTTP answer as the SDK's `fetchRequest` shapes it: data, or its error object, and the headers. */
async function answerOf<T>(posted: Promise<PostAnswer>): Promise<SdkAnswer<T>> {
  let answer: PostAnswer;
  try {
    answer = await posted;
  } catch (failure) {
    return {
      data: null,
      error: { name: 'application_error', statusCode: null, message: (failure as Error).message },
      headers: null,
    };
  }
  const { status, headers, body } = answer;
  const ok = status >= 200 && status < 300;
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(body);
  } catch {
    // An answer that is not JSON is handled below like the SDK handles it.
  }
  if (typeof parsed !== 'object' || parsed === null) {
    return {
      data: null,
      error: { name: 'application_error', statusCode: ok ? null : status, message: 'unreadable answer' },
      headers,
    };
  }
  return ok
    ? { data: parsed as T, error: null, headers }
    : { data: null, error: parsed as ResendError, headers };
}

function toResendPayload(email: OutgoingEmail) {
  assertSafeHeaders(email);
  return {
    from: email.from,
    to: email.to,
    subject: email.subject,
    html: email.html,
    text: email.text,
    ...(email.replyTo ? { replyTo: email.replyTo } : {}),
    ...(email.headers ? { headers: email.headers } : {}),
    ...(email.tags ? { tags: email.tags } : {}),
  };
}

export class ResendMailer implements Mailer {
  readonly kind = 'resend' as const;
  private readonly client: Resend;

  /** `baseUrl` undefined: the SDK reads RESEND_BASE_URL itself, else uses api.resend.com. */
  constructor(apiKey: string, baseUrl?: string) {
    this.client = new Resend(apiKey, baseUrl ? { baseUrl } : undefined);
  }

  async send(email: OutgoingEmail, options: SendOptions): Promise<{ id: string }> {
    const { data, error, headers } = await this.client.emails.send(toResendPayload(email), {
      idempotencyKey: options.idempotencyKey,
    });
    if (error || !data) throw classifyResendError(error ?? { message: 'empty answer' }, headers);
    return { id: data.id };
  }

  /**
   * The hot path of a send. The body is assembled by resendBatchBody(), byte for byte what the
   * SDK's `batch.send` would post, and written by postPieces() with the headers the SDK sets
   * (its key, user agent and base URL, so RESEND_BASE_URL and RESEND_USER_AGENT still apply).
   * Not `batch.send` itself: it serialises ~100 whole personalised messages per request, and that
   * cost most of a send's CPU time and memory (docs/performance.md). Answers are read the way
   * the SDK reads them (answerOf), so errors are classified as for every other call.
   */
  sendBatch(emails: BatchEmail[], options: SendOptions): Promise<{ ids: string[] }> {
    if (emails.length === 0) return Promise.resolve({ ids: [] });
    try {
      if (emails.length > MAX_BATCH_SIZE) {
        throw new MailerError(`a batch holds at most ${MAX_BATCH_SIZE} emails`, 'permanent', null);
      }
      for (const content of new Set(emails.map((email) => email.content))) {
        assertSafeHeaders({ from: content.from, subject: content.subject });
      }
      for (const email of emails) {
        assertSafeHeaders({ to: email.to, ...(email.headers ? { headers: email.headers } : {}) });
      }
      // Not an async function, and the body goes straight to the socket: nothing keeps the
      // emails alive while the answer is awaited.
      const posted = postPieces(
        new URL(`${this.client.baseUrl}/emails/batch`),
        {
          Authorization: `Bearer ${this.client.key}`,
          'User-Agent': this.client.userAgent,
          'Content-Type': 'application/json',
          'Idempotency-Key': options.idempotencyKey,
          'x-batch-validation': 'strict',
        },
        resendBatchBody(emails),
        REQUEST_TIMEOUT_MS,
      );
      return batchIds(posted, emails.length);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

/** The provider's ids for a posted batch, in the order of its emails, or the classified error. */
async function batchIds(posted: Promise<PostAnswer>, count: number): Promise<{ ids: string[] }> {
  const { data, error, headers } = await answerOf<{ data: { id: string }[] }>(posted);
  if (error || !data) throw classifyResendError(error ?? { message: 'empty answer' }, headers);
  const ids = data.data.map((item) => item.id);
  if (ids.length !== count) {
    throw new MailerError(`resend answered ${ids.length} ids for ${count} emails`, 'retryable', 200);
  }
  return { ids };
}
