import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSettings } from '../../src/domain/settings.js';
import { isAllowedUrl, safeUrl, type UrlUse } from '../../src/domain/urls.js';
import { type AdminBrowser, logInAs } from '../helpers/admin.js';
import { createTestContext, json, type TestContext } from '../helpers/context.js';
import { editionInput } from '../helpers/editions.js';
import { installChangeLog, lastChangeId, unexpectedChangesSince } from './harness.js';

/**
 * URL fields accept only the schemes that make sense where the URL ends up (see src/domain/urls.ts):
 * every hostile form is refused on every field, through the API and the admin forms, with a
 * field-level message and without a row changed; a hostile URL stored past the checks is never
 * rendered into an href, src or og:image.
 */

const HOSTILE = [
  'javascript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+',
  'vbscript:msgbox(1)',
  '   JaVaScRiPt:alert(1)',
  '\tjavascript:alert(1)',
  'java\tscript:alert(1)',
  'java\nscript:alert(1)',
  '//evil.example/x.png',
  '/relative/x.png',
  'https:evil.example/x.png',
  'https://user:secret@evil.example/x.png',
  'file:///etc/passwd',
  'ftp://evil.example/x.png',
  'blob:https://evil.example/1',
  '\u0000javascript:alert(1)',
  'https://evil.example/x\u0000.png',
];

let ctx: TestContext;
let editor: Record<string, string>;
let admin: Record<string, string>;
let editorBrowser: AdminBrowser;
let adminBrowser: AdminBrowser;

beforeAll(async () => {
  ctx = await createTestContext();
  await installChangeLog(ctx.db);
  editor = (await ctx.userWithToken('editor')).headers;
  admin = (await ctx.userWithToken('admin')).headers;
  editorBrowser = await logInAs(ctx, 'editor');
  adminBrowser = await logInAs(ctx, 'admin');
});
afterAll(() => ctx.close());

/** Sends each hostile value; expects 422 naming `field` and no row changed. */
async function expectRefused(
  what: string,
  field: string | RegExp,
  send: (bad: string) => Response | Promise<Response>,
  options: { form?: boolean } = {},
) {
  for (const bad of HOSTILE) {
    const before = await lastChangeId(ctx.db);
    const res = await send(bad);
    const label = `${what} with ${JSON.stringify(bad)}`;
    const body = await res.text();
    expect(res.status, `${label}: ${body.slice(0, 300)}`).toBe(422);
    if (options.form) {
      // Field by field, in Dutch, on the form itself.
      expect(body, label).toMatch(/Gebruik een volledig webadres|Geef een http\(s\)-/);
      expect(body, label).toMatch(typeof field === 'string' ? new RegExp(`href="#veld-${field}"`) : field);
    } else {
      const fields = (JSON.parse(body).errors as { field: string; message: string }[]).map((e) => e.field);
      expect(fields, label).toContainEqual(expect.stringMatching(field));
    }
    expect(await unexpectedChangesSince(ctx.db, before), label).toEqual([]);
  }
}

describe('the shared URL rule', () => {
  it('refuses every hostile form for every use, and accepts what each use allows', () => {
    const uses: UrlUse[] = ['image', 'fetchedImage', 'web', 'link'];
    for (const use of uses) {
      for (const bad of HOSTILE) expect(isAllowedUrl(bad, use), `${use}: ${JSON.stringify(bad)}`).toBe(false);
      expect(isAllowedUrl('https://beeld.voorbeeld.test/a.png', use)).toBe(true);
      expect(isAllowedUrl('HTTPS://Beeld.Voorbeeld.test/a.png', use)).toBe(true);
      expect(safeUrl('javascript:alert(1)', use)).toBeNull();
    }
    // http: wherever the page does not show it itself; images in our pages are https only (CSP img-src).
    expect(isAllowedUrl('http://beeld.voorbeeld.test/a.png', 'image')).toBe(false);
    expect(isAllowedUrl('http://beeld.voorbeeld.test/a.png', 'fetchedImage')).toBe(true);
    expect(isAllowedUrl('http://voorbeeld.test/a', 'web')).toBe(true);
    // mailto only where a link may open a mail program.
    expect(isAllowedUrl('mailto:info@voorbeeld.test', 'link')).toBe(true);
    for (const use of ['image', 'fetchedImage', 'web'] as const) {
      expect(isAllowedUrl('mailto:info@voorbeeld.test', use)).toBe(false);
    }
    expect(isAllowedUrl('mailto:javascript:alert(1)', 'link')).toBe(false);
  });
});

describe('refused on input: API', () => {
  it('edition share image and every URL of the blocks', async () => {
    const create = (overrides: Record<string, unknown>) =>
      ctx.app.request('/api/v1/editions', json(editionInput(overrides), editor));
    await expectRefused('edition imageUrl', /^imageUrl$/, (bad) => create({ imageUrl: bad }));
    await expectRefused('image block url', /^blocks\.0\.url$/, (bad) =>
      create({ blocks: [{ type: 'image', url: bad, alt: 'Beeld' }] }),
    );
    await expectRefused('image block href', /^blocks\.0\.href$/, (bad) =>
      create({
        blocks: [{ type: 'image', url: 'https://beeld.voorbeeld.test/a.png', alt: 'Beeld', href: bad }],
      }),
    );
    await expectRefused('button url', /^blocks\.0\.url$/, (bad) =>
      create({ blocks: [{ type: 'button', label: 'Lees', url: bad }] }),
    );
    await expectRefused('links item url', /^blocks\.0\.items\.0\.url$/, (bad) =>
      create({ blocks: [{ type: 'links', items: [{ title: 'Rapport', url: bad }] }] }),
    );
    // An http image in a block would be blocked by the web version's CSP: refused too.
    const http = await create({
      blocks: [{ type: 'image', url: 'http://beeld.voorbeeld.test/a.png', alt: 'B' }],
    });
    expect(http.status).toBe(422);

    // And on a change of an existing edition.
    const created = await create({});
    expect(created.status).toBe(201);
    const { id } = await created.json();
    await expectRefused('edition PATCH imageUrl', /^imageUrl$/, (bad) =>
      ctx.app.request(`/api/v1/editions/${id}`, json({ imageUrl: bad }, editor, 'PATCH')),
    );
  });

  it('LinkedIn post link and image, and the default image', async () => {
    const post = (overrides: Record<string, unknown>) =>
      ctx.app.request(
        '/api/v1/linkedin/posts',
        json(
          {
            kind: 'article',
            commentary: 'Nieuw in het lab',
            link: 'https://www.voorbeeld.test/lab',
            title: 'Het lab',
            description: 'Wat er gebeurt',
            imageUrl: 'https://beeld.voorbeeld.test/lab.png',
            ...overrides,
          },
          editor,
        ),
      );
    await expectRefused('post link', /^link$/, (bad) => post({ link: bad }));
    await expectRefused('post imageUrl', /^imageUrl$/, (bad) => post({ imageUrl: bad }));
    await expectRefused('default image', /^defaultImageUrl$/, (bad) =>
      ctx.app.request('/api/v1/linkedin/settings', json({ defaultImageUrl: bad }, admin, 'PATCH')),
    );
    expect((await getSettings(ctx.db)).linkedinDefaultImageUrl).toBeNull();
  });

  it('link documents, new and changed', async () => {
    await expectRefused('document url', /^url$/, (bad) =>
      ctx.app.request(
        '/api/v1/documents',
        json({ kind: 'link', url: bad, title: 'Rapport', category: 'algemeen' }, editor),
      ),
    );
    const created = await ctx.app.request(
      '/api/v1/documents',
      json({ url: 'https://www.voorbeeld.test/rapport', title: 'Rapport', category: 'algemeen' }, editor),
    );
    expect(created.status, await created.clone().text()).toBe(201);
    const { id } = await created.json();
    await expectRefused('document PATCH url', /^url$/, (bad) =>
      ctx.app.request(`/api/v1/documents/${id}`, json({ url: bad }, editor, 'PATCH')),
    );
  });
});

describe('refused on input: admin forms, field by field in Dutch', () => {
  it('the edition editor: share image and block URLs', async () => {
    const created = await editorBrowser.submit('/admin/editions/new', {
      title: 'Formulier',
      subject: 'Formulier',
      preheader: '',
      slug: 'formulier-urls',
      locale: 'nl',
      topics: ['nieuwsbrief'],
    });
    expect(created.status, await created.clone().text()).toBe(303);
    const id = /\/admin\/editions\/(\d+)\/edit/.exec(created.headers.get('location') ?? '')![1]!;
    const meta = {
      title: 'Formulier',
      subject: 'Formulier',
      preheader: '',
      slug: 'formulier-urls',
      locale: 'nl',
      topics: ['nieuwsbrief'],
      op: 'save',
    };
    const save = (fields: Record<string, string>) =>
      editorBrowser.submit(`/admin/editions/${id}/edit`, { ...meta, ...fields });
    await expectRefused('form imageUrl', 'imageUrl', (bad) => save({ imageUrl: bad }), { form: true });
    await expectRefused(
      'form image block',
      'blocks-0-url',
      (bad) => save({ 'blocks.0.type': 'image', 'blocks.0.url': bad, 'blocks.0.alt': 'Beeld' }),
      { form: true },
    );
    await expectRefused(
      'form button',
      'blocks-0-url',
      (bad) => save({ 'blocks.0.type': 'button', 'blocks.0.label': 'Lees', 'blocks.0.url': bad }),
      { form: true },
    );
    await expectRefused(
      'form links item',
      'blocks-0-items-0-url',
      (bad) =>
        save({ 'blocks.0.type': 'links', 'blocks.0.items.0.title': 'Rapport', 'blocks.0.items.0.url': bad }),
      { form: true },
    );
  });

  it('the LinkedIn post form and the document link form', async () => {
    const postForm = (fields: Record<string, string>) =>
      editorBrowser.submit('/admin/posts', {
        kind: 'article',
        commentary: 'Nieuw in het lab',
        link: 'https://www.voorbeeld.test/lab',
        title: 'Het lab',
        description: 'Wat er gebeurt',
        imageUrl: 'https://beeld.voorbeeld.test/lab.png',
        scheduledAt: '',
        ...fields,
      });
    await expectRefused('form post link', 'link', (bad) => postForm({ link: bad }), { form: true });
    await expectRefused('form post image', 'imageUrl', (bad) => postForm({ imageUrl: bad }), { form: true });
    const category = await ctx.db
      .selectFrom('document_categories')
      .select('id')
      .where('slug', '=', 'algemeen')
      .executeTakeFirstOrThrow();
    await expectRefused(
      'form document link',
      'url',
      (bad) =>
        adminBrowser.submit('/admin/documents/links', {
          url: bad,
          title: 'Rapport',
          category: String(category.id),
          published: 'true',
        }),
      { form: true },
    );
  });
});

describe('never rendered from a stored row (defence in depth)', () => {
  const ATTRIBUTE = /(?:href|src|content|action)\s*=\s*"\s*(?:javascript|data|vbscript)\s*:/i;

  it('a sent edition, the site image and a link document written past the API', async () => {
    await ctx.db
      .insertInto('settings')
      .values({ key: 'siteImageUrl', value: JSON.stringify('javascript:alert(1)') })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify('javascript:alert(1)') }))
      .execute();
    await ctx.db
      .insertInto('editions')
      .values({
        title: 'Oud',
        subject: 'Oud',
        preheader: 'Uit de tijd voor de controle',
        slug: 'oud-met-slechte-urls',
        blocks: JSON.stringify([
          { type: 'paragraph', text: 'Een [link](javascript:alert(1)) in de tekst.' },
          { type: 'image', url: 'javascript:alert(1)', alt: 'Beeld' },
          {
            type: 'image',
            url: 'https://beeld.voorbeeld.test/a.png',
            alt: 'Beeld',
            href: 'data:text/html,x',
          },
          { type: 'button', label: 'Knop', url: ' JaVaScRiPt:alert(1)' },
          { type: 'links', items: [{ title: 'Rapport', url: 'vbscript:msgbox(1)' }] },
        ]),
        image_url: 'javascript:alert(1)',
        status: 'sent',
        sent_at: '2026-02-01T08:00:00Z',
      })
      .execute();
    const category = await ctx.db
      .selectFrom('document_categories')
      .select('id')
      .where('slug', '=', 'algemeen')
      .executeTakeFirstOrThrow();
    await ctx.db
      .insertInto('documents')
      .values({
        category_id: category.id,
        kind: 'link',
        title: 'Slechte link',
        slug: 'slechte-link',
        url: 'javascript:alert(1)',
        document_date: '2026-02-01',
        published_at: new Date('2026-02-01T08:00:00Z'),
      })
      .execute();

    for (const path of ['/', '/nieuwsbrieven', '/nieuwsbrieven/oud-met-slechte-urls', '/documenten']) {
      const res = await ctx.app.request(path);
      expect(res.status, path).toBe(200);
      const html = await res.text();
      expect(html, path).not.toMatch(ATTRIBUTE);
      expect(html, path).not.toMatch(/alert\(1\)"|msgbox/);
      expect(html, path).not.toContain('property="og:image" content="javascript');
    }
    const edition = await (await ctx.app.request('/nieuwsbrieven/oud-met-slechte-urls')).text();
    expect(edition).toContain('Uit de tijd voor de controle');
    expect(edition).not.toContain('og:image');
    expect(edition).not.toContain('twitter:image');
    expect(await (await ctx.app.request('/documenten')).text()).toContain('Slechte link');
    const admin = await (await adminBrowser.page('/admin/documents')).text();
    expect(admin).toContain('Slechte link');
    expect(admin).not.toMatch(ATTRIBUTE);
  });

  it('an edition whose stored blocks no longer pass previews without them, never a 500', async () => {
    const { id } = await ctx.db
      .insertInto('editions')
      .values({
        title: 'Van voor de regel',
        subject: 'Van voor de regel',
        preheader: 'Opgeslagen toen http-afbeeldingen nog mochten',
        slug: 'van-voor-de-regel',
        blocks: JSON.stringify([
          { type: 'paragraph', text: 'Deze alinea blijft staan.' },
          { type: 'image', url: 'http://beeld.voorbeeld.test/oud.png', alt: 'Oud beeld' },
          { type: 'button', label: 'Knop', url: 'javascript:alert(1)' },
        ]),
        status: 'draft',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    for (const format of ['html', 'text']) {
      const res = await ctx.app.request(`/api/v1/editions/${id}/preview?format=${format}`, {
        headers: editor,
      });
      expect(res.status, format).toBe(200);
      const body = await res.text();
      expect(body, format).toContain('Deze alinea blijft staan.');
      expect(body, format).not.toContain('http://beeld.voorbeeld.test/oud.png');
      expect(body, format).not.toContain('alert(1)');
    }
    const page = await editorBrowser.page(`/admin/editions/${id}/preview`);
    expect(page.status).toBe(200);
    expect(await page.text()).not.toMatch(ATTRIBUTE);
  });

  it('a LinkedIn post written past the API', async () => {
    const created = await ctx.app.request(
      '/api/v1/linkedin/posts',
      json(
        {
          kind: 'article',
          commentary: 'Later veranderd',
          link: 'https://www.voorbeeld.test/lab',
          title: 'Veranderd',
          description: 'Wat er gebeurt',
          imageUrl: 'https://beeld.voorbeeld.test/lab.png',
        },
        editor,
      ),
    );
    expect(created.status).toBe(201);
    const { id } = await created.json();
    await ctx.db
      .updateTable('linkedin_posts')
      .set({ link: 'javascript:alert(1)', image_url: 'data:image/svg+xml,<svg onload=alert(1)>' })
      .where('id', '=', id)
      .execute();
    const page = await editorBrowser.page(`/admin/posts/${id}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toMatch(ATTRIBUTE);
  });
});
