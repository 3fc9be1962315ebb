import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeResend } from '../fakes/resend-server.js';
import { createTestContext, json, type TestContext } from '../helpers/context.js';
import { approvedEdition, seedSubscribers } from '../helpers/editions.js';
import { type RunningProcess, waitUntil } from '../helpers/process.js';
import { startTestWorker } from '../helpers/worker-process.js';

/**
 * Issue requirement: kill the worker (SIGKILL) at random moments, at least 5 times, during a
 * 5,000-recipient send, restart it each time, and check every address got exactly one message.
 * The worker is the real `npm run start:worker` process; Resend is the local fake, which keeps
 * every accepted message and answers repeated idempotency keys from its cache, as Resend does.
 */
const RECIPIENTS = Number(process.env.FAULT_RECIPIENTS ?? 5_000);
const KILLS = Number(process.env.FAULT_KILLS ?? 5);

let ctx: TestContext;
let fake: FakeResend;

beforeAll(async () => {
  ctx = await createTestContext();
  fake = await new FakeResend().start();
  // Slow answers widen the window between "provider accepted" and "we committed".
  fake.latencyMs = 150;
});
afterAll(async () => {
  await fake.stop();
  await ctx.close();
});

function startWorker(): RunningProcess {
  return startTestWorker(ctx, {
    RESEND_API_KEY: 're_test_key',
    RESEND_BASE_URL: fake.url,
    RESEND_REQUESTS_PER_SECOND: '5',
    WORKER_CONCURRENCY: '4',
    LOG_LEVEL: 'error',
  });
}

describe('exactly once under worker crashes', () => {
  it(`delivers ${RECIPIENTS} messages exactly once across ${KILLS} SIGKILLs of the worker`, async () => {
    await seedSubscribers(ctx.db, RECIPIENTS, { prefix: 'fout' });
    const editor = (await ctx.userWithToken('editor')).headers;
    const id = await approvedEdition(ctx);
    expect((await ctx.app.request(`/api/v1/editions/${id}/send`, json({}, editor))).status).toBe(200);

    let worker = startWorker();
    let kills = 0;
    try {
      while (kills < KILLS) {
        // A random moment while this worker is really sending: after its first provider request.
        const requestsBefore = fake.requests.length;
        await waitUntil(() => fake.requests.length > requestsBefore, 'the restarted worker to send', 60_000);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 1000));
        const status = await ctx.db
          .selectFrom('editions')
          .select('status')
          .where('id', '=', id)
          .executeTakeFirstOrThrow();
        if (status.status === 'sent') break;
        worker.child.kill('SIGKILL');
        await worker.exited;
        kills++;
        worker = startWorker();
      }
      await waitUntil(
        async () =>
          (
            await ctx.db
              .selectFrom('editions')
              .select('status')
              .where('id', '=', id)
              .executeTakeFirstOrThrow()
          ).status === 'sent',
        'the edition to be sent',
        240_000,
      );
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }

    const perAddress = new Map<string, number>();
    for (const email of fake.emails) perAddress.set(email.to[0]!, (perAddress.get(email.to[0]!) ?? 0) + 1);
    const duplicates = [...perAddress.values()].filter((n) => n > 1).length;
    const delivered = await sql<{
      n: string;
    }>`select count(*) as n from deliveries where edition_id = ${id} and status = 'sent'`.execute(ctx.db);
    process.stdout.write(
      `fault test: ${kills} worker kills, ${fake.emails.length} messages accepted by the provider for ${RECIPIENTS} recipients, ` +
        `${duplicates} duplicates, ${RECIPIENTS - perAddress.size} missing, ${fake.requests.length} provider requests\n`,
    );
    expect(kills).toBe(KILLS);
    // Kills mid-request make the restarted worker repeat batches under the same keys.
    expect(fake.requests.length).toBeGreaterThan(RECIPIENTS / 100);
    expect(perAddress.size).toBe(RECIPIENTS);
    expect(duplicates).toBe(0);
    expect(Number(delivered.rows[0]!.n)).toBe(RECIPIENTS);
  }, 300_000);
});
