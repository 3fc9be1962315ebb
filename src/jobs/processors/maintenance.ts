import type { Job } from 'bullmq';
import type { Db } from '../../db/connection.js';
import { sweepSends } from '../../domain/deliveries.js';
import { DEFAULT_PENDING_SIGNUP_RETENTION_DAYS, purgePendingSignups } from '../../domain/erasure.js';
import { purgeImports } from '../../domain/imports.js';
import { deleteExpiredLoginState } from '../../domain/login-throttle.js';
import { deleteExpiredRateLimits } from '../../domain/rate-limits.js';
import type { Clock } from '../../providers/clock.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * `sweep-sends` every minute (see domain/deliveries.ts); `cleanup` hourly: expired sessions, setup
 * links, rate-limit windows and login state; old relayed outbox rows; import leftovers; signups never confirmed
 * within `pendingSignupRetentionDays` (domain/erasure.ts). Every step is idempotent.
 */
export function maintenanceProcessor(deps: { db: Db; clock: Clock; pendingSignupRetentionDays?: number }) {
  return async (job: Job): Promise<unknown> => {
    const now = deps.clock.now();
    if (job.name === 'sweep-sends') return deps.db.transaction().execute((tx) => sweepSends(tx, now));
    await deps.db.deleteFrom('sessions').where('expires_at', '<', now).execute();
    await deps.db.deleteFrom('setup_tokens').where('expires_at', '<', now).execute();
    await deleteExpiredRateLimits(deps.db, deps.clock);
    await deleteExpiredLoginState(deps.db, deps.clock);
    await deps.db
      .deleteFrom('outbox')
      .where('relayed_at', '<', new Date(now.getTime() - 30 * DAY_MS))
      .execute();
    await purgeImports(deps.db, now);
    const purged = await purgePendingSignups(
      deps.db,
      now,
      deps.pendingSignupRetentionDays ?? DEFAULT_PENDING_SIGNUP_RETENTION_DAYS,
    );
    return { cleaned: true, pendingSignupsPurged: purged };
  };
}
