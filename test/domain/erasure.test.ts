import { createIORedisClient, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { audit } from '../../src/domain/audit.js';
import { emailHash } from '../../src/domain/email-address.js';
import { purgePendingSignups } from '../../src/domain/erasure.js';
import { recordResendEvent } from '../../src/domain/provider-events.js';
import { eraseSubscriber } from '../../src/domain/subscriber-admin.js';
import { confirmSubscription, resendConfirmation, signUp } from '../../src/domain/subscribers.js';
import { maintenanceProcessor } from '../../src/jobs/processors/maintenance.js';
import { transactionalEmailProcessor } from '../../src/jobs/processors/transactional-email.js';
import { RedisProviderRateLimit } from '../../src/jobs/provider-rate-limit.js';
import { MailboxMailer } from '../../src/providers/mailbox-mailer.js';
import { createTestContext, TestClock, type TestContext } from '../helpers/context.js';
import { waitUntil } from '../helpers/process.js';

const DAY_MS = 24 * 60 * 60 * 1000;
let ctx: TestContext;
const clock = new TestClock();
let rateRedis: Redis;
let rateLimit: RedisProviderRateLimit;

beforeAll(async () => {
  ctx = await createTestContext({ clock });
  rateRedis = new Redis(inject('redisUrl'));
  const client = createIORedisClient(rateRedis);
  rateLimit = new RedisProviderRateLimit(async () => client, `test-erasure-rate:${ctx.redisPrefix}`, 1000);
});
afterAll(async () => {
  rateRedis.disconnect();
  await ctx.close();
});

/**
 * Every row of every text, character, jsonb, array or bytea column of every table in the schema
 * that contains one of the needles (any case): a new table or column is covered without changing
 * this test. Returns "table.column" for each hit.
 */
async function findEverywhere(needles: string[]): Promise<string[]> {
  const { rows: columns } = await sql<{ table_name: string; column_name: string; data_type: string }>`
    select c.table_name, c.column_name, c.data_type
    from information_schema.columns c
    join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
    where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'
      and c.data_type in ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY', 'bytea', 'USER-DEFINED')
    order by 1, 2`.execute(ctx.db);
  expect(columns.length).toBeGreaterThan(50);
  const patterns = needles.map((needle) => `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  const hits: string[] = [];
  for (const { table_name, column_name, data_type } of columns) {
    const value =
      data_type === 'bytea'
        ? sql`encode(${sql.ref(column_name)}, 'escape')`
        : sql`${sql.ref(column_name)}::text`;
    const { rows } = await sql<{ n: string }>`
      select count(*) as n from ${sql.table(table_name)} where ${value} ilike any(${patterns}::text[])`.execute(
      ctx.db,
    );
    if (Number(rows[0]!.n) > 0) hits.push(`${table_name}.${column_name}`);
  }
  return hits;
}

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

const evidence = {
  source: 'https://www.voorbeeld.test/aanmelden',
  ipHash: 'hmac1:test',
  userAgent: 'Test/1',
};

async function signUpPerson(email: string, name: string) {
  await signUp(
    ctx.db,
    clock,
    { email, name, topics: ['nieuwsbrief'], locale: 'nl', consentVersion: '2026-01' },
    evidence,
  );
  return ctx.db
    .selectFrom('subscribers')
    .selectAll()
    .where(sql<string>`lower(email)`, '=', email.toLowerCase())
    .executeTakeFirstOrThrow();
}

/** The confirmation email, through the real worker code into the dev mailbox. */
async function sendConfirmation(subscriberId: string, count = 1) {
  await processor()(job('send-confirmation', subscriberId, `confirmation-${subscriberId}-${count}`));
  return ctx.db
    .selectFrom('emails')
    .selectAll()
    .where('dedupe_key', '=', `confirmation-${subscriberId}-${count}`)
    .executeTakeFirstOrThrow();
}

let svix = 0;
async function event(type: string, data: Record<string, unknown>) {
  await ctx.db.transaction().execute((tx) =>
    recordResendEvent(tx, clock, `msg_erasure_${++svix}`, {
      type,
      createdAt: clock.now().toISOString(),
      data,
    }),
  );
}

describe('erasure leaves no trace of the address or the name', () => {
  it('finds neither anywhere in the database after erasing a subscriber with emails, events, import errors', async () => {
    // Typed in mixed case: the address must go whatever case it is stored or quoted in.
    const address = 'Wies.Wisselaar@Voorbeeld.test';
    const stored = 'Wies.Wisselaar@voorbeeld.test';
    const name = 'Wilhelmina Wisselaar-Zwanenburg';
    const person = await signUpPerson(address, name);
    const other = await signUpPerson('blijft.bestaan@voorbeeld.test', 'Berend Blijfstaal');
    await ctx.db.transaction().execute((tx) => confirmSubscription(tx, clock, other.id, evidence));

    // Confirmation and welcome emails, sent through the worker into the dev mailbox.
    const confirmation = await sendConfirmation(person.id);
    await ctx.db.transaction().execute((tx) => confirmSubscription(tx, clock, person.id, evidence));
    await processor()(job('send-welcome', person.id, `welcome-${person.id}-c1`));
    const welcome = await ctx.db
      .selectFrom('emails')
      .selectAll()
      .where('dedupe_key', '=', `welcome-${person.id}-c1`)
      .executeTakeFirstOrThrow();
    expect(welcome.html).toContain('Wilhelmina');
    expect(confirmation.provider_message_id).not.toBeNull();

    // Provider events of those emails: delivered, and a bounce quoting the address deep inside.
    await event('email.delivered', { email_id: confirmation.provider_message_id, to: [stored] });
    await event('email.bounced', {
      email_id: welcome.provider_message_id,
      to: [stored],
      subject: 'Welkom',
      bounce: {
        type: 'Transient',
        subType: 'MailboxFull',
        message: `452 4.2.2 <${address.toUpperCase()}>: mailbox full`,
        diagnostics: [{ remote: { text: `smtp; 452 ${stored} over quota` } }],
      },
    });

    // An edition delivery with its events; the bounce reason lands in deliveries.error.
    const edition = await ctx.db
      .insertInto('editions')
      .values({ title: 'Editie', subject: 'Editie', slug: 'editie-wissen', blocks: JSON.stringify([]) })
      .returning('id')
      .executeTakeFirstOrThrow();
    const delivery = await ctx.db
      .insertInto('deliveries')
      .values({
        edition_id: edition.id,
        subscriber_id: person.id,
        email: stored,
        locale: 'nl',
        batch_no: 0,
        status: 'sent',
        provider_message_id: 'msg-delivery-wissen',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await event('email.delivery_delayed', { email_id: 'msg-delivery-wissen', to: [stored] });
    await event('email.bounced', {
      email_id: 'msg-delivery-wissen',
      bounce: { type: 'Transient', subType: 'General', message: `550 ${stored}: try later` },
    });
    // An event about a message we do not know (yet), quoting the address: kept, but scrubbed.
    await event('email.failed', {
      email_id: 'msg-unknown',
      failed: { reason: `rejected recipient ${address}` },
    });

    // An import report with the address (another case) and, on the same line, the name.
    const imp = await ctx.db
      .insertInto('imports')
      .values({
        dry_run: true,
        lawful_basis: 'public_task',
        size_bytes: 100,
        encoding: 'utf-8',
        separator: ';',
        status: 'done',
        finished_at: clock.now(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await ctx.db
      .insertInto('import_errors')
      .values([
        { import_id: imp.id, line: 2, value: address.toUpperCase(), reason: 'Dubbel in het bestand.' },
        { import_id: imp.id, line: 2, value: name, reason: 'Naam te lang.' },
        { import_id: imp.id, line: 3, value: 'ander@voorbeeld.test', reason: 'Dubbel in het bestand.' },
      ])
      .execute();

    // Elsewhere an address can end up: a rate-limit key, an audit entry, an outbox payload.
    await ctx.db
      .insertInto('rate_limits')
      .values({ key: `test:${stored}`, window_start: clock.now(), hits: 1 })
      .execute();
    await audit(ctx.db, null, 'test.note', null, { note: { to: [address], count: 1 } });
    await ctx.db
      .insertInto('outbox')
      .values({ queue: 'test', job_name: 'note', job_id: 'erasure-note', payload: { to: stored } })
      .execute();

    expect(await findEverywhere([stored, name])).not.toEqual([]);

    await ctx.db.transaction().execute((tx) => eraseSubscriber(tx, person.id, 'test'));

    expect(await findEverywhere([stored, name])).toEqual([]);

    // Events arriving after the erasure (a late bounce of the edition or of the welcome email)
    // must not bring the address back.
    await event('email.bounced', {
      email_id: 'msg-delivery-wissen',
      to: [stored],
      bounce: { type: 'Permanent', subType: 'General', message: `550 5.1.1 <${stored}>: user unknown` },
    });
    await event('email.complained', { email_id: welcome.provider_message_id, to: [address] });
    expect(await findEverywhere([stored, name])).toEqual([]);

    // What stays: the suppression (a hash), the delivery as an anonymous count with its bounce
    // code, the events with the address scrubbed, the other person's data.
    const suppression = await ctx.db.selectFrom('suppressions').selectAll().executeTakeFirstOrThrow();
    expect(suppression).toMatchObject({ email_hash: emailHash(stored), reason: 'erased' });
    const kept = await ctx.db
      .selectFrom('deliveries')
      .selectAll()
      .where('id', '=', delivery.id)
      .executeTakeFirstOrThrow();
    expect(kept).toMatchObject({
      email: null,
      status: 'bounced',
      error: 'Permanent: General: 550 5.1.1 <[gewist]>: user unknown',
    });
    const failed = await ctx.db
      .selectFrom('provider_events')
      .select('payload')
      .where('provider_message_id', '=', 'msg-unknown')
      .executeTakeFirstOrThrow();
    expect(failed.payload).toMatchObject({ data: { failed: { reason: 'rejected recipient [gewist]' } } });
    const note = await ctx.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'test.note')
      .executeTakeFirstOrThrow();
    expect(note.details).toEqual({ note: { to: ['[gewist]'], count: 1 } });
    const otherErrors = await ctx.db.selectFrom('import_errors').select('value').execute();
    expect(otherErrors.map((row) => row.value)).toEqual(['ander@voorbeeld.test']);
    expect(await findEverywhere(['blijft.bestaan@voorbeeld.test', 'Berend Blijfstaal'])).toEqual([
      'subscribers.email',
      'subscribers.name',
    ]);
    const remaining = await ctx.db.selectFrom('subscribers').select('id').execute();
    expect(remaining.map((row) => row.id)).toEqual([other.id]);
  });
});

describe('erasure matches whole addresses only', () => {
  it('leaves the data of a longer address that contains the erased one', async () => {
    const person = await signUpPerson('jan@voorbeeld.test', 'Jan');
    const other = await signUpPerson('dejan@voorbeeld.test', 'De Jan');
    await sendConfirmation(person.id);
    await sendConfirmation(other.id);
    const imp = await ctx.db
      .insertInto('imports')
      .values({
        dry_run: true,
        lawful_basis: 'public_task',
        size_bytes: 1,
        encoding: 'utf-8',
        separator: ';',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await ctx.db
      .insertInto('import_errors')
      .values([
        { import_id: imp.id, line: 2, value: 'JAN@voorbeeld.test', reason: 'Dubbel.' },
        { import_id: imp.id, line: 3, value: 'dejan@voorbeeld.test', reason: 'Dubbel.' },
        { import_id: imp.id, line: 4, value: 'jan@voorbeeld.test.example', reason: 'Dubbel.' },
      ])
      .execute();
    await audit(ctx.db, null, 'test.near', null, {
      text: 'mail jan@voorbeeld.test. en dejan@voorbeeld.test',
    });

    await ctx.db.transaction().execute((tx) => eraseSubscriber(tx, person.id, 'test'));

    const errors = await ctx.db
      .selectFrom('import_errors')
      .select('value')
      .where('import_id', '=', imp.id)
      .orderBy('line')
      .execute();
    expect(errors.map((row) => row.value)).toEqual(['dejan@voorbeeld.test', 'jan@voorbeeld.test.example']);
    const emails = await ctx.db
      .selectFrom('emails')
      .select('to_address')
      .where('to_address', 'like', '%jan@%')
      .execute();
    expect(emails.map((row) => row.to_address)).toEqual(['dejan@voorbeeld.test']);
    const mailbox = await ctx.db
      .selectFrom('dev_mailbox')
      .select('to_addresses')
      .where(sql<boolean>`array_to_string(to_addresses, ',') like '%jan@%'`)
      .execute();
    expect(mailbox.map((row) => row.to_addresses)).toEqual([['dejan@voorbeeld.test']]);
    const note = await ctx.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'test.near')
      .executeTakeFirstOrThrow();
    expect(note.details).toEqual({ text: 'mail [gewist]. en dejan@voorbeeld.test' });
    await ctx.db.transaction().execute((tx) => eraseSubscriber(tx, other.id, 'test'));
  });
});

describe('an erasure racing the rendering of a template email', () => {
  it('stores nothing when the erasure commits while the worker is rendering', async () => {
    const person = await signUpPerson('Race.Wissen@voorbeeld.test', 'Rosa Racewisser');
    // The erasure holds the subscriber's lock, not yet committed, while the worker renders.
    let commit!: () => void;
    const released = new Promise<void>((resolve) => {
      commit = resolve;
    });
    const erasure = ctx.db.transaction().execute(async (tx) => {
      await eraseSubscriber(tx, person.id, 'test');
      await released;
    });
    await waitUntil(
      async () =>
        (
          await ctx.db
            .selectFrom('subscribers')
            .select('id')
            .where('id', '=', person.id)
            .forShare()
            .skipLocked()
            .execute()
        ).length === 0,
      'the erasure to hold the subscriber lock',
      10_000,
    );
    const rendering = processor()(job('send-confirmation', person.id, `confirmation-${person.id}-1`));
    await waitUntil(
      async () => {
        const { rows } = await sql<{ n: string }>`
          select count(*) as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`.execute(ctx.db);
        return Number(rows[0]!.n) > 0;
      },
      'the worker to wait for the subscriber lock',
      10_000,
    );
    commit();
    await erasure;
    await rendering;
    expect(await findEverywhere(['race.wissen@voorbeeld.test', 'Rosa Racewisser'])).toEqual([]);
  });
});

describe('signups never confirmed are purged after the retention period', () => {
  it('erases them after 30 days (hourly cleanup job, idempotent), keeps younger and confirmed ones', async () => {
    const suppressions = () => ctx.db.selectFrom('suppressions').selectAll().orderBy('email_hash').execute();
    const suppressedBefore = await suppressions();
    const old = await signUpPerson('Oud.Nooit@Voorbeeld.test', 'Otto Nooitbevestigd');
    const confirmation = await sendConfirmation(old.id);
    await event('email.delivered', { email_id: confirmation.provider_message_id, to: [old.email] });
    const confirmed = await signUpPerson('bevestigd.blijft@voorbeeld.test', 'Bea Bevestigd');
    await ctx.db.transaction().execute((tx) => confirmSubscription(tx, clock, confirmed.id, evidence));
    const resent = await signUpPerson('nog.eens@voorbeeld.test', 'Nina Nogeens');

    // 20 days on: a new confirmation email restarts the period of that one.
    clock.advance(20 * DAY_MS);
    expect(await ctx.db.transaction().execute((tx) => resendConfirmation(tx, clock, resent.id))).toBe(
      'confirmation-sent',
    );
    const young = await signUpPerson('jong@voorbeeld.test', 'Jan Jongeling');

    const cleanup = maintenanceProcessor({ db: ctx.db, clock, pendingSignupRetentionDays: 30 });
    const cleanupJob = { name: 'cleanup', data: {} } as Job;
    clock.advance(9 * DAY_MS); // day 29 since the first signup: nothing is due
    expect(await cleanup(cleanupJob)).toEqual({ cleaned: true, pendingSignupsPurged: 0 });

    clock.advance(2 * DAY_MS); // day 31
    expect(await cleanup(cleanupJob)).toEqual({ cleaned: true, pendingSignupsPurged: 1 });
    expect(await findEverywhere(['oud.nooit@voorbeeld.test', 'Otto Nooitbevestigd'])).toEqual([]);
    // No suppression: the person may sign up again; the evidence is one anonymous audit entry.
    expect(await suppressions()).toEqual(suppressedBefore);
    const entries = await ctx.db
      .selectFrom('audit_log')
      .select(['target', 'details'])
      .where('action', '=', 'subscriber.pending-purged')
      .execute();
    expect(entries).toEqual([
      {
        target: null,
        details: {
          count: 1,
          retentionDays: 30,
          unconfirmedBefore: new Date(clock.now().getTime() - 30 * DAY_MS).toISOString(),
        },
      },
    ]);
    // Idempotent: a second run finds nothing.
    expect(await cleanup(cleanupJob)).toEqual({ cleaned: true, pendingSignupsPurged: 0 });

    const left = await ctx.db.selectFrom('subscribers').select(['id', 'status']).orderBy('id').execute();
    expect(left.map((row) => row.id)).toEqual(expect.arrayContaining([confirmed.id, resent.id, young.id]));
    expect(left.map((row) => row.id)).not.toContain(old.id);

    // The re-sent one goes 30 days after its last confirmation email (day 50), the young one at day 50 too.
    clock.advance(20 * DAY_MS); // day 51
    expect(await purgePendingSignups(ctx.db, clock.now(), 30)).toBe(2);
    const finally_ = await ctx.db.selectFrom('subscribers').select('id').execute();
    expect(finally_.map((row) => row.id)).not.toContain(resent.id);
    expect(finally_.map((row) => row.id)).not.toContain(young.id);
    expect(finally_.map((row) => row.id)).toContain(confirmed.id);
  });
});
