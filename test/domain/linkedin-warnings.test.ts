import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warnAdminsAboutLinkedIn } from '../../src/domain/linkedin.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

let ctx: TestContext;
const DAY = 24 * 60 * 60 * 1000;

beforeAll(async () => {
  ctx = await createTestContext();
  await ctx.userWithToken('admin', 'beheer-een@voorbeeld.test');
  await ctx.userWithToken('admin', 'beheer-twee@voorbeeld.test');
  await ctx.userWithToken('editor', 'redactie@voorbeeld.test');
});
afterAll(() => ctx.close());

const warningsTo = (address: string) =>
  ctx.db
    .selectFrom('emails')
    .select(['subject', 'text'])
    .where('kind', '=', 'linkedin-warning')
    .where('to_address', '=', address)
    .orderBy('id')
    .execute();

describe('LinkedIn warnings by email', () => {
  it('emails every admin once per threshold (14, 7, 1 days) before the token expires, and once when broken', async () => {
    const now = new Date('2026-05-01T08:00:00Z');
    const connection = await ctx.db
      .insertInto('linkedin_connections')
      .values({
        status: 'active',
        organization_id: '123',
        organizations: '[]',
        access_token_enc: 'x',
        access_token_expires_at: new Date(now.getTime() + 20 * DAY),
      })
      .returning('id')
      .executeTakeFirstOrThrow();

    expect(await warnAdminsAboutLinkedIn(ctx.db, 'http://localhost:3000', now)).toBe(0);
    const at = (days: number) => new Date(now.getTime() + (20 - days) * DAY);
    expect(await warnAdminsAboutLinkedIn(ctx.db, 'http://localhost:3000', at(13))).toBe(2);
    expect(await warnAdminsAboutLinkedIn(ctx.db, 'http://localhost:3000', at(12))).toBe(0);
    expect(await warnAdminsAboutLinkedIn(ctx.db, 'http://localhost:3000', at(6.5))).toBe(2);
    expect(await warnAdminsAboutLinkedIn(ctx.db, 'http://localhost:3000', at(0.5))).toBe(2);
    expect((await warningsTo('beheer-een@voorbeeld.test')).map((w) => w.subject)).toEqual([
      'De LinkedIn-koppeling verloopt binnen 14 dagen',
      'De LinkedIn-koppeling verloopt binnen 7 dagen',
      'De LinkedIn-koppeling verloopt binnen 1 dag',
    ]);
    expect(await warningsTo('redactie@voorbeeld.test')).toEqual([]);

    await ctx.db
      .updateTable('linkedin_connections')
      .set({ status: 'broken', broken_reason: '401 from LinkedIn', broken_at: at(0.4) })
      .where('id', '=', connection.id)
      .execute();
    expect(await warnAdminsAboutLinkedIn(ctx.db, 'http://localhost:3000', at(0.3))).toBe(2);
    expect(await warnAdminsAboutLinkedIn(ctx.db, 'http://localhost:3000', at(0.2))).toBe(0);
    const last = (await warningsTo('beheer-twee@voorbeeld.test')).at(-1)!;
    expect(last.subject).toBe('De LinkedIn-koppeling werkt niet meer');
    expect(last.text).toContain('401 from LinkedIn');
    expect(last.text).toContain('http://localhost:3000/admin/linkedin');
  });
});
