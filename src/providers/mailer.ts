/**
 * Sending email. Two implementations: Resend (production) and the dev mailbox (Postgres),
 * chosen by the entry point from RESEND_API_KEY.
 */
export interface OutgoingEmail {
  from: string;
  to: string[];
  subject: string;
  html: string;
  text: string;
  replyTo?: string;
  /** Extra headers such as List-Unsubscribe. */
  headers?: Record<string, string>;
  tags?: { name: string; value: string }[];
}

export interface SendOptions {
  /** Same key → the provider sends at most once (Resend keeps keys 24 h). */
  idempotencyKey: string;
}

export interface Mailer {
  readonly kind: 'resend' | 'mailbox';
  send(email: OutgoingEmail, options: SendOptions): Promise<{ id: string }>;
  /** At most 100 emails; ids in the same order. */
  sendBatch(emails: OutgoingEmail[], options: SendOptions): Promise<{ ids: string[] }>;
}

export type MailerErrorKind =
  /** 429 with a short wait, 5xx, network: try again later. */
  | 'retryable'
  /** Daily or monthly quota reached: stop until the quota resets. */
  | 'quota'
  /** Bad request, invalid recipient, unverified domain: retrying will not help. */
  | 'permanent'
  /**
   * The idempotency key was used before with another body: an earlier attempt was accepted,
   * so the message went out; never send it again.
   */
  | 'already-accepted';

export class MailerError extends Error {
  constructor(
    message: string,
    readonly kind: MailerErrorKind,
    readonly status: number | null,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'MailerError';
  }
}

export const MAX_BATCH_SIZE = 100;

/** Header values must not carry line breaks: that would let input add headers of its own. */
export function assertSafeHeaders(email: OutgoingEmail): void {
  const values = [
    email.subject,
    email.from,
    email.replyTo ?? '',
    ...email.to,
    ...Object.values(email.headers ?? {}),
  ];
  const names = Object.keys(email.headers ?? {});
  if ([...values, ...names].some((value) => /[\r\n]/.test(value))) {
    throw new MailerError('an email header contains a line break', 'permanent', null);
  }
}
