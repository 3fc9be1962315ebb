import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminBrowser, logInAs } from '../../helpers/admin.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';

let ctx: TestContext;
let editor: AdminBrowser;
let viewer: AdminBrowser;

beforeAll(async () => {
  ctx = await createTestContext();
  editor = await logInAs(ctx, 'editor');
  viewer = await logInAs(ctx, 'viewer');
});
afterAll(() => ctx.close());

const organisations = () => ctx.db.selectFrom('organisations').selectAll().orderBy('id').execute();
const idOf = async (name: string) =>
  (await ctx.db.selectFrom('organisations').select('id').where('name', '=', name).executeTakeFirstOrThrow())
    .id;

describe('/admin/organisations', () => {
  it('adds, renames and deletes an organisation, each change audited like the API', async () => {
    const created = await editor.submit('/admin/organisations', {
      name: 'Gemeente Voorbeeldstad',
      kind: 'gemeente',
    });
    expect(created.status).toBe(303);
    expect(created.headers.get('location')).toBe('/admin/organisations?ok=created');
    const list = await (await editor.page('/admin/organisations?ok=created')).text();
    expect(list).toContain('De organisatie is toegevoegd.');
    expect(list).toContain('Gemeente Voorbeeldstad');
    expect(list).toContain('<th scope="col">Soort</th>');

    const id = await idOf('Gemeente Voorbeeldstad');
    const form = await (await editor.page(`/admin/organisations/${id}/edit`)).text();
    expect(form).toContain('value="Gemeente Voorbeeldstad"');
    expect(form).toMatch(/<option value="gemeente" selected/);
    expect(
      (await editor.submit(`/admin/organisations/${id}`, { name: 'Gemeente Nieuwstad', kind: 'gemeente' }))
        .status,
    ).toBe(303);
    expect((await organisations()).map((o) => o.name)).toEqual(['Gemeente Nieuwstad']);

    const confirm = await (await editor.page(`/admin/organisations/${id}/delete`)).text();
    expect(confirm).toContain('Weet je zeker dat je de organisatie <strong>Gemeente Nieuwstad</strong>');
    expect((await editor.submit(`/admin/organisations/${id}/delete`)).status).toBe(303);
    expect(await organisations()).toEqual([]);

    const audit = await ctx.db
      .selectFrom('audit_log')
      .select(['action', 'target'])
      .where('target', '=', `organisation:${id}`)
      .orderBy('id')
      .execute();
    expect(audit.map((entry) => entry.action)).toEqual([
      'organisation.create',
      'organisation.update',
      'organisation.delete',
    ]);
  });

  it('shows bad input again with Dutch field messages (422) and a taken name (409), storing nothing', async () => {
    const empty = await editor.submit('/admin/organisations', { name: '  ', kind: 'club' });
    expect(empty.status).toBe(422);
    const html = await empty.text();
    expect(html).toContain('Vul een naam in.');
    expect(html).toContain('aria-invalid="true"');
    expect(html).toContain('href="#veld-name"');
    expect(await organisations()).toEqual([]);

    await editor.submit('/admin/organisations', { name: 'Zorggroep Voorbeeld', kind: 'zorgaanbieder' });
    const taken = await editor.submit('/admin/organisations', {
      name: 'zorggroep voorbeeld',
      kind: 'overig',
    });
    expect(taken.status).toBe(409);
    const page = await taken.text();
    expect(page).toContain('Er bestaat al een organisatie met deze naam.');
    expect(page).toContain('value="zorggroep voorbeeld"');
    expect((await organisations()).map((o) => o.name)).toEqual(['Zorggroep Voorbeeld']);
  });

  it('lets a viewer look but not change: no buttons, and 403 on every change', async () => {
    const id = await idOf('Zorggroep Voorbeeld');
    const list = await (await viewer.page('/admin/organisations')).text();
    expect(list).toContain('Zorggroep Voorbeeld');
    expect(list).not.toContain('/admin/organisations/new');
    expect(list).not.toContain('Verwijderen');
    expect((await viewer.page('/admin/organisations/new')).status).toBe(403);
    expect((await viewer.submit('/admin/organisations', { name: 'Stiekem', kind: 'overig' })).status).toBe(
      403,
    );
    expect((await viewer.submit(`/admin/organisations/${id}/delete`)).status).toBe(403);
    expect((await organisations()).map((o) => o.name)).toEqual(['Zorggroep Voorbeeld']);
  });

  it('refuses a change without the session CSRF token', async () => {
    const res = await editor.submit(
      '/admin/organisations',
      { name: 'Vervalst', kind: 'overig' },
      { csrf: 'x' },
    );
    expect(res.status).toBe(403);
    expect((await organisations()).map((o) => o.name)).not.toContain('Vervalst');
  });

  it('escapes names in the list and the forms', async () => {
    await editor.submit('/admin/organisations', { name: '<script>alert(1)</script> & Co', kind: 'overig' });
    const list = await (await editor.page('/admin/organisations')).text();
    expect(list).not.toContain('<script>alert(1)</script>');
    expect(list).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co');
  });

  it('answers an unknown organisation with a Dutch 404 page', async () => {
    const res = await editor.page('/admin/organisations/999999/edit');
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('Deze organisatie bestaat niet (meer).');
  });
});
