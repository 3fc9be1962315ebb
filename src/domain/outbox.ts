import type { DbOrTx } from '../db/connection.js';

export interface OutboxEntry {
  queue: string;
  jobName: string;
  /** Deterministic: the same logical work always gets the same id, so enqueuing twice is harmless. */
  jobId: string;
  /** Ids only, never whole objects: the processor reads current state from Postgres. */
  payload: Record<string, string | number | boolean | null>;
  runAt?: Date;
}

/**
 * Records work to be done after the surrounding transaction commits. Call it with the same
 * transaction as the change that causes the work. A second entry with the same job id is ignored.
 */
export async function enqueue(tx: DbOrTx, entry: OutboxEntry): Promise<void> {
  await tx
    .insertInto('outbox')
    .values({
      queue: entry.queue,
      job_name: entry.jobName,
      job_id: entry.jobId,
      payload: JSON.stringify(entry.payload),
      ...(entry.runAt ? { run_at: entry.runAt } : {}),
    })
    .onConflict((oc) => oc.column('job_id').doNothing())
    .execute();
}
