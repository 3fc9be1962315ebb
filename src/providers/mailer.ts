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

/**
 * Text with per-recipient gaps: `parts[0] + values[slots[0]] + parts[1] + … + parts.at(-1)`. The
 * parts are large and shared by a whole batch (a rendered edition), the values small (a greeting,
 * personal links), so a mailer can encode the parts once per batch instead of once per recipient.
 */
export interface GappedText {
  readonly parts: readonly string[];
  readonly slots: readonly string[];
}

/** What the emails of a batch in one language share. */
export interface SharedEmailContent {
  readonly from: string;
  readonly subject: string;
  readonly html: GappedText;
  readonly text: GappedText;
}

/** One email of a batch: shared content, and this recipient's address, headers and gap values. */
export interface BatchEmail {
  readonly content: SharedEmailContent;
  readonly to: string[];
  readonly headers?: Record<string, string>;
  /** By slot name; escaped for HTML already. */
  readonly htmlValues: Readonly<Record<string, string>>;
  /** By slot name, as they appear in the plain text. */
  readonly textValues: Readonly<Record<string, string>>;
}

/** A gap without a value is a programming error: never send a message with a hole in it. */
export function gapValue(values: Readonly<Record<string, string>>, slot: string): string {
  const value = values[slot];
  if (value === undefined) throw new Error(`no value for the gap '${slot}'`);
  return value;
}

export function fillGaps(text: GappedText, values: Readonly<Record<string, string>>): string {
  let filled = text.parts[0]!;
  text.slots.forEach((slot, index) => {
    filled += gapValue(values, slot) + text.parts[index + 1]!;
  });
  return filled;
}

/** The batch email as one whole message (for a mailer without a batch encoding of its own). */
export function fillBatchEmail(email: BatchEmail): OutgoingEmail {
  return {
    from: email.content.from,
    to: email.to,
    subject: email.content.subject,
    html: fillGaps(email.content.html, email.htmlValues),
    text: fillGaps(email.content.text, email.textValues),
    ...(email.headers ? { headers: email.headers } : {}),
  };
}

export interface SendOptions {
  /** Same key → the provider sends at most once (Resend keeps keys 24 h). */
  idempotencyKey: string;
}

export interface Mailer {
  readonly kind: 'resend' | 'mailbox';
  send(email: OutgoingEmail, options: SendOptions): Promise<{ id: string }>;
  /** At most 100 emails; ids in the same order. */
  sendBatch(emails: BatchEmail[], options: SendOptions): Promise<{ ids: string[] }>;
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

const hasLineBreak = (value: string) => value.includes('\n') || value.includes('\r');

/**
 * Header values must not carry line breaks: that would let input add headers of its own. Every
 * field is optional, so that what a batch's emails share is checked once per batch.
 */
export function assertSafeHeaders(
  email: Partial<Pick<OutgoingEmail, 'from' | 'to' | 'subject' | 'replyTo' | 'headers'>>,
): void {
  const unsafe =
    [email.subject, email.from, email.replyTo].some((value) => value !== undefined && hasLineBreak(value)) ||
    (email.to ?? []).some(hasLineBreak) ||
    Object.entries(email.headers ?? {}).some(([name, value]) => hasLineBreak(name) || hasLineBreak(value));
  if (unsafe) throw new MailerError('an email header contains a line break', 'permanent', null);
}
