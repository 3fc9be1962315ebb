import type { Job } from 'bullmq';
import type { Db } from '../../db/connection.js';
import { deleteExpiredRateLimits } from '../../domain/rate-limits.js';
import type { Clock } from '../../providers/clock.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Hourly housekeeping: expired sessions, setup links and rate-limit windows; old relayed outbox rows. */
export function maintenanceProcessor(deps: { db: Db; clock: Clock }) {
  return async (_job: Job): Promise<void> => {
    const now = deps.clock.now();
    await deps.db.deleteFrom('sessions').where('expires_at', '<', now).execute();
    await deps.db.deleteFrom('setup_tokens').where('expires_at', '<', now).execute();
    await deleteExpiredRateLimits(deps.db, deps.clock);
    await deps.db
      .deleteFrom('outbox')
      .where('relayed_at', '<', new Date(now.getTime() - 30 * DAY_MS))
      .execute();
  };
}
