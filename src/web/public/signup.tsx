/** @jsxImportSource hono/jsx */

import { parseFormBody } from '../../api/forms.js';
import { problem } from '../../api/problem.js';
import type { Locale } from '../../db/schema.js';
import { currentConsentText } from '../../domain/consent.js';
import { normaliseEmail } from '../../domain/email-address.js';
import { Invalid, TooManyRequests } from '../../domain/errors.js';
import { hit } from '../../domain/rate-limits.js';
import type { Settings } from '../../domain/settings.js';
import { directSignups } from '../../domain/subscribers.js';
import { isLocale, type PageStrings, pageStrings } from '../i18n.js';
import {
  cleanText,
  describedBy,
  ErrorSummary,
  evidence,
  FieldError,
  ipHash,
  isFormPost,
  LocaleFieldset,
  many,
  one,
  type PublicContext,
  queryLang,
  renderPage,
  settingsOf,
} from './common.js';

/** A signup form is valid for a day after it was shown, and not before 2 s (people are slower). */
export const FORM_TOKEN_TTL_SECONDS = 24 * 3600;
export const FORM_MIN_FILL_MS = 2_000;
/** Per IP (hashed): at most this many signup posts per window, whatever their outcome. */
export const SIGNUP_IP_LIMIT = { limit: 20, windowMs: 10 * 60 * 1000 };
export const SIGNUP_BODY_LIMIT = 16 * 1024;
const NAME_MAX = 100;
const MAX_TOPICS = 50;

type Field = 'email' | 'name' | 'topics' | 'locale' | 'consent' | 'consentVersion' | 'formToken';
type FieldErrors = Partial<Record<Field, string>>;

interface SignupValues {
  email: string;
  name: string;
  topics: string[];
  locale: Locale;
  consent: boolean;
}

interface FormTopic {
  id: string;
  slug: string;
  name: string;
  description: string;
}

interface SignupFormData {
  topics: FormTopic[];
  consentVersion: string;
  consentText: string;
  formToken: string;
}

async function publicTopics(c: PublicContext, lang: Locale): Promise<FormTopic[]> {
  const rows = await c.var.deps.db
    .selectFrom('topics')
    .select(['id', 'slug', 'name_nl', 'name_en', 'description_nl', 'description_en'])
    .where('archived_at', 'is', null)
    .where('public', '=', true)
    .orderBy('position')
    .orderBy('id')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    slug: row.slug,
    name: lang === 'en' ? row.name_en : row.name_nl,
    description: lang === 'en' ? row.description_en : row.description_nl,
  }));
}

/** What a form needs, with a fresh signed form token (the time trap starts now). */
export async function formData(c: PublicContext, lang: Locale): Promise<SignupFormData> {
  const consent = await currentConsentText(c.var.deps.db);
  return {
    topics: await publicTopics(c, lang),
    consentVersion: consent.version,
    consentText: lang === 'en' ? consent.text_en : consent.text_nl,
    formToken: c.var.deps.linkTokens.issue({ p: 'form' }, FORM_TOKEN_TTL_SECONDS),
  };
}

export function SignupForm(props: {
  t: PageStrings;
  lang: Locale;
  data: SignupFormData;
  values: SignupValues;
  errors: FieldErrors;
  action: string;
  embed: boolean;
}) {
  const { t, data, values, errors } = props;
  const firstTopicId = data.topics[0] ? `topic-${data.topics[0].slug}` : 'topics';
  const summary = (
    [
      ['email', '#email'],
      ['name', '#name'],
      ['topics', `#${firstTopicId}`],
      ['locale', `#locale-${values.locale}`],
      ['consent', '#consent'],
      ['consentVersion', '#consent'],
      ['formToken', '#signup-submit'],
    ] as const
  )
    .filter(([field]) => errors[field])
    .map(([field, href]) => ({ href, message: errors[field]! }));
  const consentError = errors.consent ?? errors.consentVersion;
  return (
    <form method="post" action={props.action} novalidate>
      <ErrorSummary heading={t.errorSummary} items={summary} />
      <input type="hidden" name="formToken" value={data.formToken} />
      <input type="hidden" name="consentVersion" value={data.consentVersion} />
      <input type="hidden" name="lang" value={props.lang} />
      {props.embed ? <input type="hidden" name="embed" value="1" /> : null}

      <label for="email">
        {t.subscribe.email} <span class="hint-inline">{t.required}</span>
      </label>
      <p id="email-hint" class="hint">
        {t.subscribe.emailHint}
      </p>
      <FieldError id="email-error" message={errors.email} prefix={t.errorPrefix} />
      <input
        id="email"
        name="email"
        type="email"
        autocomplete="email"
        inputmode="email"
        spellcheck={false}
        required
        maxlength={254}
        value={values.email}
        aria-invalid={errors.email ? 'true' : undefined}
        aria-describedby={describedBy('email-hint', errors.email && 'email-error')}
      />

      <label for="name">
        {t.subscribe.name} <span class="hint-inline">{t.optional}</span>
      </label>
      <FieldError id="name-error" message={errors.name} prefix={t.errorPrefix} />
      <input
        id="name"
        name="name"
        type="text"
        autocomplete="name"
        maxlength={NAME_MAX}
        value={values.name}
        aria-invalid={errors.name ? 'true' : undefined}
        aria-describedby={describedBy(errors.name && 'name-error')}
      />

      <fieldset aria-describedby={describedBy(errors.topics && 'topics-error')} id="topics">
        <legend>
          {t.subscribe.topics} <span class="hint-inline">{t.required}</span>
        </legend>
        <FieldError id="topics-error" message={errors.topics} prefix={t.errorPrefix} />
        {data.topics.map((topic) => (
          <label key={topic.id} for={`topic-${topic.slug}`}>
            <input
              type="checkbox"
              id={`topic-${topic.slug}`}
              name="topics"
              value={topic.slug}
              checked={values.topics.includes(topic.slug) || data.topics.length === 1}
              aria-invalid={errors.topics ? 'true' : undefined}
            />
            <span>
              {topic.name}
              {topic.description ? <span class="hint"> — {topic.description}</span> : null}
            </span>
          </label>
        ))}
      </fieldset>

      <LocaleFieldset
        legend={t.subscribe.locale}
        selected={values.locale}
        error={errors.locale}
        errorPrefix={t.errorPrefix}
      />

      <fieldset aria-describedby={describedBy(consentError && 'consent-error')}>
        <legend>
          {t.subscribe.consent} <span class="hint-inline">{t.required}</span>
        </legend>
        <FieldError id="consent-error" message={consentError} prefix={t.errorPrefix} />
        <label for="consent">
          <input
            type="checkbox"
            id="consent"
            name="consent"
            value="on"
            required
            checked={values.consent}
            aria-invalid={consentError ? 'true' : undefined}
          />
          <span>{data.consentText}</span>
        </label>
      </fieldset>

      {/* Honeypot: hidden from people (CSS, no tab stop, hidden from screen readers); bots fill it. */}
      <div class="hp" aria-hidden="true">
        <label for="website">{t.subscribe.honeypot}</label>
        <input id="website" name="website" type="text" tabindex={-1} autocomplete="off" value="" />
      </div>

      <FieldError id="formToken-error" message={errors.formToken} prefix={t.errorPrefix} />
      <button type="submit" id="signup-submit">
        {t.subscribe.submit}
      </button>
    </form>
  );
}

export function defaultValues(c: PublicContext, lang: Locale): SignupValues {
  return { email: '', name: '', topics: c.req.queries('topic') ?? [], locale: lang, consent: false };
}

function formAction(c: PublicContext): string {
  return `${c.var.deps.config.publicBaseUrl.replace(/\/+$/, '')}/subscribe`;
}

async function formPage(
  c: PublicContext,
  options: { lang: Locale; embed: boolean; values: SignupValues; errors?: FieldErrors; status?: 200 | 422 },
  settings?: Settings,
) {
  const t = pageStrings(options.lang);
  const resolved = settings ?? (await settingsOf(c));
  const data = await formData(c, options.lang);
  const hasErrors = Object.keys(options.errors ?? {}).length > 0;
  return renderPage(
    c,
    {
      lang: options.lang,
      title: options.embed ? t.subscribe.embedTitle : t.subscribe.title,
      settings: resolved,
      embed: options.embed,
      status: options.status ?? 200,
      switchTo: hasErrors
        ? `${options.embed ? '/subscribe/embed' : '/subscribe'}?lang=${t.languageSwitch.otherLang}`
        : undefined,
    },
    <>
      {options.embed ? null : <p>{resolved.programmeDescription}</p>}
      <p>{t.subscribe.intro}</p>
      <SignupForm
        t={t}
        lang={options.lang}
        data={data}
        values={options.values}
        errors={options.errors ?? {}}
        action={options.embed ? formAction(c) : '/subscribe'}
        embed={options.embed}
      />
    </>,
  );
}

/** GET /subscribe and GET /subscribe/embed (HTML, or JSON for a site's own form). */
export async function showSignupForm(c: PublicContext, embed: boolean) {
  const lang = queryLang(c) ?? 'nl';
  if (embed && wantsJson(c)) {
    const data = await formData(c, lang);
    return c.json({
      action: formAction(c),
      formToken: data.formToken,
      consentVersion: data.consentVersion,
      consentText: data.consentText,
      topics: data.topics.map(({ slug, name, description }) => ({ slug, name, description })),
      fields: {
        email: 'email',
        name: 'name',
        topics: 'topics',
        locale: 'locale',
        consent: 'consent',
        honeypot: 'website',
      },
    });
  }
  return formPage(c, { lang, embed, values: defaultValues(c, lang) });
}

function wantsJson(c: PublicContext): boolean {
  const type = c.req.header('content-type') ?? '';
  if (/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) return true;
  const accept = c.req.header('accept') ?? '';
  return /application\/json/i.test(accept) && !/text\/html/i.test(accept);
}

function isJsonBody(c: PublicContext): boolean {
  return /^application\/(?:[\w.+-]+\+)?json\b/i.test(c.req.header('content-type') ?? '');
}

/** Evidence of where the form was: the page that posted it, if it is ours or a configured site. */
function signupSource(c: PublicContext): string {
  const referer = c.req.header('referer');
  if (referer) {
    try {
      const url = new URL(referer);
      const { publicBaseUrl, siteOrigins } = c.var.deps.config;
      const allowed = new Set([new URL(publicBaseUrl).origin, new URL(c.req.url).origin, ...siteOrigins]);
      if (allowed.has(url.origin)) return `${url.origin}${url.pathname}`;
    } catch {
      // not a URL: fall through
    }
  }
  return '/subscribe';
}

interface RawSignup {
  email: string;
  name: string;
  topics: string[];
  locale: string;
  lang: string;
  consent: boolean;
  consentVersion: string;
  website: string;
  formToken: string;
  embed: boolean;
}

function readSignup(body: Record<string, unknown>): RawSignup {
  const consent = body.consent;
  return {
    email: one(body.email),
    name: one(body.name),
    topics: many(body.topics),
    locale: one(body.locale),
    lang: one(body.lang),
    consent:
      consent === true ||
      (typeof consent === 'string' && consent !== '' && consent !== 'false') ||
      (Array.isArray(consent) && consent.length > 0),
    consentVersion: one(body.consentVersion),
    website: one(body.website),
    formToken: one(body.formToken),
    embed: one(body.embed) === '1' || body.embed === true,
  };
}

interface ValidSignup {
  errors: FieldErrors;
  email: string;
  name: string | null;
  topics: string[];
  locale: Locale;
}

/** Every check that needs no database; signUp checks topics and consent version itself. */
function validateInput(raw: RawSignup, t: PageStrings, lang: Locale): ValidSignup {
  const errors: FieldErrors = {};
  let email = '';
  if (raw.email.trim().length > 254) errors.email = t.errors.emailTooLong;
  else {
    const parsed = normaliseEmail(raw.email);
    if (parsed.ok) email = parsed.email;
    // The domain's messages are Dutch and precise; English pages get one clear sentence.
    else errors.email = lang === 'nl' ? parsed.reason : t.errors.emailInvalid;
  }
  const name = cleanText(raw.name);
  if (name.length > NAME_MAX) errors.name = t.errors.nameTooLong;

  const topics = [...new Set(raw.topics.map((ref) => ref.trim().toLowerCase()))];
  if (topics.length === 0) errors.topics = t.errors.topicsRequired;
  else if (topics.length > MAX_TOPICS) errors.topics = t.errors.topicUnknown;

  let locale: Locale = lang;
  if (raw.locale !== '') {
    if (isLocale(raw.locale)) locale = raw.locale;
    else errors.locale = t.errors.localeInvalid;
  }
  if (!raw.consent) errors.consent = t.errors.consentRequired;
  else if (!/^[\w.-]{1,64}$/.test(raw.consentVersion)) errors.consentVersion = t.errors.consentVersion;
  return { errors, email, name: name === '' ? null : name, topics, locale };
}

/**
 * For a form that is wrong already: also the topics and consent version that do not exist, so
 * that one answer names every field to fix.
 */
async function databaseErrors(
  c: PublicContext,
  raw: RawSignup,
  valid: ValidSignup,
  t: PageStrings,
  lang: Locale,
): Promise<FieldErrors> {
  const errors: FieldErrors = {};
  if (!valid.errors.topics) {
    const offered = new Set((await publicTopics(c, lang)).flatMap((topic) => [topic.slug, topic.id]));
    if (!valid.topics.every((ref) => offered.has(ref))) errors.topics = t.errors.topicUnknown;
  }
  if (!valid.errors.consent && !valid.errors.consentVersion) {
    const known = await c.var.deps.db
      .selectFrom('consent_texts')
      .select('version')
      .where('version', '=', raw.consentVersion)
      .executeTakeFirst();
    if (!known) errors.consentVersion = t.errors.consentVersion;
  }
  return errors;
}

function fieldErrorList(errors: FieldErrors) {
  return Object.entries(errors).map(([field, message]) => ({ field, message: message! }));
}

/**
 * POST /subscribe. The answer is the same for a new, pending, active, unsubscribed or suppressed
 * address, for a filled honeypot and for a too-fast post: only bad input gets another answer.
 */
export async function handleSignup(c: PublicContext) {
  const { db, clock, linkTokens, logger } = c.var.deps;
  const json = isJsonBody(c);
  if (!json && !isFormPost(c)) {
    return problem(c, 415, 'Unsupported media type', pageStrings('nl').errors.contentType);
  }
  let body: Record<string, unknown>;
  if (json) {
    try {
      const parsed: unknown = await c.req.json();
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch {
      return problem(c, 400, 'Bad request', pageStrings('nl').errors.badJson);
    }
  } else {
    const form = await parseFormBody(c, { all: true });
    body = form as Record<string, unknown>;
  }
  const raw = readSignup(body);
  const lang: Locale = isLocale(raw.lang)
    ? raw.lang
    : isLocale(raw.locale)
      ? raw.locale
      : (queryLang(c) ?? 'nl');
  const t = pageStrings(lang);
  const answerJson = json || wantsJson(c);

  const rateLimit = { key: `signup:ip:${ipHash(c)}`, ...SIGNUP_IP_LIMIT };
  const tooMany = async (error: TooManyRequests) => {
    c.header('retry-after', String(error.retryAfterSeconds));
    if (answerJson) return problem(c, 429, 'Too many requests', t.errors.tooMany);
    const settings = await settingsOf(c);
    return renderPage(
      c,
      { lang, title: t.errors.tooManyTitle, settings, status: 429, embed: raw.embed, switchTo: null },
      <p>{t.errors.tooMany}</p>,
    );
  };
  const success = () => sentAnswer(c, lang, answerJson, raw.embed);

  const errors: FieldErrors = {};
  // Honeypot: a person never sees the field, so whatever is in it was put there by a program.
  let ignored: 'honeypot' | 'too-fast' | null = raw.website.trim() !== '' ? 'honeypot' : null;
  const token = raw.formToken ? linkTokens.verify(raw.formToken, 'form') : null;
  if (!token?.ok) errors.formToken = t.errors.formToken;
  else if (clock.now().getTime() - token.payload.i * 1000 < FORM_MIN_FILL_MS) ignored ??= 'too-fast';
  const valid = validateInput(raw, t, lang);
  Object.assign(errors, valid.errors);

  // Every post counts against the per-IP limit, whatever its outcome: a signup counts in its own
  // statement, any other post here first.
  if (ignored !== null || Object.keys(errors).length > 0) {
    try {
      await hit(db, clock, rateLimit, t.errors.tooMany);
    } catch (error) {
      if (error instanceof TooManyRequests) return tooMany(error);
      throw error;
    }
    if (ignored !== null) {
      logger.info({ signup: ignored }, 'signup ignored');
      return success();
    }
    Object.assign(errors, await databaseErrors(c, raw, valid, t, lang));
  } else {
    try {
      const signups = c.var.deps.signups ?? directSignups(db, clock);
      const outcome = await signups.signUp({
        input: {
          email: valid.email,
          name: valid.name,
          topics: valid.topics,
          locale: valid.locale,
          consentVersion: raw.consentVersion,
        },
        evidence: evidence(c, signupSource(c)),
        rateLimit,
      });
      logger.info({ signup: outcome }, 'signup');
      return success();
    } catch (error) {
      if (error instanceof TooManyRequests) return tooMany(error);
      if (!(error instanceof Invalid)) throw error;
      for (const field of error.fields) {
        if (field.field === 'email') errors.email = t.errors.emailInvalid;
        else if (field.field === 'topics') errors.topics = t.errors.topicUnknown;
        else errors.consentVersion = t.errors.consentVersion;
      }
    }
  }

  if (answerJson) return problem(c, 422, 'Invalid input', t.errors.invalidTitle, fieldErrorList(errors));
  return formPage(c, {
    lang,
    embed: raw.embed,
    status: 422,
    errors,
    values: {
      email: raw.email.slice(0, 254),
      name: raw.name.slice(0, NAME_MAX),
      topics: raw.topics,
      locale: isLocale(raw.locale) ? raw.locale : lang,
      consent: raw.consent,
    },
  });
}

/** The one answer to every accepted (or silently ignored) signup. */
async function sentAnswer(c: PublicContext, lang: Locale, json: boolean, embed: boolean) {
  const t = pageStrings(lang);
  if (json) return c.json({ status: 'pending-confirmation', message: t.subscribe.sentJson }, 202);
  const settings = await settingsOf(c);
  const again = `${embed ? '/subscribe/embed' : '/subscribe'}?lang=${lang}`;
  return renderPage(
    c,
    { lang, title: t.subscribe.sentTitle, settings, embed, switchTo: null },
    <>
      <div class="status" role="status">
        {t.subscribe.sent.map((line) => (
          <p key={line}>{line}</p>
        ))}
      </div>
      <p>
        <a href={again}>{t.subscribe.again}</a>
      </p>
    </>,
  );
}
