import { type Job, UnrecoverableError } from 'bullmq';
import type { Db } from '../../db/connection.js';
import type { Logger } from '../../infra/logger.js';
import type { Clock } from '../../providers/clock.js';
import { type Mailer, MailerError } from '../../providers/mailer.js';
import { QUEUES } from '../queues.js';

export interface TransactionalEmailDeps {
  db: Db;
  mailer: Mailer;
  clock: Clock;
  logger: Logger;
  emailFrom: string;
}

const payloadSchema = QUEUES['transactional-email']['send-email'];

/**
 * Sends one stored email. Idempotent: a row already sent is skipped, and the provider's
 * idempotency key (`email-<id>`) makes a retry after a crash between send and commit harmless.
 */
export function transactionalEmailProcessor(deps: TransactionalEmailDeps) {
  return async (job: Job): Promise<void> => {
    const { emailId } = payloadSchema.parse(job.data);
    const email = await deps.db.selectFrom('emails').selectAll().where('id', '=', emailId).executeTakeFirst();
    if (email?.status !== 'queued') return;
    await deps.db
      .updateTable('emails')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('id', '=', emailId)
      .execute();
    try {
      const { id } = await deps.mailer.send(
        {
          from: deps.emailFrom,
          to: [email.to_address],
          subject: email.subject,
          html: email.html,
          text: email.text,
          headers: email.headers,
          tags: [{ name: 'kind', value: email.kind.replace(/[^a-zA-Z0-9_-]/g, '_') }],
        },
        { idempotencyKey: `email-${email.id}` },
      );
      await deps.db
        .updateTable('emails')
        .set({ status: 'sent', provider_message_id: id, sent_at: deps.clock.now(), last_error: null })
        .where('id', '=', emailId)
        .execute();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const permanent = error instanceof MailerError && error.kind === 'permanent';
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      await deps.db
        .updateTable('emails')
        .set({
          last_error: message.slice(0, 1000),
          ...(permanent || lastAttempt ? { status: 'failed' as const } : {}),
        })
        .where('id', '=', emailId)
        .execute();
      deps.logger.warn({ emailId, err: message, permanent }, 'transactional email not sent');
      if (permanent) throw new UnrecoverableError(message);
      throw error;
    }
  };
}
