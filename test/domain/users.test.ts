import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conflict } from '../../src/domain/errors.js';
import { createUser, updateUser } from '../../src/domain/users.js';
import { createTestContext, TEST_PASSWORD, type TestContext } from '../helpers/context.js';
import { waitUntil } from '../helpers/process.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

const activeAdmins = async () =>
  (
    await ctx.db
      .selectFrom('users')
      .select('id')
      .where('role', '=', 'admin')
      .where('disabled_at', 'is', null)
      .execute()
  ).length;

describe('the last active admin', () => {
  it('cannot be demoted or disabled, with a Dutch message on the field', async () => {
    const only = await createUser(ctx.db, {
      email: 'enige-beheerder@voorbeeld.test',
      role: 'admin',
      password: TEST_PASSWORD,
    });
    const demote = ctx.db.transaction().execute((tx) => updateUser(tx, only.id, { role: 'editor' }));
    await expect(demote).rejects.toBeInstanceOf(Conflict);
    await expect(demote).rejects.toMatchObject({ fields: [{ field: 'role' }] });
    const disable = ctx.db.transaction().execute((tx) => updateUser(tx, only.id, { disabled: true }));
    await expect(disable).rejects.toMatchObject({ fields: [{ field: 'disabled' }] });
    expect(await activeAdmins()).toBe(1);
  });

  it('survives two admins demoting each other at the same moment', async () => {
    const second = await createUser(ctx.db, {
      email: 'tweede-beheerder@voorbeeld.test',
      role: 'admin',
      password: TEST_PASSWORD,
    });
    const [first] = await ctx.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', 'enige-beheerder@voorbeeld.test')
      .execute();
    const one = await ctx.db.startTransaction().execute();
    await updateUser(one, first!.id, { role: 'editor' });
    let settled = false;
    const other = ctx.db
      .transaction()
      .execute((tx) => updateUser(tx, second.id, { role: 'editor' }))
      .finally(() => {
        settled = true;
      });
    other.catch(() => undefined);
    // The other demotion either waits for the first one's locks or (without them) has already gone through.
    await waitUntil(async () => {
      if (settled) return true;
      const waiting = await ctx.db
        .selectFrom('pg_stat_activity' as never)
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('wait_event_type' as never, '=', 'Lock' as never)
        .executeTakeFirstOrThrow();
      return Number(waiting.n) > 0;
    }, 'the second demotion to wait or finish');
    await one.commit().execute();
    await expect(other).rejects.toBeInstanceOf(Conflict);
    expect(await activeAdmins()).toBe(1);
  });
});
