import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minimalPdf } from '../../src/domain/demo.js';
import { DOCUMENT_MAX_BYTES } from '../../src/domain/documents.js';
import { createTestContext, json, TEST_PASSWORD, TestClock, type TestContext } from '../helpers/context.js';
import { odf, ooxml } from '../helpers/office-files.js';

let ctx: TestContext;
const clock = new TestClock(new Date('2026-03-01T09:00:00Z'));
let editor: Record<string, string>;
let viewer: Record<string, string>;

beforeAll(async () => {
  ctx = await createTestContext({ clock });
  editor = (await ctx.userWithToken('editor')).headers;
  viewer = (await ctx.userWithToken('viewer')).headers;
});
afterAll(() => ctx.close());

const PDF = minimalPdf({ title: 'Jaarverslag', lines: ['Een echte PDF.'] });

function upload(
  bytes: Buffer,
  filename: string,
  fields: Record<string, string> = {},
  headers: Record<string, string> = editor,
  type = 'application/pdf',
) {
  const form = new FormData();
  for (const [name, value] of Object.entries({ category: 'folders', ...fields })) form.append(name, value);
  form.append('file', new Blob([new Uint8Array(bytes)], { type }), filename);
  return ctx.app.request('/api/v1/documents', { method: 'POST', headers, body: form });
}

async function documentCount(): Promise<number> {
  const row = await ctx.db
    .selectFrom('documents')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

function path(url: string): string {
  return new URL(url).pathname;
}

describe('document categories', () => {
  it('are seeded, editable, and refuse deletion while they hold documents', async () => {
    const list = await (await ctx.app.request('/api/v1/document-categories', { headers: viewer })).json();
    expect(list.categories.map((c: { nameNl: string }) => c.nameNl)).toEqual([
      'Algemeen',
      'Artikelen',
      'Folders',
      'Nieuwsbrieven',
    ]);

    const created = await ctx.app.request(
      '/api/v1/document-categories',
      json({ slug: 'rapporten', nameNl: 'Rapporten', nameEn: 'Reports' }, editor),
    );
    expect(created.status).toBe(201);
    const category = await created.json();
    expect(category).toMatchObject({ slug: 'rapporten', position: 5, documents: 0 });

    const duplicate = await ctx.app.request(
      '/api/v1/document-categories',
      json({ slug: 'rapporten', nameNl: 'Dubbel', nameEn: 'Double' }, editor),
    );
    expect(duplicate.status).toBe(422);
    expect((await duplicate.json()).errors[0].field).toBe('slug');
    expect(
      (
        await ctx.app.request(
          '/api/v1/document-categories',
          json({ slug: 'x', nameNl: 'X', nameEn: 'X' }, viewer),
        )
      ).status,
    ).toBe(403);

    const renamed = await ctx.app.request(
      `/api/v1/document-categories/${category.id}`,
      json({ nameNl: 'Onderzoek', position: 0 }, editor, 'PATCH'),
    );
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toMatchObject({ nameNl: 'Onderzoek', nameEn: 'Reports', position: 0 });
    const one = await (
      await ctx.app.request(`/api/v1/document-categories/${category.id}`, { headers: viewer })
    ).json();
    expect(one.nameNl).toBe('Onderzoek');

    const link = await ctx.app.request(
      '/api/v1/documents',
      json({ url: 'https://www.voorbeeld.test/rapport', title: 'Rapport', category: 'rapporten' }, editor),
    );
    expect(link.status).toBe(201);
    const { id } = await link.json();
    const busy = await ctx.app.request(`/api/v1/document-categories/${category.id}`, {
      method: 'DELETE',
      headers: editor,
    });
    expect(busy.status).toBe(409);
    expect(
      (await ctx.app.request(`/api/v1/documents/${id}`, { method: 'DELETE', headers: editor })).status,
    ).toBe(204);
    const gone = await ctx.app.request(`/api/v1/document-categories/${category.id}`, {
      method: 'DELETE',
      headers: editor,
    });
    expect(gone.status).toBe(204);
    expect(
      (await ctx.app.request(`/api/v1/document-categories/${category.id}`, { headers: viewer })).status,
    ).toBe(404);
  });
});

describe('file documents', () => {
  it('accepts a real PDF and serves it back with the right headers and bytes', async () => {
    const res = await upload(PDF, 'jaarverslag.pdf', {
      title: 'Jaarverslag één & twee',
      summary: 'Het verslag van 2025.',
      date: '2026-02-15',
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const doc = await res.json();
    expect(res.headers.get('location')).toBe(`/api/v1/documents/${doc.id}`);
    expect(doc).toMatchObject({
      kind: 'file',
      title: 'Jaarverslag één & twee',
      slug: 'jaarverslag-een-twee',
      date: '2026-02-15',
      category: { slug: 'folders', nameNl: 'Folders' },
      published: true,
      url: null,
      file: {
        format: 'pdf',
        contentType: 'application/pdf',
        size: PDF.length,
        name: 'jaarverslag.pdf',
        sha256: createHash('sha256').update(PDF).digest('hex'),
      },
      publicUrl: `http://localhost:3000/documenten/${doc.id}/jaarverslag-een-twee.pdf`,
    });

    const entry = await ctx.db
      .selectFrom('audit_log')
      .selectAll()
      .where('target', '=', `document:${doc.id}`)
      .executeTakeFirstOrThrow();
    expect(entry).toMatchObject({ action: 'document.create', details: { kind: 'file', format: 'pdf' } });

    const file = await ctx.app.request(path(doc.publicUrl));
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('application/pdf');
    expect(file.headers.get('content-disposition')).toBe(
      `inline; filename="jaarverslag-een-twee.pdf"; filename*=UTF-8''Jaarverslag%20%C3%A9%C3%A9n%20%26%20twee.pdf`,
    );
    expect(file.headers.get('x-content-type-options')).toBe('nosniff');
    expect(file.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(file.headers.get('content-length')).toBe(String(PDF.length));
    const etag = file.headers.get('etag')!;
    expect(etag).toBe(`"${doc.file.sha256}"`);
    expect(Buffer.from(await file.arrayBuffer()).equals(PDF)).toBe(true);

    const again = await ctx.app.request(path(doc.publicUrl), { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');

    // Old or sloppy addresses lead to the current one.
    const byId = await ctx.app.request(`/documenten/${doc.id}`);
    expect(byId.status).toBe(301);
    expect(byId.headers.get('location')).toBe(path(doc.publicUrl));
    const stale = await ctx.app.request(`/documenten/${doc.id}/oude-naam.pdf`);
    expect(stale.status).toBe(301);

    const page = await (await ctx.app.request('/documenten')).text();
    expect(page).toContain('Jaarverslag één &amp; twee');
    expect(page).toContain(`id="document-${doc.id}"`);
  });

  it('takes the title from the file name and the date from today when they are left out', async () => {
    const res = await upload(PDF, 'Folder_deelnemers 2026.pdf', { category: 'algemeen' });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ title: 'Folder deelnemers 2026', date: '2026-03-01' });
  });

  it('accepts Office and OpenDocument files by their content and serves the checked type', async () => {
    const cases = [
      {
        bytes: ooxml('docx'),
        name: 'brief.docx',
        format: 'docx',
        type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      },
      {
        bytes: ooxml('xlsx'),
        name: 'cijfers.xlsx',
        format: 'xlsx',
        type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      },
      {
        bytes: ooxml('pptx'),
        name: 'dia.pptx',
        format: 'pptx',
        type: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
      },
      {
        bytes: odf('odt'),
        name: 'tekst.odt',
        format: 'odt',
        type: 'application/vnd.oasis.opendocument.text',
      },
      // The name says .pdf, the content is a spreadsheet: the content decides.
      {
        bytes: odf('ods'),
        name: 'verkeerd.pdf',
        format: 'ods',
        type: 'application/vnd.oasis.opendocument.spreadsheet',
      },
    ];
    for (const testCase of cases) {
      const res = await upload(testCase.bytes, testCase.name, {}, editor, 'application/octet-stream');
      expect(res.status, testCase.name).toBe(201);
      const doc = await res.json();
      expect(doc.file.format).toBe(testCase.format);
      expect(doc.publicUrl).toMatch(new RegExp(`\\.${testCase.format}$`));
      const file = await ctx.app.request(path(doc.publicUrl));
      expect(file.headers.get('content-type')).toBe(testCase.type);
      expect(Buffer.from(await file.arrayBuffer()).equals(testCase.bytes)).toBe(true);
    }
  });

  it('rejects a .pdf that is really an HTML page, with a clear message, and stores nothing', async () => {
    const before = await documentCount();
    const html = Buffer.from('<!DOCTYPE html><html><body><script>alert(1)</script></body></html>');
    const res = await upload(html, 'rapport.pdf');
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = await res.json();
    expect(problem.detail).toMatch(
      /not a PDF, DOCX, XLSX, PPTX, ODT or ODS document \(it looks like an HTML page\)/,
    );
    expect(problem.errors).toEqual([{ field: 'file', message: expect.stringMatching(/HTML-pagina/) }]);
    expect(await documentCount()).toBe(before);
    const docm = await upload(ooxml('docm'), 'macro.docx');
    expect(docm.status).toBe(422);
    expect((await docm.json()).detail).toMatch(/macros/);
  });

  it('rejects a file over 20 MB with 413, and stores nothing', async () => {
    const before = await documentCount();
    const big = Buffer.alloc(DOCUMENT_MAX_BYTES + 1, 0x20);
    PDF.copy(big, 0);
    const form = new FormData();
    form.append('category', 'folders');
    form.append('file', new Blob([new Uint8Array(big)], { type: 'application/pdf' }), 'groot.pdf');
    const encoded = new Response(form);
    const type = encoded.headers.get('content-type')!;
    const body = Buffer.from(await encoded.arrayBuffer());
    // With a Content-Length: refused before a byte is read.
    const res = await ctx.app.request('/api/v1/documents', {
      method: 'POST',
      headers: { ...editor, 'content-type': type, 'content-length': String(body.length) },
      body,
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect((await res.json()).detail).toMatch(/larger than 20 MB/);
    // Without one (a chunked upload): the count while reading stops it, long before the end of a 30 MB body.
    const huge = Buffer.concat([body, Buffer.alloc(10 * 1024 * 1024, 0x20)]);
    let offset = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= huge.length) return controller.close();
        controller.enqueue(new Uint8Array(huge.subarray(offset, offset + 256 * 1024)));
        offset += 256 * 1024;
      },
    });
    const chunked = await ctx.app.request('/api/v1/documents', {
      method: 'POST',
      headers: { ...editor, 'content-type': type },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(offset).toBeLessThan(22 * 1024 * 1024);
    expect(await documentCount()).toBe(before);
  });

  it('refuses an upload without a file, bad fields and other content types', async () => {
    const form = new FormData();
    form.append('category', 'folders');
    form.append('title', 'Zonder bestand');
    const none = await ctx.app.request('/api/v1/documents', { method: 'POST', headers: editor, body: form });
    expect(none.status).toBe(422);
    expect((await none.json()).errors[0].field).toBe('file');
    const badFields = await upload(PDF, 'x.pdf', { category: 'bestaat-niet', date: '2026-02-30' });
    expect(badFields.status).toBe(422);
    expect((await badFields.json()).errors.map((e: { field: string }) => e.field)).toEqual(['date']);
    const badCategory = await upload(PDF, 'x.pdf', { category: 'bestaat-niet' });
    expect(badCategory.status).toBe(422);
    expect((await badCategory.json()).errors[0].field).toBe('category');
    const text = await ctx.app.request('/api/v1/documents', {
      method: 'POST',
      headers: { ...editor, 'content-type': 'text/plain' },
      body: 'hallo',
    });
    expect(text.status).toBe(415);
    expect((await upload(PDF, 'x.pdf', {}, viewer)).status).toBe(403);
  });

  it('works from a browser session with the CSRF token as a form field', async () => {
    await ctx.userWithToken('editor', 'redacteur-sessie@voorbeeld.test');
    const login = await ctx.app.request(
      '/api/v1/auth/login',
      json({ email: 'redacteur-sessie@voorbeeld.test', password: TEST_PASSWORD }),
    );
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const { csrfToken } = await login.json();
    const without = await upload(PDF, 'sessie.pdf', {}, { cookie });
    expect(without.status).toBe(403);
    const res = await upload(PDF, 'sessie.pdf', { _csrf: csrfToken, title: 'Via de sessie' }, { cookie });
    expect(res.status, await res.clone().text()).toBe(201);
    const doc = await res.json();
    const file = await ctx.app.request(path(doc.publicUrl));
    expect(Buffer.from(await file.arrayBuffer()).equals(PDF)).toBe(true);
  });

  it('keeps drafts off the site; editors can still download them through the API', async () => {
    const res = await upload(PDF, 'concept.pdf', { title: 'Conceptversie', published: 'false' });
    const doc = await res.json();
    expect(doc).toMatchObject({ published: false, publicUrl: null });
    const hidden = await ctx.app.request(`/documenten/${doc.id}/conceptversie.pdf`);
    expect(hidden.status).toBe(404);
    expect(hidden.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await (await ctx.app.request('/documenten')).text()).not.toContain('Conceptversie');
    expect(await (await ctx.app.request('/feed.xml')).text()).not.toContain('Conceptversie');

    const download = await ctx.app.request(`/api/v1/documents/${doc.id}/file`, { headers: viewer });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toMatch(/^attachment; /);
    expect(Buffer.from(await download.arrayBuffer()).equals(PDF)).toBe(true);

    const published = await ctx.app.request(
      `/api/v1/documents/${doc.id}`,
      json({ published: true }, editor, 'PATCH'),
    );
    expect(await published.json()).toMatchObject({
      published: true,
      publishedAt: '2026-03-01T09:00:00.000Z',
    });
    expect((await ctx.app.request(`/documenten/${doc.id}/conceptversie.pdf`)).status).toBe(200);

    // A new title gives a new address; the old one redirects.
    const renamed = await (
      await ctx.app.request(
        `/api/v1/documents/${doc.id}`,
        json({ title: 'Definitieve versie' }, editor, 'PATCH'),
      )
    ).json();
    expect(renamed.publicUrl).toMatch(/\/definitieve-versie\.pdf$/);
    const old = await ctx.app.request(`/documenten/${doc.id}/conceptversie.pdf`);
    expect(old.status).toBe(301);
    expect(old.headers.get('location')).toBe(path(renamed.publicUrl));

    const url = await ctx.app.request(
      `/api/v1/documents/${doc.id}`,
      json({ url: 'https://x.test' }, editor, 'PATCH'),
    );
    expect(url.status).toBe(422);

    expect(
      (await ctx.app.request(`/api/v1/documents/${doc.id}`, { method: 'DELETE', headers: editor })).status,
    ).toBe(204);
    expect((await ctx.app.request(path(renamed.publicUrl))).status).toBe(404);
    const chunks = await ctx.db
      .selectFrom('document_files')
      .select('chunk_no')
      .where('document_id', '=', doc.id)
      .execute();
    expect(chunks).toEqual([]);
  });
});

describe('link documents', () => {
  it('are created from JSON, validated, listed and filtered', async () => {
    const res = await ctx.app.request(
      '/api/v1/documents',
      json(
        {
          url: 'https://www.voorbeeld.test/artikel',
          title: 'Artikel over wonen',
          summary: 'Een achtergrondartikel.',
          category: 'artikelen',
          date: '2026-01-10',
        },
        editor,
      ),
    );
    expect(res.status).toBe(201);
    const doc = await res.json();
    expect(doc).toMatchObject({
      kind: 'link',
      url: 'https://www.voorbeeld.test/artikel',
      file: null,
      publicUrl: `http://localhost:3000/documenten#document-${doc.id}`,
    });
    const redirect = await ctx.app.request(`/documenten/${doc.id}`);
    expect(redirect.headers.get('location')).toBe(`/documenten#document-${doc.id}`);

    const bad = await ctx.app.request(
      '/api/v1/documents',
      json({ url: 'javascript:alert(1)', title: '', category: 'artikelen' }, editor),
    );
    expect(bad.status).toBe(422);
    expect((await bad.json()).errors.map((e: { field: string }) => e.field).sort()).toEqual(['title', 'url']);

    const list = await (
      await ctx.app.request('/api/v1/documents?category=artikelen&kind=link', { headers: viewer })
    ).json();
    expect(list.documents.map((d: { id: string }) => d.id)).toContain(doc.id);
    expect(list.documents.every((d: { kind: string }) => d.kind === 'link')).toBe(true);
    const page = await (await ctx.app.request('/documenten')).text();
    expect(page).toContain('href="https://www.voorbeeld.test/artikel"');
  });
});

describe('LinkedIn announcement', () => {
  async function outboxRows(id: string) {
    return ctx.db.selectFrom('outbox').selectAll().where('job_id', '=', `announce-document-${id}`).execute();
  }

  it('records one outbox row when the editor asks for it, and only for published documents', async () => {
    const res = await upload(PDF, 'aankondiging.pdf', { title: 'Aankondiging', announceOnLinkedIn: 'true' });
    expect(res.status).toBe(201);
    const doc = await res.json();
    expect(doc.announcedOnLinkedInAt).toBe('2026-03-01T09:00:00.000Z');
    const rows = await outboxRows(doc.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      queue: 'linkedin',
      job_name: 'announce-document',
      payload: { documentId: doc.id },
    });
    const again = await ctx.app.request(
      `/api/v1/documents/${doc.id}`,
      json({ announceOnLinkedIn: true }, editor, 'PATCH'),
    );
    expect(again.status).toBe(200);
    expect(await outboxRows(doc.id)).toHaveLength(1);

    const quiet = await (
      await ctx.app.request(
        '/api/v1/documents',
        json({ url: 'https://www.voorbeeld.test/stil', title: 'Stil', category: 'algemeen' }, editor),
      )
    ).json();
    expect(quiet.announcedOnLinkedInAt).toBeNull();
    expect(await outboxRows(quiet.id)).toHaveLength(0);

    const draft = await ctx.app.request(
      '/api/v1/documents',
      json(
        {
          url: 'https://www.voorbeeld.test/c',
          title: 'Concept',
          category: 'algemeen',
          published: false,
          announceOnLinkedIn: true,
        },
        editor,
      ),
    );
    expect(draft.status).toBe(422);
    expect((await draft.json()).errors[0].field).toBe('announceOnLinkedIn');

    const later = await (
      await ctx.app.request(
        '/api/v1/documents',
        json(
          { url: 'https://www.voorbeeld.test/l', title: 'Later', category: 'algemeen', published: false },
          editor,
        ),
      )
    ).json();
    const publishAndAnnounce = await ctx.app.request(
      `/api/v1/documents/${later.id}`,
      json({ published: true, announceOnLinkedIn: true }, editor, 'PATCH'),
    );
    expect(publishAndAnnounce.status).toBe(200);
    expect(await outboxRows(later.id)).toHaveLength(1);
  });
});
