import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minimalPdf } from '../../../src/domain/demo.js';
import { DOCUMENT_MAX_BYTES } from '../../../src/domain/documents.js';
import { type AdminBrowser, encodeMultipart, logInAs } from '../../helpers/admin.js';
import { createTestContext, TestClock, type TestContext } from '../../helpers/context.js';
import { ooxml } from '../../helpers/office-files.js';

let ctx: TestContext;
let editor: AdminBrowser;
let viewer: AdminBrowser;
const clock = new TestClock(new Date('2026-03-01T09:00:00Z'));

beforeAll(async () => {
  ctx = await createTestContext({ clock });
  editor = await logInAs(ctx, 'editor');
  viewer = await logInAs(ctx, 'viewer');
});
afterAll(() => ctx.close());

const PDF = minimalPdf({ title: 'Jaarverslag', lines: ['Een echte PDF.'] });

async function categoryId(slug: string): Promise<string> {
  const row = await ctx.db
    .selectFrom('document_categories')
    .select('id')
    .where('slug', '=', slug)
    .executeTakeFirstOrThrow();
  return row.id;
}

function fileForm(bytes: Buffer, filename: string, fields: Record<string, string>): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([new Uint8Array(bytes)]), filename);
  return form;
}

const documents = () => ctx.db.selectFrom('documents').selectAll().orderBy('id').execute();
const documentByTitle = (title: string) =>
  ctx.db.selectFrom('documents').selectAll().where('title', '=', title).executeTakeFirst();

describe('/admin/documents: files', () => {
  it('uploads a PDF (title from the file name, today as date) and lists it in its category', async () => {
    const folders = await categoryId('folders');
    const res = await editor.upload(
      '/admin/documents/files',
      fileForm(PDF, 'Folder deelnemers 2026.pdf', {
        title: '',
        date: '',
        category: folders,
        published: 'true',
      }),
    );
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/documents?ok=created');
    const doc = await documentByTitle('Folder deelnemers 2026');
    expect(doc).toMatchObject({ kind: 'file', file_format: 'pdf', category_id: folders });
    expect(doc?.published_at).not.toBeNull();

    const list = await (await viewer.page('/admin/documents')).text();
    expect(list).toMatch(/<h2 id="categorie-\d+">Folders<\/h2>/);
    expect(list).toContain('Folder deelnemers 2026');
    expect(list).toContain('1 maart 2026');
    expect(list).toContain('Gepubliceerd');
    expect(list).toContain(`href="/api/v1/documents/${doc!.id}/file"`);
    // A viewer sees no buttons that would be refused.
    expect(list).not.toContain('Bestand toevoegen');
    expect(list).not.toContain('Depubliceren');

    const audit = await ctx.db
      .selectFrom('audit_log')
      .select(['action', 'details'])
      .where('target', '=', `document:${doc!.id}`)
      .executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ action: 'document.create', details: { kind: 'file', format: 'pdf' } });
  });

  it('accepts an office file by its content', async () => {
    const res = await editor.upload(
      '/admin/documents/files',
      fileForm(ooxml('docx'), 'verslag.docx', { title: 'Verslag', category: await categoryId('algemeen') }),
    );
    expect(res.status).toBe(303);
    expect(await documentByTitle('Verslag')).toMatchObject({ file_format: 'docx' });
  });

  it('refuses an HTML page named .pdf with a Dutch field message, keeps the values, stores nothing', async () => {
    const before = await documents();
    const html = Buffer.from('<!doctype html><html><body>nep</body></html>');
    const res = await editor.upload(
      '/admin/documents/files',
      fileForm(html, 'rapport.pdf', { title: 'Nep <rapport>', category: await categoryId('folders') }),
    );
    expect(res.status).toBe(422);
    const page = await res.text();
    expect(page).toContain('HTML-pagina');
    expect(page).toContain('Kies het bestand opnieuw.');
    expect(page).toContain('value="Nep &lt;rapport&gt;"');
    expect(page).toContain('href="#veld-file"');
    expect(await documents()).toEqual(before);
  });

  it('refuses a file over the limit with 413 on the file field', async () => {
    const before = await documents();
    const big = Buffer.concat([PDF, Buffer.alloc(DOCUMENT_MAX_BYTES)]);
    const res = await editor.upload(
      '/admin/documents/files',
      fileForm(big, 'groot.pdf', { title: 'Groot', category: await categoryId('folders') }),
    );
    expect(res.status).toBe(413);
    expect(await res.text()).toContain('Het bestand is groter dan 20 MB.');
    expect(await documents()).toEqual(before);
  });

  it('checks the CSRF field before the file: missing, wrong or after the file is refused', async () => {
    const before = await documents();
    const folders = await categoryId('folders');
    const post = async (form: FormData) => {
      const { body, contentType } = await encodeMultipart(form);
      const headers = { cookie: editor.cookie, 'content-type': contentType };
      return ctx.app.request('/admin/documents/files', { method: 'POST', headers, body });
    };
    const missing = fileForm(PDF, 'a.pdf', { title: 'Zonder', category: folders });
    expect((await post(missing)).status).toBe(403);
    const late = fileForm(PDF, 'b.pdf', { title: 'Te laat', category: folders });
    late.append('_csrf', editor.csrf);
    expect((await post(late)).status).toBe(403);
    const wrong = new FormData();
    wrong.append('_csrf', 'vervalst');
    wrong.append('file', new Blob([new Uint8Array(PDF)]), 'c.pdf');
    expect((await post(wrong)).status).toBe(403);
    expect(await documents()).toEqual(before);
  });

  it('is for editors: a viewer gets 403 on uploads and every change', async () => {
    const before = await documents();
    const res = await viewer.upload(
      '/admin/documents/files',
      fileForm(PDF, 'x.pdf', { title: 'Lezer', category: await categoryId('folders') }),
    );
    expect(res.status).toBe(403);
    expect((await viewer.page('/admin/documents/new-file')).status).toBe(403);
    const { id } = before[0]!;
    expect((await viewer.submit(`/admin/documents/${id}/publish`, { published: 'false' })).status).toBe(403);
    expect((await viewer.submit(`/admin/documents/${id}/delete`)).status).toBe(403);
    expect(await documents()).toEqual(before);
  });
});

describe('/admin/documents: links, editing, publishing', () => {
  it('adds a link as a draft, and validates the address and the announcement in Dutch', async () => {
    const algemeen = await categoryId('algemeen');
    const bad = await editor.submit('/admin/documents/links', {
      url: 'javascript:alert(1)',
      title: '',
      category: algemeen,
      published: 'true',
    });
    expect(bad.status).toBe(422);
    const page = await bad.text();
    expect(page).toContain('Gebruik een volledig webadres dat begint met https://');
    expect(page).toContain('Vul een titel in.');
    const announceDraft = await editor.submit('/admin/documents/links', {
      url: 'https://www.voorbeeld.test/rapport',
      title: 'Rapport',
      category: algemeen,
      published: 'false',
      announceOnLinkedIn: 'true',
    });
    expect(announceDraft.status).toBe(422);
    expect(await announceDraft.text()).toContain(
      'Publiceer het document om het op LinkedIn aan te kondigen.',
    );
    expect(await documentByTitle('Rapport')).toBeUndefined();

    const ok = await editor.submit('/admin/documents/links', {
      url: 'https://www.voorbeeld.test/rapport',
      title: 'Rapport',
      summary: 'Een samenvatting',
      date: '2026-02-14',
      category: algemeen,
      published: 'false',
    });
    expect(ok.status).toBe(303);
    const doc = await documentByTitle('Rapport');
    expect(doc).toMatchObject({
      kind: 'link',
      url: 'https://www.voorbeeld.test/rapport',
      published_at: null,
    });
  });

  it('edits, publishes with a LinkedIn announcement, unpublishes and deletes', async () => {
    const doc = (await documentByTitle('Rapport'))!;
    const form = await (await editor.page(`/admin/documents/${doc.id}/edit`)).text();
    expect(form).toContain('value="https://www.voorbeeld.test/rapport"');
    expect(form).toContain('value="2026-02-14"');
    expect(form).toMatch(/<option value="false" selected/);

    const saved = await editor.submit(`/admin/documents/${doc.id}`, {
      url: 'https://www.voorbeeld.test/rapport-2',
      title: 'Rapport definitief',
      summary: '',
      date: '2026-02-15',
      category: await categoryId('artikelen'),
      published: 'true',
      announceOnLinkedIn: 'true',
    });
    expect(saved.status).toBe(303);
    const updated = (await documentByTitle('Rapport definitief'))!;
    expect(updated.published_at).not.toBeNull();
    expect(updated.announced_at).not.toBeNull();
    const outbox = await ctx.db
      .selectFrom('outbox')
      .select('job_name')
      .where('job_id', '=', `announce-document-${doc.id}`)
      .execute();
    expect(outbox).toEqual([{ job_name: 'announce-document' }]);
    expect(await (await editor.page(`/admin/documents/${doc.id}/edit`)).text()).toContain(
      'op LinkedIn aangekondigd',
    );

    expect((await editor.submit(`/admin/documents/${doc.id}/publish`, { published: 'false' })).status).toBe(
      303,
    );
    expect((await documentByTitle('Rapport definitief'))?.published_at).toBeNull();
    const list = await (await editor.page('/admin/documents?ok=unpublished')).text();
    expect(list).toContain('Het document staat niet meer op de site.');
    expect(list).toContain('Concept');

    const confirm = await (await editor.page(`/admin/documents/${doc.id}/delete`)).text();
    expect(confirm).toContain('Weet je zeker dat je het document <strong>Rapport definitief</strong>');
    expect((await editor.submit(`/admin/documents/${doc.id}/delete`)).status).toBe(303);
    expect(await documentByTitle('Rapport definitief')).toBeUndefined();
  });

  it('escapes document titles in the list', async () => {
    await editor.submit('/admin/documents/links', {
      url: 'https://www.voorbeeld.test/x',
      title: '<script>alert("x")</script>',
      category: await categoryId('algemeen'),
      published: 'true',
    });
    const list = await (await editor.page('/admin/documents')).text();
    expect(list).not.toContain('<script>alert("x")</script>');
    expect(list).toContain('&lt;script&gt;');
  });
});

describe('/admin/documents/categories', () => {
  it('adds and renames a category, and refuses to delete one that holds documents', async () => {
    const created = await editor.submit('/admin/documents/categories', {
      nameNl: 'Rapporten',
      nameEn: 'Reports',
      slug: 'rapporten',
      position: '',
    });
    expect(created.status).toBe(303);
    const id = await categoryId('rapporten');
    expect(
      (
        await editor.submit(`/admin/documents/categories/${id}`, {
          nameNl: 'Onderzoek',
          nameEn: 'Research',
          slug: 'rapporten',
          position: '9',
        })
      ).status,
    ).toBe(303);
    const taken = await editor.submit('/admin/documents/categories', {
      nameNl: 'Dubbel',
      nameEn: 'Double',
      slug: 'folders',
    });
    expect(taken.status).toBe(422);
    expect(await taken.text()).toContain('Deze korte naam is al in gebruik door een andere categorie.');

    const folders = await categoryId('folders');
    const refused = await editor.submit(`/admin/documents/categories/${folders}/delete`);
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain(
      'Deze categorie heeft nog documenten; verplaats of verwijder die eerst.',
    );
    expect((await editor.submit(`/admin/documents/categories/${id}/delete`)).status).toBe(303);
    const names = await ctx.db.selectFrom('document_categories').select('name_nl').execute();
    expect(names.map((row) => row.name_nl)).not.toContain('Onderzoek');
    expect(names.map((row) => row.name_nl)).toContain('Folders');
  });
});
