import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminBrowser, encodeMultipart, logInAs } from '../../helpers/admin.js';
import { startTestBackground, type TestBackground } from '../../helpers/background.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import { waitUntil } from '../../helpers/process.js';

let ctx: TestContext;
let editor: AdminBrowser;
let viewer: AdminBrowser;
let background: TestBackground | null = null;

beforeAll(async () => {
  ctx = await createTestContext();
  editor = await logInAs(ctx, 'editor');
  viewer = await logInAs(ctx, 'viewer');
});
afterAll(async () => {
  await background?.stop();
  await ctx.close();
});

const imports = () => ctx.db.selectFrom('imports').select(['id', 'status']).orderBy('id').execute();

function csvForm(
  csv: string | Uint8Array,
  filename: string,
  fields: Record<string, string | string[]>,
): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    for (const item of Array.isArray(value) ? value : [value]) form.append(name, item);
  }
  const bytes = typeof csv === 'string' ? new TextEncoder().encode(csv) : csv;
  form.append('file', new Blob([new Uint8Array(bytes)], { type: 'text/csv' }), filename);
  return form;
}

const FILE = [
  'e-mail;naam;onderwerpen;organisatie',
  'anna@voorbeeld.test;Anna Import;artikelen;Gemeente Importstad',
  'bram@voorbeeld.test;Bram Import;;',
  'geen-adres;Fout;;',
  'anna@voorbeeld.test;Anna Dubbel;;',
].join('\r\n');

describe('CSV import through the admin', () => {
  it('offers the form with the topics and lawful bases', async () => {
    const html = await (await editor.page('/admin/subscribers/imports/new')).text();
    expect(html).toContain('enctype="multipart/form-data"');
    expect(html).toContain('name="lawfulBasis"');
    expect(html).toContain('Gerechtvaardigd belang');
    expect(html).toMatch(/name="defaultTopics" value="nieuwsbrief"/);
  });

  it('uploads, follows the job to the end and offers the per-line report', async () => {
    const res = await editor.upload(
      '/admin/subscribers/imports',
      csvForm(FILE, 'leden <2026>.csv', {
        lawfulBasis: 'legitimate_interest',
        defaultTopics: ['nieuwsbrief', 'documenten'],
        defaultLocale: '',
      }),
    );
    expect(res.status).toBe(303);
    const page = res.headers.get('location')!;
    expect(page).toMatch(/^\/admin\/subscribers\/imports\/\d+$/);
    const id = page.split('/').pop()!;

    // Queued (the background side is not running yet): a progress bar, a refresh link, the polling script.
    const queued = await (await editor.page(page)).text();
    expect(queued).toContain(`Import ${id}: leden &lt;2026&gt;.csv`);
    expect(queued).toContain('In de wachtrij');
    expect(queued).toMatch(/<progress id="voortgang" max="4" value="0">/);
    expect(queued).toContain(`data-import-status="${page}/status"`);
    expect(queued).toContain(`<a href="${page}">Vernieuwen</a>`);
    expect(queued).toContain('<script src="/admin/subscribers/imports/assets/import-progress.js" defer');
    const script = await editor.page('/admin/subscribers/imports/assets/import-progress.js');
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain('data-import-status');

    background = await startTestBackground(ctx);
    await waitUntil(async () => {
      const status = await (await editor.page(`${page}/status`)).json();
      return status.status === 'done';
    }, 'the import to finish');

    const done = await (await editor.page(page)).text();
    expect(done).toContain('Klaar');
    expect(done).toMatch(/<progress id="voortgang" max="4" value="4">/);
    expect(done).not.toContain('data-import-status="');
    expect(done).not.toContain('Vernieuwen');
    expect(done).not.toContain('import-progress.js');
    expect(done).toMatch(/Nieuwe abonnees<\/td><td>2</);
    expect(done).toMatch(/Regels met fouten<\/td><td>1</);
    expect(done).toMatch(/Overgeslagen[^<]*<\/td><td>1</);

    const reportLink = /href="([^"]+errors\.csv\?separator=semicolon&amp;bom=true)"/.exec(done)?.[1];
    expect(reportLink).toBeDefined();
    const report = await editor.page(reportLink!.replaceAll('&amp;', '&'));
    expect(report.status).toBe(200);
    expect(report.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await report.text())
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    expect(lines[0]).toBe('line;value;reason');
    expect(lines[1]).toMatch(/^4;geen-adres;/);
    expect(lines[2]).toMatch(/^5;anna@voorbeeld\.test;/);

    const anna = await ctx.db
      .selectFrom('subscribers')
      .select(['id', 'name', 'status', 'source'])
      .where('email', '=', 'anna@voorbeeld.test')
      .executeTakeFirstOrThrow();
    expect(anna).toMatchObject({ name: 'Anna Import', status: 'active', source: 'import' });
    const list = await (await editor.page('/admin/subscribers/imports')).text();
    expect(list).toContain('leden &lt;2026&gt;.csv');
  });

  it('refuses a missing lawful basis and a workbook with Dutch messages, storing nothing', async () => {
    const before = await imports();
    const noBasis = await editor.upload(
      '/admin/subscribers/imports',
      csvForm('email\ncees@voorbeeld.test\n', 'a.csv', { lawfulBasis: '', defaultTopics: 'artikelen' }),
    );
    expect(noBasis.status).toBe(422);
    const html = await noBasis.text();
    expect(html).toContain('Kies de rechtsgrond (lawful basis)');
    expect(html).toContain('Kies het bestand opnieuw.');
    expect(html).toMatch(/name="defaultTopics" value="artikelen" checked/);

    const workbook = await editor.upload(
      '/admin/subscribers/imports',
      csvForm(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00]), 'leden.xlsx', { lawfulBasis: 'consent' }),
    );
    expect(workbook.status).toBe(422);
    expect(await workbook.text()).toContain('Dit is een Excel-werkmap, geen CSV-bestand');
    expect(await imports()).toEqual(before);
  });

  it('refuses an upload whose CSRF field is missing or comes after the file', async () => {
    const before = await imports();
    const form = csvForm('email\ndora@voorbeeld.test\n', 'b.csv', { lawfulBasis: 'consent' });
    form.append('_csrf', editor.csrf);
    const encoded = await encodeMultipart(form);
    const res = await ctx.app.request('/admin/subscribers/imports', {
      method: 'POST',
      headers: { cookie: editor.cookie, 'content-type': encoded.contentType },
      body: encoded.body,
    });
    expect(res.status).toBe(403);
    // A body that is no upload at all is checked like any form: first the token, then the type.
    expect((await editor.submit('/admin/subscribers/imports', {}, { csrf: 'vervalst' })).status).toBe(403);
    expect((await editor.submit('/admin/subscribers/imports', { lawfulBasis: 'consent' })).status).toBe(415);
    expect(await imports()).toEqual(before);
  });

  it('is for editors: a viewer gets 403 on the upload and the import pages', async () => {
    const before = await imports();
    const res = await viewer.upload(
      '/admin/subscribers/imports',
      csvForm('email\neva@voorbeeld.test\n', 'c.csv', { lawfulBasis: 'consent' }),
    );
    expect(res.status).toBe(403);
    expect((await viewer.page('/admin/subscribers/imports/new')).status).toBe(403);
    expect((await viewer.page(`/admin/subscribers/imports/${before[0]!.id}`)).status).toBe(403);
    expect((await viewer.page('/admin/subscribers/export/download')).status).toBe(403);
    expect(await imports()).toEqual(before);
  });
});

describe('CSV export through the admin', () => {
  it('streams the chosen subscribers with the session cookie, and audits the export', async () => {
    const form = await (await editor.page('/admin/subscribers/export')).text();
    expect(form).toContain('action="/admin/subscribers/export/download"');
    const res = await editor.page(
      '/admin/subscribers/export/download?status=active&topic=&separator=semicolon&bom=true',
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(
      /attachment; filename="subscribers-\d{4}-\d\d-\d\d\.csv"/,
    );
    const bytes = Buffer.from(await res.arrayBuffer());
    const text = bytes.toString('utf8');
    expect(text.startsWith('\uFEFFemail;name;locale;topics;organisation\r\n')).toBe(true);
    expect(text).toContain('anna@voorbeeld.test;Anna Import;nl;');
    expect(text).toContain('bram@voorbeeld.test;Bram Import;nl;nieuwsbrief|documenten;');
    const audit = await ctx.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'subscriber.export')
      .where('actor_user_id', '=', editor.userId)
      .execute();
    expect(audit).toEqual([{ details: { status: 'active', topic: null } }]);

    const bad = await editor.page('/admin/subscribers/export/download?status=weg');
    expect(bad.status).toBe(422);
  });
});
