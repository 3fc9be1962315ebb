import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateSettings } from '../../src/domain/settings.js';
import { personalise } from '../../src/emails/personalise.js';
import { renderSubscriberEmail } from '../../src/emails/render.js';
import { renderEdition } from '../../src/emails/render-edition.js';
import { MailboxMailer } from '../../src/providers/mailbox-mailer.js';
import { createTestContext, json, type TestContext } from '../helpers/context.js';
import { editionInput } from '../helpers/editions.js';
import {
  type BrowserSession,
  fillPattern,
  type OpenApiDocument,
  openSession,
  type RouteInfo,
  routeCatalogue,
  segmentBefore,
} from './harness.js';

/**
 * Stored XSS: text that tries to become markup is put into everything a person can name
 * (edition content, subscriber, organisation, topic, category and document names, post texts, the
 * programme's settings, a mailbox subject) and every page, feed and email that shows it is read
 * back: the probe must only ever appear escaped, and HTML carries a CSP without inline script.
 */
const PROBE = `"'><xss-probe onmouseover=alert(1)>`;
const PROBE_TAG = /<xss-probe/i;
const SCRIPT_URL = /(?:href|src|action|formaction)\s*=\s*["']?\s*(?:javascript|vbscript|data:text\/html)/i;

let ctx: TestContext;
let session: BrowserSession;
let routes: RouteInfo[];
const ids: Record<string, string> = {};
let slug: string;
let subscriberId: string;

beforeAll(async () => {
  ctx = await createTestContext();
  const admin = await ctx.userWithToken('admin');
  const post = async (path: string, body: unknown) => {
    const res = await ctx.app.request(path, json(body, admin.headers));
    expect(res.status, `${path}: ${await res.clone().text()}`).toBe(201);
    return (await res.json()) as { id: string };
  };
  await updateSettings(ctx.db, {
    programmeName: `Programma ${PROBE}`,
    programmeDescription: `Over ons ${PROBE}`,
    postalAddress: `Straat ${PROBE}`,
    contactEmail: `info${PROBE}@voorbeeld.test`,
  });
  ids.topics = (
    await post('/api/v1/topics', {
      slug: 'probe',
      nameNl: `Onderwerp ${PROBE}`,
      nameEn: `Topic ${PROBE}`,
      descriptionNl: PROBE,
      public: true,
    })
  ).id;
  ids.organisations = (
    await post('/api/v1/organisations', { name: `Organisatie ${PROBE}`, kind: 'overig' })
  ).id;
  subscriberId = (
    await post('/api/v1/subscribers', {
      email: 'probe@voorbeeld.test',
      name: `Naam ${PROBE}`,
      topics: ['nieuwsbrief', 'probe'],
      organisationId: ids.organisations,
      lawfulBasis: 'consent',
    })
  ).id;
  ids.subscribers = subscriberId;
  slug = 'xss-probe-editie';
  const edition = await post(
    '/api/v1/editions',
    editionInput({
      slug,
      title: `Titel ${PROBE}`,
      subject: `Onderwerp ${PROBE}`,
      preheader: `Voortekst ${PROBE}`,
      blocks: [
        { type: 'heading', text: `Kop ${PROBE}` },
        {
          type: 'paragraph',
          text: `Tekst ${PROBE} **vet ${PROBE}** [link ${PROBE}](https://voorbeeld.test/a"onmouseover="alert(1)) [kwaad](javascript:alert(1))`,
        },
        { type: 'image', url: 'https://voorbeeld.test/beeld.png', alt: `Beeld ${PROBE}` },
        { type: 'button', label: `Knop ${PROBE}`, url: 'https://voorbeeld.test/knop' },
        {
          type: 'links',
          heading: PROBE,
          items: [{ title: PROBE, summary: PROBE, url: 'https://voorbeeld.test/x' }],
        },
      ],
    }),
  );
  ids.editions = edition.id;
  await ctx.db
    .updateTable('editions')
    .set({ status: 'sent', sending_started_at: new Date(), sent_at: new Date() })
    .where('id', '=', edition.id)
    .execute();
  ids['document-categories'] = (
    await post('/api/v1/document-categories', { slug: 'probe', nameNl: `Categorie ${PROBE}`, nameEn: PROBE })
  ).id;
  ids.documents = (
    await post('/api/v1/documents', {
      category: 'probe',
      title: `Document ${PROBE}`,
      summary: `Samenvatting ${PROBE}`,
      url: 'https://www.voorbeeld.test/rapport',
    })
  ).id;
  ids.documenten = ids.documents;
  ids.posts = (
    await post('/api/v1/linkedin/posts', {
      kind: 'custom',
      commentary: `Bericht ${PROBE}`,
      link: 'https://www.voorbeeld.test/lab',
      title: `Titel ${PROBE}`,
      description: `Beschrijving ${PROBE}`,
    })
  ).id;
  ids.users = admin.userId;
  await new MailboxMailer(ctx.db).send(
    {
      from: 'Thuispost <nieuws@voorbeeld.test>',
      to: ['probe@voorbeeld.test'],
      subject: `Onderwerp ${PROBE}`,
      html: '<p>Welkom</p>',
      text: `Welkom ${PROBE}`,
    },
    { idempotencyKey: 'xss-probe' },
  );
  const mail = await ctx.db.selectFrom('dev_mailbox').select('id').executeTakeFirstOrThrow();
  ids.mailbox = mail.id;
  session = await openSession(ctx.db, ctx.deps.clock, admin.userId);
  const doc = (await (await ctx.app.request('/api/v1/openapi.json')).json()) as OpenApiDocument;
  routes = routeCatalogue(ctx.app, doc);
}, 60_000);
afterAll(() => ctx.close());

function pathOf(route: RouteInfo): string {
  return fillPattern(
    route.pattern,
    route.params.map((param) => {
      if (param === 'slug') return slug;
      if (param === 'token') {
        const purpose = /^\/(confirm|unsubscribe|preferences)\//.exec(route.pattern)?.[1] as
          | 'confirm'
          | 'unsubscribe'
          | 'preferences'
          | undefined;
        return purpose ? ctx.deps.linkTokens.issue({ p: purpose, s: subscriberId }) : 'x';
      }
      return ids[segmentBefore(route.pattern, param)] ?? '1';
    }),
  );
}

function expectEscaped(where: string, text: string) {
  expect(PROBE_TAG.exec(text)?.[0], `${where} shows the probe as markup`).toBeUndefined();
  expect(SCRIPT_URL.exec(text)?.[0], `${where} links to script`).toBeUndefined();
}

describe('stored XSS', () => {
  it('escapes the probe on every page (public and admin) and sets a CSP without inline script', async () => {
    let pages = 0;
    let shown = 0;
    for (const route of routes.filter((r) => r.method === 'GET' && !r.pattern.startsWith('/docs'))) {
      const path = pathOf(route);
      for (const query of ['', '?lang=en']) {
        const res = await ctx.app.request(`${path}${query}`, { headers: { cookie: session.cookie } });
        const type = res.headers.get('content-type') ?? '';
        const text = await res.text();
        if (type.startsWith('application/json') || type.startsWith('application/problem+json')) {
          expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
          continue;
        }
        if (!/html|xml/.test(type)) continue;
        expectEscaped(`${path}${query}`, text);
        if (type.startsWith('text/html')) {
          pages++;
          if (text.includes('xss-probe')) shown++;
          const csp = res.headers.get('content-security-policy') ?? '';
          expect(csp, path).toMatch(/default-src 'none'|default-src 'self'/);
          const scriptSrc = /script-src ([^;]*)/.exec(csp)?.[1] ?? '';
          expect(scriptSrc, path).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
        }
      }
    }
    expect(pages).toBeGreaterThan(20);
    // The probe really was on the pages (escaped), not absent from them.
    expect(shown).toBeGreaterThan(10);
  });

  it('keeps the probe text in the feeds: never markup, also not after a feed reader decodes the HTML description', async () => {
    for (const path of ['/feed.xml', '/atom.xml', '/sitemap.xml']) {
      const xml = await (await ctx.app.request(path)).text();
      expectEscaped(path, xml);
      expect(xml, path).not.toContain('<![CDATA[');
      // RSS descriptions are entity-encoded HTML: decoded once, they must still not be markup.
      for (const [, html] of xml.matchAll(/<description>([\s\S]*?)<\/description>/g)) {
        const decoded = html!
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&quot;/g, '"')
          .replace(/&amp;/g, '&');
        expectEscaped(`${path} description as HTML`, decoded);
      }
    }
    expect(await (await ctx.app.request('/feed.xml')).text()).toContain('xss-probe');
  });

  it('escapes the probe in the emails: edition (preview and personalised greeting) and subscriber emails', async () => {
    const admin = await ctx.userWithToken('viewer');
    const preview = await ctx.app.request(`/api/v1/editions/${ids.editions}/preview?format=html`, {
      headers: admin.headers,
    });
    expect(preview.status).toBe(200);
    const previewHtml = await preview.text();
    expectEscaped('edition preview', previewHtml);
    expect(previewHtml).toContain('xss-probe');

    const rendered = await renderEdition({
      readerLocale: 'nl',
      contentLocale: 'nl',
      title: `Titel ${PROBE}`,
      subject: `Onderwerp ${PROBE}`,
      preheader: PROBE,
      blocks: [{ type: 'paragraph', text: PROBE }],
      webVersionUrl: 'https://voorbeeld.test/nieuwsbrieven/x',
      topicName: PROBE,
      programmeName: PROBE,
      postalAddress: PROBE,
      contactEmail: null,
    });
    const personal = personalise(rendered, {
      locale: 'nl',
      name: `Naam ${PROBE}`,
      preferencesUrl: `https://voorbeeld.test/preferences/${PROBE}`,
      unsubscribeUrl: `https://voorbeeld.test/unsubscribe/${PROBE}`,
    });
    expectEscaped('personalised edition', personal.html);
    expect(personal.text).toContain(`Naam ${PROBE}`);

    const frame = {
      locale: 'nl' as const,
      programmeName: PROBE,
      postalAddress: PROBE,
      contactEmail: `info${PROBE}@voorbeeld.test`,
      name: `Naam ${PROBE}`,
      preferencesUrl: 'https://voorbeeld.test/preferences/x',
      unsubscribeUrl: 'https://voorbeeld.test/unsubscribe/x',
      topics: [PROBE],
    };
    for (const email of await Promise.all([
      renderSubscriberEmail({
        kind: 'confirmation',
        props: { ...frame, confirmUrl: 'https://voorbeeld.test/confirm/x', validDays: 7 },
      }),
      renderSubscriberEmail({ kind: 'welcome', props: frame }),
      renderSubscriberEmail({ kind: 'preferences-changed', props: frame }),
      renderSubscriberEmail({ kind: 'already-subscribed', props: frame }),
    ])) {
      expectEscaped(`email "${email.subject}"`, email.html);
      expect(email.html).toContain('xss-probe');
    }
  });
});
