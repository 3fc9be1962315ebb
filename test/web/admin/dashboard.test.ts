import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logInAs } from '../../helpers/admin.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

describe('admin shell', () => {
  it('shows a viewer only the sections a viewer may open, and refuses the admin-only ones', async () => {
    const viewer = await logInAs(ctx, 'viewer');
    const html = await (await viewer.page('/admin')).text();
    expect(html).toContain('href="/admin/editions"');
    expect(html).not.toContain('href="/admin/users"');
    const mailbox = await viewer.page('/dev/mailbox');
    expect(mailbox.status).toBe(403);
    expect(await mailbox.text()).toContain('Geen toegang');
  });

  it('logs out only with the session CSRF token', async () => {
    const editor = await logInAs(ctx, 'editor');
    const forged = await editor.submit('/admin/logout', {}, { csrf: 'vervalst' });
    expect(forged.status).toBe(403);
    expect((await editor.page('/admin')).status).toBe(200);
    const out = await editor.submit('/admin/logout');
    expect(out.status).toBe(303);
    expect((await editor.page('/admin')).headers.get('location')).toBe('/admin/login');
  });
});
