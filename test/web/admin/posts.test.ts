import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapedLength } from '../../../src/providers/linkedin-text.js';
import { type AdminBrowser, logInAs } from '../../helpers/admin.js';
import { createTestContext, TestClock, type TestContext } from '../../helpers/context.js';

let ctx: TestContext;
let editor: AdminBrowser;
let viewer: AdminBrowser;
let admin: AdminBrowser;
let counter = 0;
const clock = new TestClock(new Date('2026-03-01T09:00:00Z'));

beforeAll(async () => {
  ctx = await createTestContext({ clock });
  editor = await logInAs(ctx, 'editor');
  viewer = await logInAs(ctx, 'viewer');
  admin = await logInAs(ctx, 'admin');
});
afterAll(() => ctx.close());

function postFields(overrides: Record<string, string> = {}) {
  counter++;
  return {
    kind: 'article',
    commentary: `Nieuw artikel ${counter} over #HousingFirst in de regio`,
    link: `https://www.voorbeeld.test/artikelen/${counter}`,
    title: `Artikel ${counter}`,
    description: 'Een verhaal uit het lab.',
    imageUrl: 'https://beeld.voorbeeld.test/lab.png',
    scheduledAt: '',
    ...overrides,
  };
}

const postCount = async () =>
  Number(
    (
      await ctx.db
        .selectFrom('linkedin_posts')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

const post = (id: string) =>
  ctx.db.selectFrom('linkedin_posts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

async function compose(fields: Record<string, string>, intent = 'draft'): Promise<string> {
  const res = await editor.submit('/admin/posts', { ...fields, intent });
  expect(res.status, await res.clone().text()).toBe(303);
  const location = res.headers.get('location')!;
  return /\/admin\/posts\/(\d+)\?ok=/.exec(location)![1]!;
}

describe('composing a post', () => {
  it('saves a draft with the scheduled time read as Amsterdam time, audited as the API does', async () => {
    const id = await compose(postFields({ scheduledAt: '2026-07-01T09:30' }));
    const row = await post(id);
    expect(row.status).toBe('draft');
    expect(row.scheduled_at?.toISOString()).toBe('2026-07-01T07:30:00.000Z');
    const audit = await ctx.db
      .selectFrom('audit_log')
      .select(['action', 'actor_user_id'])
      .where('target', '=', `linkedin-post:${id}`)
      .execute();
    expect(audit).toEqual([{ action: 'linkedin.post.create', actor_user_id: editor.userId }]);
    const page = await (await editor.page(`/admin/posts/${id}?ok=created`)).text();
    expect(page).toContain('Het bericht is opgeslagen als concept.');
    expect(page).toContain('Concept (wacht op goedkeuring)');
  });

  it('saves and schedules in one go: the publish job is in the outbox', async () => {
    const id = await compose(postFields({ scheduledAt: '2026-03-10T09:00' }), 'schedule');
    const row = await post(id);
    expect(row.status).toBe('scheduled');
    expect(row.scheduled_at?.toISOString()).toBe('2026-03-10T08:00:00.000Z');
    const job = await ctx.db
      .selectFrom('outbox')
      .select(['job_id'])
      .where('job_id', '=', `linkedin-post-${id}-v${row.schedule_version}`)
      .executeTakeFirst();
    expect(job).toBeDefined();
  });

  it('refuses bad input field by field in Dutch, keeps the values and changes nothing', async () => {
    const before = await postCount();
    const res = await editor.submit('/admin/posts', {
      ...postFields({ link: 'ftp://voorbeeld.test/x', title: '', commentary: 'x'.repeat(3001) }),
      scheduledAt: '2026-03-29T02:30',
      intent: 'schedule',
    });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain('Geef een http(s)-link.');
    expect(html).toContain('Geef een titel voor de link.');
    expect(html).toContain('Hoogstens 3000 tekens.');
    expect(html).toContain('Dit tijdstip bestaat niet in Nederland');
    expect(html).toContain('href="#veld-link"');
    expect(html).toContain('aria-invalid="true"');
    expect(html).toContain('value="ftp://voorbeeld.test/x"');
    expect(await postCount()).toBe(before);
  });

  it('schedules a post without any image, and its page says it goes without a picture', async () => {
    const id = await compose(postFields({ imageUrl: '' }), 'schedule');
    const row = await post(id);
    expect(row.status).toBe('scheduled');
    expect(row.image_url).toBeNull();
    const page = await (await editor.page(`/admin/posts/${id}`)).text();
    expect(page).toContain('Geen afbeelding: het bericht gaat zonder plaatje in de linkkaart naar LinkedIn.');
  });

  it('previews the commentary as LinkedIn shows it and the link card, escaping HTML, without saving', async () => {
    const before = await postCount();
    const res = await editor.submit('/admin/posts', {
      ...postFields({
        commentary: 'Lees <script>alert(1)</script> (nu) #wonen',
        title: 'Titel <img src=x onerror=alert(2)>',
        description: 'Beschrijving "met" <b>opmaak</b>',
        link: 'https://www.voorbeeld.test/a?b=1',
      }),
      intent: 'preview',
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<b>opmaak</b>');
    // Shown as readers see it, and as it is sent (little-text escapes).
    expect(html).toContain('Lees &lt;script&gt;alert(1)&lt;/script&gt; (nu) #wonen');
    expect(html).toContain('Lees \\&lt;script\\&gt;alert\\(1\\)\\&lt;/script\\&gt; \\(nu\\) \\#wonen');
    expect(html).toContain('Titel &lt;img src=x onerror=alert(2)&gt;');
    expect(html).toContain('<p class="domain">voorbeeld.test</p>');
    expect(html).toContain('src="https://beeld.voorbeeld.test/lab.png"');
    // 42 characters plus 9 escapes.
    expect(html).toContain('51 van 3.000 tekens');
    expect(await postCount()).toBe(before);
  });

  it('counts escapes towards the 3,000 and says when the text will be cut', async () => {
    const res = await editor.submit('/admin/posts', {
      ...postFields({ commentary: '#'.repeat(1600) }),
      intent: 'preview',
    });
    const html = await res.text();
    expect(html).toContain('2.999 van 3.000 tekens');
    expect(html).toContain('wordt ingekort');
  });
});

describe('the queue and its actions', () => {
  it('lists posts filtered by status, with the post URL of a published one and the error of a failed one', async () => {
    const published = await compose(postFields());
    const failed = await compose(postFields());
    await ctx.db
      .updateTable('linkedin_posts')
      .set({ status: 'published', post_urn: 'urn:li:share:7001', published_at: clock.now() })
      .where('id', '=', published)
      .execute();
    await ctx.db
      .updateTable('linkedin_posts')
      .set({ status: 'failed', last_error: 'LinkedIn zei 400: <ongeldig>' })
      .where('id', '=', failed)
      .execute();
    const all = await (await viewer.page('/admin/posts')).text();
    expect(all).toContain('href="https://www.linkedin.com/feed/update/urn:li:share:7001"');
    expect(all).toContain('LinkedIn zei 400: &lt;ongeldig&gt;');
    const onlyFailed = await (await viewer.page('/admin/posts?status=failed')).text();
    expect(onlyFailed).toContain(`href="/admin/posts/${failed}"`);
    expect(onlyFailed).not.toContain(`href="/admin/posts/${published}"`);
    expect((await viewer.page('/admin/posts?status=onzin')).status).toBe(400);
  });

  it('approves a draft, reschedules it in Amsterdam time and cancels it', async () => {
    const id = await compose(postFields());
    expect((await editor.submit(`/admin/posts/${id}/approve`)).headers.get('location')).toBe(
      `/admin/posts/${id}?ok=approved`,
    );
    let row = await post(id);
    expect(row.status).toBe('scheduled');
    expect(row.approved_by).toBe(editor.userId);
    const page = await (await editor.page(`/admin/posts/${id}`)).text();
    expect(page).toContain('Opnieuw inplannen');

    const bad = await editor.submit(`/admin/posts/${id}/schedule`, { scheduledAt: 'volgende week' });
    expect(bad.status).toBe(422);
    expect(await bad.text()).toContain('Geef een datum en tijd');
    expect((await post(id)).schedule_version).toBe(row.schedule_version);

    const moved = await editor.submit(`/admin/posts/${id}/schedule`, { scheduledAt: '2026-10-25T02:30' });
    expect(moved.status).toBe(303);
    row = await post(id);
    expect(row.scheduled_at?.toISOString()).toBe('2026-10-25T00:30:00.000Z');

    expect((await editor.submit(`/admin/posts/${id}/cancel`)).status).toBe(303);
    expect((await post(id)).status).toBe('cancelled');
    const cancelled = await (await editor.page(`/admin/posts/${id}`)).text();
    expect(cancelled).not.toContain(`action="/admin/posts/${id}/cancel"`);

    // From a page opened before the cancel (another tab, another editor): told in Dutch, nothing changes.
    for (const action of ['cancel', 'approve', 'edit']) {
      const late = await editor.submit(`/admin/posts/${id}/${action}`, action === 'edit' ? postFields() : {});
      expect(late.status).toBe(409);
      const text = await late.text();
      expect(text).toContain('Dat kan nu niet: dit bericht is &quot;Geannuleerd&quot;');
      expect(text).not.toMatch(/can no longer|cannot be/);
    }
    expect((await post(id)).status).toBe('cancelled');
  });

  it('edits only what changed, with the same validation', async () => {
    const id = await compose(postFields());
    const current = await post(id);
    const form = await (await editor.page(`/admin/posts/${id}/edit`)).text();
    expect(form).toContain(`value="${current.link}"`);
    const bad = await editor.submit(`/admin/posts/${id}/edit`, postFields({ description: '' }));
    expect(bad.status).toBe(422);
    expect((await post(id)).title).toBe(current.title);
    const ok = await editor.submit(`/admin/posts/${id}/edit`, {
      kind: 'document',
      commentary: current.commentary,
      link: current.link,
      title: 'Nieuwe titel',
      description: current.description,
      imageUrl: current.image_url ?? '',
      scheduledAt: '',
    });
    expect(ok.status).toBe(303);
    const row = await post(id);
    expect(row.title).toBe('Nieuwe titel');
    expect(row.kind).toBe('document');
    const update = await ctx.db
      .selectFrom('audit_log')
      .select('details')
      .where('target', '=', `linkedin-post:${id}`)
      .where('action', '=', 'linkedin.post.update')
      .executeTakeFirstOrThrow();
    expect(update.details).toEqual({ fields: ['kind', 'title'] });
  });

  it('lets an admin requeue held posts', async () => {
    const id = await compose(postFields());
    await ctx.db
      .updateTable('linkedin_posts')
      .set({ status: 'held', last_error: 'token geweigerd' })
      .where('id', '=', id)
      .execute();
    const list = await (await admin.page('/admin/posts')).text();
    expect(list).toContain('action="/admin/posts/requeue-held"');
    expect((await editor.submit('/admin/posts/requeue-held')).status).toBe(403);
    expect((await post(id)).status).toBe('held');
    const res = await admin.submit('/admin/posts/requeue-held');
    expect(res.headers.get('location')).toBe('/admin/posts?ok=requeued');
    expect((await post(id)).status).toBe('scheduled');
  });

  it('shows a viewer no buttons and refuses a viewer’s changes', async () => {
    const id = await compose(postFields());
    const page = await (await viewer.page(`/admin/posts/${id}`)).text();
    expect(page).not.toContain('/approve"');
    expect(page).not.toContain('href="/admin/posts/new"');
    expect((await viewer.page('/admin/posts/new')).status).toBe(403);
    const before = await postCount();
    expect((await viewer.submit('/admin/posts', { ...postFields(), intent: 'draft' })).status).toBe(403);
    expect((await viewer.submit(`/admin/posts/${id}/approve`)).status).toBe(403);
    expect(await postCount()).toBe(before);
    expect((await post(id)).status).toBe('draft');
  });

  it('refuses a change without the session’s CSRF token', async () => {
    const id = await compose(postFields());
    expect((await editor.submit(`/admin/posts/${id}/cancel`, {}, { csrf: 'vervalst' })).status).toBe(403);
    expect((await post(id)).status).toBe('draft');
  });
});

describe('the live character counter', () => {
  it('is a same-origin script on the compose page, which counts without it too', async () => {
    const html = await (await editor.page('/admin/posts/new')).text();
    expect(html).toContain('<script src="/admin/posts/assets/commentary-counter.js" defer="">');
    expect(html).toContain('0 van 3.000 tekens.');
    const script = await editor.page('/admin/posts/assets/commentary-counter.js');
    expect(script.headers.get('content-type')).toContain('javascript');
  });

  it('counts in the browser exactly as the server does', async () => {
    const source = await (await editor.page('/admin/posts/assets/commentary-counter.js')).text();
    const field = { value: '', listener: () => {} };
    const counter = { textContent: '' };
    const document = {
      querySelector: () => ({
        get value() {
          return field.value;
        },
        addEventListener: (_: string, listener: () => void) => {
          field.listener = listener;
        },
      }),
      getElementById: () => counter,
    };
    runInNewContext(source, {
      document,
      Intl,
      setTimeout: (run: () => void) => run(),
      clearTimeout: () => {},
    });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'grapheme', maxLength: 400 }),
          fc.string({
            unit: fc.constantFrom('#', '@', '\\', '(', '_', ' ', 'a', 'é', '😀', '\r', '\n'),
            maxLength: 400,
          }),
        ),
        (text) => {
          field.value = text;
          field.listener();
          const shown = Number(counter.textContent.split(' van ')[0]!.replace(/\./g, ''));
          expect(shown).toBe(escapedLength(text));
        },
      ),
    );
  });
});
