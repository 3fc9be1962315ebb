import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Invalid } from '../../src/domain/errors.js';
import type { RateLimit } from '../../src/domain/rate-limits.js';
import {
  confirmSubscription,
  groupCommittedSignups,
  resendConfirmation,
  resolveTopics,
  type SignupInput,
  type SignupRequest,
  type SignupResult,
  signUp,
  signUpBatch,
  topicIdsOf,
  unsubscribe,
  updatePreferences,
} from '../../src/domain/subscribers.js';
import { suppress } from '../../src/domain/suppressions.js';
import { createTestContext, TestClock, type TestContext } from '../helpers/context.js';

let ctx: TestContext;
const clock = new TestClock();
const evidence = { source: 'test' };

beforeAll(async () => {
  ctx = await createTestContext({ clock });
});
afterAll(() => ctx.close());

function signup(email: string, topics = ['nieuwsbrief']) {
  return ctx.db
    .transaction()
    .execute((t) => signUp(t, clock, { email, topics, locale: 'nl', consentVersion: '2026-01' }, evidence));
}

async function idOf(email: string) {
  return (
    await ctx.db.selectFrom('subscribers').select('id').where('email', '=', email).executeTakeFirstOrThrow()
  ).id;
}

async function isStored(email: string) {
  const row = await ctx.db
    .selectFrom('subscribers')
    .select('id')
    .where('email', '=', email)
    .executeTakeFirst();
  return row !== undefined;
}

async function confirmationJobs(id: string) {
  return ctx.db
    .selectFrom('outbox')
    .select('job_id')
    .where('job_name', '=', 'send-confirmation')
    .where('payload', '@>', { subscriberId: id })
    .execute();
}

const countEvents = async (id: string) =>
  Number(
    (
      await ctx.db
        .selectFrom('consent_events')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('subscriber_id', '=', id)
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('subscriber rules (fixes)', () => {
  it('sends at most one confirmation per 10 minutes, also to an address that unsubscribed', async () => {
    expect(await signup('terugkeer@voorbeeld.test')).toBe('confirmation-sent');
    const id = await idOf('terugkeer@voorbeeld.test');
    await ctx.db.transaction().execute((t) => confirmSubscription(t, clock, id, evidence));
    await ctx.db
      .transaction()
      .execute((t) => unsubscribe(t, clock, id, { topicId: null, everything: true }, evidence));
    // Within ten minutes of the first confirmation: nothing new.
    expect(await signup('terugkeer@voorbeeld.test')).toBe('throttled');
    expect(await confirmationJobs(id)).toHaveLength(1);
    clock.advance(11 * 60 * 1000);
    expect(await signup('terugkeer@voorbeeld.test')).toBe('confirmation-sent');
    expect(await confirmationJobs(id)).toHaveLength(2);
  });

  it('unsubscribing a bounced address twice records one withdrawal', async () => {
    expect(await signup('stuitert@voorbeeld.test')).toBe('confirmation-sent');
    const id = await idOf('stuitert@voorbeeld.test');
    await ctx.db.updateTable('subscribers').set({ status: 'bounced' }).where('id', '=', id).execute();
    const first = await ctx.db
      .transaction()
      .execute((t) => unsubscribe(t, clock, id, { topicId: null, everything: true }, evidence));
    const events = await countEvents(id);
    const second = await ctx.db
      .transaction()
      .execute((t) => unsubscribe(t, clock, id, { topicId: null, everything: true }, evidence));
    expect(first.changed).toBe(true);
    expect(second.changed).toBe(false);
    expect(await countEvents(id)).toBe(events);
    expect(second.subscriber.status).toBe('bounced');
  });

  it('saving unchanged preferences with topic ids ≥ 10 records no change', async () => {
    for (let i = 0; i < 10; i++) {
      await ctx.db
        .insertInto('topics')
        .values({ slug: `extra-${i}`, name_nl: `Extra ${i}`, name_en: `Extra ${i}` })
        .execute();
    }
    // Ids 2 and ≥ 10: in text order '1x' sorts before '2'.
    const slugs = ['artikelen', 'extra-9'];
    expect(await signup('veel@voorbeeld.test', slugs)).toBe('confirmation-sent');
    const id = await idOf('veel@voorbeeld.test');
    await ctx.db.transaction().execute((t) => confirmSubscription(t, clock, id, evidence));
    const events = await countEvents(id);
    await ctx.db
      .transaction()
      .execute((t) => updatePreferences(t, clock, id, { topics: slugs, locale: 'nl' }, evidence));
    expect(await countEvents(id)).toBe(events);
    const changed = await ctx.db
      .selectFrom('outbox')
      .select('job_id')
      .where('job_name', '=', 'send-preferences-changed')
      .where('payload', '@>', { subscriberId: id })
      .execute();
    expect(changed).toHaveLength(0);
  });

  it('treats a number too large for an id as an unknown topic, and refuses internal topics at signup', async () => {
    await expect(resolveTopics(ctx.db, ['99999999999999999999999'])).rejects.toBeInstanceOf(Invalid);
    await ctx.db
      .insertInto('topics')
      .values({ slug: 'alleen-partners', name_nl: 'Partners', name_en: 'Partners', public: false })
      .execute();
    expect(await resolveTopics(ctx.db, ['alleen-partners'])).toHaveLength(1);
    await expect(signup('intern@voorbeeld.test', ['alleen-partners'])).rejects.toBeInstanceOf(Invalid);
  });

  it('resends a confirmation only to a pending address, at most once per 10 minutes', async () => {
    expect(await signup('opnieuw@voorbeeld.test')).toBe('confirmation-sent');
    const id = await idOf('opnieuw@voorbeeld.test');
    const resend = () => ctx.db.transaction().execute((t) => resendConfirmation(t, clock, id));
    expect(await resend()).toBe('throttled');
    clock.advance(11 * 60 * 1000);
    expect(await resend()).toBe('confirmation-sent');
    expect((await confirmationJobs(id)).map((j) => j.job_id)).toEqual([
      `confirmation-${id}-1`,
      `confirmation-${id}-2`,
    ]);
    await ctx.db.transaction().execute((t) => confirmSubscription(t, clock, id, evidence));
    clock.advance(11 * 60 * 1000);
    expect(await resend()).toBe('not-pending');
  });

  it('concurrent signups for one new address store one subscriber, one consent event, one email', async () => {
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => signup('tegelijk@voorbeeld.test')));
    expect(outcomes.filter((outcome) => outcome === 'confirmation-sent')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'throttled')).toHaveLength(7);
    const id = await idOf('tegelijk@voorbeeld.test');
    expect(await countEvents(id)).toBe(1);
    expect((await confirmationJobs(id)).map((job) => job.job_id)).toEqual([`confirmation-${id}-1`]);
  });

  it('a signup with the local part in other capitals reaches the same subscriber', async () => {
    expect(await signup('Hoofdletters@voorbeeld.test')).toBe('confirmation-sent');
    clock.advance(11 * 60 * 1000);
    expect(await signup('hoofdletters@voorbeeld.test')).toBe('confirmation-sent');
    const rows = await ctx.db
      .selectFrom('subscribers')
      .select(['id', 'email', 'confirmation_count'])
      .where(sql<boolean>`lower(email) = 'hoofdletters@voorbeeld.test'`)
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.confirmation_count).toBe(2);
  });

  it('signing up again: pending takes the new topics and locale, active keeps its own', async () => {
    const byNumber = (ids: string[]) => [...ids].sort((a, b) => Number(a) - Number(b));
    const topicsOf = async (id: string) => byNumber(await topicIdsOf(ctx.db, id));
    const ids = async (slugs: string[]) => byNumber(await resolveTopics(ctx.db, slugs));
    const again = (email: string, topics: string[]) =>
      signUp(
        ctx.db,
        clock,
        { email, topics, locale: 'en', consentVersion: '2026-01', name: 'Anders' },
        evidence,
      );
    expect(await signup('wacht-nog@voorbeeld.test', ['nieuwsbrief', 'artikelen'])).toBe('confirmation-sent');
    expect(await signup('doet-mee@voorbeeld.test', ['nieuwsbrief', 'artikelen'])).toBe('confirmation-sent');
    const pending = await idOf('wacht-nog@voorbeeld.test');
    const active = await idOf('doet-mee@voorbeeld.test');
    await ctx.db.transaction().execute((t) => confirmSubscription(t, clock, active, evidence));
    clock.advance(11 * 60 * 1000);

    expect(await again('wacht-nog@voorbeeld.test', ['documenten', 'artikelen'])).toBe('confirmation-sent');
    expect(await again('doet-mee@voorbeeld.test', ['documenten'])).toBe('already-subscribed-sent');

    expect(await topicsOf(pending)).toEqual(await ids(['artikelen', 'documenten']));
    const row = (id: string) =>
      ctx.db.selectFrom('subscribers').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(await row(pending)).toMatchObject({
      status: 'pending',
      locale: 'en',
      name: 'Anders',
      confirmation_count: 2,
    });
    const given = await ctx.db
      .selectFrom('consent_events')
      .select(['kind', 'details', 'consent_version', 'lawful_basis'])
      .where('subscriber_id', '=', pending)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(given).toMatchObject({ kind: 'given', consent_version: '2026-01', lawful_basis: 'consent' });
    expect((given.details as { topics: string[] }).topics).toHaveLength(2);

    expect(await topicsOf(active)).toEqual(await ids(['artikelen', 'nieuwsbrief']));
    expect(await row(active)).toMatchObject({
      status: 'active',
      locale: 'nl',
      name: null,
      confirmation_count: 2,
    });
    const activeJobs = await ctx.db
      .selectFrom('outbox')
      .select('job_id')
      .where('payload', '@>', { subscriberId: active })
      .where('job_name', '=', 'send-already-subscribed')
      .execute();
    expect(activeJobs.map((job) => job.job_id)).toEqual([`already-subscribed-${active}-2`]);
  });

  it('names an unknown topic and an unknown consent version at once, and stores nothing', async () => {
    const attempt = signUp(
      ctx.db,
      clock,
      { email: 'nergens@voorbeeld.test', topics: ['bestaat-niet'], locale: 'nl', consentVersion: '1999-01' },
      evidence,
    );
    await expect(attempt).rejects.toMatchObject({
      fields: [
        { field: 'topics', message: 'Onbekend onderwerp: bestaat-niet.' },
        { field: 'consentVersion', message: expect.stringMatching(/toestemmingstekst/) },
      ],
    });
    expect(await isStored('nergens@voorbeeld.test')).toBe(false);
  });

  it('sends nothing to a suppressed address, and does not store it', async () => {
    await suppress(ctx.db, 'geblokkeerd@voorbeeld.test', 'complained', 'test');
    expect(await signup('geblokkeerd@voorbeeld.test')).toBe('suppressed');
    expect(await isStored('geblokkeerd@voorbeeld.test')).toBe(false);
  });
});

describe('signups written together', () => {
  const request = (
    email: string,
    overrides: Partial<SignupInput> = {},
    rateLimit?: RateLimit,
  ): SignupRequest => ({
    input: { email, topics: ['nieuwsbrief'], locale: 'nl', consentVersion: '2026-01', ...overrides },
    evidence: { source: 'https://www.voorbeeld.test/aanmelden', ipHash: 'ip-hash', userAgent: 'Testbrowser' },
    rateLimit,
  });
  const summary = (results: SignupResult[]) =>
    results.map((result) => (result.ok ? result.outcome : result.error.constructor.name));

  it('gives each request of one statement its own outcome, and stores only the valid ones', async () => {
    await suppress(ctx.db, 'samen-geblokkeerd@voorbeeld.test', 'complained', 'test');
    expect(await signup('samen-al-actief@voorbeeld.test')).toBe('confirmation-sent');
    const active = await idOf('samen-al-actief@voorbeeld.test');
    await ctx.db.transaction().execute((t) => confirmSubscription(t, clock, active, evidence));
    clock.advance(11 * 60 * 1000);

    const results = await signUpBatch(ctx.db, clock, [
      request('samen-nieuw@voorbeeld.test', { topics: ['nieuwsbrief', 'artikelen'], name: 'Nieuw Lid' }),
      request('geen-adres'),
      request('samen-onbekend@voorbeeld.test', { topics: ['bestaat-niet'] }),
      request('samen-versie@voorbeeld.test', { consentVersion: '1999-01' }),
      request('samen-geblokkeerd@voorbeeld.test'),
      request('samen-al-actief@voorbeeld.test', { locale: 'en' }),
      request('samen-engels@voorbeeld.test', { locale: 'en', topics: ['documenten'] }),
      request('samen-leeg@voorbeeld.test', { topics: [] }),
    ]);
    expect(summary(results)).toEqual([
      'confirmation-sent',
      'Invalid',
      'Invalid',
      'Invalid',
      'suppressed',
      'already-subscribed-sent',
      'confirmation-sent',
      'Invalid',
    ]);
    const fieldsOf = (result: SignupResult | undefined) =>
      result && !result.ok && result.error instanceof Invalid ? result.error.fields.map((f) => f.field) : [];
    expect(results.map(fieldsOf)).toEqual([
      [],
      ['email'],
      ['topics'],
      ['consentVersion'],
      [],
      [],
      [],
      ['topics'],
    ]);

    for (const refused of ['samen-onbekend', 'samen-versie', 'samen-geblokkeerd', 'samen-leeg'])
      expect(await isStored(`${refused}@voorbeeld.test`)).toBe(false);
    const created = await ctx.db
      .selectFrom('subscribers')
      .select(['id', 'email', 'name', 'locale', 'status'])
      .where('email', 'in', ['samen-nieuw@voorbeeld.test', 'samen-engels@voorbeeld.test'])
      .orderBy('email')
      .execute();
    expect(created).toMatchObject([
      { email: 'samen-engels@voorbeeld.test', locale: 'en', status: 'pending', name: null },
      { email: 'samen-nieuw@voorbeeld.test', locale: 'nl', status: 'pending', name: 'Nieuw Lid' },
    ]);
    const [english, both] = created;
    expect((await topicIdsOf(ctx.db, both!.id)).length).toBe(2);
    expect(await topicIdsOf(ctx.db, english!.id)).toEqual(await resolveTopics(ctx.db, ['documenten']));
    // Each consent event carries its own request's evidence and topics.
    const given = await ctx.db
      .selectFrom('consent_events')
      .select(['subscriber_id', 'details', 'source', 'ip_hash', 'user_agent'])
      .where('subscriber_id', 'in', [english!.id, both!.id])
      .where('kind', '=', 'given')
      .orderBy('subscriber_id')
      .execute();
    expect(given.map((event) => (event.details as { topics: string[] }).topics.length).sort()).toEqual([
      1, 2,
    ]);
    expect(given.map((event) => (event.details as { locale: string }).locale).sort()).toEqual(['en', 'nl']);
    expect(given.every((event) => event.ip_hash === 'ip-hash' && event.user_agent === 'Testbrowser')).toBe(
      true,
    );
    expect(await confirmationJobs(english!.id)).toEqual([{ job_id: `confirmation-${english!.id}-1` }]);
    expect(await confirmationJobs(both!.id)).toEqual([{ job_id: `confirmation-${both!.id}-1` }]);
  });

  it('counts a shared per-IP limit in request order: the requests past it are refused, not stored', async () => {
    const limit: RateLimit = { key: 'signup:ip:samen-een-netwerk', limit: 3, windowMs: 10 * 60 * 1000 };
    const emails = [1, 2, 3, 4, 5].map((n) => `zelfde-netwerk-${n}@voorbeeld.test`);
    const results = await signUpBatch(
      ctx.db,
      clock,
      emails.map((email) => request(email, {}, limit)),
    );
    expect(summary(results)).toEqual([
      'confirmation-sent',
      'confirmation-sent',
      'confirmation-sent',
      'TooManyRequests',
      'TooManyRequests',
    ]);
    expect(await Promise.all(emails.map(isStored))).toEqual([true, true, true, false, false]);
    // The next statement goes on counting from there.
    const [later] = await signUpBatch(ctx.db, clock, [request('zelfde-netwerk-6@voorbeeld.test', {}, limit)]);
    expect(later).toMatchObject({ ok: false });
  });

  it('concurrent signups through the group-committed writer: all stored once, one address once', async () => {
    const writer = groupCommittedSignups(ctx.db, clock, { maxInFlight: 2, maxBatch: 10 });
    const emails = Array.from({ length: 60 }, (_, n) => `druk-${n % 50}@voorbeeld.test`);
    const outcomes = await Promise.all(emails.map((email) => writer.signUp(request(email))));
    expect(outcomes.filter((outcome) => outcome === 'confirmation-sent')).toHaveLength(50);
    expect(outcomes.filter((outcome) => outcome === 'throttled')).toHaveLength(10);
    const stored = await ctx.db
      .selectFrom('subscribers')
      .innerJoin('consent_events', 'consent_events.subscriber_id', 'subscribers.id')
      .select((eb) => [
        eb.fn.countAll<string>().as('events'),
        eb.fn.count<string>('subscribers.id').distinct().as('subscribers'),
      ])
      .where('subscribers.email', 'like', 'druk-%')
      .executeTakeFirstOrThrow();
    expect(stored).toEqual({ events: '50', subscribers: '50' });
  });
});
