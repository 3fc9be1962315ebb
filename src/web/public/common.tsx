/** @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../../api/deps.js';
import type { Locale } from '../../db/schema.js';
import type { ConsentEvidence } from '../../domain/consent.js';
import { getSettings, type Settings } from '../../domain/settings.js';
import { isLocale, LOCALES, pageStrings } from '../i18n.js';
import { PublicLayout } from '../layout.js';

export type PublicContext = Context<AppEnv>;

/** `?lang=en` / `?lang=nl`, or null when absent or unknown. */
export function queryLang(c: PublicContext): Locale | null {
  const lang = c.req.query('lang');
  return isLocale(lang) ? lang : null;
}

/** The same address with `lang` set: the language switch (other query parameters stay). */
export function withLang(c: PublicContext, lang: Locale): string {
  const url = new URL(c.req.url);
  url.searchParams.set('lang', lang);
  return `${url.pathname}?${url.searchParams.toString()}`;
}

/** Never a raw IP address in the database: its keyed pseudonym (AppDeps.pseudonyms), enough to count and to correlate. */
export function ipHash(c: PublicContext): string {
  return c.var.deps.pseudonyms.ip(c.var.deps.clientIp(c));
}

export function evidence(c: PublicContext, source: string): ConsentEvidence {
  return {
    source,
    ipHash: ipHash(c),
    userAgent: c.req.header('user-agent') ?? null,
  };
}

/** Removes control characters (a NUL would make Postgres refuse the text) and folds whitespace. */
export function cleanText(value: string): string {
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    out += code < 0x20 || code === 0x7f ? ' ' : char;
  }
  return out.replace(/\s+/g, ' ').trim();
}

export function isFormPost(c: PublicContext): boolean {
  const type = c.req.header('content-type') ?? '';
  return /^(?:application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type);
}

/** A form body as strings (repeated fields as arrays); files and unreadable bodies are ignored. */
export async function formFields(c: PublicContext): Promise<Record<string, string | string[]>> {
  if (!isFormPost(c)) return {};
  // A body that does not match its content type reads as no fields: the token in the path is what counts.
  const body = await c.req.parseBody({ all: true }).catch(() => ({}));
  const fields: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(body)) {
    if (typeof value === 'string') fields[name] = value;
    else if (Array.isArray(value)) fields[name] = value.filter((v): v is string => typeof v === 'string');
  }
  return fields;
}

export function one(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return '';
}

export function many(value: unknown): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && v !== '');
  return [];
}

export interface PageOptions {
  lang: Locale;
  title: string;
  settings: Settings;
  status?: ContentfulStatusCode;
  embed?: boolean;
  /** Show the language switch (pages reached by GET; after a POST it links to the GET page). */
  switchTo?: string | null;
}

/** Renders a public page in its language, with programme name, address and language switch. */
export function renderPage(c: PublicContext, options: PageOptions, body: Child) {
  const t = pageStrings(options.lang);
  const other = t.languageSwitch.otherLang;
  // Personal pages must not be kept by shared caches or shown from history to the next user.
  c.header('cache-control', 'no-store');
  return c.html(
    <PublicLayout
      title={options.title}
      lang={options.lang}
      programmeName={options.settings.programmeName}
      postalAddress={options.settings.postalAddress}
      footerContact={
        options.settings.contactEmail ? t.footerContact(options.settings.contactEmail) : undefined
      }
      skipLink={t.skipLink}
      embed={options.embed}
      currentPath={c.req.path}
      languageSwitch={
        options.switchTo === null
          ? null
          : {
              href: options.switchTo ?? withLang(c, other),
              label: t.languageSwitch.other,
              lang: other,
              navLabel: t.languageSwitch.label,
            }
      }
    >
      {body}
    </PublicLayout>,
    options.status ?? 200,
  );
}

export async function settingsOf(c: PublicContext): Promise<Settings> {
  return getSettings(c.var.deps.db);
}

/** A field's message, linked from the field by aria-describedby (`<name>-error`). */
export function FieldError(props: { id: string; message: string | undefined; prefix: string }) {
  return props.message ? (
    <p id={props.id} class="field-error">
      <span aria-hidden="true">⚠ </span>
      {props.prefix}: {props.message}
    </p>
  ) : null;
}

/** All errors at the top of the form, announced at once, each linking to its field. */
export function ErrorSummary(props: { heading: string; items: { href: string; message: string }[] }) {
  if (props.items.length === 0) return null;
  return (
    <div class="summary" role="alert" aria-labelledby="error-summary-title">
      <h2 id="error-summary-title">{props.heading}</h2>
      <ul>
        {props.items.map((item) => (
          <li key={item.href}>
            <a href={item.href}>{item.message}</a>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** `a b` ids for aria-describedby, without empty parts. */
export function describedBy(...ids: (string | false | null | undefined)[]): string | undefined {
  const list = ids.filter((id): id is string => typeof id === 'string' && id !== '');
  return list.length > 0 ? list.join(' ') : undefined;
}

/** The language choice (nl/en), each option labelled in its own language; shared by signup and preferences. */
export function LocaleFieldset(props: {
  legend: string;
  selected: Locale;
  error: string | undefined;
  errorPrefix: string;
}) {
  return (
    <fieldset aria-describedby={describedBy(props.error && 'locale-error')}>
      <legend>{props.legend}</legend>
      <FieldError id="locale-error" message={props.error} prefix={props.errorPrefix} />
      {LOCALES.map((locale) => (
        <label key={locale} for={`locale-${locale}`}>
          <input
            type="radio"
            id={`locale-${locale}`}
            name="locale"
            value={locale}
            checked={props.selected === locale}
          />
          <span lang={locale}>{pageStrings(locale).languageName}</span>
        </label>
      ))}
    </fieldset>
  );
}
