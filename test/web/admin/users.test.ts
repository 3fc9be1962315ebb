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

const user = (id: string) =>
  ctx.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const userCount = async () => (await ctx.db.selectFrom('users').select('id').execute()).length;

async function createThroughForm(email: string, role = 'editor'): Promise<string> {
  const res = await admin.submit('/admin/users', {
    email,
    name: 'Fenna de Vries',
    role,
    password: 'een lang wachtwoord',
  });
  expect(res.status, await res.clone().text()).toBe(303);
  return /\/admin\/users\/(\d+)\?ok=created/.exec(res.headers.get('location')!)![1]!;
}

describe('users', () => {
  it('lists accounts and adds one with an initial password, audited as the API does', async () => {
    const id = await createThroughForm('fenna@voorbeeld.test');
    const row = await user(id);
    expect(row).toMatchObject({ email: 'fenna@voorbeeld.test', name: 'Fenna de Vries', role: 'editor' });
    expect(row.password_hash).not.toContain('een lang wachtwoord');
    const audit = await ctx.db
      .selectFrom('audit_log')
      .select(['action', 'details', 'actor_user_id'])
      .where('target', '=', `user:${id}`)
      .executeTakeFirstOrThrow();
    expect(audit).toEqual({
      action: 'user.create',
      details: { role: 'editor' },
      actor_user_id: admin.userId,
    });
    const list = await (await admin.page('/admin/users')).text();
    expect(list).toContain('fenna@voorbeeld.test');
    expect(list).toContain('redacteur');
    expect(ctx.rawLogs.join('\n')).not.toContain('een lang wachtwoord');
  });

  it('refuses bad input in Dutch, field by field, keeps the values and creates nobody', async () => {
    const before = await userCount();
    const res = await admin.submit('/admin/users', {
      email: 'geen-adres',
      name: '<script>alert(1)</script>',
      role: 'baas',
      password: 'kort',
    });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain('Geef een geldig e-mailadres.');
    expect(html).toContain('Kies een rol.');
    expect(html).toContain('Gebruik minstens 12 tekens.');
    expect(html).toContain('value="&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(html).not.toContain('value="kort"');
    expect(await userCount()).toBe(before);

    const taken = await admin.submit('/admin/users', {
      email: editor.email.toUpperCase(),
      role: 'viewer',
      password: 'een lang wachtwoord',
    });
    expect(taken.status).toBe(409);
    expect(await taken.text()).toContain('Er is al een gebruiker met dit e-mailadres.');
    expect(await userCount()).toBe(before);
  });

  it('changes a role and a password, and disables and enables an account', async () => {
    const id = await createThroughForm('joris@voorbeeld.test', 'viewer');
    expect((await admin.submit(`/admin/users/${id}/role`, { role: 'editor' })).status).toBe(303);
    expect((await user(id)).role).toBe('editor');
    const badRole = await admin.submit(`/admin/users/${id}/role`, { role: 'eigenaar' });
    expect(badRole.status).toBe(422);
    expect((await user(id)).role).toBe('editor');

    const hashBefore = (await user(id)).password_hash;
    const short = await admin.submit(`/admin/users/${id}/password`, { password: 'kort' });
    expect(short.status).toBe(422);
    expect((await user(id)).password_hash).toBe(hashBefore);
    expect(
      (await admin.submit(`/admin/users/${id}/password`, { password: 'nog een lang wachtwoord' })).status,
    ).toBe(303);
    expect((await user(id)).password_hash).not.toBe(hashBefore);

    expect((await admin.submit(`/admin/users/${id}/disable`)).headers.get('location')).toBe(
      `/admin/users/${id}?ok=disabled`,
    );
    expect((await user(id)).disabled_at).not.toBeNull();
    expect(await (await admin.page(`/admin/users/${id}?ok=disabled`)).text()).toContain('Weer inschakelen');
    expect((await admin.submit(`/admin/users/${id}/enable`)).status).toBe(303);
    expect((await user(id)).disabled_at).toBeNull();
  });

  it('does not let the last active admin demote or disable themselves', async () => {
    const fresh = await createTestContext();
    try {
      const only = await logInAs(fresh, 'admin');
      const demote = await only.submit(`/admin/users/${only.userId}/role`, { role: 'editor' });
      expect(demote.status).toBe(409);
      expect(await demote.text()).toContain('Dit is de laatste actieve beheerder');
      const disable = await only.submit(`/admin/users/${only.userId}/disable`);
      expect(disable.status).toBe(409);
      expect(await disable.text()).toContain('Dit is de laatste actieve beheerder');
      const row = await fresh.db
        .selectFrom('users')
        .selectAll()
        .where('id', '=', only.userId)
        .executeTakeFirstOrThrow();
      expect(row.role).toBe('admin');
      expect(row.disabled_at).toBeNull();
    } finally {
      await fresh.close();
    }
  });

  it('is for admins only', async () => {
    const before = await userCount();
    expect((await editor.page('/admin/users')).status).toBe(403);
    const res = await editor.submit('/admin/users', {
      email: 'stiekem@voorbeeld.test',
      role: 'admin',
      password: 'een lang wachtwoord',
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('Geen toegang');
    expect((await editor.submit(`/admin/users/${editor.userId}/role`, { role: 'admin' })).status).toBe(403);
    expect((await user(editor.userId)).role).toBe('editor');
    expect(await userCount()).toBe(before);
    expect(await (await editor.page('/admin')).text()).not.toContain('href="/admin/users"');
  });
});
