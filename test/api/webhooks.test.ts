import { randomBytes } from 'node:crypto';
import { Webhook } from 'svix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { emailHash } from '../../src/domain/email-address.js';
import { applyEarlyEvents } from '../../src/domain/provider-events.js';
import { createTestContext, TEST_WEBHOOK_SECRET, type TestContext } from '../helpers/context.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

const unique = () => randomBytes(6).toString('hex');

async function insertEdition(options: { openTracking?: boolean } = {}) {
  const row = await ctx.db
    .insertInto('editions')
    .values({
      title: 'Nieuwsbrief maart',
      subject: 'Nieuws uit het lab',
      slug: `editie-${unique()}`,
      blocks: '[]',
      open_tracking: options.openTracking ?? false,
      status: 'sending',
      sending_started_at: new Date(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** An active subscriber and a delivery of the edition that Resend accepted under `messageId`. */
async function insertRecipient(editionId: string, status: 'sent' | 'delivered' = 'sent') {
  const email = `lid-${unique()}@voorbeeld.test`;
  const subscriber = await ctx.db
    .insertInto('subscribers')
    .values({ email, status: 'active', source: 'api', confirmed_at: new Date() })
    .returning('id')
    .executeTakeFirstOrThrow();
  const messageId = `re-${unique()}`;
  const delivery = await ctx.db
    .insertInto('deliveries')
    .values({
      edition_id: editionId,
      subscriber_id: subscriber.id,
      email,
      locale: 'nl',
      batch_no: 0,
      status,
      provider_message_id: messageId,
      sent_at: new Date(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { email, subscriberId: subscriber.id, deliveryId: delivery.id, messageId };
}

function resendEvent(type: string, messageId: string, extra: Record<string, unknown> = {}) {
  const createdAt = new Date().toISOString();
  return {
    type,
    created_at: createdAt,
    data: {
      created_at: createdAt,
      email_id: messageId,
      from: 'Thuispost <nieuwsbrief@voorbeeld.test>',
      to: ['lid@voorbeeld.test'],
      subject: 'Nieuws uit het lab',
      ...extra,
    },
  };
}

/** A request as Resend sends it: the raw body signed the Svix way. */
function signed(
  body: unknown,
  options: { id?: string; at?: Date; secret?: string; raw?: string; headers?: Record<string, string> } = {},
): RequestInit & { svixId: string } {
  const raw = options.raw ?? JSON.stringify(body);
  const svixId = options.id ?? `msg_${unique()}`;
  const at = options.at ?? new Date();
  const signature = new Webhook(options.secret ?? TEST_WEBHOOK_SECRET).sign(svixId, at, raw);
  return {
    svixId,
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'svix-id': svixId,
      'svix-timestamp': String(Math.floor(at.getTime() / 1000)),
      'svix-signature': signature,
      ...options.headers,
    },
    body: raw,
  };
}

const post = (init: RequestInit, app = ctx.app) => app.request('/webhooks/resend', init);

const delivery = (id: string) =>
  ctx.db.selectFrom('deliveries').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const subscriber = (id: string) =>
  ctx.db.selectFrom('subscribers').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const suppression = (email: string) =>
  ctx.db.selectFrom('suppressions').selectAll().where('email_hash', '=', emailHash(email)).executeTakeFirst();
const storedEvent = (svixId: string) =>
  ctx.db.selectFrom('provider_events').selectAll().where('svix_id', '=', svixId).executeTakeFirst();
async function countEvents() {
  const row = await ctx.db
    .selectFrom('provider_events')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
const clicksOf = (editionId: string) =>
  ctx.db
    .selectFrom('link_clicks')
    .select(['url', 'clicks'])
    .where('edition_id', '=', editionId)
    .orderBy('url')
    .execute();

describe('POST /webhooks/resend: signature and idempotency', () => {
  it('applies a delivered event and stores it once, without the addresses', async () => {
    const editionId = await insertEdition();
    const r = await insertRecipient(editionId);
    const req = signed(resendEvent('email.delivered', r.messageId));
    const res = await post(req);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, duplicate: false });

    const row = await delivery(r.deliveryId);
    expect(row.status).toBe('delivered');
    expect(row.delivered_at).toBeInstanceOf(Date);
    const stored = (await storedEvent(req.svixId))!;
    expect(stored).toMatchObject({ type: 'email.delivered', provider_message_id: r.messageId });
    expect(JSON.stringify(stored.payload)).not.toContain('lid@voorbeeld.test');
    expect((stored.payload as { data: Record<string, unknown> }).data.email_id).toBe(r.messageId);
  });

  it('answers 200 to a replayed svix-id and changes nothing', async () => {
    const editionId = await insertEdition();
    const r = await insertRecipient(editionId);
    const click = resendEvent('email.clicked', r.messageId, {
      click: {
        link: 'https://voorbeeld.test/lab',
        ipAddress: '192.0.2.1',
        timestamp: new Date().toISOString(),
        userAgent: 'x',
      },
    });
    const first = signed(click);
    expect((await post(first)).status).toBe(200);
    const events = await countEvents();

    // The same message again (Resend retries), also re-signed later with another timestamp.
    const replay = await post(signed(click, { id: first.svixId, at: new Date(Date.now() - 60_000) }));
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ received: true, duplicate: true });
    // A different body under a known svix-id is still that message: ignored.
    const other = await post(signed(resendEvent('email.complained', r.messageId), { id: first.svixId }));
    expect(other.status).toBe(200);

    expect(await countEvents()).toBe(events);
    expect(await clicksOf(editionId)).toEqual([{ url: 'https://voorbeeld.test/lab', clicks: 1 }]);
    expect((await delivery(r.deliveryId)).status).toBe('sent');
    expect((await subscriber(r.subscriberId)).status).toBe('active');
  });

  it('applies concurrent deliveries of the same svix-id once', async () => {
    const editionId = await insertEdition();
    const r = await insertRecipient(editionId);
    const req = signed(
      resendEvent('email.clicked', r.messageId, { click: { link: 'https://voorbeeld.test/tegelijk' } }),
    );
    const answers = await Promise.all([post(req), post(req), post(req)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const bodies = await Promise.all(answers.map((a) => a.json()));
    expect(bodies.filter((b) => b.duplicate === false)).toHaveLength(1);
    expect(await clicksOf(editionId)).toEqual([{ url: 'https://voorbeeld.test/tegelijk', clicks: 1 }]);
  });

  it('refuses a wrong or missing signature with 401 and stores nothing', async () => {
    const editionId = await insertEdition();
    const r = await insertRecipient(editionId);
    const body = resendEvent('email.bounced', r.messageId, {
      bounce: { type: 'Permanent', subType: 'General', message: 'x' },
    });
    const before = await countEvents();
    const otherSecret = `whsec_${randomBytes(32).toString('base64')}`;
    const good = signed(body);
    const attempts: RequestInit[] = [
      signed(body, { secret: otherSecret }),
      // Signed, then the body changed on the way.
      { ...good, body: JSON.stringify({ ...body, type: 'email.complained' }) },
      { ...good, headers: { ...(good.headers as Record<string, string>), 'svix-signature': 'v1,AAAA' } },
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
      { ...good, headers: { ...(good.headers as Record<string, string>), 'svix-id': 'msg_other' } },
    ];
    for (const attempt of attempts) {
      const res = await post(attempt);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect((await res.json()).title).toBe('Unauthorized');
    }
    expect(await countEvents()).toBe(before);
    expect((await delivery(r.deliveryId)).status).toBe('sent');
    expect(await suppression(r.email)).toBeUndefined();
  });

  it('refuses a timestamp outside the 5-minute tolerance (either way)', async () => {
    const editionId = await insertEdition();
    const r = await insertRecipient(editionId);
    const body = resendEvent('email.delivered', r.messageId);
    const before = await countEvents();
    expect((await post(signed(body, { at: new Date(Date.now() - 6 * 60_000) }))).status).toBe(401);
    expect((await post(signed(body, { at: new Date(Date.now() + 6 * 60_000) }))).status).toBe(401);
    expect(await countEvents()).toBe(before);
    // Within the tolerance it is fine.
    expect((await post(signed(body, { at: new Date(Date.now() - 4 * 60_000) }))).status).toBe(200);
  });

  it('refuses a captured request replayed outside the window, also with its timestamp made fresh, and spoiled signatures', async () => {
    const editionId = await insertEdition();
    const r = await insertRecipient(editionId);
    const body = resendEvent('email.complained', r.messageId);
    // Captured six minutes ago (a genuine request an attacker kept), replayed now as it was.
    const captured = signed(body, { at: new Date(Date.now() - 6 * 60_000) });
    const headers = captured.headers as Record<string, string>;
    const signature = headers['svix-signature']!;
    const before = await countEvents();
    const attempts: [string, Record<string, string>][] = [
      ['as captured', headers],
      ['timestamp made fresh', { ...headers, 'svix-timestamp': String(Math.floor(Date.now() / 1000)) }],
      ['signature cut short', { ...headers, 'svix-signature': signature.slice(0, -4) }],
      ['another scheme', { ...headers, 'svix-signature': signature.replace('v1,', 'v2,') }],
      ['no timestamp', { ...headers, 'svix-timestamp': '' }],
      ['a timestamp that is no number', { ...headers, 'svix-timestamp': 'gisteren' }],
    ];
    for (const [what, attempt] of attempts) {
      const res = await post({ ...captured, headers: attempt });
      expect(res.status, what).toBe(401);
    }
    expect(await countEvents()).toBe(before);
    expect((await subscriber(r.subscriberId)).status).toBe('active');
    expect(await suppression(r.email)).toBeUndefined();
  });

  it('verifies the raw body exactly as sent (formatting and non-ASCII kept)', async () => {
    const editionId = await insertEdition();
    const r = await insertRecipient(editionId);
    const raw = `{\n  "type": "email.delivered",\n  "created_at": "${new Date().toISOString()}",\n  "data": { "email_id": "${r.messageId}", "subject": "Één \\u00e9 ✓" }\n}`;
    const res = await post(signed(null, { raw }));
    expect(res.status).toBe(200);
    expect((await delivery(r.deliveryId)).status).toBe('delivered');
  });

  it('answers 400 for a signed body that is not JSON or not an expected event, and stores nothing', async () => {
    const before = await countEvents();
    const bodies = [
      'not json at all',
      '[1, 2, 3]',
      JSON.stringify({ hello: 'world' }),
      JSON.stringify({ type: 'email.exploded', created_at: new Date().toISOString(), data: {} }),
      JSON.stringify({ type: 'email.delivered', created_at: new Date().toISOString(), data: {} }),
      JSON.stringify({ type: 'email.delivered', data: 'x' }),
    ];
    for (const raw of bodies) {
      const res = await post(signed(null, { raw }));
      expect(res.status, raw).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
    expect(await countEvents()).toBe(before);
  });

  it('answers 503 when no webhook secret is configured, and never accepts unsigned events', async () => {
    const app = createApp({ ...ctx.deps, config: { ...ctx.deps.config, webhookSecret: undefined } });
    const editionId = await insertEdition();
    const r = await insertRecipient(editionId);
    const before = await countEvents();
    for (const init of [
      signed(resendEvent('email.delivered', r.messageId)),
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' },
    ]) {
      const res = await post(init, app);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect((await res.json()).detail).toMatch(/RESEND_WEBHOOK_SECRET/);
    }
    expect(await countEvents()).toBe(before);
    expect((await delivery(r.deliveryId)).status).toBe('sent');
  });

  it('stores and acknowledges events for message ids that are not deliveries (transactional mail)', async () => {
    const req = signed(
      resendEvent('email.bounced', 'transactional-123', {
        bounce: { type: 'Permanent', subType: 'General', message: 'x' },
      }),
    );
    const res = await post(req);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, duplicate: false });
    expect(await storedEvent(req.svixId)).toMatchObject({
      type: 'email.bounced',
      provider_message_id: 'transactional-123',
    });
    // Other Resend event types are stored too (no message id).
    const domainEvent = signed({
      type: 'domain.updated',
      created_at: new Date().toISOString(),
      data: { id: 'd1', name: 'voorbeeld.test' },
    });
    expect((await post(domainEvent)).status).toBe(200);
    expect(await storedEvent(domainEvent.svixId)).toMatchObject({
      type: 'domain.updated',
      provider_message_id: null,
    });
  });

  it('is public in the OpenAPI document', async () => {
    const doc = await (await ctx.app.request('/api/v1/openapi.json')).json();
    expect(doc.paths['/webhooks/resend'].post['x-required-role']).toBe('public');
  });
});

describe('POST /webhooks/resend: effects', () => {
  it('a hard bounce or complaint on a transactional email (e.g. the welcome) suppresses too', async () => {
    const [bounced, complained] = ['welkom-bounce@voorbeeld.test', 'welkom-klacht@voorbeeld.test'];
    const sub = await ctx.db
      .insertInto('subscribers')
      .values({ email: complained, status: 'active', source: 'form' })
      .returning('id')
      .executeTakeFirstOrThrow();
    for (const [to, messageId] of [
      [bounced, `tx-b-${unique()}`],
      [complained, `tx-c-${unique()}`],
    ] as const) {
      await ctx.db
        .insertInto('emails')
        .values({
          kind: 'welcome',
          to_address: to,
          subject: 's',
          html: 'h',
          text: 't',
          headers: '{}',
          status: 'sent',
          provider_message_id: messageId,
        })
        .execute();
      const event =
        to === bounced
          ? resendEvent('email.bounced', messageId, {
              bounce: { type: 'Permanent', message: '550 user unknown' },
            })
          : resendEvent('email.complained', messageId);
      expect((await post(signed(event))).status).toBe(200);
    }
    expect(await suppression(bounced)).toMatchObject({ reason: 'bounced' });
    expect(await suppression(complained)).toMatchObject({ reason: 'complained' });
    expect((await subscriber(sub.id)).status).toBe('complained');
  });

  it('hard bounce: delivery bounced with the reason, subscriber bounced and suppressed', async () => {
    const editionId = await insertEdition();
    const r = await insertRecipient(editionId);
    const res = await post(
      signed(
        resendEvent('email.bounced', r.messageId, {
          bounce: { type: 'Permanent', subType: 'General', message: '550 5.1.1 user unknown' },
        }),
      ),
    );
    expect(res.status).toBe(200);
    const row = await delivery(r.deliveryId);
    expect(row.status).toBe('bounced');
    expect(row.error).toContain('550 5.1.1 user unknown');
    expect((await subscriber(r.subscriberId)).status).toBe('bounced');
    expect(await suppression(r.email)).toMatchObject({ reason: 'bounced' });
    const audit = await ctx.db
      .selectFrom('audit_log')
      .selectAll()
      .where('target', '=', `subscriber:${r.subscriberId}`)
      .executeTakeFirstOrThrow();
    expect(audit.action).toBe('subscriber.bounced');
  });

  it('soft bounce: delivery soft_bounced and counted, subscriber untouched, no suppression', async () => {
    const editionId = await insertEdition();
    const r = await insertRecipient(editionId);
    await post(
      signed(
        resendEvent('email.bounced', r.messageId, {
          bounce: { type: 'Transient', subType: 'MailboxFull', message: '452 mailbox full' },
        }),
      ),
    );
    const row = await delivery(r.deliveryId);
    expect(row.status).toBe('soft_bounced');
    expect(row.error).toContain('mailbox full');
    expect((await subscriber(r.subscriberId)).status).toBe('active');
    expect(await suppression(r.email)).toBeUndefined();
    // A later delivery after all wins over the soft bounce.
    await post(signed(resendEvent('email.delivered', r.messageId)));
    expect(await delivery(r.deliveryId)).toMatchObject({ status: 'delivered', error: null });
  });

  it('complaint: delivery complained, subscriber complained and suppressed', async () => {
    const editionId = await insertEdition();
    const r = await insertRecipient(editionId, 'delivered');
    await post(signed(resendEvent('email.complained', r.messageId)));
    expect((await delivery(r.deliveryId)).status).toBe('complained');
    expect((await subscriber(r.subscriberId)).status).toBe('complained');
    expect(await suppression(r.email)).toMatchObject({ reason: 'complained' });
    // A later hard bounce does not downgrade the complaint.
    await post(
      signed(resendEvent('email.bounced', r.messageId, { bounce: { type: 'Permanent', message: 'x' } })),
    );
    expect((await delivery(r.deliveryId)).status).toBe('complained');
    expect((await subscriber(r.subscriberId)).status).toBe('complained');
    expect(await suppression(r.email)).toMatchObject({ reason: 'complained' });
  });

  it('a complaint replaces an earlier unsubscribe suppression; an unsubscribed subscriber keeps unsubscribed_at', async () => {
    const editionId = await insertEdition();
    const r = await insertRecipient(editionId, 'delivered');
    const left = new Date();
    await ctx.db
      .updateTable('subscribers')
      .set({ status: 'unsubscribed', unsubscribed_at: left })
      .where('id', '=', r.subscriberId)
      .execute();
    await ctx.db
      .insertInto('suppressions')
      .values({ email_hash: emailHash(r.email), reason: 'unsubscribed', source: 'test' })
      .execute();
    await post(signed(resendEvent('email.complained', r.messageId)));
    expect(await subscriber(r.subscriberId)).toMatchObject({ status: 'complained', unsubscribed_at: left });
    expect(await suppression(r.email)).toMatchObject({ reason: 'complained' });
  });

  it('failed: delivery failed with the reason', async () => {
    const editionId = await insertEdition();
    const r = await insertRecipient(editionId);
    await post(
      signed(resendEvent('email.failed', r.messageId, { failed: { reason: 'reached_daily_quota' } })),
    );
    expect(await delivery(r.deliveryId)).toMatchObject({ status: 'failed', error: 'reached_daily_quota' });
    expect((await subscriber(r.subscriberId)).status).toBe('active');
  });

  it('suppressed by Resend: delivery suppressed and our own suppression added (bounced)', async () => {
    const editionId = await insertEdition();
    const r = await insertRecipient(editionId);
    await post(
      signed(
        resendEvent('email.suppressed', r.messageId, {
          suppressed: { type: 'OnAccountSuppressionList', message: 'Recipient is on the suppression list' },
        }),
      ),
    );
    expect((await delivery(r.deliveryId)).status).toBe('suppressed');
    expect(await suppression(r.email)).toMatchObject({ reason: 'bounced' });
  });

  it('out of order: a late "delivered" does not undo a hard bounce, but records the acceptance', async () => {
    const editionId = await insertEdition();
    const r = await insertRecipient(editionId);
    await post(
      signed(resendEvent('email.bounced', r.messageId, { bounce: { type: 'Permanent', message: 'x' } })),
    );
    await post(signed(resendEvent('email.delivered', r.messageId)));
    const row = await delivery(r.deliveryId);
    expect(row.status).toBe('bounced');
    expect(row.delivered_at).toBeInstanceOf(Date);
    // And the other way round: delivered, then an asynchronous bounce.
    const s = await insertRecipient(editionId);
    await post(signed(resendEvent('email.delivered', s.messageId)));
    await post(
      signed(resendEvent('email.bounced', s.messageId, { bounce: { type: 'Permanent', message: 'x' } })),
    );
    expect((await delivery(s.deliveryId)).status).toBe('bounced');
    expect((await subscriber(s.subscriberId)).status).toBe('bounced');
  });

  it('opened: ignored when the edition has open tracking off', async () => {
    const editionId = await insertEdition({ openTracking: false });
    const r = await insertRecipient(editionId, 'delivered');
    const req = signed(resendEvent('email.opened', r.messageId));
    expect((await post(req)).status).toBe(200);
    expect((await delivery(r.deliveryId)).opened_at).toBeNull();
    // Not even stored with the message id: no per-person open history.
    expect((await storedEvent(req.svixId))!.provider_message_id).toBeNull();
  });

  it('opened: with open tracking, opened_at is set once (the first open)', async () => {
    const editionId = await insertEdition({ openTracking: true });
    const r = await insertRecipient(editionId, 'delivered');
    const first = new Date(Date.now() - 60_000);
    await post(signed({ ...resendEvent('email.opened', r.messageId), created_at: first.toISOString() }));
    await post(signed(resendEvent('email.opened', r.messageId)));
    const row = await delivery(r.deliveryId);
    expect(row.opened_at?.toISOString()).toBe(first.toISOString());
    expect(row.status).toBe('delivered');
  });

  it('clicked: counted per link of the edition, personal tokens not stored, no per-person history', async () => {
    const editionId = await insertEdition();
    const a = await insertRecipient(editionId, 'delivered');
    const b = await insertRecipient(editionId, 'delivered');
    const click = (messageId: string, link: string) =>
      signed(
        resendEvent('email.clicked', messageId, {
          click: {
            link,
            ipAddress: '198.51.100.7',
            timestamp: new Date().toISOString(),
            userAgent: 'Mail/1.0',
          },
        }),
      );
    const first = click(a.messageId, 'https://voorbeeld.test/rapport.pdf');
    for (const req of [
      first,
      click(b.messageId, 'https://voorbeeld.test/rapport.pdf'),
      click(a.messageId, 'https://voorbeeld.test/rapport.pdf'),
      click(b.messageId, 'https://voorbeeld.test/lab'),
      click(a.messageId, 'http://localhost:3000/unsubscribe/personal.token-a'),
      click(b.messageId, 'http://localhost:3000/unsubscribe/personal.token-b'),
    ]) {
      expect((await post(req)).status).toBe(200);
    }
    expect(await clicksOf(editionId)).toEqual([
      { url: 'http://localhost:3000/unsubscribe/{token}', clicks: 2 },
      { url: 'https://voorbeeld.test/lab', clicks: 1 },
      { url: 'https://voorbeeld.test/rapport.pdf', clicks: 3 },
    ]);
    const stored = (await storedEvent(first.svixId))!;
    expect(stored.provider_message_id).toBeNull();
    const text = JSON.stringify(stored.payload);
    expect(text).not.toContain(a.messageId);
    expect(text).not.toContain('198.51.100.7');
    expect(text).not.toContain('Mail/1.0');
    expect((await delivery(a.deliveryId)).status).toBe('delivered');
  });

  it('delivery_delayed and sent are stored and change nothing', async () => {
    const editionId = await insertEdition();
    const r = await insertRecipient(editionId);
    for (const type of ['email.delivery_delayed', 'email.sent']) {
      const req = signed(resendEvent(type, r.messageId));
      expect((await post(req)).status).toBe(200);
      expect(await storedEvent(req.svixId)).toMatchObject({ type, provider_message_id: r.messageId });
    }
    expect((await delivery(r.deliveryId)).status).toBe('sent');
  });

  it("an erased subscriber's delivery: the event applies to the row, nothing to suppress or mark", async () => {
    const editionId = await insertEdition();
    const r = await insertRecipient(editionId);
    await ctx.db
      .updateTable('deliveries')
      .set({ subscriber_id: null, email: null })
      .where('id', '=', r.deliveryId)
      .execute();
    const res = await post(
      signed(resendEvent('email.bounced', r.messageId, { bounce: { type: 'Permanent', message: 'x' } })),
    );
    expect(res.status).toBe(200);
    expect((await delivery(r.deliveryId)).status).toBe('bounced');
    expect(await suppression(r.email)).toBeUndefined();
  });
});

describe('events that arrive before the batch recorded its provider ids', () => {
  it('are stored, then applied when the ids are recorded (applyEarlyEvents)', async () => {
    const editionId = await insertEdition();
    const r = await insertRecipient(editionId);
    // The batch has not closed yet: the delivery is still queued without a provider id.
    await ctx.db
      .updateTable('deliveries')
      .set({ status: 'queued', provider_message_id: null, sent_at: null })
      .where('id', '=', r.deliveryId)
      .execute();
    const early = `re-early-${unique()}`;
    expect((await post(signed(resendEvent('email.delivered', early)))).status).toBe(200);
    expect((await delivery(r.deliveryId)).status).toBe('queued');

    await ctx.db.transaction().execute(async (tx) => {
      await tx
        .updateTable('deliveries')
        .set({ status: 'sent', provider_message_id: early, sent_at: new Date() })
        .where('id', '=', r.deliveryId)
        .execute();
      expect(await applyEarlyEvents(tx, [early], new Date())).toBe(1);
    });
    expect((await delivery(r.deliveryId)).status).toBe('delivered');
    // Repeating it is harmless.
    await ctx.db.transaction().execute((tx) => applyEarlyEvents(tx, [early], new Date()));
    expect((await delivery(r.deliveryId)).status).toBe('delivered');
  });
});
