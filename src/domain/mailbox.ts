import type { DbOrTx } from '../db/connection.js';
import { NotFound } from './errors.js';

/** Reading the dev mailbox (messages stored instead of sent when Resend is not configured). */
export function listMailbox(db: DbOrTx, limit = 100) {
  return db
    .selectFrom('dev_mailbox')
    .select(['id', 'message_id', 'from_address', 'to_addresses', 'subject', 'created_at'])
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

export async function getMailboxMessage(db: DbOrTx, id: string) {
  const message = await db.selectFrom('dev_mailbox').selectAll().where('id', '=', id).executeTakeFirst();
  if (!message) throw new NotFound('No such message in the mailbox.');
  return message;
}
