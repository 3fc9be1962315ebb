import type { DbOrTx } from '../db/connection.js';
import type { Principal } from './auth.js';

/** Who did what, kept for editors and admins to answer "who changed this?". */
export async function audit(
  db: DbOrTx,
  actor: Principal | null,
  action: string,
  target: string | null,
  details: Record<string, unknown> = {},
): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      actor_user_id: actor?.user.id ?? null,
      actor_token_id: actor?.tokenId ?? null,
      action,
      target,
      details: JSON.stringify(details),
    })
    .execute();
}
