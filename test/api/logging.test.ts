import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, json, TEST_PASSWORD, type TestContext } from '../helpers/context.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

describe('logs', () => {
  it('carry request ids and route patterns but no secrets, tokens or email addresses', async () => {
    const admin = await ctx.userWithToken('admin', 'geheim-adres@voorbeeld.test');
    const setupToken = 'setup-token-that-must-not-be-logged';
    await ctx.app.request(
      '/api/v1/auth/login',
      json({ email: 'geheim-adres@voorbeeld.test', password: TEST_PASSWORD }),
    );
    await ctx.app.request(
      '/api/v1/auth/login',
      json({ email: 'geheim-adres@voorbeeld.test', password: 'wrong-password-x' }),
    );
    await ctx.app.request(`/admin/setup/${setupToken}`);
    await ctx.app.request(
      '/api/v1/users',
      json({ email: 'nieuw-adres@voorbeeld.test', role: 'viewer', password: TEST_PASSWORD }, admin.headers),
    );
    await ctx.app.request(
      '/api/v1/system/test-email',
      json({ to: 'ontvanger@voorbeeld.test' }, admin.headers),
    );

    const all = ctx.rawLogs.join('\n');
    expect(
      ctx.logs.some((line) => line.route === '/api/v1/auth/login' && typeof line.reqId === 'string'),
    ).toBe(true);
    for (const secret of [
      'geheim-adres@voorbeeld.test',
      'nieuw-adres@voorbeeld.test',
      'ontvanger@voorbeeld.test',
      TEST_PASSWORD,
      admin.token,
      setupToken,
    ]) {
      expect(all).not.toContain(secret);
    }
  });

  it('redacts secrets and addresses even when code logs them by mistake', () => {
    ctx.deps.logger.info(
      { email: 'lek@voorbeeld.test', nested: { password: 'p', token: 't' }, authorization: 'Bearer x' },
      'oops',
    );
    const line = ctx.logs.find((entry) => entry.msg === 'oops')!;
    expect(JSON.stringify(line)).not.toMatch(/lek@voorbeeld|"p"|"t"|Bearer x/);
  });
});
