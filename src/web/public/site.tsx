/** @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import { type Child, Fragment } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../../api/deps.js';
import type { Locale } from '../../db/schema.js';
import {
  type ArchivedEdition,
  editionImage,
  getSentEdition,
  listSentEditions,
  sentEditionsByYear,
  type WebEdition,
} from '../../domain/archive.js';
import {
  contentDisposition,
  DOCUMENT_FORMATS,
  type DocumentRow,
  documentAnchorPath,
  documentChunks,
  documentFilePath,
  downloadName,
  getDocument,
  latestPublishedDocuments,
  listDocuments,
} from '../../domain/documents.js';
import type { Block, InlineSegment } from '../../domain/edition-content.js';
import { parseInline } from '../../domain/edition-content.js';
import { NotFound } from '../../domain/errors.js';
import type { Settings } from '../../domain/settings.js';
import { safeUrl } from '../../domain/urls.js';
import { pageStrings, type SiteStrings, siteStrings } from '../i18n.js';
import { PublicLayout } from '../layout.js';
import { type PublicContext, queryLang, settingsOf, withLang } from './common.js';
import { defaultValues, formData, SignupForm } from './signup.js';

/**
 * The programme's public site, around the signup pages: home (with the signup form and the latest
 * newsletter), "Relevante documenten", the newsletter archive and the web version of every sent
 * edition, RSS and Atom feeds, sitemap and robots.txt. Dutch by default, `?lang=en` for English;
 * no JavaScript. Mounted at `/`.
 */

/** File downloads set their own security headers (app.ts leaves them to us; see serveFile). */
export const DOCUMENT_FILE_PATH = /^\/documenten\/\d{1,18}\/[^/]+$/;

const PAGE_CACHE = 'public, max-age=300';
const FEED_LIMIT = 50;

// No `>` or `<` here: JSX escapes text, also inside <style>.
const siteStyles = `
.meta { color: var(--muted); margin: .25rem 0 0; }
ul.items { list-style: none; padding: 0; }
ul.items li { margin: 0 0 1.25rem; }
ul.items li p { margin: .25rem 0 0; }
a.button { display: inline-block; padding: .6rem 1.2rem; background: var(--accent); color: var(--bg); border-radius: 4px; text-decoration: none; font-weight: 600; }
a.button:hover { text-decoration: underline; }
article img { max-width: 100%; height: auto; }
hr { border: 0; border-top: 1px solid var(--border); margin: 1.5rem 0; }
section { margin-top: 2rem; }
`;

function baseUrl(c: PublicContext): string {
  return c.var.deps.config.publicBaseUrl.replace(/\/+$/, '');
}

function langOf(c: PublicContext, fallback: Locale = 'nl'): Locale {
  return queryLang(c) ?? fallback;
}

/** A site address in the page's language (`?lang=en` only for English). */
function href(path: string, lang: Locale): string {
  if (lang === 'nl') return path;
  const [main, hash] = path.split('#') as [string, string | undefined];
  return `${main}${main.includes('?') ? '&' : '?'}lang=en${hash ? `#${hash}` : ''}`;
}

// Building an Intl formatter costs far more than using one; pages format many dates.
const formatters = new Map<string, Intl.DateTimeFormat>();
function dateFormat(locale: string, timeZone: string, long = true): Intl.DateTimeFormat {
  const key = `${locale}|${timeZone}|${long}`;
  let format = formatters.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(
      locale,
      long ? { day: 'numeric', month: 'long', year: 'numeric', timeZone } : { timeZone },
    );
    formatters.set(key, format);
  }
  return format;
}

function formatDate(date: Date, t: SiteStrings): string {
  return dateFormat(t.dateLocale, 'Europe/Amsterdam').format(date);
}

/** A calendar date ('YYYY-MM-DD') as words, without any time zone shift. */
function formatDay(day: string, t: SiteStrings): string {
  return dateFormat(t.dateLocale, 'UTC').format(new Date(`${day}T00:00:00Z`));
}

function amsterdamDay(date: Date): string {
  return dateFormat('en-CA', 'Europe/Amsterdam', false).format(date);
}

function formatSize(bytes: number, lang: Locale): string {
  const locale = lang === 'en' ? 'en-GB' : 'nl-NL';
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} kB`;
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(bytes / 1024 / 1024)} MB`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/* ---------------------------------------------------------------------------------- page frame */

interface SitePage {
  lang: Locale;
  title: string;
  settings: Settings;
  /** The path of this page (without query), for canonical and language alternates. */
  path: string;
  /** The language of the page without `?lang=` (an edition: its own language). */
  defaultLang?: Locale;
  description?: string;
  documentTitle?: string;
  /** Extra head elements (OpenGraph of an edition, …). */
  head?: Child;
  /** The language of the title, when it differs from the page's (an edition in the other language). */
  titleLang?: Locale;
  status?: ContentfulStatusCode;
  noindex?: boolean;
}

/** Canonical link (self, in this language), language alternates and the feeds, for every site page. */
/** The address of a page in a language: bare for the language it has without `?lang=`. */
function pageUrl(base: string, path: string, lang: Locale, defaultLang: Locale = 'nl'): string {
  return lang === defaultLang ? `${base}${path}` : `${base}${path}?lang=${lang}`;
}

function CommonHead(props: {
  base: string;
  path: string;
  lang: Locale;
  defaultLang?: Locale;
  description?: string;
  noindex?: boolean;
  feedTitle: string;
}) {
  const nl = pageUrl(props.base, props.path, 'nl', props.defaultLang);
  const en = pageUrl(props.base, props.path, 'en', props.defaultLang);
  return (
    <>
      {props.description ? <meta name="description" content={props.description} /> : null}
      {props.noindex ? (
        <meta name="robots" content="noindex" />
      ) : (
        <link rel="canonical" href={props.lang === 'en' ? en : nl} />
      )}
      <link rel="alternate" hreflang="nl" href={nl} />
      <link rel="alternate" hreflang="en" href={en} />
      <link rel="alternate" hreflang="x-default" href={`${props.base}${props.path}`} />
      <link
        rel="alternate"
        type="application/rss+xml"
        title={props.feedTitle}
        href={`${props.base}/feed.xml`}
      />
      <link
        rel="alternate"
        type="application/atom+xml"
        title={props.feedTitle}
        href={`${props.base}/atom.xml`}
      />
    </>
  );
}

function renderSite(c: PublicContext, page: SitePage, body: Child) {
  const t = pageStrings(page.lang);
  const other = t.languageSwitch.otherLang;
  const base = baseUrl(c);
  c.header('cache-control', page.status && page.status !== 200 ? 'public, max-age=60' : PAGE_CACHE);
  return c.html(
    <PublicLayout
      title={page.title}
      lang={page.lang}
      programmeName={page.settings.programmeName}
      postalAddress={page.settings.postalAddress}
      footerContact={page.settings.contactEmail ? t.footerContact(page.settings.contactEmail) : undefined}
      skipLink={t.skipLink}
      currentPath={c.req.path}
      documentTitle={page.documentTitle}
      titleLang={page.titleLang}
      head={
        <>
          <CommonHead
            base={base}
            path={page.path}
            lang={page.lang}
            description={page.description}
            noindex={page.noindex}
            defaultLang={page.defaultLang}
            feedTitle={page.settings.programmeName}
          />
          {page.head}
          <style>{siteStyles}</style>
        </>
      }
      languageSwitch={{
        href: withLang(c, other),
        label: t.languageSwitch.other,
        lang: other,
        navLabel: t.languageSwitch.label,
      }}
    >
      {body}
    </PublicLayout>,
    page.status ?? 200,
  );
}

/** Basic OpenGraph and Twitter tags of a page. */
function ShareTags(props: {
  type: 'website' | 'article';
  title: string;
  description: string;
  url: string;
  siteName: string;
  lang: Locale;
  image: { url: string; alt: string | null } | null;
  publishedTime?: Date;
}) {
  // The share image is checked again at render time (stored rows can predate the input check).
  const image = props.image && safeUrl(props.image.url, 'fetchedImage') ? props.image : null;
  return (
    <>
      <meta property="og:type" content={props.type} />
      <meta property="og:site_name" content={props.siteName} />
      <meta property="og:locale" content={props.lang === 'en' ? 'en_GB' : 'nl_NL'} />
      <meta property="og:title" content={props.title} />
      {props.description ? <meta property="og:description" content={props.description} /> : null}
      <meta property="og:url" content={props.url} />
      {image ? <meta property="og:image" content={image.url} /> : null}
      {image?.alt ? <meta property="og:image:alt" content={image.alt} /> : null}
      {props.publishedTime ? (
        <meta property="article:published_time" content={props.publishedTime.toISOString()} />
      ) : null}
      <meta name="twitter:card" content={image ? 'summary_large_image' : 'summary'} />
      <meta name="twitter:title" content={props.title} />
      {props.description ? <meta name="twitter:description" content={props.description} /> : null}
      {image ? <meta name="twitter:image" content={image.url} /> : null}
      {image?.alt ? <meta name="twitter:image:alt" content={image.alt} /> : null}
    </>
  );
}

async function notFoundPage(c: PublicContext, settings?: Settings) {
  const lang = langOf(c);
  const t = siteStrings(lang);
  return renderSite(
    c,
    {
      lang,
      title: t.notFound.title,
      settings: settings ?? (await settingsOf(c)),
      path: c.req.path,
      status: 404,
      noindex: true,
    },
    <>
      <p>{t.notFound.body}</p>
      <ul>
        <li>
          <a href={href('/', lang)}>{t.notFound.home}</a>
        </li>
        <li>
          <a href={href('/nieuwsbrieven', lang)}>{t.notFound.archive}</a>
        </li>
      </ul>
    </>,
  );
}

/* ---------------------------------------------------------------------------------- components */

function programmeDescription(settings: Settings, lang: Locale): { text: string; lang: Locale } {
  if (lang === 'en' && settings.programmeDescriptionEn)
    return { text: settings.programmeDescriptionEn, lang: 'en' };
  return { text: settings.programmeDescription, lang: 'nl' };
}

function EditionSummary(props: { edition: ArchivedEdition; lang: Locale; t: SiteStrings; headingLevel?: 3 }) {
  const { edition, lang, t } = props;
  const link = (
    <a
      href={href(`/nieuwsbrieven/${encodeURIComponent(edition.slug)}`, lang)}
      lang={edition.locale !== lang ? edition.locale : undefined}
    >
      {edition.title}
    </a>
  );
  return (
    <>
      {props.headingLevel === 3 ? <h3>{link}</h3> : <p>{link}</p>}
      <p class="meta">
        <time datetime={edition.sentAt.toISOString()}>{formatDate(edition.sentAt, t)}</time>
      </p>
      {edition.preheader ? (
        <p lang={edition.locale !== lang ? edition.locale : undefined}>{edition.preheader}</p>
      ) : null}
    </>
  );
}

function DocumentLink(props: { doc: DocumentRow; lang: Locale; t: SiteStrings }) {
  const { doc, lang, t } = props;
  if (doc.kind === 'file' && doc.file_format) {
    const info = `${DOCUMENT_FORMATS[doc.file_format].label}, ${formatSize(Number(doc.file_size ?? 0), lang)}`;
    return (
      <a href={documentFilePath(doc)} type={DOCUMENT_FORMATS[doc.file_format].contentType}>
        {doc.title} <span class="hint-inline">({info})</span>
      </a>
    );
  }
  // Checked again here: a row written past the API (an import, a hand edit) must not put a
  // javascript: or data: address into a link.
  const url = safeUrl(doc.url, 'web');
  if (!url) return <span>{doc.title}</span>;
  return (
    <a href={url}>
      {doc.title}{' '}
      <span class="hint-inline">
        ({t.documents.link}: {hostOf(url)})
      </span>
    </a>
  );
}

function DocumentItem(props: { doc: DocumentRow; lang: Locale; t: SiteStrings; withId?: boolean }) {
  const { doc, lang, t } = props;
  return (
    <li id={props.withId ? `document-${doc.id}` : undefined}>
      <DocumentLink doc={doc} lang={lang} t={t} />
      <p class="meta">
        <time datetime={doc.document_date}>{formatDay(doc.document_date, t)}</time>
      </p>
      {doc.summary ? <p>{doc.summary}</p> : null}
    </li>
  );
}

function inlineNode(segment: InlineSegment): Child {
  let node: Child = segment.text;
  if (segment.kind === 'link') node = <a href={segment.url}>{segment.text}</a>;
  if (segment.italic) node = <em>{node}</em>;
  if (segment.bold) node = <strong>{node}</strong>;
  return node;
}

function Inline(props: { segments: InlineSegment[] }) {
  return (
    <>
      {props.segments.map((segment, index) => (
        <Fragment key={String(index)}>{inlineNode(segment)}</Fragment>
      ))}
    </>
  );
}

function blockNode(block: Block, heading: { seenLevel2: boolean }): Child {
  switch (block.type) {
    case 'heading': {
      const level = block.level === 3 && heading.seenLevel2 ? 3 : 2;
      heading.seenLevel2 = true;
      return level === 3 ? <h3>{block.text}</h3> : <h2>{block.text}</h2>;
    }
    case 'paragraph':
      return (
        <p>
          <Inline segments={parseInline(block.text)} />
        </p>
      );
    case 'image': {
      const image = (
        <img src={block.url} alt={block.alt} width={block.width ?? 560} loading="lazy" decoding="async" />
      );
      return <p>{block.href ? <a href={block.href}>{image}</a> : image}</p>;
    }
    case 'button':
      return (
        <p>
          <a class="button" href={block.url}>
            {block.label}
          </a>
        </p>
      );
    case 'divider':
      return <hr />;
    case 'links':
      heading.seenLevel2 = heading.seenLevel2 || Boolean(block.heading);
      return (
        <>
          {block.heading ? <h2>{block.heading}</h2> : null}
          <ul class="items">
            {block.items.map((item) => (
              <li key={item.url}>
                <a href={item.url}>{item.title}</a>
                {item.summary ? <p>{item.summary}</p> : null}
              </li>
            ))}
          </ul>
        </>
      );
  }
}

/**
 * An edition's blocks as plain, accessible HTML (the same content as the email, without its
 * layout tables and without personal links). Headings never skip a level: a level-3 heading
 * before any level-2 one is shown as level 2.
 */
function EditionBlocks(props: { blocks: Block[] }) {
  const heading = { seenLevel2: false };
  return (
    <>
      {props.blocks.map((block, index) => (
        <Fragment key={String(index)}>{blockNode(block, heading)}</Fragment>
      ))}
    </>
  );
}

/* ------------------------------------------------------------------------------------- pages */

async function homePage(c: PublicContext) {
  const lang = langOf(c);
  const t = siteStrings(lang);
  const p = pageStrings(lang);
  const { db } = c.var.deps;
  const settings = await settingsOf(c);
  const [latest] = await listSentEditions(db, { limit: 1 });
  const documents = await latestPublishedDocuments(db, 3);
  const form = await formData(c, lang);
  const description = programmeDescription(settings, lang);
  const base = baseUrl(c);
  return renderSite(
    c,
    {
      lang,
      title: settings.programmeName,
      documentTitle: settings.programmeName,
      settings,
      path: '/',
      description: description.text,
      head: (
        <ShareTags
          type="website"
          title={settings.programmeName}
          description={description.text}
          url={`${base}${href('/', lang)}`}
          siteName={settings.programmeName}
          lang={lang}
          image={settings.siteImageUrl ? { url: settings.siteImageUrl, alt: null } : null}
        />
      ),
    },
    <>
      <p lang={description.lang !== lang ? description.lang : undefined}>{description.text}</p>

      <section aria-labelledby="laatste">
        <h2 id="laatste">{t.home.latestHeading}</h2>
        {latest ? (
          <EditionSummary edition={latest} lang={lang} t={t} headingLevel={3} />
        ) : (
          <p>{t.home.latestNone}</p>
        )}
        <p>
          <a href={href('/nieuwsbrieven', lang)}>{t.home.allEditions}</a>
        </p>
      </section>

      {documents.length > 0 ? (
        <section aria-labelledby="documenten">
          <h2 id="documenten">{t.home.documentsHeading}</h2>
          <ul class="items">
            {documents.map((doc) => (
              <DocumentItem key={doc.id} doc={doc} lang={lang} t={t} />
            ))}
          </ul>
          <p>
            <a href={href('/documenten', lang)}>{t.home.allDocuments}</a>
          </p>
        </section>
      ) : null}

      <section aria-labelledby="aanmelden">
        <h2 id="aanmelden">{t.home.signupHeading}</h2>
        <p>{p.subscribe.intro}</p>
        <SignupForm
          t={p}
          lang={lang}
          data={form}
          values={defaultValues(c, lang)}
          errors={{}}
          action="/subscribe"
          embed={false}
        />
      </section>

      <section aria-labelledby="contact">
        <h2 id="contact">{t.home.contactHeading}</h2>
        <p>
          {settings.programmeName}
          <br />
          {settings.postalAddress}
        </p>
        {settings.contactEmail ? (
          <p>
            {t.home.contact} <a href={`mailto:${settings.contactEmail}`}>{settings.contactEmail}</a>.
          </p>
        ) : null}
        <p>
          {t.home.feeds} <a href="/feed.xml">{t.feeds.rss}</a>, <a href="/atom.xml">{t.feeds.atom}</a>.
        </p>
      </section>
    </>,
  );
}

async function documentsPage(c: PublicContext) {
  const lang = langOf(c);
  const t = siteStrings(lang);
  const settings = await settingsOf(c);
  const documents = await listDocuments(c.var.deps.db, { publishedOnly: true });
  const groups: { slug: string; name: string; position: number; documents: DocumentRow[] }[] = [];
  for (const doc of documents) {
    let group = groups.find((g) => g.slug === doc.category_slug);
    if (!group) {
      group = {
        slug: doc.category_slug,
        name: lang === 'en' ? doc.category_name_en : doc.category_name_nl,
        position: doc.category_position,
        documents: [],
      };
      groups.push(group);
    }
    group.documents.push(doc);
  }
  groups.sort((a, b) => a.position - b.position || a.name.localeCompare(b.name));
  return renderSite(
    c,
    { lang, title: t.documents.title, settings, path: '/documenten', description: t.documents.intro },
    <>
      <p>{t.documents.intro}</p>
      {groups.length === 0 ? <p>{t.documents.none}</p> : null}
      {groups.map((group) => (
        <section key={group.slug} aria-labelledby={`categorie-${group.slug}`}>
          <h2 id={`categorie-${group.slug}`}>{group.name}</h2>
          <ul class="items">
            {group.documents.map((doc) => (
              <DocumentItem key={doc.id} doc={doc} lang={lang} t={t} withId />
            ))}
          </ul>
        </section>
      ))}
    </>,
  );
}

async function archivePage(c: PublicContext) {
  const lang = langOf(c);
  const t = siteStrings(lang);
  const settings = await settingsOf(c);
  const years = await sentEditionsByYear(c.var.deps.db);
  return renderSite(
    c,
    { lang, title: t.archive.title, settings, path: '/nieuwsbrieven', description: t.archive.intro },
    <>
      <p>{t.archive.intro}</p>
      {years.length === 0 ? <p>{t.archive.none}</p> : null}
      {years.map((group) => (
        <section key={group.year} aria-labelledby={`jaar-${group.year}`}>
          <h2 id={`jaar-${group.year}`}>{t.archive.year(group.year)}</h2>
          <ul class="items">
            {group.editions.map((edition) => (
              <li key={edition.id}>
                <EditionSummary edition={edition} lang={lang} t={t} />
              </li>
            ))}
          </ul>
        </section>
      ))}
    </>,
  );
}

async function editionPage(c: PublicContext) {
  const slug = c.req.param('slug') ?? '';
  const edition: WebEdition | null = /^[a-z0-9-]{1,200}$/i.test(slug)
    ? await getSentEdition(c.var.deps.db, slug)
    : null;
  if (!edition) return notFoundPage(c);
  // An edition written in English reads in English by default; ?lang= still decides.
  const lang = langOf(c, edition.locale);
  const t = siteStrings(lang);
  const settings = await settingsOf(c);
  const base = baseUrl(c);
  const path = `/nieuwsbrieven/${encodeURIComponent(edition.slug)}`;
  const image =
    editionImage(edition) ?? (settings.siteImageUrl ? { url: settings.siteImageUrl, alt: null } : null);
  const contentLang = edition.locale !== lang ? edition.locale : undefined;
  return renderSite(
    c,
    {
      lang,
      title: edition.title,
      titleLang: contentLang,
      settings,
      path,
      defaultLang: edition.locale,
      description: edition.preheader || undefined,
      head: (
        <ShareTags
          type="article"
          title={edition.title}
          description={edition.preheader}
          url={pageUrl(base, path, lang, edition.locale)}
          siteName={settings.programmeName}
          lang={edition.locale}
          image={image}
          publishedTime={edition.sentAt}
        />
      ),
    },
    <>
      <p class="meta">
        {t.edition.sentOn}{' '}
        <time datetime={edition.sentAt.toISOString()}>{formatDate(edition.sentAt, t)}</time>
      </p>
      <article lang={contentLang}>
        <EditionBlocks blocks={edition.blocks} />
      </article>
      <hr />
      <p>
        {t.edition.subscribe} <a href={href('/subscribe', lang)}>{t.edition.subscribeLink}</a>
      </p>
      <p>
        <a href={href('/nieuwsbrieven', lang)}>{t.edition.back}</a>
      </p>
    </>,
  );
}

/* ------------------------------------------------------------------------------------- files */

/** Old links keep working: `/documenten/<id>` and a stale file name redirect to the current one. */
async function publishedDocument(c: PublicContext): Promise<DocumentRow | null> {
  const id = c.req.param('id') ?? '';
  if (!/^\d{1,18}$/.test(id)) return null;
  try {
    const doc = await getDocument(c.var.deps.db, id);
    return doc.published_at ? doc : null;
  } catch (error) {
    if (error instanceof NotFound) return null;
    throw error;
  }
}

async function documentRedirect(c: PublicContext) {
  const doc = await publishedDocument(c);
  if (!doc) return notFoundPage(c);
  const lang = queryLang(c);
  if (doc.kind === 'file') return c.redirect(documentFilePath(doc), 301);
  return c.redirect(href(documentAnchorPath(doc), lang ?? 'nl'), 301);
}

async function serveFile(c: PublicContext) {
  const doc = await publishedDocument(c);
  if (doc?.kind !== 'file' || !doc.file_format || !doc.file_sha256) return notFoundPage(c);
  const canonical = documentFilePath(doc);
  if (c.req.path !== canonical) return c.redirect(canonical, 301);
  const etag = `"${doc.file_sha256}"`;
  const format = DOCUMENT_FORMATS[doc.file_format];
  const headers: Record<string, string> = {
    'cache-control': 'public, max-age=3600',
    etag,
    'last-modified': (doc.published_at ?? doc.updated_at).toUTCString(),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'SAMEORIGIN',
    'referrer-policy': 'strict-origin-when-cross-origin',
    // No default-src (it would also forbid the browser's own PDF viewer through object-src).
    'content-security-policy': "frame-ancestors 'self'; base-uri 'none'; form-action 'none'",
    ...(baseUrl(c).startsWith('https:') ? { 'strict-transport-security': 'max-age=31536000' } : {}),
  };
  const ifNoneMatch = c.req.header('if-none-match');
  if (ifNoneMatch?.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) {
    return c.body(null, 304, headers);
  }
  const chunks = documentChunks(c.var.deps.db, doc.id);
  const logger = c.var.logger;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      } catch (error) {
        logger.error({ err: error }, 'document download failed while streaming');
        controller.error(error);
      }
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
  return c.body(body, 200, {
    ...headers,
    'content-type': format.contentType,
    'content-length': String(doc.file_size),
    'content-disposition': contentDisposition('inline', downloadName(doc), `${doc.slug}.${doc.file_format}`),
  });
}

/* ------------------------------------------------------------------------------ feeds and maps */

/** Text for XML: characters XML 1.0 forbids are dropped, markup characters escaped. */
export function xmlText(value: string): string {
  return value
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/**
 * Text for an RSS description, which readers take as entity-encoded HTML: escaped for HTML and
 * then for XML, so that after decoding it is still text, never markup.
 */
function rssDescription(value: string): string {
  return xmlText(xmlText(value));
}

function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

interface FeedItem {
  id: string;
  title: string;
  link: string;
  summary: string;
  published: Date;
  updated: Date;
  category: string;
  enclosure?: { url: string; type: string; length: number };
}

async function feedItems(c: PublicContext): Promise<FeedItem[]> {
  const { db } = c.var.deps;
  const base = baseUrl(c);
  const editions = await listSentEditions(db, { limit: FEED_LIMIT });
  const documents = await latestPublishedDocuments(db, FEED_LIMIT);
  const items: FeedItem[] = [
    ...editions.map((edition) => ({
      id: `${base}/nieuwsbrieven/${encodeURIComponent(edition.slug)}`,
      title: edition.title,
      link: `${base}/nieuwsbrieven/${encodeURIComponent(edition.slug)}`,
      summary: edition.preheader,
      published: edition.sentAt,
      updated: edition.sentAt,
      category: 'Nieuwsbrief',
    })),
    ...documents.map((doc) => {
      const file = doc.kind === 'file' && doc.file_format ? doc.file_format : null;
      return {
        id: `${base}${documentAnchorPath(doc)}`,
        title: doc.title,
        link: file ? `${base}${documentFilePath(doc)}` : (doc.url ?? `${base}${documentAnchorPath(doc)}`),
        summary: doc.summary,
        published: doc.published_at!,
        updated: new Date(Math.max(doc.updated_at.getTime(), doc.published_at!.getTime())),
        category: doc.category_name_nl,
        ...(file
          ? {
              enclosure: {
                url: `${base}${documentFilePath(doc)}`,
                type: DOCUMENT_FORMATS[file].contentType,
                length: Number(doc.file_size ?? 0),
              },
            }
          : {}),
      };
    }),
  ];
  items.sort((a, b) => b.published.getTime() - a.published.getTime());
  return items.slice(0, FEED_LIMIT);
}

function xmlResponse(c: PublicContext, type: string, xml: string) {
  return c.body(xml, 200, { 'content-type': `${type}; charset=utf-8`, 'cache-control': PAGE_CACHE });
}

async function rssFeed(c: PublicContext) {
  const settings = await settingsOf(c);
  const base = baseUrl(c);
  const items = await feedItems(c);
  const t = siteStrings('nl');
  const built = items[0]?.updated ?? c.var.deps.clock.now();
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">',
    '<channel>',
    `<title>${xmlText(settings.programmeName)}</title>`,
    `<link>${xmlText(`${base}/`)}</link>`,
    `<description>${rssDescription(t.feeds.description(settings.programmeName))}</description>`,
    '<language>nl</language>',
    `<lastBuildDate>${built.toUTCString()}</lastBuildDate>`,
    `<atom:link href="${xmlText(`${base}/feed.xml`)}" rel="self" type="application/rss+xml"/>`,
    ...items.map((item) =>
      [
        '<item>',
        `<title>${xmlText(item.title)}</title>`,
        `<link>${xmlText(item.link)}</link>`,
        `<guid isPermaLink="true">${xmlText(item.id)}</guid>`,
        `<pubDate>${item.published.toUTCString()}</pubDate>`,
        item.summary ? `<description>${rssDescription(item.summary)}</description>` : '',
        `<category>${xmlText(item.category)}</category>`,
        item.enclosure
          ? `<enclosure url="${xmlText(item.enclosure.url)}" length="${item.enclosure.length}" type="${xmlText(item.enclosure.type)}"/>`
          : '',
        '</item>',
      ]
        .filter(Boolean)
        .join(''),
    ),
    '</channel>',
    '</rss>',
  ];
  return xmlResponse(c, 'application/rss+xml', `${lines.join('\n')}\n`);
}

async function atomFeed(c: PublicContext) {
  const settings = await settingsOf(c);
  const base = baseUrl(c);
  const items = await feedItems(c);
  const t = siteStrings('nl');
  const updated = items.reduce<Date | null>(
    (max, item) => (!max || item.updated > max ? item.updated : max),
    null,
  );
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="nl">',
    `<id>${xmlText(`${base}/`)}</id>`,
    `<title>${xmlText(settings.programmeName)}</title>`,
    `<subtitle>${xmlText(t.feeds.description(settings.programmeName))}</subtitle>`,
    `<updated>${rfc3339(updated ?? c.var.deps.clock.now())}</updated>`,
    `<link rel="self" type="application/atom+xml" href="${xmlText(`${base}/atom.xml`)}"/>`,
    `<link rel="alternate" type="text/html" href="${xmlText(`${base}/`)}"/>`,
    `<author><name>${xmlText(settings.programmeName)}</name>${
      settings.contactEmail ? `<email>${xmlText(settings.contactEmail)}</email>` : ''
    }</author>`,
    ...items.map((item) =>
      [
        '<entry>',
        `<id>${xmlText(item.id)}</id>`,
        `<title type="text">${xmlText(item.title)}</title>`,
        `<link rel="alternate" href="${xmlText(item.link)}"/>`,
        item.enclosure
          ? `<link rel="enclosure" type="${xmlText(item.enclosure.type)}" length="${item.enclosure.length}" href="${xmlText(item.enclosure.url)}"/>`
          : '',
        `<published>${rfc3339(item.published)}</published>`,
        `<updated>${rfc3339(item.updated)}</updated>`,
        item.summary ? `<summary type="text">${xmlText(item.summary)}</summary>` : '',
        `<category term="${xmlText(item.category)}"/>`,
        '</entry>',
      ]
        .filter(Boolean)
        .join(''),
    ),
    '</feed>',
  ];
  return xmlResponse(c, 'application/atom+xml', `${lines.join('\n')}\n`);
}

async function sitemap(c: PublicContext) {
  const { db } = c.var.deps;
  const base = baseUrl(c);
  const editions = await listSentEditions(db);
  const files = await listDocuments(db, { publishedOnly: true, kind: 'file' });
  const url = (loc: string, lastmod?: string) =>
    `<url><loc>${xmlText(loc)}</loc>${lastmod ? `<lastmod>${lastmod}</lastmod>` : ''}</url>`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    url(`${base}/`),
    url(`${base}/documenten`),
    url(`${base}/nieuwsbrieven`, editions[0] ? amsterdamDay(editions[0].sentAt) : undefined),
    ...editions.map((edition) =>
      url(`${base}/nieuwsbrieven/${encodeURIComponent(edition.slug)}`, amsterdamDay(edition.updatedAt)),
    ),
    ...files.map((doc) => url(`${base}${documentFilePath(doc)}`, amsterdamDay(doc.updated_at))),
    '</urlset>',
  ];
  return xmlResponse(c, 'application/xml', `${lines.join('\n')}\n`);
}

/** Crawlers may read the public site; never the admin, the API, the dev tools or personal links. */
function robots(c: PublicContext) {
  const lines = [
    'User-agent: *',
    'Allow: /',
    'Disallow: /admin',
    'Disallow: /api',
    'Disallow: /dev',
    'Disallow: /confirm',
    'Disallow: /unsubscribe',
    'Disallow: /preferences',
    '',
    `Sitemap: ${baseUrl(c)}/sitemap.xml`,
  ];
  return c.body(`${lines.join('\n')}\n`, 200, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'public, max-age=3600',
  });
}

export function sitePages() {
  const app = new Hono<AppEnv>();
  app.get('/', homePage);
  app.get('/documenten', documentsPage);
  app.get('/documenten/:id{[0-9]+}', documentRedirect);
  app.get('/documenten/:id{[0-9]+}/:file', serveFile);
  app.get('/nieuwsbrieven', archivePage);
  app.get('/nieuwsbrieven/:slug', editionPage);
  app.get('/feed.xml', rssFeed);
  app.get('/atom.xml', atomFeed);
  app.get('/sitemap.xml', sitemap);
  app.get('/robots.txt', robots);
  return app;
}
