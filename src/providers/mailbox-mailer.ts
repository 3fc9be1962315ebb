import { randomUUID } from 'node:crypto';
import type { Db } from '../db/connection.js';
import {
  assertSafeHeaders,
  type BatchEmail,
  fillBatchEmail,
  type Mailer,
  type OutgoingEmail,
  type SendOptions,
} from './mailer.js';

/**
 * Development and demo mailer: stores each message in Postgres, shown at /dev/mailbox.
 * Honours idempotency keys like Resend does, so the rest of the pipeline behaves the same.
 */
export class MailboxMailer implements Mailer {
  readonly kind = 'mailbox' as const;

  constructor(private readonly db: Db) {}

  async send(email: OutgoingEmail, options: SendOptions): Promise<{ id: string }> {
    const { ids } = await this.store([email], options.idempotencyKey);
    return { id: ids[0]! };
  }

  async sendBatch(emails: BatchEmail[], options: SendOptions): Promise<{ ids: string[] }> {
    return this.store(emails.map(fillBatchEmail), options.idempotencyKey);
  }

  private async store(emails: OutgoingEmail[], idempotencyKey: string): Promise<{ ids: string[] }> {
    for (const email of emails) assertSafeHeaders(email);
    return this.db.transaction().execute(async (tx) => {
      const keys = emails.map((_, index) => `${idempotencyKey}#${index}`);
      const rows = emails.map((email, index) => ({
        message_id: randomUUID(),
        idempotency_key: keys[index]!,
        from_address: email.from,
        to_addresses: email.to,
        subject: email.subject,
        html: email.html,
        text: email.text,
        headers: JSON.stringify(email.headers ?? {}),
      }));
      // A concurrent call with the same key inserts nothing and reads the winner's ids.
      await tx
        .insertInto('dev_mailbox')
        .values(rows)
        .onConflict((oc) => oc.doNothing())
        .execute();
      const stored = await tx
        .selectFrom('dev_mailbox')
        .select(['idempotency_key', 'message_id'])
        .where('idempotency_key', 'in', keys)
        .execute();
      const byKey = new Map(stored.map((row) => [row.idempotency_key, row.message_id]));
      return { ids: keys.map((key) => byKey.get(key)!) };
    });
  }
}
