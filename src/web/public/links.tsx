/** @jsxImportSource hono/jsx */
import type { Locale, Subscriber } from '../../db/schema.js';
import { NotFound, TooManyRequests } from '../../domain/errors.js';
import { personalLinks } from '../../domain/links.js';
import { hit } from '../../domain/rate-limits.js';
import type { Settings } from '../../domain/settings.js';
import {
  CONFIRM_TOKEN_TTL_SECONDS,
  confirmSubscription,
  resendConfirmation,
  unsubscribe,
  updatePreferences,
} from '../../domain/subscribers.js';
import type { LinkPayload, LinkPurpose } from '../../providers/link-tokens.js';
import { isLocale, type PageStrings, pageStrings } from '../i18n.js';
import {
  cleanText,
  describedBy,
  ErrorSummary,
  evidence,
  FieldError,
  formFields,
  ipHash,
  LocaleFieldset,
  many,
  one,
  type PublicContext,
  queryLang,
  renderPage,
  settingsOf,
} from './common.js';

/**
 * The pages behind the personal links in every email. GET only shows (link scanners follow GETs);
 * POST changes, protected by the signed token in the URL (there is no session). None redirects.
 */

const RESEND_IP_LIMIT = { limit: 10, windowMs: 10 * 60 * 1000 };
const REASON_MAX = 500;
const NAME_MAX = 100;

interface TopicRow {
  id: string;
  slug: string;
  name: string;
}

type Checked =
  | { kind: 'invalid' }
  | { kind: 'expired'; payload: LinkPayload & { s: string } }
  | { kind: 'ok'; payload: LinkPayload & { s: string } };

function check(c: PublicContext, purpose: LinkPurpose): Checked {
  const result = c.var.deps.linkTokens.verify(c.req.param('token') ?? '', purpose);
  const payload = result.payload;
  if (!payload || typeof payload.s !== 'string' || !/^\d{1,18}$/.test(payload.s)) return { kind: 'invalid' };
  const withSubscriber = payload as LinkPayload & { s: string };
  if (result.ok) return { kind: 'ok', payload: withSubscriber };
  return result.reason === 'expired' ? { kind: 'expired', payload: withSubscriber } : { kind: 'invalid' };
}

function tokenPath(c: PublicContext, prefix: string): string {
  return `${prefix}/${encodeURIComponent(c.req.param('token') ?? '')}`;
}

async function loadSubscriber(c: PublicContext, id: string): Promise<Subscriber | undefined> {
  return c.var.deps.db.selectFrom('subscribers').selectAll().where('id', '=', id).executeTakeFirst();
}

function topicName(row: { name_nl: string; name_en: string }, lang: Locale): string {
  return lang === 'en' ? row.name_en : row.name_nl;
}

async function subscribedTopics(c: PublicContext, subscriberId: string, lang: Locale): Promise<TopicRow[]> {
  const rows = await c.var.deps.db
    .selectFrom('subscriptions')
    .innerJoin('topics', 'topics.id', 'subscriptions.topic_id')
    .select(['topics.id', 'topics.slug', 'topics.name_nl', 'topics.name_en'])
    .where('subscriptions.subscriber_id', '=', subscriberId)
    .where('topics.archived_at', 'is', null)
    .orderBy('topics.position')
    .orderBy('topics.id')
    .execute();
  return rows.map((row) => ({ id: row.id, slug: row.slug, name: topicName(row, lang) }));
}

/** The public topics plus any (internal) topic the subscriber already has. */
async function offeredTopics(c: PublicContext, subscriberId: string, lang: Locale): Promise<TopicRow[]> {
  const rows = await c.var.deps.db
    .selectFrom('topics')
    .select(['id', 'slug', 'name_nl', 'name_en'])
    .where('archived_at', 'is', null)
    .where((eb) =>
      eb.or([
        eb('public', '=', true),
        eb(
          'id',
          'in',
          eb.selectFrom('subscriptions').select('topic_id').where('subscriber_id', '=', subscriberId),
        ),
      ]),
    )
    .orderBy('position')
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ id: row.id, slug: row.slug, name: topicName(row, lang) }));
}

const hasLeft = (s: Subscriber) => s.status !== 'active' && s.status !== 'pending';

function signupLink(t: PageStrings, lang: Locale) {
  return (
    <p>
      <a href={`/subscribe?lang=${lang}`}>{t.link.toSignup}</a>
    </p>
  );
}

/** A link that leads nowhere: a sentence why, and the way to sign up again. */
function linkMessagePage(
  c: PublicContext,
  lang: Locale,
  settings: Settings,
  message: 'invalid' | 'gone' | 'expired',
  status: 200 | 400 | 404 | 410,
) {
  const t = pageStrings(lang);
  const { title, text } = {
    invalid: { title: t.link.invalidTitle, text: t.link.invalid },
    gone: { title: t.link.goneTitle, text: t.link.gone },
    expired: { title: t.link.expiredTitle, text: t.link.expired },
  }[message];
  return renderPage(
    c,
    { lang, title, settings, status },
    <>
      <p>{text}</p>
      {signupLink(t, lang)}
    </>,
  );
}

const invalidPage = (c: PublicContext, lang: Locale, settings: Settings) =>
  linkMessagePage(c, lang, settings, 'invalid', 400);

const gonePage = (c: PublicContext, lang: Locale, settings: Settings, status: 200 | 404 = 404) =>
  linkMessagePage(c, lang, settings, 'gone', status);

/** An expired link (other than a confirmation link): nothing shown, nothing changed, no new link. */
const linkExpiredPage = (c: PublicContext, lang: Locale, settings: Settings) =>
  linkMessagePage(c, lang, settings, 'expired', 410);

/** ?lang= first (the switch), then a posted `lang` field, then the subscriber's own language. */
function pickLang(c: PublicContext, subscriber?: Subscriber, posted?: string): Locale {
  return queryLang(c) ?? (isLocale(posted) ? posted : null) ?? subscriber?.locale ?? 'nl';
}

// ---------------------------------------------------------------------------------------------
// Confirm

function confirmedPage(
  c: PublicContext,
  lang: Locale,
  settings: Settings,
  subscriber: Subscriber,
  topics: TopicRow[],
) {
  const t = pageStrings(lang);
  const { preferencesUrl } = personalLinks(
    c.var.deps.linkTokens,
    c.var.deps.config.publicBaseUrl,
    subscriber.id,
  );
  return renderPage(
    c,
    { lang, title: t.confirm.doneTitle, settings },
    <>
      <div class="status" role="status">
        <p>{t.confirm.done(settings.programmeName)}</p>
      </div>
      {topics.length > 0 ? (
        <>
          <p>{t.confirm.topics}</p>
          <ul>
            {topics.map((topic) => (
              <li key={topic.id}>{topic.name}</li>
            ))}
          </ul>
        </>
      ) : null}
      <p>
        <a href={preferencesUrl}>{t.confirm.managePreferences}</a>
      </p>
    </>,
  );
}

function notConfirmablePage(c: PublicContext, lang: Locale, settings: Settings) {
  const t = pageStrings(lang);
  return renderPage(
    c,
    { lang, title: t.confirm.notPossibleTitle, settings },
    <>
      <p>{t.confirm.notPossible}</p>
      {signupLink(t, lang)}
    </>,
  );
}

function expiredPage(c: PublicContext, lang: Locale, settings: Settings) {
  const t = pageStrings(lang);
  return renderPage(
    c,
    { lang, title: t.confirm.expiredTitle, settings, status: 410 },
    <>
      <p>{t.confirm.expired(Math.round(CONFIRM_TOKEN_TTL_SECONDS / 86_400))}</p>
      <form method="post" action={`${tokenPath(c, '/confirm')}/resend`}>
        <input type="hidden" name="lang" value={lang} />
        <button type="submit">{t.confirm.resend}</button>
      </form>
    </>,
  );
}

/** GET /confirm/:token — shows the button; changes nothing. */
export async function showConfirm(c: PublicContext) {
  const settings = await settingsOf(c);
  const checked = check(c, 'confirm');
  if (checked.kind === 'invalid') return invalidPage(c, queryLang(c) ?? 'nl', settings);
  const subscriber = await loadSubscriber(c, checked.payload.s);
  const lang = pickLang(c, subscriber);
  // Expiry first: an expired link shows nothing of the subscription and hands out no other link
  // (the confirmed page carries a preferences link that never expires).
  if (checked.kind === 'expired') return expiredPage(c, lang, settings);
  if (!subscriber) return gonePage(c, lang, settings);
  if (subscriber.status === 'active') {
    return confirmedPage(c, lang, settings, subscriber, await subscribedTopics(c, subscriber.id, lang));
  }
  if (subscriber.status !== 'pending') return notConfirmablePage(c, lang, settings);
  const t = pageStrings(lang);
  return renderPage(
    c,
    { lang, title: t.confirm.title, settings },
    <>
      <p>{t.confirm.intro(settings.programmeName)}</p>
      <form method="post" action={tokenPath(c, '/confirm')}>
        <input type="hidden" name="lang" value={lang} />
        <button type="submit">{t.confirm.button}</button>
      </form>
    </>,
  );
}

/** POST /confirm/:token — confirms (idempotent), then queues the welcome email. */
export async function handleConfirm(c: PublicContext) {
  const { db, clock } = c.var.deps;
  const settings = await settingsOf(c);
  const fields = await formFields(c);
  const checked = check(c, 'confirm');
  if (checked.kind === 'invalid') return invalidPage(c, pickLang(c, undefined, one(fields.lang)), settings);
  const subscriber = await loadSubscriber(c, checked.payload.s);
  const lang = pickLang(c, subscriber, one(fields.lang));
  if (checked.kind === 'expired') return expiredPage(c, lang, settings);
  if (!subscriber) return gonePage(c, lang, settings);
  let confirmed: Subscriber;
  try {
    confirmed = await db
      .transaction()
      .execute((tx) => confirmSubscription(tx, clock, subscriber.id, evidence(c, '/confirm')));
  } catch (error) {
    if (error instanceof NotFound) return gonePage(c, lang, settings);
    throw error;
  }
  if (confirmed.status !== 'active') return notConfirmablePage(c, lang, settings);
  return confirmedPage(c, lang, settings, confirmed, await subscribedTopics(c, confirmed.id, lang));
}

/** POST /confirm/:token/resend — a new confirmation email for the subscriber of an (expired) link. */
export async function handleResend(c: PublicContext) {
  const { db, clock, logger } = c.var.deps;
  const settings = await settingsOf(c);
  const fields = await formFields(c);
  const checked = check(c, 'confirm');
  const lang = pickLang(c, undefined, one(fields.lang));
  if (checked.kind === 'invalid') return invalidPage(c, lang, settings);
  const t = pageStrings(lang);
  try {
    await hit(db, clock, { key: `confirm-resend:ip:${ipHash(c)}`, ...RESEND_IP_LIMIT }, t.errors.tooMany);
  } catch (error) {
    if (!(error instanceof TooManyRequests)) throw error;
    c.header('retry-after', String(error.retryAfterSeconds));
    return renderPage(
      c,
      { lang, title: t.errors.tooManyTitle, settings, status: 429, switchTo: null },
      <p>{t.errors.tooMany}</p>,
    );
  }
  const outcome = await db.transaction().execute((tx) => resendConfirmation(tx, clock, checked.payload.s));
  logger.info({ resend: outcome }, 'confirmation resend');
  // The same answer whatever happened: the page must not tell the state of the address.
  return renderPage(
    c,
    { lang, title: t.confirm.resentTitle, settings, switchTo: null },
    <div class="status" role="status">
      <p>{t.confirm.resent}</p>
    </div>,
  );
}

// ---------------------------------------------------------------------------------------------
// Unsubscribe

function unsubscribedPage(c: PublicContext, lang: Locale, settings: Settings, title?: string) {
  const t = pageStrings(lang);
  return renderPage(
    c,
    { lang, title: title ?? t.unsubscribe.doneTitle, settings },
    <>
      <div class="status" role="status">
        <p>{t.unsubscribe.done(settings.programmeName)}</p>
      </div>
      <p>
        {t.unsubscribe.mistake} <a href={`/subscribe?lang=${lang}`}>{t.link.toSignup}</a>
      </p>
    </>,
  );
}

function unsubscribeAllForm(c: PublicContext, t: PageStrings, lang: Locale, secondary: boolean) {
  return (
    <form method="post" action={tokenPath(c, '/unsubscribe')}>
      <input type="hidden" name="scope" value="all" />
      <input type="hidden" name="lang" value={lang} />
      <button type="submit" class={secondary ? 'secondary' : undefined}>
        {t.unsubscribe.buttonAll}
      </button>
    </form>
  );
}

/** GET /unsubscribe/:token — one button (two when the email was about one topic); changes nothing. */
export async function showUnsubscribe(c: PublicContext) {
  const settings = await settingsOf(c);
  const checked = check(c, 'unsubscribe');
  if (checked.kind === 'invalid') return invalidPage(c, queryLang(c) ?? 'nl', settings);
  const subscriber = await loadSubscriber(c, checked.payload.s);
  const lang = pickLang(c, subscriber);
  if (!subscriber) return gonePage(c, lang, settings);
  const t = pageStrings(lang);
  if (hasLeft(subscriber)) return unsubscribedPage(c, lang, settings, t.unsubscribe.alreadyTitle);
  const topics = await subscribedTopics(c, subscriber.id, lang);
  const topic = topics.find((row) => row.id === checked.payload.t);
  // Unsubscribing works with any genuine link, expired or not; a new preferences link (which never
  // expires) is handed out only from a link that is still valid.
  const preferencesUrl =
    checked.kind === 'ok'
      ? personalLinks(c.var.deps.linkTokens, c.var.deps.config.publicBaseUrl, subscriber.id).preferencesUrl
      : null;
  return renderPage(
    c,
    { lang, title: t.unsubscribe.title, settings },
    <>
      {topic && topics.length > 1 ? (
        <>
          <p>{t.unsubscribe.introTopic(topic.name)}</p>
          <form method="post" action={tokenPath(c, '/unsubscribe')}>
            <input type="hidden" name="scope" value="topic" />
            <input type="hidden" name="lang" value={lang} />
            <button type="submit">{t.unsubscribe.buttonTopic(topic.name)}</button>
          </form>
          <p>{t.unsubscribe.orAll}</p>
          {unsubscribeAllForm(c, t, lang, true)}
        </>
      ) : (
        <>
          <p>{t.unsubscribe.intro(settings.programmeName)}</p>
          {unsubscribeAllForm(c, t, lang, false)}
        </>
      )}
      {preferencesUrl ? (
        <p>
          <a href={preferencesUrl}>{t.unsubscribe.preferences}</a>
        </p>
      ) : null}
    </>,
  );
}

/**
 * POST /unsubscribe/:token — the page's buttons and RFC 8058 one-click (`List-Unsubscribe=One-Click`,
 * no cookie, no CSRF token): 200, never a redirect, idempotent. Without `scope=all` a topic
 * token leaves that topic (as the email's own unsubscribe), otherwise everything.
 */
export async function handleUnsubscribe(c: PublicContext) {
  const { db, clock, logger } = c.var.deps;
  const settings = await settingsOf(c);
  const fields = await formFields(c);
  const checked = check(c, 'unsubscribe');
  // Unsubscribe links never expire: an expired signature is still a genuine one.
  if (checked.kind === 'invalid') return invalidPage(c, pickLang(c, undefined, one(fields.lang)), settings);
  const oneClick = one(fields['List-Unsubscribe']) === 'One-Click';
  const topicId = checked.payload.t && /^\d{1,18}$/.test(checked.payload.t) ? checked.payload.t : null;
  const everything = one(fields.scope) === 'all' || topicId === null;
  const before = await loadSubscriber(c, checked.payload.s);
  const lang = pickLang(c, before, one(fields.lang));
  if (!before) return gonePage(c, lang, settings, 200);
  const t = pageStrings(lang);
  const topic = topicId
    ? await db
        .selectFrom('topics')
        .select(['name_nl', 'name_en'])
        .where('id', '=', topicId)
        .executeTakeFirst()
    : undefined;
  try {
    const { changed } = await db
      .transaction()
      .execute((tx) =>
        unsubscribe(
          tx,
          clock,
          before.id,
          { topicId, everything, reason: cleanText(one(fields.reason)).slice(0, REASON_MAX) || null },
          evidence(c, oneClick ? '/unsubscribe (one-click)' : '/unsubscribe'),
        ),
      );
    logger.info({ unsubscribe: everything ? 'everything' : 'topic', oneClick, changed }, 'unsubscribe');
  } catch (error) {
    if (error instanceof NotFound) return gonePage(c, lang, settings, 200);
    throw error;
  }
  const after = (await loadSubscriber(c, before.id))!;
  if (hasLeft(after)) return unsubscribedPage(c, lang, settings);
  const remaining = await subscribedTopics(c, after.id, lang);
  return renderPage(
    c,
    { lang, title: t.unsubscribe.doneTopicTitle, settings },
    <>
      <div class="status" role="status">
        <p>{topic ? t.unsubscribe.doneTopic(topicName(topic, lang)) : t.unsubscribe.doneTopicTitle}</p>
      </div>
      <p>{t.unsubscribe.remaining}</p>
      <ul>
        {remaining.map((row) => (
          <li key={row.id}>{row.name}</li>
        ))}
      </ul>
      <p>{t.unsubscribe.orAll}</p>
      {unsubscribeAllForm(c, t, lang, true)}
    </>,
  );
}

// ---------------------------------------------------------------------------------------------
// Preferences

type PreferenceErrors = Partial<Record<'topics' | 'locale' | 'name' | 'reason', string>>;

interface PreferenceValues {
  name: string;
  topics: string[];
  locale: Locale;
  unsubscribeAll: boolean;
  reason: string;
}

function PreferencesForm(props: {
  action: string;
  t: PageStrings;
  lang: Locale;
  topics: TopicRow[];
  values: PreferenceValues;
  errors: PreferenceErrors;
}) {
  const { t, values, errors } = props;
  const summary = (
    [
      ['name', '#name'],
      ['topics', `#topic-${props.topics[0]?.slug ?? ''}`],
      ['locale', `#locale-${values.locale}`],
      ['reason', '#reason'],
    ] as const
  )
    .filter(([field]) => errors[field])
    .map(([field, href]) => ({ href, message: errors[field]! }));
  return (
    <form method="post" action={props.action} novalidate>
      <ErrorSummary heading={t.errorSummary} items={summary} />
      <input type="hidden" name="lang" value={props.lang} />
      <label for="name">
        {t.preferences.name} <span>{t.optional}</span>
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
      <fieldset aria-describedby={describedBy('topics-hint', errors.topics && 'topics-error')}>
        <legend>{t.preferences.topics}</legend>
        <p id="topics-hint" class="hint">
          {t.preferences.noTopicsHint}
        </p>
        <FieldError id="topics-error" message={errors.topics} prefix={t.errorPrefix} />
        {props.topics.map((topic) => (
          <label key={topic.id} for={`topic-${topic.slug}`}>
            <input
              type="checkbox"
              id={`topic-${topic.slug}`}
              name="topics"
              value={topic.slug}
              checked={values.topics.includes(topic.slug)}
            />
            <span>{topic.name}</span>
          </label>
        ))}
      </fieldset>
      <LocaleFieldset
        legend={t.preferences.locale}
        selected={values.locale}
        error={errors.locale}
        errorPrefix={t.errorPrefix}
      />
      <fieldset>
        <legend>{t.preferences.unsubscribeLegend}</legend>
        <label for="unsubscribeAll">
          <input
            type="checkbox"
            id="unsubscribeAll"
            name="unsubscribeAll"
            value="on"
            checked={values.unsubscribeAll}
          />
          <span>{t.preferences.unsubscribeAll}</span>
        </label>
        <label for="reason" class="field">
          {t.preferences.reason} <span>{t.optional}</span>
        </label>
        <p id="reason-hint" class="hint">
          {t.preferences.reasonHint}
        </p>
        <FieldError id="reason-error" message={errors.reason} prefix={t.errorPrefix} />
        <textarea
          id="reason"
          name="reason"
          maxlength={REASON_MAX}
          aria-invalid={errors.reason ? 'true' : undefined}
          aria-describedby={describedBy('reason-hint', errors.reason && 'reason-error')}
        >
          {values.reason}
        </textarea>
      </fieldset>
      <button type="submit">{t.preferences.submit}</button>
    </form>
  );
}

async function preferencesPage(
  c: PublicContext,
  options: {
    lang: Locale;
    settings: Settings;
    subscriber: Subscriber;
    values?: PreferenceValues;
    errors?: PreferenceErrors;
    saved?: boolean;
    status?: 200 | 422;
  },
) {
  const { lang, settings, subscriber } = options;
  const t = pageStrings(lang);
  const topics = await offeredTopics(c, subscriber.id, lang);
  const values: PreferenceValues = options.values ?? {
    name: subscriber.name ?? '',
    topics: (await subscribedTopics(c, subscriber.id, lang)).map((row) => row.slug),
    locale: subscriber.locale,
    unsubscribeAll: false,
    reason: '',
  };
  return renderPage(
    c,
    { lang, title: t.preferences.title, settings, status: options.status ?? 200 },
    <>
      {options.saved ? (
        <div class="status" role="status">
          <p>{t.preferences.saved}</p>
        </div>
      ) : null}
      <p>{t.preferences.intro(subscriber.email)}</p>
      {subscriber.status === 'pending' ? <p class="status">{t.preferences.pending}</p> : null}
      <PreferencesForm
        action={tokenPath(c, '/preferences')}
        t={t}
        lang={lang}
        topics={topics}
        values={values}
        errors={options.errors ?? {}}
      />
    </>,
  );
}

function leftPreferencesPage(c: PublicContext, lang: Locale, settings: Settings) {
  const t = pageStrings(lang);
  return renderPage(
    c,
    { lang, title: t.preferences.unsubscribedTitle, settings },
    <>
      <p>{t.preferences.unsubscribed(settings.programmeName)}</p>
      {signupLink(t, lang)}
    </>,
  );
}

/** GET /preferences/:token — the preference centre; changes nothing. */
export async function showPreferences(c: PublicContext) {
  const settings = await settingsOf(c);
  const checked = check(c, 'preferences');
  if (checked.kind === 'invalid') return invalidPage(c, queryLang(c) ?? 'nl', settings);
  const subscriber = await loadSubscriber(c, checked.payload.s);
  const lang = pickLang(c, subscriber);
  if (checked.kind === 'expired') return linkExpiredPage(c, lang, settings);
  if (!subscriber) return gonePage(c, lang, settings);
  if (hasLeft(subscriber)) return leftPreferencesPage(c, lang, settings);
  return preferencesPage(c, { lang, settings, subscriber });
}

/** POST /preferences/:token — saves topics, language and name, or unsubscribes from everything. */
export async function handlePreferences(c: PublicContext) {
  const { db, clock } = c.var.deps;
  const settings = await settingsOf(c);
  const fields = await formFields(c);
  const checked = check(c, 'preferences');
  if (checked.kind === 'invalid') return invalidPage(c, pickLang(c, undefined, one(fields.lang)), settings);
  const subscriber = await loadSubscriber(c, checked.payload.s);
  const lang = pickLang(c, subscriber, one(fields.lang));
  if (checked.kind === 'expired') return linkExpiredPage(c, lang, settings);
  if (!subscriber) return gonePage(c, lang, settings);
  if (hasLeft(subscriber)) return leftPreferencesPage(c, lang, settings);
  const t = pageStrings(lang);

  const offered = await offeredTopics(c, subscriber.id, lang);
  const bySlug = new Map(
    offered.flatMap((row) => [[row.slug, row.slug] as const, [row.id, row.slug] as const]),
  );
  const refs = [...new Set(many(fields.topics).map((ref) => ref.trim().toLowerCase()))];
  const topics = refs.map((ref) => bySlug.get(ref)).filter((slug): slug is string => slug !== undefined);
  const localeField = one(fields.locale);
  const values: PreferenceValues = {
    name: cleanText(one(fields.name)),
    topics,
    locale: isLocale(localeField) ? localeField : subscriber.locale,
    unsubscribeAll: one(fields.unsubscribeAll) !== '',
    reason: cleanText(one(fields.reason)),
  };
  const errors: PreferenceErrors = {};
  if (topics.length !== refs.length) errors.topics = t.errors.topicUnknown;
  if (localeField !== '' && !isLocale(localeField)) errors.locale = t.errors.localeInvalid;
  if (values.name.length > NAME_MAX) errors.name = t.errors.nameTooLong;
  if (values.reason.length > REASON_MAX) errors.reason = t.errors.reasonTooLong;
  if (Object.keys(errors).length > 0) {
    return preferencesPage(c, { lang, settings, subscriber, values, errors, status: 422 });
  }

  const proof = evidence(c, '/preferences');
  let result: Subscriber;
  try {
    result = await db.transaction().execute(async (tx) => {
      if (values.unsubscribeAll) {
        const scope = { topicId: null, everything: true, reason: values.reason || null };
        return (await unsubscribe(tx, clock, subscriber.id, scope, proof)).subscriber;
      }
      const input = { topics, locale: values.locale, name: values.name === '' ? null : values.name };
      return updatePreferences(tx, clock, subscriber.id, input, proof);
    });
  } catch (error) {
    if (error instanceof NotFound) return gonePage(c, lang, settings);
    throw error;
  }
  if (hasLeft(result)) return unsubscribedPage(c, lang, settings);
  return preferencesPage(c, { lang, settings, subscriber: result, saved: true });
}
