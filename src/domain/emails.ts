import type { DbOrTx } from '../db/connection.js';
import { enqueue } from './outbox.js';

export const TRANSACTIONAL_EMAIL_QUEUE = 'transactional-email';

export interface QueuedEmail {
  kind: string;
  to: string;
  subject: string;
  html: string;
  text: string;
  headers?: Record<string, string>;
}

/**
 * Stores a one-off email and records its sending in the outbox, inside the caller's transaction:
 * if the transaction rolls back, nothing is sent; if it commits, it is sent exactly once.
 */
export async function queueEmail(tx: DbOrTx, email: QueuedEmail): Promise<string> {
  const row = await tx
    .insertInto('emails')
    .values({
      kind: email.kind,
      to_address: email.to,
      subject: email.subject,
      html: email.html,
      text: email.text,
      headers: JSON.stringify(email.headers ?? {}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await enqueue(tx, {
    queue: TRANSACTIONAL_EMAIL_QUEUE,
    jobName: 'send-email',
    jobId: `email-${row.id}`,
    payload: { emailId: row.id },
  });
  return row.id;
}

/** Emails rendered by the worker from a template, for one subscriber. */
export type SubscriberEmailKind = 'confirmation' | 'welcome' | 'preferences-changed' | 'already-subscribed';

/**
 * Records that the worker must render and send a template email to a subscriber. `occasion`
 * makes the job id unique per occasion (e.g. the n-th confirmation request) and stable on retry.
 */
export async function queueSubscriberEmail(
  tx: DbOrTx,
  kind: SubscriberEmailKind,
  subscriberId: string,
  occasion: string | number,
  extra: Record<string, string> = {},
): Promise<void> {
  await enqueue(tx, {
    queue: TRANSACTIONAL_EMAIL_QUEUE,
    jobName: `send-${kind}`,
    jobId: `${kind}-${subscriberId}-${occasion}`,
    payload: { subscriberId, ...extra },
  });
}
