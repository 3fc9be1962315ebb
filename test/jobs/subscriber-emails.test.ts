import { createIORedisClient, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { confirmSubscription, unsubscribe } from '../../src/domain/subscribers.js';
import { suppress } from '../../src/domain/suppressions.js';
import { transactionalEmailProcessor } from '../../src/jobs/processors/transactional-email.js';
import { RedisProviderRateLimit } from '../../src/jobs/provider-rate-limit.js';
import { systemClock } from '../../src/providers/clock.js';
import { MailboxMailer } from '../../src/providers/mailbox-mailer.js';
import { startTestBackground, type TestBackground } from '../helpers/background.js';
import { createTestContext, TestClock, type TestContext } from '../helpers/context.js';
import { waitUntil } from '../helpers/process.js';

let ctx: TestContext;
const clock = new TestClock();
let background: TestBackground;

beforeAll(async () => {
  ctx = await createTestContext({ clock });
  background = await startTestBackground(ctx, { clock, relayClock: systemClock, concurrency: 2 });
});
afterAll(async () => {
  await background.stop();
  await ctx.close();
});

const mailbox = (address: string) =>
  ctx.db
    .selectFrom('dev_mailbox')
    .selectAll()
    .where(sql<boolean>`${address} = any(to_addresses)`)
    .orderBy('id')
    .execute();

async function waitForMail(address: string, count: number) {
  await waitUntil(
    async () => (await mailbox(address)).length >= count,
    `${count} email(s) to ${address}`,
    20_000,
  );
  const messages = await mailbox(address);
  return messages[count - 1]!;
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
    outbox: await db
      .selectFrom('outbox')
      .select(['id', 'job_id', 'job_name', 'payload'])
      .orderBy('id')
      .execute(),
  };
}

const path = (url: string) => new URL(url).pathname;
const linkIn = (text: string, kind: 'confirm' | 'preferences' | 'unsubscribe') => {
  const match = new RegExp(`http://localhost:3000/${kind}/[A-Za-z0-9_.-]+`).exec(text);
  if (!match) throw new Error(`no ${kind} link in the email`);
  return match[0];
};
const form = (fields: Record<string, string | string[]>) => {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
  }
  return { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body };
};

describe('a subscriber’s whole journey, through the real relay, worker and mailbox', () => {
  it('signs up, confirms, changes preferences, leaves a topic and unsubscribes with one click', async () => {
    const address = 'reiziger@voorbeeld.test';
    // 1. The signup form, filled in by a person (more than two seconds later).
    const page = await (await ctx.app.request('/subscribe')).text();
    const formToken = /name="formToken" value="([^"]+)"/.exec(page)![1]!;
    clock.advance(5_000);
    const signup = await ctx.app.request(
      '/subscribe',
      form({
        email: address,
        name: 'Robin <Reiziger>',
        topics: ['nieuwsbrief', 'artikelen', 'documenten'],
        locale: 'nl',
        consent: 'on',
        consentVersion: '2026-01',
        website: '',
        formToken,
      }),
    );
    expect(signup.status).toBe(200);
    const subscriber = (await ctx.db
      .selectFrom('subscribers')
      .selectAll()
      .where('email', '=', address)
      .executeTakeFirst())!;
    expect(subscriber.status).toBe('pending');

    // 2. The worker renders and sends the confirmation.
    const confirmation = await waitForMail(address, 1);
    expect(confirmation.subject).toBe('Bevestig je aanmelding bij Thuispost');
    expect(confirmation.html).toContain('<html dir="ltr" lang="nl">');
    expect(confirmation.html).toContain('Robin &lt;Reiziger&gt;');
    expect(confirmation.headers).not.toHaveProperty('List-Unsubscribe');
    const stored = await ctx.db
      .selectFrom('emails')
      .selectAll()
      .where('dedupe_key', '=', `confirmation-${subscriber.id}-1`)
      .executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ kind: 'confirmation', status: 'sent', to_address: address });
    expect(confirmation.idempotency_key).toBe(`email-${stored.id}#0`);

    // 3. GET on the link (a scanner, or the person) changes nothing; POST confirms.
    const confirmUrl = linkIn(confirmation.text, 'confirm');
    expect(confirmation.html).toContain(`href="${confirmUrl}"`);
    const before = await snapshot();
    const shown = await ctx.app.request(path(confirmUrl));
    expect(shown.status).toBe(200);
    expect(await shown.text()).toContain('Bevestig je aanmelding</button>');
    expect(await snapshot()).toEqual(before);
    const confirmed = await ctx.app.request(path(confirmUrl), { method: 'POST' });
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain('Je aanmelding is bevestigd');

    // 4. The welcome email, with one-click unsubscribe headers and personal links.
    const welcome = await waitForMail(address, 2);
    expect(welcome.subject).toBe('Welkom bij Thuispost');
    const unsubscribeUrl = linkIn(welcome.text, 'unsubscribe');
    const preferencesUrl = linkIn(welcome.text, 'preferences');
    expect(welcome.headers).toMatchObject({
      'List-Unsubscribe': `<${unsubscribeUrl}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
    expect(welcome.html).toContain('Voorbeeldstraat 1, 1234 AB Voorbeeldstad');

    // 5. Preferences: other topics, English; a confirmation of the change arrives in English.
    const preferences = await ctx.app.request(path(preferencesUrl));
    expect(await preferences.text()).toMatch(/value="documenten" checked/);
    const saved = await ctx.app.request(
      path(preferencesUrl),
      form({ topics: ['artikelen', 'documenten'], locale: 'en', name: 'Robin', lang: 'nl' }),
    );
    expect(saved.status).toBe(200);
    const changed = await waitForMail(address, 3);
    expect(changed.subject).toBe('Your preferences have been changed');
    expect(changed.html).toContain('lang="en"');
    expect(changed.text).toContain('Articles');
    expect(changed.text).toContain('Documents and leaflets');
    expect(changed.text).not.toContain('Newsletter');

    // 6. An email about one topic: its unsubscribe link leaves only that topic.
    const articles = (
      await ctx.db.selectFrom('topics').select('id').where('slug', '=', 'artikelen').executeTakeFirstOrThrow()
    ).id;
    const topicToken = ctx.deps.linkTokens.issue({ p: 'unsubscribe', s: subscriber.id, t: articles });
    const topicPage = await (await ctx.app.request(`/unsubscribe/${topicToken}`)).text();
    expect(topicPage).toContain('<html lang="en">');
    expect(topicPage).toContain('Unsubscribe from ‘Articles’');
    expect(topicPage).toContain('Unsubscribe from everything');
    const leftTopic = await ctx.app.request(`/unsubscribe/${topicToken}`, form({ scope: 'topic' }));
    expect(leftTopic.status).toBe(200);
    const remaining = await ctx.db
      .selectFrom('subscriptions')
      .select('topic_id')
      .where('subscriber_id', '=', subscriber.id)
      .execute();
    expect(remaining).toHaveLength(1);
    expect(
      (
        await ctx.db
          .selectFrom('subscribers')
          .select('status')
          .where('id', '=', subscriber.id)
          .executeTakeFirstOrThrow()
      ).status,
    ).toBe('active');

    // 7. RFC 8058 one-click from the header: no cookie, 200, no redirect; everything; idempotent.
    const oneClick = () =>
      ctx.app.request(path(unsubscribeUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
    const first = await oneClick();
    expect(first.status).toBe(200);
    expect(first.headers.get('location')).toBeNull();
    expect(first.headers.get('set-cookie')).toBeNull();
    const after = await snapshot();
    expect(after.subscribers.find((s) => s.id === subscriber.id)?.status).toBe('unsubscribed');
    const second = await oneClick();
    expect(second.status).toBe(200);
    expect(await snapshot()).toEqual(after);
  });
});

describe('template email jobs', () => {
  // The provider's shared schedule (as src/jobs/workers.ts makes it), on a key of this file's own.
  const rateKey = `test-transactional-rate:${Date.now()}:${Math.random()}`;
  const rateRequestsPerSecond = 1000;
  let rateRedis: Redis;
  let rateLimit: RedisProviderRateLimit;
  beforeAll(() => {
    rateRedis = new Redis(inject('redisUrl'));
    const client = createIORedisClient(rateRedis);
    rateLimit = new RedisProviderRateLimit(async () => client, rateKey, rateRequestsPerSecond);
  });
  afterAll(() => rateRedis.disconnect());

  const processor = () =>
    transactionalEmailProcessor(
      {
        db: ctx.db,
        mailer: new MailboxMailer(ctx.db),
        clock,
        logger: ctx.deps.logger,
        emailFrom: 'Thuispost <nieuws@voorbeeld.test>',
        publicBaseUrl: ctx.deps.config.publicBaseUrl,
        linkTokens: ctx.deps.linkTokens,
      },
      rateLimit,
    );
  const job = (name: string, subscriberId: string, id: string) =>
    ({ name, id, data: { subscriberId }, attemptsMade: 0, opts: { attempts: 8 } }) as unknown as Job;

  async function newSubscriber(email: string, status: 'pending' | 'active', locale: 'nl' | 'en' = 'nl') {
    const row = await ctx.db
      .insertInto('subscribers')
      .values({ email, status, source: 'editor', locale, confirmation_count: 1 })
      .returning('id')
      .executeTakeFirstOrThrow();
    await ctx.db
      .insertInto('subscriptions')
      .values({
        subscriber_id: row.id,
        topic_id: sql<string>`(select id from topics where slug = 'nieuwsbrief')`,
      })
      .execute();
    return row.id;
  }

  it('renders once per job: a retry sends the stored email, with the same idempotency key', async () => {
    const id = await newSubscriber('herhaal@voorbeeld.test', 'active', 'en');
    const run = processor();
    await run(job('send-already-subscribed', id, `already-subscribed-${id}-2`));
    await run(job('send-already-subscribed', id, `already-subscribed-${id}-2`));
    const rows = await ctx.db
      .selectFrom('emails')
      .selectAll()
      .where('to_address', '=', 'herhaal@voorbeeld.test')
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      kind: 'already-subscribed',
      status: 'sent',
      dedupe_key: `already-subscribed-${id}-2`,
    });
    expect(rows[0]!.subject).toBe('You are already subscribed to Thuispost');
    expect(rows[0]!.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    expect(await mailbox('herhaal@voorbeeld.test')).toHaveLength(1);
  });

  it('takes a turn in the provider rate limit that edition batches share, one per email sent', async () => {
    const scheduled = async () => Number((await rateRedis.get(rateKey)) ?? 0);
    await rateLimit.reserve();
    const before = await scheduled();
    const run = processor();
    for (const n of [1, 2, 3]) {
      const id = await newSubscriber(`in-de-rij-${n}@voorbeeld.test`, 'pending');
      await run(job('send-confirmation', id, `confirmation-${id}-1`));
    }
    expect(await mailbox('in-de-rij-3@voorbeeld.test')).toHaveLength(1);
    // Each send moved the shared schedule on by at least one interval (it never moves back).
    expect((await scheduled()) - before).toBeGreaterThanOrEqual(3 * (1_000_000 / rateRequestsPerSecond));
  });

  it('skips (and completes) when the subscriber is gone, unsubscribed, suppressed, or no longer pending', async () => {
    const run = processor();
    const gone = await newSubscriber('verdwenen@voorbeeld.test', 'active');
    await ctx.db.deleteFrom('subscribers').where('id', '=', gone).execute();
    await run(job('send-welcome', gone, `welcome-${gone}-c1`));

    const left = await newSubscriber('vertrokken@voorbeeld.test', 'active');
    await ctx.db
      .transaction()
      .execute((tx) => unsubscribe(tx, clock, left, { topicId: null, everything: true }, { source: 'test' }));
    await run(job('send-welcome', left, `welcome-${left}-c1`));
    await run(job('send-preferences-changed', left, `preferences-changed-${left}-9`));

    const bounced = await newSubscriber('gebounced-actief@voorbeeld.test', 'active');
    await suppress(ctx.db, 'gebounced-actief@voorbeeld.test', 'bounced', 'test');
    await run(job('send-welcome', bounced, `welcome-${bounced}-c1`));

    const active = await newSubscriber('al-actief@voorbeeld.test', 'active');
    await run(job('send-confirmation', active, `confirmation-${active}-1`));

    const complained = await newSubscriber('klacht@voorbeeld.test', 'pending');
    await suppress(ctx.db, 'klacht@voorbeeld.test', 'complained', 'test');
    await run(job('send-confirmation', complained, `confirmation-${complained}-1`));

    const emails = await ctx.db
      .selectFrom('emails')
      .select('id')
      .where('to_address', 'in', [
        'verdwenen@voorbeeld.test',
        'vertrokken@voorbeeld.test',
        'gebounced-actief@voorbeeld.test',
        'al-actief@voorbeeld.test',
        'klacht@voorbeeld.test',
      ])
      .execute();
    expect(emails).toHaveLength(0);
  });

  it('sends a confirmation to a pending address that unsubscribed before (its own confirmation lifts that)', async () => {
    const id = await newSubscriber('terug@voorbeeld.test', 'pending');
    await suppress(ctx.db, 'terug@voorbeeld.test', 'unsubscribed', 'test');
    await processor()(job('send-confirmation', id, `confirmation-${id}-1`));
    const [message] = await mailbox('terug@voorbeeld.test');
    expect(message?.subject).toBe('Bevestig je aanmelding bij Thuispost');
    const confirmUrl = linkIn(message!.text, 'confirm');
    const payload = ctx.deps.linkTokens.verify(path(confirmUrl).split('/')[2]!, 'confirm');
    expect(payload.ok && payload.payload).toMatchObject({ s: id, n: 1 });
    expect(payload.ok && payload.payload.e! - payload.payload.i).toBe(7 * 24 * 3600);
  });

  it('runs a queued welcome through the outbox for a subscriber confirmed by the domain', async () => {
    const id = await newSubscriber('welkom@voorbeeld.test', 'pending');
    await ctx.db.transaction().execute((tx) => confirmSubscription(tx, clock, id, { source: 'test' }));
    const message = await waitForMail('welkom@voorbeeld.test', 1);
    expect(message.subject).toBe('Welkom bij Thuispost');
    expect(message.text).toContain('Nieuwsbrief');
  });

  it('refuses an unknown job name for good', async () => {
    await expect(processor()(job('send-nothing', '1', 'x'))).rejects.toThrow(/unknown job/);
  });
});
