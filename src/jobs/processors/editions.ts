import { DelayedError, type Job } from 'bullmq';
import { z } from 'zod';
import type { Db } from '../../db/connection.js';
import { enqueueBatches, finishIfComplete, snapshotRecipients } from '../../domain/deliveries.js';
import { renderEditionLocales } from '../../domain/edition-render.js';
import { getEdition } from '../../domain/editions.js';
import type { Logger } from '../../infra/logger.js';
import type { Clock } from '../../providers/clock.js';

export interface EditionProcessorDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  publicBaseUrl: string;
}

const startSendPayload = z.object({
  editionId: z.string().regex(/^\d+$/),
  scheduleVersion: z.number().int(),
});
/** A delayed job may fire a little early (clock differences between hosts); later than this is wrong. */
const EARLY_TOLERANCE_MS = 5_000;

/**
 * `start-send`: at the scheduled time, if the schedule still holds (status and version checked
 * when the job runs, not only when it was queued), render the edition, snapshot the recipients
 * and queue one job per batch — all in one transaction.
 */
export function editionsProcessor(deps: EditionProcessorDeps) {
  return async (job: Job, token?: string): Promise<string> => {
    const { editionId, scheduleVersion } = startSendPayload.parse(job.data);
    const edition = await getEdition(deps.db, editionId).catch(() => null);
    if (edition?.status !== 'scheduled' || edition.schedule_version !== scheduleVersion) {
      return 'stale schedule: nothing to do';
    }
    const now = deps.clock.now();
    if (edition.send_at && edition.send_at.getTime() - now.getTime() > EARLY_TOLERANCE_MS) {
      await job.moveToDelayed(edition.send_at.getTime(), token);
      throw new DelayedError();
    }
    const renders = await renderEditionLocales(deps.db, edition, deps.publicBaseUrl);
    return deps.db.transaction().execute(async (tx) => {
      const locked = await getEdition(tx, editionId, { forUpdate: true });
      if (locked.status !== 'scheduled' || locked.schedule_version !== scheduleVersion)
        return 'stale schedule: nothing to do';
      await tx.deleteFrom('edition_renders').where('edition_id', '=', editionId).execute();
      await tx
        .insertInto('edition_renders')
        .values(
          renders.map((r) => ({
            edition_id: editionId,
            locale: r.locale,
            subject: r.subject,
            html: r.html,
            text: r.text,
          })),
        )
        .execute();
      await tx
        .updateTable('editions')
        .set({ status: 'sending', sending_started_at: now, updated_at: now })
        .where('id', '=', editionId)
        .execute();
      await tx
        .insertInto('edition_events')
        .values({
          edition_id: editionId,
          actor_user_id: null,
          from_status: 'scheduled',
          to_status: 'sending',
          note: 'send started',
        })
        .execute();
      const recipients = await snapshotRecipients(tx, locked);
      const batches = await enqueueBatches(tx, editionId);
      deps.logger.info({ editionId, recipients, batches }, 'edition send started');
      if (recipients === 0) await finishIfComplete(tx, editionId, now);
      return `${recipients} recipients in ${batches} batches`;
    });
  };
}
