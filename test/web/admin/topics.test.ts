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

const topic = (slug: string) =>
  ctx.db.selectFrom('topics').selectAll().where('slug', '=', slug).executeTakeFirst();

const evenementen = {
  nameNl: 'Evenementen',
  nameEn: 'Events',
  slug: 'evenementen',
  descriptionNl: 'Bijeenkomsten in de regio',
  descriptionEn: '',
  position: '7',
  public: 'true',
};

describe('/admin/topics', () => {
  it('lists the seeded topics and adds one', async () => {
    const list = await (await viewer.page('/admin/topics')).text();
    expect(list).toContain('Nieuwsbrief');
    expect(list).toContain('Documenten en folders');
    const created = await editor.submit('/admin/topics', evenementen);
    expect(created.status).toBe(303);
    expect(await topic('evenementen')).toMatchObject({
      name_nl: 'Evenementen',
      name_en: 'Events',
      public: true,
      position: 7,
      description_nl: 'Bijeenkomsten in de regio',
    });
  });

  it('saves an unticked checkbox as false and archives a topic', async () => {
    const { id } = (await topic('evenementen'))!;
    const form = await (await editor.page(`/admin/topics/${id}/edit`)).text();
    expect(form).toContain('>Bijeenkomsten in de regio</textarea>');
    expect(form).toMatch(/name="public" value="true" checked/);
    const { public: _ticked, ...withoutPublic } = evenementen;
    const saved = await editor.submit(`/admin/topics/${id}`, { ...withoutPublic, archived: 'true' });
    expect(saved.status).toBe(303);
    const row = await topic('evenementen');
    expect(row?.public).toBe(false);
    expect(row?.archived_at).not.toBeNull();
    expect(await (await editor.page('/admin/topics')).text()).toContain('Gearchiveerd');
  });

  it('refuses to delete a topic people subscribed to, says why on the page, and keeps it', async () => {
    const nieuwsbrief = (await topic('nieuwsbrief'))!;
    const subscriber = await ctx.db
      .insertInto('subscribers')
      .values({ email: 'lezer@voorbeeld.test', status: 'active', source: 'editor', locale: 'nl' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await ctx.db
      .insertInto('subscriptions')
      .values({ subscriber_id: subscriber.id, topic_id: nieuwsbrief.id })
      .execute();
    const refused = await editor.submit(`/admin/topics/${nieuwsbrief.id}/delete`);
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain(
      'Dit onderwerp heeft abonnees en kan daarom niet weg; archiveer het',
    );
    expect(await topic('nieuwsbrief')).toBeDefined();

    const { id } = (await topic('evenementen'))!;
    expect((await editor.submit(`/admin/topics/${id}/delete`)).status).toBe(303);
    expect(await topic('evenementen')).toBeUndefined();
  });

  it('shows Dutch field messages for a bad slug (422) and a taken one (409), storing nothing', async () => {
    const bad = await editor.submit('/admin/topics', { ...evenementen, slug: 'Met Spaties', nameNl: '' });
    expect(bad.status).toBe(422);
    const html = await bad.text();
    expect(html).toContain('Gebruik kleine letters, cijfers en streepjes.');
    expect(html).toContain('Vul een Nederlandse naam in.');
    expect(html).toContain('value="Met Spaties"');
    const taken = await editor.submit('/admin/topics', { ...evenementen, slug: 'artikelen' });
    expect(taken.status).toBe(409);
    expect(await taken.text()).toContain('Deze korte naam is al in gebruik door een ander onderwerp.');
    const position = await editor.submit('/admin/topics', { ...evenementen, position: 'twee' });
    expect(position.status).toBe(422);
    expect(await position.text()).toContain('Vul een heel getal in.');
    expect(await topic('evenementen')).toBeUndefined();
  });

  it('is read-only for a viewer', async () => {
    const list = await (await viewer.page('/admin/topics')).text();
    expect(list).not.toContain('/admin/topics/new');
    expect((await viewer.submit('/admin/topics', evenementen)).status).toBe(403);
    expect(await topic('evenementen')).toBeUndefined();
  });

  it('escapes topic names', async () => {
    await editor.submit('/admin/topics', {
      ...evenementen,
      slug: 'xss',
      nameNl: '<img src=x onerror=alert(1)>',
    });
    const list = await (await editor.page('/admin/topics')).text();
    expect(list).not.toContain('<img src=x');
    expect(list).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });
});
