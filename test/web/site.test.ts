import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EditionStatus } from '../../src/db/schema.js';
import { minimalPdf } from '../../src/domain/demo.js';
import { createFileDocument, createLinkDocument } from '../../src/domain/documents.js';
import { updateSettings } from '../../src/domain/settings.js';
import { createTestContext, TestClock, type TestContext } from '../helpers/context.js';

let ctx: TestContext;
const clock = new TestClock(new Date('2026-03-01T09:00:00Z'));
const BASE = 'http://localhost:3000';
const NASTY = `<script>alert("x")</script> & 'quotes'`;

beforeAll(async () => {
  ctx = await createTestContext({ clock });
  await updateSettings(ctx.db, {
    programmeName: 'Housing First Regio Voorbeeld',
    programmeDescription: 'Een living lab in de regio Voorbeeld.',
    programmeDescriptionEn: 'A living lab in the Voorbeeld region.',
    contactEmail: 'lab@voorbeeld.test',
  });
  await edition({ slug: 'oud-2025-a', title: 'Nieuwsbrief april 2025', sentAt: '2025-04-10T08:00:00Z' });
  await edition({
    slug: 'oud-2025-b',
    title: 'Nieuwsbrief oktober 2025',
    sentAt: '2025-10-10T08:00:00Z',
    imageUrl: 'https://beeld.voorbeeld.test/omslag.jpg',
  });
  // 00:30 in Amsterdam on 1 January: belongs to 2026.
  await edition({ slug: 'nieuwjaar', title: 'Nieuwjaarsbrief', sentAt: '2025-12-31T23:30:00Z' });
  await edition({
    slug: 'lastig',
    title: NASTY,
    preheader: `Preheader met "quotes" & <tags>`,
    sentAt: '2026-02-01T08:00:00Z',
    blocks: [
      { type: 'heading', level: 3, text: 'Eerst een kop van niveau drie' },
      {
        type: 'paragraph',
        text: 'Lees **vet** en *schuin* en [de link](https://voorbeeld.test/a?b=1&c=2) <b>niet</b>.',
      },
      {
        type: 'image',
        url: 'https://beeld.voorbeeld.test/woning.jpg',
        alt: 'Een rij "nieuwe" woningen',
        width: 560,
      },
      { type: 'button', label: 'Lees verder', url: 'https://voorbeeld.test/verder' },
      { type: 'divider' },
      { type: 'heading', level: 3, text: 'Daarna wel niveau drie' },
      {
        type: 'links',
        heading: 'Documenten',
        items: [{ title: 'Rapport', summary: 'De evaluatie', url: 'https://voorbeeld.test/rapport.pdf' }],
      },
    ],
  });
  for (const status of ['draft', 'scheduled', 'sending', 'cancelled', 'failed'] as const) {
    await edition({
      slug: `niet-${status}`,
      title: `Niet verstuurd ${status}`,
      status,
      sentAt: '2026-01-15T08:00:00Z',
    });
  }
  await ctx.db.transaction().execute(async (tx) => {
    await createLinkDocument(tx, null, clock.now(), {
      category: 'artikelen',
      title: 'Huis & haard',
      summary: 'Een artikel met <tekens> & meer.',
      url: 'https://www.voorbeeld.test/artikel?a=1&b=2',
      date: '2026-01-20',
    });
    await createLinkDocument(tx, null, clock.now(), {
      category: 'algemeen',
      title: 'Concept (niet gepubliceerd)',
      url: 'https://www.voorbeeld.test/concept',
      date: '2026-01-21',
      published: false,
    });
    await createFileDocument(
      tx,
      null,
      clock.now(),
      {
        category: 'folders',
        title: 'Folder voor deelnemers',
        summary: 'In eenvoudige taal.',
        date: '2026-02-02',
      },
      { bytes: minimalPdf({ title: 'Folder', lines: ['Hallo'] }), filename: 'folder.pdf' },
    );
  });
});
afterAll(() => ctx.close());

async function edition(options: {
  slug: string;
  title: string;
  sentAt: string;
  status?: EditionStatus;
  preheader?: string;
  imageUrl?: string;
  blocks?: unknown[];
}) {
  const status = options.status ?? 'sent';
  await ctx.db
    .insertInto('editions')
    .values({
      title: options.title,
      subject: options.title,
      preheader: options.preheader ?? `Samenvatting van ${options.title}`,
      slug: options.slug,
      blocks: JSON.stringify(options.blocks ?? [{ type: 'paragraph', text: `Inhoud van ${options.title}.` }]),
      image_url: options.imageUrl ?? null,
      status,
      // Even a failed or cancelled send may carry a time: only the status decides.
      sent_at: status === 'draft' ? null : options.sentAt,
    })
    .execute();
}

async function page(path: string) {
  const res = await ctx.app.request(path);
  return { res, html: await res.text() };
}

const SENT_TITLES = ['Nieuwsbrief april 2025', 'Nieuwsbrief oktober 2025', 'Nieuwjaarsbrief'];

describe('newsletter archive', () => {
  it('lists exactly the sent editions, grouped by year (Amsterdam time), newest first', async () => {
    const { res, html } = await page('/nieuwsbrieven');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html).toContain('<html lang="nl">');
    const h2s = [...html.matchAll(/<h2 id="jaar-(\d+)">([^<]+)<\/h2>/g)].map((m) => m[2]);
    expect(h2s).toEqual(['Nieuwsbrieven 2026', 'Nieuwsbrieven 2025']);
    const [y2026, y2025] = html.split('<h2 id="jaar-2025">');
    expect(y2026).toContain('href="/nieuwsbrieven/nieuwjaar"');
    expect(y2026).toContain('href="/nieuwsbrieven/lastig"');
    expect(y2025).toContain('href="/nieuwsbrieven/oud-2025-b"');
    expect(y2025).toContain('href="/nieuwsbrieven/oud-2025-a"');
    expect(y2025!.indexOf('oud-2025-b')).toBeLessThan(y2025!.indexOf('oud-2025-a'));
    expect(y2026!.indexOf('lastig')).toBeLessThan(y2026!.indexOf('nieuwjaar'));
    const links = [...html.matchAll(/href="\/nieuwsbrieven\/([^"?]+)"/g)].map((m) => m[1]);
    expect(links.sort()).toEqual(['lastig', 'nieuwjaar', 'oud-2025-a', 'oud-2025-b']);
    expect(html).not.toContain('Niet verstuurd');
    expect(html).toContain('<time datetime="2025-12-31T23:30:00.000Z">1 januari 2026</time>');
    expect(html).toContain('&lt;script&gt;');
    expect(html).not.toContain('<script>alert');
  });

  it('has a skip link, landmarks, a site navigation with aria-current and one h1', async () => {
    const { html } = await page('/nieuwsbrieven');
    expect(html).toContain('<a class="skip" href="#inhoud">Naar de inhoud</a>');
    expect(html).toMatch(/<header>[\s\S]*<nav class="site" aria-label="Hoofdmenu">[\s\S]*<\/header>/);
    expect(html).toContain('<main id="inhoud">');
    expect(html).toContain('<footer>');
    expect(html.match(/<h1[ >]/g)).toHaveLength(1);
    expect(html).toContain('<a href="/nieuwsbrieven" aria-current="page">Nieuwsbrieven</a>');
    for (const [href, label] of [
      ['/', 'Home'],
      ['/documenten', 'Documenten'],
      ['/subscribe', 'Aanmelden'],
    ]) {
      expect(html).toContain(`<a href="${href}">${label}</a>`);
    }
    expect(html).toContain(`<link rel="canonical" href="${BASE}/nieuwsbrieven"/>`);
  });

  it('speaks English with ?lang=en and keeps the language in its links', async () => {
    const { html } = await page('/nieuwsbrieven?lang=en');
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('Newsletters 2026');
    expect(html).toContain('<a href="/nieuwsbrieven?lang=en" aria-current="page">Newsletters</a>');
    expect(html).toContain('href="/nieuwsbrieven/lastig?lang=en"');
    expect(html).toContain('1 January 2026');
    expect(html).toContain('<a class="skip" href="#inhoud">Skip to content</a>');
    expect(html).toContain('href="/nieuwsbrieven?lang=nl"');
    expect(html).toContain(`<link rel="canonical" href="${BASE}/nieuwsbrieven?lang=en"/>`);
  });
});

describe('web version of an edition', () => {
  it('renders the blocks as accessible HTML, with headings in order and no raw markup', async () => {
    const { res, html } = await page('/nieuwsbrieven/lastig');
    expect(res.status).toBe(200);
    const main = html.slice(html.indexOf('<main'), html.indexOf('</main>'));
    expect(main).toContain(
      '<h1>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;</h1>',
    );
    // A level-3 heading before any level-2 one becomes level 2; later ones stay level 3.
    expect(main).toContain('<h2>Eerst een kop van niveau drie</h2>');
    expect(main).toContain('<h3>Daarna wel niveau drie</h3>');
    expect(main).toContain('<strong>vet</strong>');
    expect(main).toContain('<em>schuin</em>');
    expect(main).toContain('<a href="https://voorbeeld.test/a?b=1&amp;c=2">de link</a>');
    expect(main).toContain('&lt;b&gt;niet&lt;/b&gt;');
    expect(main).toContain('alt="Een rij &quot;nieuwe&quot; woningen"');
    expect(main).toContain('<a class="button" href="https://voorbeeld.test/verder">Lees verder</a>');
    expect(main).toContain('<hr/>');
    expect(main).toContain('<h2>Documenten</h2>');
    expect(main).toContain('<time datetime="2026-02-01T08:00:00.000Z">1 februari 2026</time>');
    // No personal links on the web version.
    expect(html).not.toMatch(/unsubscribe\/|preferences\/|personal\.invalid|__TP_/);
    expect(html).not.toContain('<script>alert');
  });

  it('has OpenGraph, Twitter and canonical tags, escaped', async () => {
    const { html } = await page('/nieuwsbrieven/lastig');
    const head = html.slice(0, html.indexOf('</head>'));
    const escapedTitle = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;';
    expect(head).toContain(`<title>${escapedTitle} · Housing First Regio Voorbeeld</title>`);
    expect(head).toContain(`<link rel="canonical" href="${BASE}/nieuwsbrieven/lastig"/>`);
    expect(head).toContain(`<meta property="og:title" content="${escapedTitle}"/>`);
    expect(head).toContain(`<meta name="twitter:title" content="${escapedTitle}"/>`);
    const description = 'Preheader met &quot;quotes&quot; &amp; &lt;tags&gt;';
    expect(head).toContain(`<meta property="og:description" content="${description}"/>`);
    expect(head).toContain(`<meta name="description" content="${description}"/>`);
    expect(head).toContain(`<meta property="og:url" content="${BASE}/nieuwsbrieven/lastig"/>`);
    expect(head).toContain('<meta property="og:type" content="article"/>');
    expect(head).toContain('<meta property="og:image" content="https://beeld.voorbeeld.test/woning.jpg"/>');
    expect(head).toContain('<meta property="og:image:alt" content="Een rij &quot;nieuwe&quot; woningen"/>');
    expect(head).toContain('<meta name="twitter:card" content="summary_large_image"/>');
    expect(head).toContain('<meta property="article:published_time" content="2026-02-01T08:00:00.000Z"/>');
    expect(head).not.toContain('<script');
  });

  it("prefers the edition's own image", async () => {
    const { html } = await page('/nieuwsbrieven/oud-2025-b');
    expect(html).toContain('<meta property="og:image" content="https://beeld.voorbeeld.test/omslag.jpg"/>');
  });

  it('reads an English edition in English by default, and marks its language on a Dutch page', async () => {
    await ctx.db
      .insertInto('editions')
      .values({
        title: 'Newsletter in English',
        subject: 'Newsletter in English',
        slug: 'english-edition',
        locale: 'en',
        blocks: JSON.stringify([{ type: 'paragraph', text: 'Hello.' }]),
        status: 'sent',
        sent_at: '2026-02-10T08:00:00Z',
      })
      .execute();
    const english = await page('/nieuwsbrieven/english-edition');
    expect(english.html).toContain('<html lang="en">');
    expect(english.html).toContain('<h1>Newsletter in English</h1>');
    expect(english.html).toContain('<article><p>Hello.</p></article>');
    expect(english.html).toContain(`<link rel="canonical" href="${BASE}/nieuwsbrieven/english-edition"/>`);
    expect(english.html).toContain(
      `<link rel="alternate" hreflang="nl" href="${BASE}/nieuwsbrieven/english-edition?lang=nl"/>`,
    );
    const dutch = await page('/nieuwsbrieven/english-edition?lang=nl');
    expect(dutch.html).toContain('<html lang="nl">');
    expect(dutch.html).toContain('<h1 lang="en">Newsletter in English</h1>');
    expect(dutch.html).toContain('<article lang="en">');
    expect(dutch.html).toContain(
      `<link rel="canonical" href="${BASE}/nieuwsbrieven/english-edition?lang=nl"/>`,
    );
    await ctx.db.deleteFrom('editions').where('slug', '=', 'english-edition').execute();
  });

  it('answers unsent and unknown slugs with an HTML 404 page', async () => {
    for (const slug of [
      'niet-draft',
      'niet-scheduled',
      'niet-sending',
      'niet-cancelled',
      'niet-failed',
      'bestaat-niet',
      '..%2Fadmin',
    ]) {
      const { res, html } = await page(`/nieuwsbrieven/${slug}`);
      expect(res.status, slug).toBe(404);
      expect(res.headers.get('content-type'), slug).toMatch(/^text\/html/);
      expect(html).toContain('<h1>Pagina niet gevonden</h1>');
      expect(html).toContain('<meta name="robots" content="noindex"/>');
      expect(html).not.toContain('Niet verstuurd');
    }
    const english = await page('/nieuwsbrieven/niet-draft?lang=en');
    expect(english.res.status).toBe(404);
    expect(english.html).toContain('<h1>Page not found</h1>');
  });
});

describe('home page', () => {
  it('shows the programme, the latest sent edition, new documents, the signup form and contact', async () => {
    const { res, html } = await page('/');
    expect(res.status).toBe(200);
    expect(html).toContain('<title>Housing First Regio Voorbeeld</title>');
    expect(html).toContain('<h1>Housing First Regio Voorbeeld</h1>');
    expect(html).toContain('Een living lab in de regio Voorbeeld.');
    expect(html).toContain('<a href="/" aria-current="page">Home</a>');
    const latest = html.slice(html.indexOf('<h2 id="laatste">'), html.indexOf('<h2 id="documenten">'));
    expect(latest).toContain('href="/nieuwsbrieven/lastig"');
    expect(latest).not.toContain('nieuwjaar');
    expect(html).toContain('Folder voor deelnemers');
    expect(html).not.toContain('Concept (niet gepubliceerd)');
    // The signup form of GET /subscribe, posting there.
    expect(html).toContain('<form method="post" action="/subscribe"');
    expect(html).toMatch(/name="formToken" value="[^"]+"/);
    expect(html).toContain('<label for="email">');
    expect(html).toContain('<a href="mailto:lab@voorbeeld.test">lab@voorbeeld.test</a>');
    expect(html).toContain(
      `<link rel="alternate" type="application/rss+xml" title="Housing First Regio Voorbeeld" href="${BASE}/feed.xml"/>`,
    );
    // CSS survives JSX escaping (a `>` would become &gt; and break the rule).
    for (const style of html.matchAll(/<style>([\s\S]*?)<\/style>/g))
      expect(style[1]).not.toMatch(/&[a-z]+;/);
    const headings = [...html.matchAll(/<h([1-6])[ >]/g)].map((m) => Number(m[1]));
    for (let i = 1; i < headings.length; i++) expect(headings[i]! - headings[i - 1]!).toBeLessThanOrEqual(1);
  });

  it('in English', async () => {
    const { html } = await page('/?lang=en');
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('A living lab in the Voorbeeld region.');
    expect(html).toContain('Latest newsletter');
    expect(html).toContain('Email address');
    expect(html).toContain('<a href="/?lang=en" aria-current="page">Home</a>');
  });
});

describe('documents page', () => {
  it('groups published documents by category, with type and size of files', async () => {
    const { res, html } = await page('/documenten');
    expect(res.status).toBe(200);
    expect(html).toContain('<h1>Relevante documenten</h1>');
    expect(html).toContain('<a href="/documenten" aria-current="page">Documenten</a>');
    const h2s = [...html.matchAll(/<h2 id="categorie-[^"]+">([^<]+)<\/h2>/g)].map((m) => m[1]);
    expect(h2s).toEqual(['Artikelen', 'Folders']);
    expect(html).toContain('Huis &amp; haard');
    expect(html).toContain('href="https://www.voorbeeld.test/artikel?a=1&amp;b=2"');
    expect(html).toContain('(website: www.voorbeeld.test)');
    expect(html).toMatch(
      /href="\/documenten\/\d+\/folder-voor-deelnemers\.pdf" type="application\/pdf">Folder voor deelnemers <span class="hint-inline">\(PDF, 1 kB\)<\/span>/,
    );
    expect(html).not.toContain('Concept (niet gepubliceerd)');
    const english = await page('/documenten?lang=en');
    expect(english.html).toContain('<h1>Relevant documents</h1>');
    expect(english.html).toContain('>Leaflets</h2>');
  });
});

describe('feeds, sitemap and robots.txt', () => {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' });
  const asList = <T>(value: T | T[] | undefined): T[] =>
    value === undefined ? [] : Array.isArray(value) ? value : [value];

  it('RSS 2.0: well-formed, exactly the sent editions and published documents, escaped, absolute', async () => {
    const res = await ctx.app.request('/feed.xml');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/rss+xml; charset=utf-8');
    const xml = await res.text();
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &apos;quotes&apos;');
    expect(xml).toContain('Huis &amp; haard');
    const channel = parser.parse(xml).rss.channel;
    expect(channel.link).toBe(`${BASE}/`);
    const items = asList(channel.item) as Record<string, unknown>[];
    expect(items.map((item) => item.title).sort()).toEqual(
      [...SENT_TITLES, NASTY, 'Huis & haard', 'Folder voor deelnemers'].sort(),
    );
    for (const item of items) {
      expect(String(item.pubDate)).toMatch(
        /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/,
      );
      expect(String((item.guid as Record<string, string>)['#text'])).toMatch(/^http:\/\/localhost:3000\//);
      expect(String(item.link)).toMatch(/^https?:\/\//);
    }
    const nieuwjaar = items.find((item) => item.title === 'Nieuwjaarsbrief')!;
    expect(nieuwjaar.link).toBe(`${BASE}/nieuwsbrieven/nieuwjaar`);
    expect(nieuwjaar.pubDate).toBe('Wed, 31 Dec 2025 23:30:00 GMT');
    const folder = items.find((item) => item.title === 'Folder voor deelnemers')!;
    expect((folder.enclosure as Record<string, string>)['@type']).toBe('application/pdf');
    expect(String(folder.link)).toMatch(
      /^http:\/\/localhost:3000\/documenten\/\d+\/folder-voor-deelnemers\.pdf$/,
    );
  });

  it('Atom: well-formed, the same entries, RFC 3339 dates', async () => {
    const res = await ctx.app.request('/atom.xml');
    expect(res.headers.get('content-type')).toBe('application/atom+xml; charset=utf-8');
    const xml = await res.text();
    expect(XMLValidator.validate(xml)).toBe(true);
    const feed = parser.parse(xml).feed;
    expect(feed['@xmlns']).toBe('http://www.w3.org/2005/Atom');
    const entries = asList(feed.entry) as Record<string, unknown>[];
    const titles = entries.map((entry) => (entry.title as Record<string, string>)['#text']);
    expect(titles.sort()).toEqual([...SENT_TITLES, NASTY, 'Huis & haard', 'Folder voor deelnemers'].sort());
    for (const entry of entries) {
      expect(entry.updated).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      expect(entry.id).toMatch(/^http:\/\/localhost:3000\//);
    }
    expect(feed.updated).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(xml).toContain(`<link rel="self" type="application/atom+xml" href="${BASE}/atom.xml"/>`);
  });

  it('sitemap: home, documents, archive and every sent edition, nothing unsent', async () => {
    const res = await ctx.app.request('/sitemap.xml');
    expect(res.headers.get('content-type')).toBe('application/xml; charset=utf-8');
    const xml = await res.text();
    expect(XMLValidator.validate(xml)).toBe(true);
    const urls = asList(parser.parse(xml).urlset.url) as { loc: string }[];
    const locs = urls.map((url) => url.loc);
    for (const path of [
      '/',
      '/documenten',
      '/nieuwsbrieven',
      '/nieuwsbrieven/oud-2025-a',
      '/nieuwsbrieven/oud-2025-b',
      '/nieuwsbrieven/nieuwjaar',
      '/nieuwsbrieven/lastig',
    ]) {
      expect(locs).toContain(`${BASE}${path}`);
    }
    expect(locs.filter((loc) => loc.includes('/nieuwsbrieven/'))).toHaveLength(4);
    expect(locs.some((loc) => /\/documenten\/\d+\/folder-voor-deelnemers\.pdf$/.test(loc))).toBe(true);
    expect(xml).not.toContain('niet-');
  });

  it('robots.txt allows the site and keeps crawlers out of admin, API, dev and personal links', async () => {
    const res = await ctx.app.request('/robots.txt');
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const text = await res.text();
    expect(text).toMatch(/^User-agent: \*$/m);
    expect(text).toMatch(/^Allow: \/$/m);
    for (const path of ['/admin', '/api', '/dev', '/confirm', '/unsubscribe', '/preferences']) {
      expect(text).toMatch(new RegExp(`^Disallow: ${path}$`, 'm'));
    }
    expect(text).toMatch(new RegExp(`^Sitemap: ${BASE}/sitemap.xml$`, 'm'));
  });
});

describe('the signup pages share the navigation', () => {
  it('marks Aanmelden as the current page on /subscribe and nothing on a personal link page', async () => {
    const signup = await page('/subscribe');
    expect(signup.html).toContain('<a href="/subscribe" aria-current="page">Aanmelden</a>');
    const english = await page('/subscribe?lang=en');
    expect(english.html).toContain('<a href="/subscribe?lang=en" aria-current="page">Subscribe</a>');
    const confirm = await page('/confirm/x.y.z');
    expect(confirm.html).toContain('<nav class="site"');
    expect(confirm.html).not.toContain('aria-current="');
    const embed = await page('/subscribe/embed');
    expect(embed.html).not.toContain('<nav class="site"');
  });
});
