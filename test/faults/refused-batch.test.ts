import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Chaos } from '../fakes/chaos.js';
import { json, userWithToken } from '../helpers/context.js';
import { type ApiCaller, approvedEdition, seedSubscribers } from '../helpers/editions.js';
import { FaultStack, sleep } from './stack.js';

/**
 * Issue 14.1, in the fault suite: one address the provider refuses sends its batch of 100 into
 * the one-message-at-a-time fallback, while 5 % of the provider's answers are 500s, 5 % are 500s
 * after the message was accepted, 5 % are 429s, and the worker is killed (SIGKILL) at least three
 * times while that fallback is under way. The edition must reach `sent` with every other recipient
 * reached exactly once and the refused delivery failed with its reason; once the address is
 * accepted, "resend to failed only" reaches it exactly once.
 *
 * Environment: FAULT_FALLBACK_CRASHES (3), FAULT_FINISH_TIMEOUT_MS (10 minutes).
 */
const RECIPIENTS = 500;
const CRASHES = Number(process.env.FAULT_FALLBACK_CRASHES ?? 3);
const FINISH_TIMEOUT_MS = Number(process.env.FAULT_FINISH_TIMEOUT_MS ?? 10 * 60_000);
const REFUSED = 'geweigerd-250@voorbeeld.test';

let stack: FaultStack;
let api: ApiCaller;

beforeAll(async () => {
  stack = await FaultStack.start({ workers: 1, workerConcurrency: 4, resendRequestsPerSecond: 8 });
  const request = (pathname: string, init?: RequestInit) => fetch(`${stack.apiUrl}${pathname}`, init);
  api = { app: { request }, userWithToken: (role, email) => userWithToken(stack.db, role, email) };
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

const waitFor = (what: string, probe: () => Promise<boolean>) =>
  stack.waitFor(what, probe, { timeoutMs: FINISH_TIMEOUT_MS });
const editionStatus = (id: string) => stack.editionStatus(id);

/** The batch that fell back, and how many of its deliveries are recorded (sent or failed). */
async function fallback(editionId: string): Promise<{ batchNo: number; done: number; open: number } | null> {
  const row = await sql<{ batch_no: number; done: string; open: string }>`
    select b.batch_no,
           count(*) filter (where d.status <> 'queued') as done,
           count(*) filter (where d.status = 'queued') as open
      from delivery_batches b join deliveries d on d.edition_id = b.edition_id and d.batch_no = b.batch_no
     where b.edition_id = ${editionId} and b.one_by_one
     group by b.batch_no`.execute(stack.db);
  const batch = row.rows[0];
  return batch ? { batchNo: batch.batch_no, done: Number(batch.done), open: Number(batch.open) } : null;
}

function receivedPerAddress(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const email of stack.resend.emails) {
    const to = email.to[0]!;
    if (to.startsWith('geweigerd-')) counts.set(to, (counts.get(to) ?? 0) + 1);
  }
  return counts;
}

describe('a refused batch under provider faults and worker crashes', () => {
  it(
    `sends one by one, exactly once, across ${CRASHES} SIGKILLs of the worker during the fallback`,
    async () => {
      await seedSubscribers(stack.db, RECIPIENTS, { prefix: 'geweigerd' });
      stack.resend.keepBatchBodies = false;
      stack.resend.rejectedRecipients.add(REFUSED);
      const chaos = new Chaos({
        faultRate: 0.15,
        faults: ['server-error', 'server-error-after-work', 'rate-limited'],
        spikeRate: 0,
        spikeMs: [0, 0],
      });
      stack.resend.chaos = chaos;
      const editor = (await api.userWithToken('editor')).headers;
      const id = await approvedEdition(api, { subject: 'Nieuws met een geweigerd adres' });
      const sent = await api.app.request(`/api/v1/editions/${id}/send`, json({}, editor));
      expect(sent.status, await sent.clone().text()).toBe(200);

      // Each crash comes after the fallback has made some progress since the last one, and while
      // part of its batch is still open: a kill in the middle of the one-by-one sends.
      const crashes: { done: number; open: number }[] = [];
      let doneAtLastCrash = 0;
      while (crashes.length < CRASHES) {
        await waitFor('the fallback to move on', async () => {
          const progress = await fallback(id);
          return progress !== null && (progress.done >= doneAtLastCrash + 12 || progress.open === 0);
        });
        const at = (await fallback(id))!;
        expect(at.open, 'the fallback finished before every planned crash').toBeGreaterThan(0);
        await sleep(Math.random() * 300);
        process.stdout.write(`refused batch: crash ${crashes.length + 1} at ${at.done} of 100 recorded\n`);
        await stack.crash('worker', 0, 0);
        await stack.waitHealthy();
        crashes.push(at);
        doneAtLastCrash = at.done;
      }

      await waitFor('the edition to be sent', async () => (await editionStatus(id)) === 'sent');
      const counts = receivedPerAddress();
      expect(counts.has(REFUSED)).toBe(false);
      expect(counts.size, 'recipients reached').toBe(RECIPIENTS - 1);
      expect(
        [...counts.values()].filter((n) => n > 1),
        'duplicates',
      ).toEqual([]);
      const failed = await stack.db
        .selectFrom('deliveries')
        .select(['email', 'error'])
        .where('edition_id', '=', id)
        .where('status', '=', 'failed')
        .execute();
      expect(failed.map((f) => f.email)).toEqual([REFUSED]);
      expect(failed[0]!.error).toContain(REFUSED);
      // Every injected fault kind happened, and the refused batch was sent as a batch only once.
      for (const kind of ['server-error', 'server-error-after-work', 'rate-limited'] as const) {
        expect(chaos.injected[kind], kind).toBeGreaterThan(0);
      }
      const refusedBatch = await fallback(id);
      const batchKey = `edition-${id}-batch-${refusedBatch!.batchNo}`;
      const batchAccepted = stack.resend.requests.filter(
        (r) => r.headers['idempotency-key'] === batchKey && r.status === 200,
      );
      expect(batchAccepted).toEqual([]);

      // The address is accepted now: "resend to failed only" reaches it, and only it, once.
      stack.resend.rejectedRecipients.clear();
      const resend = await api.app.request(`/api/v1/editions/${id}/resend-failed`, json({}, editor));
      expect(resend.status, await resend.clone().text()).toBe(200);
      expect((await resend.json()).requeued).toBe(1);
      await waitFor('the edition to be sent again', async () => (await editionStatus(id)) === 'sent');
      await sleep(3_000);
      const after = receivedPerAddress();
      expect(after.size).toBe(RECIPIENTS);
      expect(
        [...after.values()].filter((n) => n > 1),
        'duplicates after resend',
      ).toEqual([]);
      process.stdout.write(
        `refused batch: ${crashes.length} worker crashes during the fallback (at ${crashes.map((c) => c.done).join(', ')} of 100), ` +
          `injected ${JSON.stringify(chaos.injected)}; ${after.size} recipients once each\n`,
      );
    },
    30 * 60_000,
  );
});
