import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminBrowser, logInAs } from '../../helpers/admin.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';

let ctx: TestContext;
let admin: AdminBrowser;
let editor: AdminBrowser;

beforeAll(async () => {
  ctx = await createTestContext();
  admin = await logInAs(ctx, 'admin');
  editor = await logInAs(ctx, 'editor');
});
afterAll(() => ctx.close());

const tokenCount = async () => (await ctx.db.selectFrom('api_tokens').select('id').execute()).length;

describe('API tokens', () => {
  it('shows the secret once, on the answer to the form, and never again; the secret works', async () => {
    const res = await admin.submit('/admin/tokens', {
      name: 'website <b>koppeling</b>',
      userId: editor.userId,
      role: 'viewer',
      expiresAt: '2030-07-01T12:00',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    const secret = /id="nieuw-token"[^>]*value="(tp_[^"]+)"/.exec(html)?.[1];
    expect(secret).toBeDefined();
    expect(html).toContain('website &lt;b&gt;koppeling&lt;/b&gt;');

    const row = await ctx.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('name', '=', 'website <b>koppeling</b>')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ user_id: editor.userId, role: 'viewer' });
    expect(row.expires_at?.toISOString()).toBe('2030-07-01T10:00:00.000Z');
    expect(JSON.stringify(row)).not.toContain(secret);

    const list = await (await admin.page('/admin/tokens')).text();
    expect(list).toContain(row.prefix);
    expect(list).toContain(editor.email);
    expect(list).not.toContain(secret);
    expect(ctx.rawLogs.join('\n')).not.toContain(secret);
    const audit = await ctx.db
      .selectFrom('audit_log')
      .select(['action', 'details'])
      .where('target', '=', `token:${row.id}`)
      .executeTakeFirstOrThrow();
    expect(audit).toEqual({ action: 'token.create', details: { owner: editor.userId, role: 'viewer' } });

    const me = await ctx.app.request('/api/v1/auth/me', { headers: { authorization: `Bearer ${secret}` } });
    expect(me.status).toBe(200);
  });

  it('refuses a token above its owner’s role, or without a name, and creates nothing', async () => {
    const before = await tokenCount();
    const higher = await admin.submit('/admin/tokens', {
      name: 'te machtig',
      userId: editor.userId,
      role: 'admin',
      expiresAt: '',
    });
    expect(higher.status).toBe(422);
    expect(await higher.text()).toContain('Een token mag niet meer dan zijn eigenaar');
    const nameless = await admin.submit('/admin/tokens', {
      name: ' ',
      userId: editor.userId,
      role: '',
      expiresAt: 'ooit',
    });
    expect(nameless.status).toBe(422);
    const html = await nameless.text();
    expect(html).toContain('Geef het token een naam.');
    expect(html).toContain('Geef een datum en tijd');
    expect(await tokenCount()).toBe(before);
  });

  it('revokes a token: it stops working and the list says so', async () => {
    const res = await admin.submit('/admin/tokens', {
      name: 'tijdelijk',
      userId: admin.userId,
      role: '',
      expiresAt: '',
    });
    const secret = /value="(tp_[^"]+)"/.exec(await res.text())![1]!;
    const row = await ctx.db
      .selectFrom('api_tokens')
      .select('id')
      .where('name', '=', 'tijdelijk')
      .executeTakeFirstOrThrow();
    expect((await editor.submit(`/admin/tokens/${row.id}/revoke`)).status).toBe(403);
    expect((await admin.submit(`/admin/tokens/${row.id}/revoke`)).headers.get('location')).toBe(
      '/admin/tokens?ok=revoked',
    );
    const me = await ctx.app.request('/api/v1/auth/me', { headers: { authorization: `Bearer ${secret}` } });
    expect(me.status).toBe(401);
    expect(await (await admin.page('/admin/tokens')).text()).toContain('Ingetrokken op');
  });

  it('is for admins only', async () => {
    const before = await tokenCount();
    expect((await editor.page('/admin/tokens')).status).toBe(403);
    expect((await editor.page('/admin/tokens/new')).status).toBe(403);
    const res = await editor.submit('/admin/tokens', {
      name: 'stiekem',
      userId: editor.userId,
      role: '',
      expiresAt: '',
    });
    expect(res.status).toBe(403);
    expect(await res.text()).not.toContain('tp_');
    expect(await tokenCount()).toBe(before);
  });
});
