/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';
import { siteStrings } from './i18n.js';

const styles = `
:root { color-scheme: light dark; --fg: #1a1a1a; --bg: #fff; --accent: #0b5394; --muted: #555; --border: #c8c8c8; --error: #b00020; }
@media (prefers-color-scheme: dark) { :root { --fg: #f0f0f0; --bg: #161616; --accent: #8ab4f8; --muted: #bbb; --border: #555; --error: #ff8a80; } }
* { box-sizing: border-box; }
body { margin: 0; font: 1rem/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
.skip { position: absolute; left: -10000px; } .skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: .5rem; }
header, main, footer { max-width: 60rem; margin: 0 auto; padding: 1rem; }
header { display: flex; gap: 1rem; align-items: baseline; border-bottom: 1px solid var(--border); }
header nav { display: flex; gap: 1rem; flex-wrap: wrap; }
label { display: block; font-weight: 600; margin-top: 1rem; }
input[type=email], input[type=password], input[type=text] { width: 100%; max-width: 28rem; padding: .5rem; font: inherit; border: 1px solid var(--muted); border-radius: 4px; background: var(--bg); color: var(--fg); }
button { margin-top: 1rem; padding: .6rem 1.2rem; font: inherit; background: var(--accent); color: var(--bg); border: 0; border-radius: 4px; cursor: pointer; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.error { color: var(--error); font-weight: 600; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .4rem; border-bottom: 1px solid var(--border); vertical-align: top; }
pre { white-space: pre-wrap; word-break: break-word; border: 1px solid var(--border); padding: .5rem; }
iframe { width: 100%; height: 70vh; border: 1px solid var(--border); background: #fff; }
`;

export function Layout(props: {
  title: string;
  lang?: 'nl' | 'en';
  nav?: Child;
  /** Extra CSS for a family of pages (the admin's). */
  styles?: string;
  children: Child;
}) {
  return (
    <html lang={props.lang ?? 'nl'}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Thuispost`}</title>
        <style>{styles + (props.styles ?? '')}</style>
      </head>
      <body>
        <a class="skip" href="#inhoud">
          Naar de inhoud
        </a>
        <header>
          <strong>Thuispost</strong>
          {props.nav}
        </header>
        <main id="inhoud">
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  );
}

export function FormError(props: { id: string; message: string | undefined }) {
  return props.message ? (
    <p id={props.id} class="error" role="alert">
      {props.message}
    </p>
  ) : null;
}

const publicStyles = `
header .lang { margin-left: auto; }
footer { border-top: 1px solid var(--border); color: var(--muted); font-size: .9rem; margin-top: 2rem; }
fieldset { border: 1px solid var(--border); border-radius: 4px; margin: 1rem 0 0; padding: .5rem 1rem 1rem; max-width: 36rem; }
legend { font-weight: 600; padding: 0 .25rem; }
fieldset label { font-weight: normal; margin-top: .5rem; display: flex; gap: .5rem; align-items: flex-start; }
input[type=checkbox], input[type=radio] { width: 1.25rem; height: 1.25rem; margin: .15rem 0 0; flex: none; accent-color: var(--accent); }
textarea { width: 100%; max-width: 36rem; min-height: 5rem; padding: .5rem; font: inherit; border: 1px solid var(--muted); border-radius: 4px; background: var(--bg); color: var(--fg); }
.hint { color: var(--muted); margin: .25rem 0 0; max-width: 36rem; }
.field-error { color: var(--error); font-weight: 600; margin: .25rem 0 0; }
input[aria-invalid=true], textarea[aria-invalid=true] { border: 2px solid var(--error); }
fieldset label.field { display: block; font-weight: 600; margin-top: 1rem; }
.summary { border: 3px solid var(--error); padding: .5rem 1rem; margin: 1rem 0; max-width: 36rem; }
.summary h2 { font-size: 1.1rem; margin: .25rem 0; }
.status { border-left: 6px solid var(--accent); padding: .5rem 1rem; margin: 1rem 0; max-width: 36rem; }
.hp { position: absolute; left: -10000px; width: 1px; height: 1px; overflow: hidden; }
button.secondary { background: transparent; color: var(--accent); border: 2px solid var(--accent); }
form.inline { display: inline; }
main p, main ul { max-width: 40rem; }
header { flex-wrap: wrap; }
nav.site ul { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: 0; padding: 0; }
nav.site a { display: inline-block; padding: .25rem 0; }
nav.site a[aria-current=page] { font-weight: 700; text-decoration-thickness: 3px; text-underline-offset: .3em; }
`;

/** The public site's sections; the current one is marked with aria-current (and bold, not by colour only). */
function SiteNav(props: { lang: 'nl' | 'en'; currentPath: string | undefined }) {
  const t = siteStrings(props.lang).nav;
  const suffix = props.lang === 'en' ? '?lang=en' : '';
  const items = [
    { path: '/', label: t.home },
    { path: '/documenten', label: t.documents },
    { path: '/nieuwsbrieven', label: t.archive },
    { path: '/subscribe', label: t.subscribe },
  ];
  return (
    <nav class="site" aria-label={t.label}>
      <ul>
        {items.map((item) => (
          <li key={item.path}>
            <a
              href={`${item.path}${suffix}`}
              aria-current={props.currentPath === item.path ? 'page' : undefined}
            >
              {item.label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

/** The public pages (signup, confirm, unsubscribe, preferences): own language, switch, programme footer. */
export function PublicLayout(props: {
  title: string;
  lang: 'nl' | 'en';
  programmeName: string;
  postalAddress: string;
  contactEmail?: string;
  skipLink: string;
  /** The same page in the other language, or null where there is none (after a POST). */
  languageSwitch: { href: string; label: string; lang: 'nl' | 'en'; navLabel: string } | null;
  /** Compact variant for the embeddable snippet: no header or footer. */
  embed?: boolean;
  footerContact?: string;
  /** The request path, to mark the current section in the site navigation. */
  currentPath?: string;
  /** Extra elements for <head> (canonical link, OpenGraph tags, feeds). */
  head?: Child;
  /** The document title, when it should differ from "<title> · <programme>". */
  documentTitle?: string;
  /** The language of the h1, when it differs from the page's. */
  titleLang?: 'nl' | 'en';
  children: Child;
}) {
  return (
    <html lang={props.lang}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="strict-origin-when-cross-origin" />
        <title>{props.documentTitle ?? `${props.title} · ${props.programmeName}`}</title>
        {props.head}
        <style>{styles + publicStyles}</style>
      </head>
      <body>
        {props.embed ? (
          <main id="inhoud">
            <h1>{props.title}</h1>
            {props.children}
          </main>
        ) : (
          <>
            <a class="skip" href="#inhoud">
              {props.skipLink}
            </a>
            <header>
              <strong>{props.programmeName}</strong>
              <SiteNav lang={props.lang} currentPath={props.currentPath} />
              {props.languageSwitch ? (
                <nav class="lang" aria-label={props.languageSwitch.navLabel}>
                  <a
                    href={props.languageSwitch.href}
                    hreflang={props.languageSwitch.lang}
                    lang={props.languageSwitch.lang}
                  >
                    {props.languageSwitch.label}
                  </a>
                </nav>
              ) : null}
            </header>
            <main id="inhoud">
              <h1 lang={props.titleLang}>{props.title}</h1>
              {props.children}
            </main>
            <footer>
              <p>
                {props.programmeName}
                <br />
                {props.postalAddress}
                {props.footerContact ? (
                  <>
                    <br />
                    {props.footerContact}
                  </>
                ) : null}
              </p>
            </footer>
          </>
        )}
      </body>
    </html>
  );
}
