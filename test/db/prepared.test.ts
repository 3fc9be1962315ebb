import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, prepared } from '../../src/db/connection.js';
import { createLogger } from '../../src/infra/logger.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

describe('prepared statements', () => {
  it('a tagged statement is prepared once per connection and answers with each call’s values', async () => {
    const handle = createDb(ctx.databaseUrl, createLogger('silent'), { max: 1 });
    try {
      const double = (n: number) =>
        sql<{ twice: number }>`${prepared('test-double')} select ${n}::int * 2 as twice`;
      expect((await double(2).execute(handle.db)).rows).toEqual([{ twice: 4 }]);
      expect((await double(21).execute(handle.db)).rows).toEqual([{ twice: 42 }]);
      // Untagged statements stay unnamed.
      await sql`select 1`.execute(handle.db);
      const { rows } = await sql<{ name: string }>`select name from pg_prepared_statements`.execute(
        handle.db,
      );
      expect(rows.map((row) => row.name)).toEqual(['test-double']);
    } finally {
      await handle.close();
    }
  });
});
