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

export const windowStart = (rule: RateLimit, now: Date) =>
  new Date(Math.floor(now.getTime() / rule.windowMs) * rule.windowMs);

/** The error for a hit past the limit, with the seconds until the window ends. */
export function rateLimitExceeded(rule: RateLimit, now: Date, message: string): TooManyRequests {
  const retryAfterSeconds = Math.ceil(
    (windowStart(rule, now).getTime() + rule.windowMs - now.getTime()) / 1000,
  );
  return new TooManyRequests(message, Math.max(1, retryAfterSeconds));
}

/**
 * Counts one hit in a fixed window and throws TooManyRequests past the limit. Postgres-backed
 * (one upsert) so that every API process, on Node or Workers, shares the same counters.
 */
export async function hit(db: DbOrTx, clock: Clock, rule: RateLimit, message: string): Promise<void> {
  const now = clock.now();
  const { rows } = await sql<{ hits: number }>`
    insert into rate_limits (key, window_start, hits)
    values (${rule.key}, ${windowStart(rule, now)}, 1)
    on conflict (key) do update set
      hits = case when rate_limits.window_start = excluded.window_start then rate_limits.hits + 1 else 1 end,
      window_start = excluded.window_start
    returning hits`.execute(db);
  if (rows[0]!.hits > rule.limit) throw rateLimitExceeded(rule, now, message);
}

export async function deleteExpiredRateLimits(db: DbOrTx, clock: Clock, olderThanMs = 24 * 60 * 60 * 1000) {
  await db
    .deleteFrom('rate_limits')
    .where('window_start', '<', new Date(clock.now().getTime() - olderThanMs))
    .execute();
}
