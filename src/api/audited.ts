import type { Context } from 'hono';
import type { Tx } from '../db/connection.js';
import { audit } from '../domain/audit.js';
import type { AppEnv } from './deps.js';

export interface AuditEntry<T> {
  action: string;
  /** What was changed, e.g. `topic:12` (null: many things); a function when the id is known only afterwards. */
  target: string | null | ((result: T) => string);
  details?: Record<string, unknown> | ((result: T) => Record<string, unknown>);
}

/** Runs a change and its audit-log entry (who did it) in one transaction. */
export function audited<T>(
  c: Context<AppEnv>,
  change: (tx: Tx) => Promise<T>,
  entry: AuditEntry<T>,
): Promise<T> {
  return c.var.deps.db.transaction().execute(async (tx) => {
    const result = await change(tx);
    const target = typeof entry.target === 'function' ? entry.target(result) : entry.target;
    const details = typeof entry.details === 'function' ? entry.details(result) : entry.details;
    await audit(tx, c.var.principal, entry.action, target, details);
    return result;
  });
}
