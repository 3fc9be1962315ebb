import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../src/db/connection.js';
import { createLogger } from '../../src/infra/logger.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { waitUntil } from '../helpers/process.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

describe('the Postgres pool', () => {
  it('survives the server ending a connection between two queries of a transaction', async () => {
    // The fault suite found this: a worker in a transaction that waits for Redis when Postgres
    // restarts got an 'error' event on the checked-out client, which nothing handled: the process died.
    const handle = createDb(ctx.databaseUrl, createLogger('silent'), { max: 2 });
    try {
      const outcome = handle.db.transaction().execute(async (tx) => {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx);
        const pid = rows[0]!.pid;
        // What a Postgres restart does to this connection, while no query of it runs.
        await sql`select pg_terminate_backend(${pid})`.execute(ctx.db);
        await waitUntil(
          async () =>
            (await sql`select 1 from pg_stat_activity where pid = ${pid}`.execute(ctx.db)).rows.length === 0,
          'the backend to end',
        );
        await sql`select 1`.execute(tx);
      });
      await expect(outcome).rejects.toThrow();
      // The pool drops the dead connection and serves the next query on a new one.
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(handle.db);
      expect(rows[0]!.one).toBe(1);
    } finally {
      await handle.close();
    }
  });
});
