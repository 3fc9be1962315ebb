import type { DbOrTx } from '../db/connection.js';
import type { SuppressionReason } from '../db/schema.js';
import { emailHash } from './email-address.js';

export async function suppress(
  db: DbOrTx,
  email: string,
  reason: SuppressionReason,
  source: string,
): Promise<void> {
  await db
    .insertInto('suppressions')
    .values({ email_hash: emailHash(email), reason, source })
    // A stronger reason (bounce, complaint, erasure) replaces a plain unsubscribe, never the reverse.
    .onConflict((oc) =>
      oc
        .column('email_hash')
        .doUpdateSet({ reason, source })
        .where('suppressions.reason', '=', 'unsubscribed'),
    )
    .execute();
}

export async function suppressionOf(db: DbOrTx, email: string): Promise<SuppressionReason | null> {
  const row = await db
    .selectFrom('suppressions')
    .select('reason')
    .where('email_hash', '=', emailHash(email))
    .executeTakeFirst();
  return row?.reason ?? null;
}

/** A person who confirms a new signup lifts their own unsubscribe or erasure, nothing else. */
export const LIFTED_BY_CONFIRMATION: readonly SuppressionReason[] = ['unsubscribed', 'erased'];

export async function liftSuppression(
  db: DbOrTx,
  email: string,
  reasons: readonly SuppressionReason[],
): Promise<void> {
  await db
    .deleteFrom('suppressions')
    .where('email_hash', '=', emailHash(email))
    .where('reason', 'in', [...reasons])
    .execute();
}
