import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection.js';
import type { Clock } from '../providers/clock.js';
import { TooManyRequests } from './errors.js';

export interface RateLimit {
  /** e.g. `login:ip:<hash>`; never put raw personal data in a key. */
  key: string;
  limit: number;
  windowMs: number;
}

/**
 * Counts one hit in a fixed window and throws TooManyRequests past the limit. Postgres-backed
 * (one upsert) so that every API process, on Node or Workers, shares the same counters.
 */
export async function hit(db: DbOrTx, clock: Clock, rule: RateLimit, message: string): Promise<void> {
  const now = clock.now();
  const windowStart = new Date(Math.floor(now.getTime() / rule.windowMs) * rule.windowMs);
  const row = await db
    .insertInto('rate_limits')
    .values({ key: rule.key, window_start: windowStart, hits: 1 })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        hits: sql<number>`case when rate_limits.window_start = excluded.window_start then rate_limits.hits + 1 else 1 end`,
        window_start: sql<Date>`excluded.window_start`,
      }),
    )
    .returning('hits')
    .executeTakeFirstOrThrow();
  if (row.hits > rule.limit) {
    const retryAfterSeconds = Math.ceil((windowStart.getTime() + rule.windowMs - now.getTime()) / 1000);
    throw new TooManyRequests(message, Math.max(1, retryAfterSeconds));
  }
}

export async function deleteExpiredRateLimits(db: DbOrTx, clock: Clock, olderThanMs = 24 * 60 * 60 * 1000) {
  await db
    .deleteFrom('rate_limits')
    .where('window_start', '<', new Date(clock.now().getTime() - olderThanMs))
    .execute();
}
