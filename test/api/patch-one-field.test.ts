import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announceEdition } from '../../src/domain/linkedin.js';
import { getSettings, updateSettings } from '../../src/domain/settings.js';
import { createTestContext, json, type TestContext } from '../helpers/context.js';
import { approvedEdition, editionInput } from '../helpers/editions.js';

/**
 * A PATCH of one field changes that field and nothing else: no default of the create schema
 * (zod 4 applies them under .partial()) may reset or trip over another field. One case per
 * updatable resource, through the API.
 */
let ctx: TestContext;
let editor: Record<string, string>;
let admin: Record<string, string>;

beforeAll(async () => {
  ctx = await createTestContext();
  editor = (await ctx.userWithToken('editor')).headers;
  admin = (await ctx.userWithToken('admin')).headers;
});
afterAll(() => ctx.close());

type Json = Record<string, unknown>;

async function created(path: string, body: unknown, headers = editor): Promise<Json> {
  const res = await ctx.app.request(path, json(body, headers));
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

async function read(path: string, headers = editor): Promise<Json> {
  const res = await ctx.app.request(path, { headers });
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json();
}

/** PATCHes `{ [field]: value }` and checks that the resource is as before except that field. */
async function patchOneField(path: string, field: string, value: unknown, headers = editor) {
  const { updatedAt: _before, ...before } = await read(path, headers);
  const res = await ctx.app.request(path, json({ [field]: value }, headers, 'PATCH'));
  expect(res.status, await res.clone().text()).toBe(200);
  const { updatedAt: _after, ...after } = await read(path, headers);
  expect(before[field]).not.toEqual(value);
  expect(after).toEqual({ ...before, [field]: value });
}

describe('PATCH one field', () => {
  it('edition: the title changes, an English edition stays English', async () => {
    const { id } = await created('/api/v1/editions', editionInput({ locale: 'en' }));
    await patchOneField(`/api/v1/editions/${id}`, 'title', 'Een nieuwe titel');
    expect((await read(`/api/v1/editions/${id}`)).locale).toBe('en');
  });

  it('LinkedIn post: the title changes, a "custom" post stays custom', async () => {
    const post = await created('/api/v1/linkedin/posts', {
      kind: 'custom',
      commentary: 'Een eigen bericht',
      link: 'https://voorbeeld.test/eigen',
      title: 'Eigen',
      description: 'Een eigen bericht van het lab.',
    });
    await patchOneField(`/api/v1/linkedin/posts/${post.id}`, 'title', 'Eigen, herschreven');
  });

  it('LinkedIn announcement: only imageUrl can be changed (it stays an announcement)', async () => {
    const editionId = await approvedEdition(ctx);
    await ctx.db.updateTable('editions').set({ status: 'sent' }).where('id', '=', editionId).execute();
    await updateSettings(ctx.db, { linkedinAnnouncementNeedsApproval: true });
    await ctx.db
      .transaction()
      .execute((tx) => announceEdition(tx, editionId, 'http://localhost:3000', new Date()));
    const { id } = await ctx.db
      .selectFrom('linkedin_posts')
      .select('id')
      .where('edition_id', '=', editionId)
      .executeTakeFirstOrThrow();
    await patchOneField(`/api/v1/linkedin/posts/${id}`, 'imageUrl', 'https://voorbeeld.test/beeld.png');
    expect((await read(`/api/v1/linkedin/posts/${id}`)).kind).toBe('edition');

    const refused = await ctx.app.request(
      `/api/v1/linkedin/posts/${id}`,
      json({ kind: 'article' }, editor, 'PATCH'),
    );
    expect(refused.status).toBe(422);
    expect((await refused.json()).errors).toEqual([
      { field: 'kind', message: 'De soort van een aankondiging kan niet veranderen.' },
    ]);
  });

  it('LinkedIn settings: the default image changes; the approval rule and the programme settings stay', async () => {
    await updateSettings(ctx.db, {
      programmeName: 'Programma Thuis',
      linkedinAnnouncementNeedsApproval: true,
    });
    await patchOneField(
      '/api/v1/linkedin/settings',
      'defaultImageUrl',
      'https://voorbeeld.test/logo.png',
      admin,
    );
    const settings = await getSettings(ctx.db);
    expect(settings.programmeName).toBe('Programma Thuis');
    expect(settings.linkedinAnnouncementNeedsApproval).toBe(true);
  });

  it('topic', async () => {
    const topic = await created('/api/v1/topics', {
      slug: 'wonen-en-zorg',
      nameNl: 'Wonen en zorg',
      nameEn: 'Housing and care',
      public: false,
      position: 7,
    });
    await patchOneField(`/api/v1/topics/${topic.id}`, 'nameNl', 'Wonen, zorg en welzijn');
  });

  it('organisation', async () => {
    const organisation = await created('/api/v1/organisations', {
      name: 'Gemeente Voorbeeld',
      kind: 'gemeente',
    });
    await patchOneField(`/api/v1/organisations/${organisation.id}`, 'name', 'Gemeente Voorbeeldstad');
  });

  it('document category', async () => {
    const category = await created('/api/v1/document-categories', {
      slug: 'handreikingen',
      nameNl: 'Handreikingen',
      nameEn: 'Guides',
      position: 9,
    });
    await patchOneField(`/api/v1/document-categories/${category.id}`, 'nameEn', 'Guidance');
  });

  it('document', async () => {
    const document = await created('/api/v1/documents', {
      kind: 'link',
      category: 'folders',
      title: 'Folder wonen',
      summary: 'Alles over wonen.',
      url: 'https://voorbeeld.test/folder.pdf',
      published: false,
    });
    await patchOneField(`/api/v1/documents/${document.id}`, 'summary', 'Alles over wonen en zorg.');
  });

  it('subscriber', async () => {
    const subscriber = await created('/api/v1/subscribers', {
      email: 'een-veld@voorbeeld.test',
      name: 'Eén Veld',
      locale: 'en',
      topics: ['nieuwsbrief'],
      lawfulBasis: 'consent',
    });
    await patchOneField(`/api/v1/subscribers/${subscriber.id}`, 'name', 'Eén Ander Veld');
  });

  it('user', async () => {
    const user = await created(
      '/api/v1/users',
      {
        email: 'een-veld-gebruiker@voorbeeld.test',
        name: 'Redacteur',
        role: 'viewer',
        password: 'correct horse battery staple',
      },
      admin,
    );
    await patchOneField(`/api/v1/users/${user.id}`, 'name', 'Hoofdredacteur', admin);
  });
});
