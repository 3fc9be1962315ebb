import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmSubscription, unsubscribe } from '../../src/domain/subscribers.js';
import { suppress } from '../../src/domain/suppressions.js';
import { createTestContext, TestClock, type TestContext } from '../helpers/context.js';

let ctx: TestContext;
const clock = new TestClock();
let ipCounter = 0;
/** A fresh client IP per test keeps the per-IP signup limit out of the way (one test checks it). */
const nextIp = () => `192.0.2.${++ipCounter}`;

beforeAll(async () => {
  ctx = await createTestContext({ clock });
});
afterAll(() => ctx.close());

const evidence = { source: 'test' };

async function formToken(path = '/subscribe'): Promise<string> {
  const html = await (await ctx.app.request(path)).text();
  const match = /name="formToken" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no form token in the page');
  return match[1]!;
}

/** A token from a form shown 3 s ago (past the time trap). */
async function agedToken(): Promise<string> {
  const token = await formToken();
  clock.advance(3_000);
  return token;
}

type Fields = Record<string, string | string[]>;

function encode(fields: Fields): URLSearchParams {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    for (const v of Array.isArray(value) ? value : [value]) params.append(name, v);
  }
  return params;
}

async function validFields(overrides: Fields = {}): Promise<Fields> {
  return {
    email: 'lid@voorbeeld.test',
    name: 'Lid van Voorbeeld',
    topics: ['nieuwsbrief'],
    locale: 'nl',
    lang: 'nl',
    consent: 'on',
    consentVersion: '2026-01',
    website: '',
    formToken: await agedToken(),
    ...overrides,
  };
}

function postForm(fields: Fields, ip = nextIp(), headers: Record<string, string> = {}) {
  return ctx.app.request('/subscribe', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-test-client-ip': ip, ...headers },
    body: encode(fields),
  });
}

function postJson(body: unknown, ip = nextIp(), headers: Record<string, string> = {}) {
  return ctx.app.request('/subscribe', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-test-client-ip': ip, ...headers },
    body: JSON.stringify(body),
  });
}

async function snapshot() {
  const db = ctx.db;
  return {
    subscribers: await db.selectFrom('subscribers').selectAll().orderBy('id').execute(),
    subscriptions: await db
      .selectFrom('subscriptions')
      .selectAll()
      .orderBy('subscriber_id')
      .orderBy('topic_id')
      .execute(),
    consent: await db.selectFrom('consent_events').selectAll().orderBy('id').execute(),
    outbox: await db.selectFrom('outbox').selectAll().orderBy('id').execute(),
    suppressions: await db.selectFrom('suppressions').selectAll().orderBy('email_hash').execute(),
    emails: await db.selectFrom('emails').selectAll().orderBy('id').execute(),
  };
}

async function subscriberByEmail(email: string) {
  return ctx.db.selectFrom('subscribers').selectAll().where('email', '=', email).executeTakeFirst();
}

async function topicId(slug: string): Promise<string> {
  return (await ctx.db.selectFrom('topics').select('id').where('slug', '=', slug).executeTakeFirstOrThrow())
    .id;
}

/** A subscriber created through the form, optionally confirmed. */
async function signUpThroughForm(email: string, topics = ['nieuwsbrief'], extra: Fields = {}) {
  const res = await postForm(await validFields({ email, topics, ...extra }));
  expect(res.status).toBe(200);
  return (await subscriberByEmail(email))!;
}

async function activeSubscriber(email: string, topics = ['nieuwsbrief'], extra: Fields = {}) {
  const subscriber = await signUpThroughForm(email, topics, extra);
  await ctx.db.transaction().execute((tx) => confirmSubscription(tx, clock, subscriber.id, evidence));
  return (await subscriberByEmail(email))!;
}

const tokens = () => ctx.deps.linkTokens;

function headerNames(headers: Headers): string[] {
  const names: string[] = [];
  headers.forEach((_, name) => {
    if (name !== 'x-request-id') names.push(name);
  });
  return names.sort();
}

function tamper(token: string): string {
  const last = token.at(-1) === 'A' ? 'B' : 'A';
  return `${token.slice(0, -1)}${last}`;
}

describe('GET /subscribe', () => {
  it('serves an accessible Dutch form with consent text, honeypot and form token', async () => {
    const res = await ctx.app.request('/subscribe');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<html lang="nl">');
    expect(html).toContain('class="skip" href="#inhoud"');
    expect(html).toContain('<label for="email">');
    expect(html).toContain('name="consentVersion" value="2026-01"');
    expect(html).toContain('Ja, ik wil de gekozen berichten per e-mail ontvangen.');
    expect(html).toMatch(/<input id="website" name="website" type="text" tabindex="-1" autocomplete="off"/);
    expect(html).toContain('Laat dit veld leeg');
    expect(html).toContain('href="/subscribe?lang=en"');
    for (const slug of ['nieuwsbrief', 'artikelen', 'documenten']) expect(html).toContain(`value="${slug}"`);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('speaks English with ?lang=en and preselects ?topic=', async () => {
    const html = await (await ctx.app.request('/subscribe?lang=en&topic=artikelen')).text();
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('Email address');
    expect(html).toContain('Yes, I want to receive the chosen messages by email.');
    expect(html).toMatch(/value="artikelen" checked/);
    expect(html).toContain('href="/subscribe?lang=nl&amp;topic=artikelen"');
  });

  it('does not offer internal (non-public) topics', async () => {
    await ctx.db
      .insertInto('topics')
      .values({ slug: 'intern', name_nl: 'Intern', name_en: 'Internal', public: false })
      .execute();
    const html = await (await ctx.app.request('/subscribe')).text();
    expect(html).not.toContain('value="intern"');
  });
});

describe('POST /subscribe', () => {
  it('stores a pending subscriber with consent evidence and a confirmation in the outbox', async () => {
    const fields = await validFields({ email: 'Nieuw@Voorbeeld.TEST', topics: ['nieuwsbrief', 'artikelen'] });
    const res = await postForm(fields, '198.51.100.7', {
      referer: 'https://www.voorbeeld.test/nieuwsbrief?utm=x',
      'user-agent': 'Testbrowser/1.0',
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Kijk in je mailbox');
    const subscriber = (await subscriberByEmail('Nieuw@voorbeeld.test'))!;
    expect(subscriber).toMatchObject({
      status: 'pending',
      name: 'Lid van Voorbeeld',
      locale: 'nl',
      source: 'form',
    });
    const consent = await ctx.db
      .selectFrom('consent_events')
      .selectAll()
      .where('subscriber_id', '=', subscriber.id)
      .executeTakeFirstOrThrow();
    expect(consent).toMatchObject({
      kind: 'given',
      consent_version: '2026-01',
      source: 'https://www.voorbeeld.test/nieuwsbrief',
      user_agent: 'Testbrowser/1.0',
    });
    // The keyed pseudonym of the address (see test/infra/pseudonyms.test.ts), never the address.
    expect(consent.ip_hash).toMatch(/^hmac1:[0-9a-f]{32}$/);
    expect(consent.ip_hash).toBe(ctx.deps.pseudonyms.ip('198.51.100.7'));
    expect(consent.ip_hash).not.toContain('198.51');
    const outbox = await ctx.db
      .selectFrom('outbox')
      .selectAll()
      .where('job_id', '=', `confirmation-${subscriber.id}-1`)
      .executeTakeFirstOrThrow();
    expect(outbox).toMatchObject({ queue: 'transactional-email', job_name: 'send-confirmation' });
    expect(outbox.payload).toEqual({ subscriberId: subscriber.id });
  });

  it('records /subscribe as the source when the referer is a foreign site', async () => {
    await postForm(await validFields({ email: 'vreemd@voorbeeld.test' }), nextIp(), {
      referer: 'https://elders.test/pagina',
    });
    const subscriber = (await subscriberByEmail('vreemd@voorbeeld.test'))!;
    const consent = await ctx.db
      .selectFrom('consent_events')
      .select('source')
      .where('subscriber_id', '=', subscriber.id)
      .executeTakeFirstOrThrow();
    expect(consent.source).toBe('/subscribe');
  });

  it('answers JSON with 202 and the same body for every accepted post', async () => {
    const res = await postJson({
      email: 'json@voorbeeld.test',
      topics: ['artikelen'],
      locale: 'en',
      consent: true,
      consentVersion: '2026-01',
      formToken: await agedToken(),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      status: 'pending-confirmation',
      message: 'Check your mailbox: we are sending an email to the address you entered.',
    });
    expect((await subscriberByEmail('json@voorbeeld.test'))?.locale).toBe('en');
  });

  it('gives the same answer for new, pending, active, unsubscribed and suppressed addresses', async () => {
    await signUpThroughForm('wacht@voorbeeld.test');
    await activeSubscriber('actief@voorbeeld.test');
    const leaving = await activeSubscriber('weg@voorbeeld.test');
    await ctx.db
      .transaction()
      .execute((tx) => unsubscribe(tx, clock, leaving.id, { topicId: null, everything: true }, evidence));
    await suppress(ctx.db, 'gebounced@voorbeeld.test', 'bounced', 'test');
    // Past the per-address interval, so that the active address really gets an email.
    clock.advance(11 * 60 * 1000);
    const addresses = [
      'onbekend@voorbeeld.test',
      'wacht@voorbeeld.test',
      'actief@voorbeeld.test',
      'weg@voorbeeld.test',
      'gebounced@voorbeeld.test',
    ];
    const forms: { status: number; body: string; headers: string[] }[] = [];
    const jsons: { status: number; body: string }[] = [];
    for (const email of addresses) {
      const form = await postForm(await validFields({ email }));
      forms.push({
        status: form.status,
        body: await form.text(),
        headers: headerNames(form.headers),
      });
      const json = await postJson({
        email,
        topics: ['nieuwsbrief'],
        consent: true,
        consentVersion: '2026-01',
        formToken: await agedToken(),
      });
      jsons.push({ status: json.status, body: await json.text() });
    }
    for (const answer of forms.slice(1)) expect(answer).toEqual(forms[0]);
    for (const answer of jsons.slice(1)) expect(answer).toEqual(jsons[0]);
    expect(forms[0]!.status).toBe(200);
    expect(jsons[0]!.status).toBe(202);
    // The suppressed address got nothing; the active one an "already subscribed" email.
    expect(await subscriberByEmail('gebounced@voorbeeld.test')).toBeUndefined();
    const active = (await subscriberByEmail('actief@voorbeeld.test'))!;
    const jobs = await ctx.db
      .selectFrom('outbox')
      .select('job_name')
      .where('payload', '@>', { subscriberId: active.id })
      .execute();
    expect(jobs.map((j) => j.job_name)).toContain('send-already-subscribed');
  });

  it('honeypot and too-fast posts answer like success but store nothing', async () => {
    const success = await postForm(await validFields({ email: 'echt@voorbeeld.test' }));
    const expected = await success.text();
    const before = await snapshot();

    const honeypot = await postForm(
      await validFields({ email: 'bot@voorbeeld.test', website: 'https://spam.test' }),
    );
    expect(honeypot.status).toBe(200);
    expect(await honeypot.text()).toBe(expected);

    const fast = await postForm({
      ...(await validFields({ email: 'snel@voorbeeld.test' })),
      formToken: await formToken(),
    });
    expect(fast.status).toBe(200);
    expect(await fast.text()).toBe(expected);

    const fastJson = await postJson({
      email: 'snel@voorbeeld.test',
      topics: ['nieuwsbrief'],
      consent: true,
      consentVersion: '2026-01',
      formToken: await formToken(),
    });
    expect(fastJson.status).toBe(202);

    expect(await snapshot()).toEqual(before);
  });

  it('refuses bad input with a message per field and stores nothing', async () => {
    const before = await snapshot();
    const cases: { fields: Fields; field: string; message: RegExp }[] = [
      { fields: { consent: '' }, field: 'consent', message: /Geef toestemming/ },
      { fields: { email: 'geen-adres' }, field: 'email', message: /naam@voorbeeld\.nl/ },
      { fields: { email: `${'a'.repeat(250)}@voorbeeld.test` }, field: 'email', message: /254 tekens/ },
      { fields: { topics: ['geheim'] }, field: 'topics', message: /Kies alleen onderwerpen uit de lijst/ },
      { fields: { topics: ['intern'] }, field: 'topics', message: /Kies alleen onderwerpen uit de lijst/ },
      { fields: { topics: ['99999999999999999999999'] }, field: 'topics', message: /uit de lijst/ },
      { fields: { topics: [] }, field: 'topics', message: /minstens één onderwerp/ },
      { fields: { consentVersion: 'oud' }, field: 'consent', message: /toestemmingstekst is gewijzigd/ },
      { fields: { formToken: '' }, field: 'formToken', message: /Herlaad de pagina/ },
      { fields: { formToken: 'x.y.z' }, field: 'formToken', message: /Herlaad de pagina/ },
      { fields: { name: 'n'.repeat(101) }, field: 'name', message: /hoogstens 100 tekens/ },
      { fields: { locale: 'fr' }, field: 'locale', message: /Nederlands of English/ },
    ];
    for (const { fields, field, message } of cases) {
      const res = await postForm(await validFields({ email: 'fout@voorbeeld.test', ...fields }));
      expect(res.status, JSON.stringify(fields)).toBe(422);
      const html = await res.text();
      expect(html).toContain('role="alert"');
      expect(html, JSON.stringify(fields)).toMatch(message);
      expect(html).toContain(`id="${field}-error"`);
      if (field !== 'formToken') expect(html).toMatch(new RegExp(`aria-describedby="[^"]*${field}-error`));
      // The entered values come back (escaped).
      if (!fields.email) expect(html).toContain('value="fout@voorbeeld.test"');
    }
    const jsonCases: { body: Record<string, unknown>; field: string }[] = [
      { body: { consent: false }, field: 'consent' },
      { body: { email: 12 }, field: 'email' },
      { body: { topics: 'geheim' }, field: 'topics' },
      { body: { formToken: undefined }, field: 'formToken' },
    ];
    for (const { body, field } of jsonCases) {
      const res = await postJson({
        email: 'fout@voorbeeld.test',
        topics: ['nieuwsbrief'],
        consent: true,
        consentVersion: '2026-01',
        formToken: await agedToken(),
        ...body,
      });
      expect(res.status).toBe(422);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      const problem = await res.json();
      expect(problem.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
    const english = await postJson({ email: 'x', topics: [], locale: 'en', formToken: await agedToken() });
    const problem = await english.json();
    expect(problem.errors).toEqual(
      expect.arrayContaining([
        { field: 'email', message: 'Enter a valid email address, for example name@example.org.' },
        { field: 'topics', message: 'Choose at least one topic.' },
        { field: 'consent', message: expect.stringMatching(/ticking the box/) },
      ]),
    );

    const wrongType = await ctx.app.request('/subscribe', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'email=fout@voorbeeld.test',
    });
    expect(wrongType.status).toBe(415);
    const badJson = await ctx.app.request('/subscribe', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"email":',
    });
    expect(badJson.status).toBe(400);
    const oversized = await postForm(await validFields({ name: 'x'.repeat(20_000) }));
    expect(oversized.status).toBe(413);
    expect(await oversized.text()).toContain('te groot');

    expect(await snapshot()).toEqual(before);
  });

  it('names the fields only the database can check too, when another field is wrong already', async () => {
    const before = await snapshot();
    const res = await postJson({
      email: 'geen-adres',
      topics: ['geheim'],
      consent: true,
      consentVersion: 'oud',
      formToken: await agedToken(),
    });
    expect(res.status).toBe(422);
    const problem = await res.json();
    expect(problem.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'consentVersion',
      'email',
      'topics',
    ]);
    expect(await snapshot()).toEqual(before);
  });

  it('cleans control characters out of a name instead of failing', async () => {
    const res = await postJson({
      email: 'nul@voorbeeld.test',
      name: 'Na\u0000am\nmet\tregels',
      topics: ['nieuwsbrief'],
      consent: true,
      consentVersion: '2026-01',
      formToken: await agedToken(),
    });
    expect(res.status).toBe(202);
    expect((await subscriberByEmail('nul@voorbeeld.test'))?.name).toBe('Na am met regels');
  });

  it('limits signups per IP address (429), for forms and JSON', async () => {
    const ip = '203.0.113.99';
    for (let i = 0; i < 20; i++) {
      const res = await postForm(await validFields({ email: `ip${i}@voorbeeld.test` }), ip);
      expect(res.status).toBe(200);
    }
    const limited = await postForm(await validFields({ email: 'ip20@voorbeeld.test' }), ip);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await limited.text()).toContain('Wacht tien minuten');
    const limitedJson = await postJson({ email: 'ip21@voorbeeld.test' }, ip);
    expect(limitedJson.status).toBe(429);
    expect(await subscriberByEmail('ip20@voorbeeld.test')).toBeUndefined();
    clock.advance(10 * 60 * 1000);
  });

  it('escapes what was typed when the form comes back', async () => {
    const res = await postForm(
      await validFields({ email: '"><script>alert(1)</script>', name: '<b>naam</b>' }),
    );
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).not.toContain('<b>naam</b>');
    expect(html).toContain('&lt;b&gt;naam&lt;/b&gt;');
  });
});

describe('CORS and embedding', () => {
  const site = 'https://www.voorbeeld.test';

  it('allows the configured site origins on POST /subscribe and GET /subscribe/embed only', async () => {
    const preflight = await ctx.app.request('/subscribe', {
      method: 'OPTIONS',
      headers: {
        origin: site,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(site);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();

    const post = await postJson(
      {
        email: 'cors@voorbeeld.test',
        topics: ['nieuwsbrief'],
        consent: true,
        consentVersion: '2026-01',
        formToken: await agedToken(),
      },
      nextIp(),
      { origin: site },
    );
    expect(post.status).toBe(202);
    expect(post.headers.get('access-control-allow-origin')).toBe(site);
    // Caches must keep the answer per origin.
    expect(post.headers.get('vary')).toContain('Origin');

    const embed = await ctx.app.request('/subscribe/embed', { headers: { origin: site } });
    expect(embed.headers.get('access-control-allow-origin')).toBe(site);

    for (const origin of ['https://kwaadaardig.test', 'null']) {
      const other = await ctx.app.request('/subscribe', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      const otherEmbed = await ctx.app.request('/subscribe/embed', { headers: { origin } });
      expect(otherEmbed.headers.get('access-control-allow-origin')).toBeNull();
    }
    // Not on the other public pages.
    const page = await ctx.app.request('/subscribe', { headers: { origin: site } });
    expect(page.headers.get('access-control-allow-origin')).toBeNull();
    const confirm = await ctx.app.request('/confirm/x.y.z', { headers: { origin: site } });
    expect(confirm.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('serves a framable snippet (for the configured sites) that posts to the absolute signup URL', async () => {
    const res = await ctx.app.request('/subscribe/embed?lang=en');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-frame-options')).toBeNull();
    expect(res.headers.get('content-security-policy')).toContain(
      "frame-ancestors 'self' https://www.voorbeeld.test",
    );
    const html = await res.text();
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('action="http://localhost:3000/subscribe"');
    expect(html).toContain('name="embed" value="1"');
    // Other pages keep the strict default.
    const confirm = await ctx.app.request('/confirm/x.y.z');
    expect(confirm.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  });

  it('gives a site its form data as JSON from the embed address', async () => {
    const res = await ctx.app.request('/subscribe/embed?lang=en', {
      headers: { accept: 'application/json' },
    });
    const body = await res.json();
    expect(body).toMatchObject({
      action: 'http://localhost:3000/subscribe',
      consentVersion: '2026-01',
      consentText: expect.stringContaining('Yes, I want'),
    });
    expect(body.topics.map((t: { slug: string }) => t.slug)).toEqual([
      'nieuwsbrief',
      'artikelen',
      'documenten',
    ]);
    expect(tokens().verify(body.formToken, 'form').ok).toBe(true);
  });

  it('answers a post from the snippet in the compact variant', async () => {
    const res = await postForm(await validFields({ email: 'snippet@voorbeeld.test', embed: '1' }));
    const html = await res.text();
    expect(html).not.toContain('<header>');
    expect(html).toContain('href="/subscribe/embed?lang=nl"');
  });
});

describe('link pages change nothing on GET (link scanners)', () => {
  it('confirm, unsubscribe and preferences GETs (valid, topic, expired, tampered) leave every table as it was', async () => {
    const pending = await signUpThroughForm('scanner@voorbeeld.test', ['nieuwsbrief', 'artikelen']);
    const active = await activeSubscriber('scanner-actief@voorbeeld.test', ['nieuwsbrief', 'artikelen']);
    const confirmToken = tokens().issue({ p: 'confirm', s: pending.id, n: 1 }, 7 * 24 * 3600);
    const expired = tokens().issue({ p: 'confirm', s: pending.id, n: 1 }, 60);
    clock.advance(120_000);
    const urls = [
      `/confirm/${confirmToken}`,
      `/confirm/${expired}`,
      `/confirm/${tamper(confirmToken)}`,
      `/unsubscribe/${tokens().issue({ p: 'unsubscribe', s: active.id })}`,
      `/unsubscribe/${tokens().issue({ p: 'unsubscribe', s: active.id, t: await topicId('artikelen') })}`,
      `/unsubscribe/${tamper(tokens().issue({ p: 'unsubscribe', s: active.id }))}`,
      `/preferences/${tokens().issue({ p: 'preferences', s: active.id })}`,
      `/preferences/${tokens().issue({ p: 'preferences', s: pending.id })}`,
      `/preferences/${tamper(tokens().issue({ p: 'preferences', s: active.id }))}`,
    ];
    const before = await snapshot();
    for (const url of urls) {
      const res = await ctx.app.request(url, { headers: { 'user-agent': 'LinkScanner/1.0' } });
      expect([200, 400, 410], url).toContain(res.status);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('set-cookie')).toBeNull();
      // HEAD is answered like GET by Hono, and changes nothing either.
      await ctx.app.request(url, { method: 'HEAD' });
    }
    expect(await snapshot()).toEqual(before);
  });
});

describe('confirm', () => {
  it('shows a button on GET and confirms on POST (idempotent), queueing the welcome email', async () => {
    const subscriber = await signUpThroughForm('bevestig@voorbeeld.test');
    const token = tokens().issue({ p: 'confirm', s: subscriber.id, n: 1 }, 7 * 24 * 3600);
    const page = await (await ctx.app.request(`/confirm/${token}`)).text();
    expect(page).toContain('Bevestig je aanmelding</button>');
    expect(page).toContain(`action="/confirm/${token}"`);

    const res = await ctx.app.request(`/confirm/${token}`, { method: 'POST' });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Je aanmelding is bevestigd');
    expect(html).toContain('http://localhost:3000/preferences/');
    expect((await subscriberByEmail('bevestig@voorbeeld.test'))?.status).toBe('active');
    const again = await ctx.app.request(`/confirm/${token}`, { method: 'POST' });
    expect(again.status).toBe(200);
    const welcome = await ctx.db
      .selectFrom('outbox')
      .select('job_id')
      .where('job_name', '=', 'send-welcome')
      .where('payload', '@>', { subscriberId: subscriber.id })
      .execute();
    expect(welcome).toHaveLength(1);
    const events = await ctx.db
      .selectFrom('consent_events')
      .select('kind')
      .where('subscriber_id', '=', subscriber.id)
      .execute();
    expect(events.map((e) => e.kind)).toEqual(['given', 'confirmed']);
  });

  it('explains a tampered link (400) and changes nothing on POST', async () => {
    const subscriber = await signUpThroughForm('kapot@voorbeeld.test');
    const token = tamper(tokens().issue({ p: 'confirm', s: subscriber.id, n: 1 }, 3600));
    const before = await snapshot();
    for (const method of ['GET', 'POST']) {
      const res = await ctx.app.request(`/confirm/${token}`, { method });
      expect(res.status).toBe(400);
      const html = await res.text();
      expect(html).toContain('Deze link werkt niet');
      expect(html).toContain('href="/subscribe?lang=nl"');
    }
    // A token for another purpose is no confirm token.
    const other = tokens().issue({ p: 'unsubscribe', s: subscriber.id });
    expect((await ctx.app.request(`/confirm/${other}`, { method: 'POST' })).status).toBe(400);
    expect(await snapshot()).toEqual(before);
  });

  it('explains an expired link and sends a new confirmation from its button', async () => {
    const subscriber = await signUpThroughForm('verlopen@voorbeeld.test', ['nieuwsbrief'], {
      locale: 'en',
      lang: 'en',
    });
    const token = tokens().issue({ p: 'confirm', s: subscriber.id, n: 1 }, 7 * 24 * 3600);
    clock.advance(8 * 24 * 3600 * 1000);
    const page = await ctx.app.request(`/confirm/${token}`);
    expect(page.status).toBe(410);
    const html = await page.text();
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('This confirmation link has expired');
    expect(html).toContain(`action="/confirm/${token}/resend"`);
    const post = await ctx.app.request(`/confirm/${token}`, { method: 'POST' });
    expect(post.status).toBe(410);
    expect((await subscriberByEmail('verlopen@voorbeeld.test'))?.status).toBe('pending');

    const resend = await ctx.app.request(`/confirm/${token}/resend`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'lang=en',
    });
    expect(resend.status).toBe(200);
    expect(await resend.text()).toContain('we are sending you a new confirmation email');
    const jobs = await ctx.db
      .selectFrom('outbox')
      .select('job_id')
      .where('job_name', '=', 'send-confirmation')
      .where('payload', '@>', { subscriberId: subscriber.id })
      .orderBy('id')
      .execute();
    expect(jobs.map((j) => j.job_id)).toEqual([
      `confirmation-${subscriber.id}-1`,
      `confirmation-${subscriber.id}-2`,
    ]);
    // Within ten minutes a second request sends nothing more, and answers the same.
    const twice = await ctx.app.request(`/confirm/${token}/resend`, { method: 'POST' });
    expect(twice.status).toBe(200);
    const count = await ctx.db
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('job_name', '=', 'send-confirmation')
      .where('payload', '@>', { subscriberId: subscriber.id })
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(2);
    // A tampered expired token cannot ask for anything.
    expect((await ctx.app.request(`/confirm/${tamper(token)}/resend`, { method: 'POST' })).status).toBe(400);
  });
});

describe('expired links hand out nothing', () => {
  const dayMs = 24 * 3600 * 1000;

  it('an expired confirm link of an active subscriber: the expired page, no preferences link (GET and POST)', async () => {
    const subscriber = await activeSubscriber('verlopen-actief@voorbeeld.test');
    const token = tokens().issue({ p: 'confirm', s: subscriber.id, n: 1 }, 7 * 24 * 3600);
    // Still valid: the confirmed page with its preferences link.
    const valid = await (await ctx.app.request(`/confirm/${token}`)).text();
    expect(valid).toContain('Je aanmelding is bevestigd');
    expect(valid).toContain('/preferences/');
    clock.advance(8 * dayMs);
    const before = await snapshot();
    for (const method of ['GET', 'POST']) {
      const res = await ctx.app.request(`/confirm/${token}`, { method });
      expect(res.status).toBe(410);
      const html = await res.text();
      expect(html).toContain('Deze bevestigingslink is verlopen');
      expect(html).toContain('Vraag een nieuwe bevestigingsmail aan');
      expect(html).toContain(`action="/confirm/${token}/resend"`);
      expect(html).not.toContain('/preferences/');
      expect(html).not.toContain('Je aanmelding is bevestigd');
    }
    expect(await snapshot()).toEqual(before);
  });

  it('an expired preferences link shows the expired page and saves nothing', async () => {
    const subscriber = await activeSubscriber('verlopen-voorkeur@voorbeeld.test');
    const token = tokens().issue({ p: 'preferences', s: subscriber.id }, 3600);
    expect((await ctx.app.request(`/preferences/${token}`)).status).toBe(200);
    clock.advance(2 * 3600 * 1000);
    const before = await snapshot();
    const page = await ctx.app.request(`/preferences/${token}`);
    expect(page.status).toBe(410);
    const html = await page.text();
    expect(html).toContain('Deze link is verlopen');
    expect(html).not.toContain('verlopen-voorkeur@voorbeeld.test');
    expect(html).not.toContain('name="topics"');
    const post = await ctx.app.request(`/preferences/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: encode({ topics: ['artikelen'], locale: 'en', name: 'Iemand Anders' }),
    });
    expect(post.status).toBe(410);
    expect(await post.text()).toContain('Deze link is verlopen');
    expect(await snapshot()).toEqual(before);
  });

  it('an expired unsubscribe link still unsubscribes, but hands out no preferences link', async () => {
    const subscriber = await activeSubscriber('verlopen-afmelden@voorbeeld.test');
    const token = tokens().issue({ p: 'unsubscribe', s: subscriber.id }, 3600);
    expect(await (await ctx.app.request(`/unsubscribe/${token}`)).text()).toContain('/preferences/');
    clock.advance(2 * 3600 * 1000);
    const page = await ctx.app.request(`/unsubscribe/${token}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Afmelden voor alles');
    expect(html).not.toContain('/preferences/');
    const post = await ctx.app.request(`/unsubscribe/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(post.status).toBe(200);
    expect(await post.text()).not.toContain('/preferences/');
    expect((await subscriberByEmail('verlopen-afmelden@voorbeeld.test'))?.status).toBe('unsubscribed');
  });
});

describe('unsubscribe', () => {
  it('RFC 8058 one-click: 200, no redirect, no cookie, idempotent, urlencoded and multipart', async () => {
    const subscriber = await activeSubscriber('eenklik@voorbeeld.test', ['nieuwsbrief', 'artikelen']);
    const token = tokens().issue({ p: 'unsubscribe', s: subscriber.id });
    const res = await ctx.app.request(`/unsubscribe/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('set-cookie')).toBeNull();
    const after = (await subscriberByEmail('eenklik@voorbeeld.test'))!;
    expect(after.status).toBe('unsubscribed');
    const eventsAfterFirst = await ctx.db
      .selectFrom('consent_events')
      .selectAll()
      .where('subscriber_id', '=', subscriber.id)
      .execute();
    expect(eventsAfterFirst.at(-1)).toMatchObject({ kind: 'withdrawn', source: '/unsubscribe (one-click)' });
    const suppressed = await ctx.db.selectFrom('suppressions').select('reason').execute();
    expect(suppressed.map((s) => s.reason)).toContain('unsubscribed');

    const form = new FormData();
    form.append('List-Unsubscribe', 'One-Click');
    const again = await ctx.app.request(`/unsubscribe/${token}`, { method: 'POST', body: form });
    expect(again.status).toBe(200);
    expect(again.headers.get('location')).toBeNull();
    const eventsAfterSecond = await ctx.db
      .selectFrom('consent_events')
      .selectAll()
      .where('subscriber_id', '=', subscriber.id)
      .execute();
    expect(eventsAfterSecond).toEqual(eventsAfterFirst);
  });

  it('a topic token leaves that topic; the page offers to leave everything', async () => {
    const subscriber = await activeSubscriber('onderwerp@voorbeeld.test', ['nieuwsbrief', 'artikelen']);
    const artikelen = await topicId('artikelen');
    const token = tokens().issue({ p: 'unsubscribe', s: subscriber.id, t: artikelen });
    const page = await (await ctx.app.request(`/unsubscribe/${token}`)).text();
    expect(page).toContain('Afmelden voor ‘Artikelen’');
    expect(page).toContain('Afmelden voor alles');

    const res = await ctx.app.request(`/unsubscribe/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'scope=topic&lang=nl',
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Je ontvangt geen berichten meer over ‘Artikelen’');
    expect(html).toContain('name="scope" value="all"');
    const after = (await subscriberByEmail('onderwerp@voorbeeld.test'))!;
    expect(after.status).toBe('active');
    const topics = await ctx.db
      .selectFrom('subscriptions')
      .select('topic_id')
      .where('subscriber_id', '=', subscriber.id)
      .execute();
    expect(topics.map((t) => t.topic_id)).toEqual([await topicId('nieuwsbrief')]);

    const all = await ctx.app.request(`/unsubscribe/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'scope=all',
    });
    expect(await all.text()).toContain('Je bent afgemeld');
    expect((await subscriberByEmail('onderwerp@voorbeeld.test'))?.status).toBe('unsubscribed');
  });

  it('a tampered token gets a 400 page and changes nothing', async () => {
    const subscriber = await activeSubscriber('manipulatie@voorbeeld.test');
    const token = tamper(tokens().issue({ p: 'unsubscribe', s: subscriber.id }));
    const before = await snapshot();
    const res = await ctx.app.request(`/unsubscribe/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('Deze link werkt niet');
    expect(await snapshot()).toEqual(before);
  });

  it('unsubscribe links do not expire, and speak the subscriber’s language', async () => {
    const subscriber = await activeSubscriber('oud@voorbeeld.test', ['nieuwsbrief'], { locale: 'en' });
    const token = tokens().issue({ p: 'unsubscribe', s: subscriber.id });
    clock.advance(400 * 24 * 3600 * 1000);
    const page = await ctx.app.request(`/unsubscribe/${token}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('Unsubscribe from everything');
    const dutch = await (await ctx.app.request(`/unsubscribe/${token}?lang=nl`)).text();
    expect(dutch).toContain('<html lang="nl">');
  });

  it('answers 200 for an erased subscriber (one-click stays idempotent)', async () => {
    const subscriber = await activeSubscriber('gewist@voorbeeld.test');
    const token = tokens().issue({ p: 'unsubscribe', s: subscriber.id });
    await ctx.db.deleteFrom('subscribers').where('id', '=', subscriber.id).execute();
    const res = await ctx.app.request(`/unsubscribe/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Deze aanmelding bestaat niet meer');
  });
});

describe('preferences', () => {
  it('shows the current choices and saves topics, language and name', async () => {
    const subscriber = await activeSubscriber('voorkeur@voorbeeld.test', ['nieuwsbrief']);
    const token = tokens().issue({ p: 'preferences', s: subscriber.id });
    const page = await (await ctx.app.request(`/preferences/${token}`)).text();
    expect(page).toMatch(/value="nieuwsbrief" checked/);
    expect(page).not.toMatch(/value="artikelen" checked/);
    expect(page).toContain('<label for="reason" class="field">');

    const res = await ctx.app.request(`/preferences/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: encode({ topics: ['artikelen', 'documenten'], locale: 'en', name: 'Nieuwe Naam', lang: 'nl' }),
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Je voorkeuren zijn opgeslagen.');
    expect(html).toMatch(/value="artikelen" checked/);
    const after = (await subscriberByEmail('voorkeur@voorbeeld.test'))!;
    expect(after).toMatchObject({ locale: 'en', name: 'Nieuwe Naam', status: 'active' });
    const jobs = await ctx.db
      .selectFrom('outbox')
      .select('job_name')
      .where('payload', '@>', { subscriberId: subscriber.id })
      .execute();
    expect(jobs.map((j) => j.job_name)).toContain('send-preferences-changed');
  });

  it('refuses unknown topics with a field error and changes nothing', async () => {
    const subscriber = await activeSubscriber('voorkeur-fout@voorbeeld.test');
    const token = tokens().issue({ p: 'preferences', s: subscriber.id });
    const before = await snapshot();
    const res = await ctx.app.request(`/preferences/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: encode({ topics: ['nieuwsbrief', 'geheim'], locale: 'nl' }),
    });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain('id="topics-error"');
    expect(html).toContain('role="alert"');
    expect(await snapshot()).toEqual(before);
  });

  it('unsubscribes from everything with an optional reason', async () => {
    const subscriber = await activeSubscriber('voorkeur-weg@voorbeeld.test');
    const token = tokens().issue({ p: 'preferences', s: subscriber.id });
    const res = await ctx.app.request(`/preferences/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: encode({ topics: ['nieuwsbrief'], locale: 'nl', unsubscribeAll: 'on', reason: 'Te veel e-mail' }),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Je bent afgemeld');
    expect((await subscriberByEmail('voorkeur-weg@voorbeeld.test'))?.status).toBe('unsubscribed');
    const last = await ctx.db
      .selectFrom('consent_events')
      .select(['kind', 'details'])
      .where('subscriber_id', '=', subscriber.id)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(last).toMatchObject({
      kind: 'withdrawn',
      details: { everything: true, reason: 'Te veel e-mail' },
    });
    // Afterwards the page says so and offers the signup form, without a form to save.
    const page = await (await ctx.app.request(`/preferences/${token}`)).text();
    expect(page).toContain('Meld je dan opnieuw aan');
    expect(page).not.toContain('name="topics"');
  });

  it('a tampered token gets a 400 page', async () => {
    const subscriber = await activeSubscriber('voorkeur-kapot@voorbeeld.test');
    const token = tamper(tokens().issue({ p: 'preferences', s: subscriber.id }));
    const before = await snapshot();
    const res = await ctx.app.request(`/preferences/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: encode({ topics: ['artikelen'], locale: 'en' }),
    });
    expect(res.status).toBe(400);
    expect(await snapshot()).toEqual(before);
  });
});
