import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminBrowser, logInAs } from '../../helpers/admin.js';
import { createTestContext, TestClock, type TestContext } from '../../helpers/context.js';

let ctx: TestContext;
const clock = new TestClock(new Date('2026-03-01T09:00:00Z'));
let alice: AdminBrowser;
let bob: AdminBrowser;
let viewer: AdminBrowser;

beforeAll(async () => {
  ctx = await createTestContext({ clock });
  alice = await logInAs(ctx, 'editor');
  bob = await logInAs(ctx, 'editor');
  viewer = await logInAs(ctx, 'viewer');
});
afterAll(() => ctx.close());

const editionRow = (id: string) =>
  ctx.db.selectFrom('editions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

let counter = 0;
const metadata = (overrides: Record<string, string | string[]> = {}) => ({
  title: `Nieuwsbrief april ${++counter}`,
  subject: 'Nieuws uit het lab',
  preheader: 'Housing First in de regio',
  slug: `nieuwsbrief-april-${counter}`,
  locale: 'nl',
  topics: ['nieuwsbrief'],
  ...overrides,
});

/** Creates a draft through the form; returns its id. */
async function createThroughForm(who: AdminBrowser, fields = metadata()): Promise<string> {
  const res = await who.submit('/admin/editions/new', fields);
  expect(res.status, await res.clone().text()).toBe(303);
  const id = /^\/admin\/editions\/(\d+)\/edit\?ok=created$/.exec(res.headers.get('location') ?? '')?.[1];
  expect(id).toBeDefined();
  return id!;
}

/** The editor form as a browser would post it: the metadata plus numbered block fields. */
const editorForm = (
  meta: Record<string, string | string[]>,
  blocks: Record<string, string>[],
  op = 'save',
) => {
  const fields: Record<string, string | string[]> = { ...meta, op };
  blocks.forEach((block, index) => {
    for (const [name, value] of Object.entries(block)) fields[`blocks.${index}.${name}`] = value;
  });
  return fields;
};

const decode = (html: string) => html.replaceAll('&quot;', '"').replaceAll('&amp;', '&');

describe('an edition from start to schedule in the admin', () => {
  it('creates, edits blocks, previews escaped, submits, approves by a second editor, schedules across DST, cancels', async () => {
    const form = await alice.page('/admin/editions/new');
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('Aanmaken en inhoud toevoegen');

    // An empty slug is made from the title.
    const meta = metadata({ title: 'Lente in het lab', slug: '' });
    const id = await createThroughForm(alice, meta);
    expect((await editionRow(id)).slug).toBe('lente-in-het-lab');
    const saved = { ...meta, slug: 'lente-in-het-lab' };

    // "Add a heading" saves and shows an empty heading block to fill in.
    const add = await alice.submit(`/admin/editions/${id}/edit`, editorForm(saved, [], 'add:heading'));
    expect(add.status).toBe(303);
    expect(add.headers.get('location')).toBe(`/admin/editions/${id}/edit?add=heading#blok-1`);
    const withHeading = await (await alice.page(add.headers.get('location')!)).text();
    expect(withHeading).toContain('name="blocks.0.type" value="heading"');
    expect(withHeading).toContain('Blok 1 van 1: Kop');

    const hostile = '<script>alert("x")</script> & welkom';
    const heading = { type: 'heading', text: hostile, level: '2' };
    const paragraph = {
      type: 'paragraph',
      text: 'Lees **alles** over [het lab](https://voorbeeld.test/lab).',
    };
    const divider = { type: 'divider' };
    expect(
      (await alice.submit(`/admin/editions/${id}/edit`, editorForm(saved, [heading, paragraph, divider])))
        .status,
    ).toBe(303);
    expect((await editionRow(id)).blocks).toEqual([
      { type: 'heading', text: hostile, level: 2 },
      { type: 'paragraph', text: paragraph.text },
      { type: 'divider' },
    ]);

    // Move the paragraph up, then remove the divider.
    const moved = await alice.submit(
      `/admin/editions/${id}/edit`,
      editorForm(saved, [heading, paragraph, divider], 'up:1'),
    );
    expect(moved.headers.get('location')).toBe(`/admin/editions/${id}/edit?ok=saved#blok-1`);
    expect(((await editionRow(id)).blocks as { type: string }[]).map((b) => b.type)).toEqual([
      'paragraph',
      'heading',
      'divider',
    ]);
    await alice.submit(
      `/admin/editions/${id}/edit`,
      editorForm(saved, [paragraph, heading, divider], 'remove:2'),
    );
    expect(((await editionRow(id)).blocks as { type: string }[]).map((b) => b.type)).toEqual([
      'paragraph',
      'heading',
    ]);

    // The editor page escapes what was typed; so does the preview, served sandboxed.
    const editor = await (await alice.page(`/admin/editions/${id}/edit`)).text();
    expect(editor).not.toContain('<script>alert');
    expect(editor).toContain('&lt;script&gt;');
    const preview = await alice.page(`/admin/editions/${id}/preview?locale=en`);
    expect(preview.status).toBe(200);
    expect(preview.headers.get('content-security-policy')).toMatch(/^sandbox;/);
    const previewHtml = await preview.text();
    expect(previewHtml).toContain('lang="en"');
    expect(previewHtml).toContain('&lt;script&gt;alert(');
    expect(previewHtml).not.toContain('<script>alert');
    expect(previewHtml).toContain('<strong');
    const text = await alice.page(`/admin/editions/${id}/preview?locale=nl&format=text`);
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    // Plain text as typed (headings in capitals), nothing escaped.
    expect((await text.text()).toLowerCase()).toContain('<script>alert("x")</script> & welkom');

    // Submit; the last editor may not approve (four-eyes), another editor may.
    expect((await alice.submit(`/admin/editions/${id}/submit`)).status).toBe(303);
    const refused = await alice.submit(`/admin/editions/${id}/approve`);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('Vierogenprincipe');
    expect((await editionRow(id)).status).toBe('in_review');
    const approved = await bob.submit(`/admin/editions/${id}/approve`);
    expect(approved.headers.get('location')).toBe(`/admin/editions/${id}?ok=approved`);
    expect((await editionRow(id)).status).toBe('approved');

    // 10:00 on 29 March 2026 in Amsterdam is summer time (+02:00), though "now" is winter time.
    const scheduled = await bob.submit(`/admin/editions/${id}/schedule`, { sendAt: '2026-03-29T10:00' });
    expect(scheduled.status).toBe(303);
    expect((await editionRow(id)).send_at?.toISOString()).toBe('2026-03-29T08:00:00.000Z');
    const page = await (await bob.page(`/admin/editions/${id}`)).text();
    expect(page).toContain('UTC+02:00; 2026-03-29 08:00 UTC');

    // The skipped spring hour does not exist; nothing changes.
    const gap = await bob.submit(`/admin/editions/${id}/schedule`, { sendAt: '2026-03-29T02:30' });
    expect(gap.status).toBe(422);
    expect(await gap.text()).toContain('bestaat niet');
    expect((await editionRow(id)).send_at?.toISOString()).toBe('2026-03-29T08:00:00.000Z');

    // The repeated autumn hour: asked which one, then taken as chosen.
    const twice = await bob.submit(`/admin/editions/${id}/schedule`, { sendAt: '2026-10-25T02:30' });
    expect(twice.status).toBe(422);
    const twiceHtml = await twice.text();
    expect(twiceHtml).toContain('twee keer');
    expect(twiceHtml).toContain('name="occurrence" value="second"');
    expect((await editionRow(id)).send_at?.toISOString()).toBe('2026-03-29T08:00:00.000Z');
    const second = await bob.submit(`/admin/editions/${id}/schedule`, {
      sendAt: '2026-10-25T02:30',
      occurrence: 'second',
    });
    expect(second.status).toBe(303);
    expect((await editionRow(id)).send_at?.toISOString()).toBe('2026-10-25T01:30:00.000Z');

    // The past is refused with the domain's field message.
    const past = await bob.submit(`/admin/editions/${id}/schedule`, { sendAt: '2026-02-01T09:00' });
    expect(past.status).toBe(422);
    expect(await past.text()).toContain('Kies een moment in de toekomst.');

    expect((await bob.submit(`/admin/editions/${id}/cancel`)).status).toBe(303);
    const cancelled = await editionRow(id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.send_at).toBeNull();

    const history = await (await viewer.page(`/admin/editions/${id}`)).text();
    for (const step of [
      'aangemaakt',
      'ter beoordeling aangeboden',
      'goedgekeurd',
      'ingepland',
      'geannuleerd',
    ]) {
      expect(history).toContain(step);
    }
  });

  it('refuses an invalid form with 422 and field messages, and changes nothing', async () => {
    const meta = metadata();
    const id = await createThroughForm(alice, meta);
    const before = await editionRow(id);
    const res = await alice.submit(
      `/admin/editions/${id}/edit`,
      editorForm({ ...meta, title: '', slug: 'Geen Slug!' }, [
        { type: 'image', url: 'javascript:alert(1)', alt: '', width: 'breed' },
        { type: 'links', heading: '', 'items.0.title': '', 'items.0.url': 'https://voorbeeld.test/a' },
      ]),
    );
    expect(res.status).toBe(422);
    const html = decode(await res.text());
    expect(html).toContain('Vul een titel in.');
    expect(html).toContain('Gebruik kleine letters, cijfers en streepjes');
    expect(html).toContain('Gebruik een volledig webadres dat begint met https://');
    expect(html).toContain('Beschrijf de afbeelding (alt-tekst)');
    expect(html).toContain('Geef de breedte als heel getal tussen 40 en 600 (pixels).');
    expect(html).toContain('href="#veld-blocks-0-alt"');
    expect(html).toContain('id="veld-blocks-1-items-0-title"');
    expect(html).toContain('aria-invalid="true"');
    // What was typed stays in the form.
    expect(html).toContain('value="breed"');
    const after = await editionRow(id);
    expect(after.title).toBe(before.title);
    expect(after.blocks).toEqual(before.blocks);
    expect(after.updated_at).toEqual(before.updated_at);
  });

  it('keeps viewers to looking: changes are refused with 403 and nothing changes', async () => {
    const id = await createThroughForm(alice);
    const list = await (await viewer.page('/admin/editions')).text();
    expect(list).not.toContain('href="/admin/editions/new"');
    const page = await (await viewer.page(`/admin/editions/${id}`)).text();
    expect(page).not.toContain(`action="/admin/editions/${id}/submit"`);
    expect(page).toContain('Voorbeeld');
    expect((await viewer.page(`/admin/editions/${id}/edit`)).status).toBe(403);
    expect((await viewer.submit('/admin/editions/new', metadata())).status).toBe(403);
    expect((await viewer.submit(`/admin/editions/${id}/submit`)).status).toBe(403);
    expect((await viewer.submit(`/admin/editions/${id}/edit`, editorForm(metadata(), []))).status).toBe(403);
    expect((await editionRow(id)).status).toBe('draft');
    // An editor sends a submitted edition back with a note, which the history shows (escaped).
    await alice.submit(`/admin/editions/${id}/submit`);
    const back = await bob.submit(`/admin/editions/${id}/request-changes`, { note: 'Kortere <titel> graag' });
    expect(back.headers.get('location')).toBe(`/admin/editions/${id}?ok=changes-requested`);
    expect((await editionRow(id)).status).toBe('draft');
    expect(await (await viewer.page(`/admin/editions/${id}`)).text()).toContain(
      'Kortere &lt;titel&gt; graag',
    );
    // The preview is for viewers too.
    expect((await viewer.page(`/admin/editions/${id}/preview`)).status).toBe(200);
  });

  it('sends a test version to at most 10 valid addresses', async () => {
    const id = await createThroughForm(alice);
    const tests = () =>
      ctx.db
        .selectFrom('emails')
        .select(['to_address', 'subject'])
        .where('kind', '=', 'edition-test')
        .execute();
    const before = (await tests()).length;
    const bad = await alice.submit(`/admin/editions/${id}/test-send`, {
      to: 'lid@voorbeeld.test, geen-adres',
    });
    expect(bad.status).toBe(422);
    expect(await bad.text()).toContain('geen-adres:');
    const many = Array.from({ length: 11 }, (_, n) => `lid${n}@voorbeeld.test`).join('\n');
    const tooMany = await alice.submit(`/admin/editions/${id}/test-send`, { to: many });
    expect(tooMany.status).toBe(422);
    expect(await tooMany.text()).toContain('Hoogstens 10 adressen per test.');
    expect((await tests()).length).toBe(before);

    const ok = await alice.submit(`/admin/editions/${id}/test-send`, {
      to: 'Test.Een@voorbeeld.test\ntest-twee@voorbeeld.test',
      locale: 'en',
    });
    expect(ok.headers.get('location')).toBe(`/admin/editions/${id}?ok=test-sent`);
    const sent = await tests();
    expect(sent.map((e) => e.to_address).sort()).toEqual([
      'Test.Een@voorbeeld.test',
      'test-twee@voorbeeld.test',
    ]);
  });

  it('lists editions with filters and pages', async () => {
    await sql`
      insert into editions (title, subject, slug, locale, blocks)
      select 'Archiefeditie ' || n, 'Onderwerp ' || n, 'archief-' || n, case when n % 3 = 0 then 'en' else 'nl' end, '[]'
        from generate_series(1, 30) as n`.execute(ctx.db);
    const first = await (await viewer.page('/admin/editions?q=Archiefeditie')).text();
    expect(first.match(/Archiefeditie \d+/g)).toHaveLength(25);
    const next = /href="(\/admin\/editions\?q=Archiefeditie&amp;before=\d+)"/.exec(first)?.[1];
    expect(next).toBeDefined();
    const second = await (await viewer.page(decode(next!))).text();
    expect(second.match(/Archiefeditie \d+/g)).toHaveLength(5);
    expect(second).not.toContain('Volgende pagina');

    const english = await (await viewer.page('/admin/editions?q=Archiefeditie&locale=en')).text();
    expect(english.match(/Archiefeditie \d+/g)).toHaveLength(10);
    const sentOnly = await (await viewer.page('/admin/editions?q=Archiefeditie&status=sent')).text();
    expect(sentOnly).toContain('Geen edities gevonden.');
    // A nonsense filter is ignored rather than an error.
    expect((await viewer.page('/admin/editions?status=kapot&before=x')).status).toBe(200);
  });
});

describe('statistics and the delivery log', () => {
  it('shows the figures and finds a recipient, escaped', async () => {
    const { id } = await ctx.db
      .insertInto('editions')
      .values({
        title: 'Verzonden editie',
        subject: 'Verzonden',
        slug: 'verzonden-editie',
        blocks: JSON.stringify([]),
        status: 'sent',
        sending_started_at: new Date('2026-02-01T09:00:00Z'),
        sent_at: new Date('2026-02-01T09:05:00Z'),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const statuses = ['delivered', 'delivered', 'bounced', 'failed'] as const;
    await ctx.db
      .insertInto('deliveries')
      .values(
        statuses.map((status, n) => ({
          edition_id: id,
          subscriber_id: null,
          email: n === 3 ? '<b>vreemd</b>@voorbeeld.test' : `ontvanger-${n}@voorbeeld.test`,
          locale: 'nl' as const,
          batch_no: 0,
          status,
          provider_message_id: status === 'failed' ? null : `msg-${id}-${n}`,
          error: status === 'failed' ? 'Ongeldige ontvanger' : null,
        })),
      )
      .execute();
    const html = await (await viewer.page(`/admin/editions/${id}/stats`)).text();
    expect(html).toMatch(/Ontvangers<\/th><td>4</);
    expect(html).toMatch(/Afgeleverd<\/th><td>2</);
    expect(html).toMatch(/Harde bounces<\/th><td>1</);
    expect(html).toMatch(/Mislukt<\/th><td>1</);
    expect(html).toContain('max="4" value="4"');

    const search = await (await viewer.page(`/admin/editions/${id}/stats?q=vreemd`)).text();
    expect(search).toContain('&lt;b&gt;vreemd&lt;/b&gt;@voorbeeld.test');
    expect(search).toContain('Ongeldige ontvanger');
    expect(search).not.toContain('ontvanger-0@');

    // Resend to failed only: offered to editors, refused to viewers.
    const page = await (await alice.page(`/admin/editions/${id}`)).text();
    expect(page).toContain('Opnieuw versturen naar de 1 mislukte adressen');
    expect((await viewer.submit(`/admin/editions/${id}/resend-failed`)).status).toBe(403);
    expect((await alice.submit(`/admin/editions/${id}/resend-failed`)).status).toBe(303);
    expect((await editionRow(id)).status).toBe('sending');
  });
});

describe('two editors in the block editor at once', () => {
  it("the later save of an older version is refused with the person's changes kept, and saving again is a choice", async () => {
    const meta = metadata();
    const id = await createThroughForm(alice, meta);
    const basedOnOf = async (who: AdminBrowser) =>
      /name="basedOn" value="(\d+)"/.exec(await (await who.page(`/admin/editions/${id}/edit`)).text())![1]!;
    const aliceOpened = await basedOnOf(alice);
    const bobOpened = await basedOnOf(bob);

    const alicesText = { type: 'paragraph', text: 'De versie van Alice' };
    const saved = await alice.submit(`/admin/editions/${id}/edit`, {
      ...editorForm(meta, [alicesText]),
      basedOn: aliceOpened,
    });
    expect(saved.status).toBe(303);

    const bobsText = { type: 'paragraph', text: 'De versie van Bob' };
    const refused = await bob.submit(`/admin/editions/${id}/edit`, {
      ...editorForm(meta, [bobsText]),
      basedOn: bobOpened,
    });
    expect(refused.status).toBe(409);
    const page = await refused.text();
    expect(page).toContain('Iemand anders heeft deze editie opgeslagen');
    expect(page).toContain('De versie van Bob');
    expect(JSON.stringify((await editionRow(id)).blocks)).toContain('De versie van Alice');

    // The form came back based on Alice's version: Bob saving again replaces it, knowingly.
    const again = /name="basedOn" value="(\d+)"/.exec(page)![1]!;
    expect(again).not.toBe(bobOpened);
    const replaced = await bob.submit(`/admin/editions/${id}/edit`, {
      ...editorForm(meta, [bobsText]),
      basedOn: again,
    });
    expect(replaced.status).toBe(303);
    expect(JSON.stringify((await editionRow(id)).blocks)).toContain('De versie van Bob');
  });
});
