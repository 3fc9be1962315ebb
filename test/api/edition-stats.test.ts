import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import type { DeliveryStatus } from '../../src/db/schema.js';
import { refreshEditionMetrics } from '../../src/domain/edition-stats.js';
import { createTestContext, METRICS_AUTH, type TestContext } from '../helpers/context.js';

let ctx: TestContext;
let viewer: Record<string, string>;
beforeAll(async () => {
  ctx = await createTestContext();
  viewer = (await ctx.userWithToken('viewer')).headers;
});
afterAll(() => ctx.close());

const STARTED = new Date('2026-03-10T08:00:00Z');
const unique = () => randomBytes(5).toString('hex');

async function insertEdition(
  options: { openTracking?: boolean; status?: 'sending' | 'sent' | 'paused' } = {},
) {
  const row = await ctx.db
    .insertInto('editions')
    .values({
      title: 'Nieuwsbrief maart',
      subject: 'Nieuws uit het lab',
      slug: `editie-${unique()}`,
      blocks: '[]',
      open_tracking: options.openTracking ?? false,
      status: options.status ?? 'sent',
      sending_started_at: STARTED,
      sent_at: options.status === 'sent' || options.status === undefined ? STARTED : null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

interface Recipient {
  email?: string;
  status: DeliveryStatus;
  accepted?: boolean;
  opened?: boolean;
  error?: string;
}

async function insertDeliveries(editionId: string, recipients: Recipient[]) {
  const ids: { deliveryId: string; subscriberId: string; email: string }[] = [];
  for (const r of recipients) {
    const email = r.email ?? `lid-${unique()}@voorbeeld.test`;
    const subscriber = await ctx.db
      .insertInto('subscribers')
      .values({ email, status: 'active', source: 'api' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const delivery = await ctx.db
      .insertInto('deliveries')
      .values({
        edition_id: editionId,
        subscriber_id: subscriber.id,
        email,
        locale: 'nl',
        batch_no: 0,
        status: r.status,
        provider_message_id: r.accepted ? `re-${unique()}` : null,
        sent_at: r.accepted ? new Date(STARTED.getTime() + 60_000) : null,
        opened_at: r.opened ? new Date(STARTED.getTime() + 3600_000) : null,
        error: r.error ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids.push({ deliveryId: delivery.id, subscriberId: subscriber.id, email });
  }
  return ids;
}

const times = (n: number, recipient: Recipient) => Array.from({ length: n }, () => ({ ...recipient }));

const getStats = async (id: string) => {
  const res = await ctx.app.request(`/api/v1/editions/${id}/stats`, { headers: viewer });
  expect(res.status).toBe(200);
  return res.json();
};

describe('GET /api/v1/editions/{id}/stats', () => {
  it('counts every outcome from the deliveries table', async () => {
    const editionId = await insertEdition();
    const rows = await insertDeliveries(editionId, [
      ...times(2, { status: 'queued' }),
      ...times(3, { status: 'sent', accepted: true }),
      ...times(4, { status: 'delivered', accepted: true, opened: true }),
      { status: 'bounced', accepted: true },
      { status: 'soft_bounced', accepted: true },
      { status: 'complained', accepted: true },
      { status: 'failed', accepted: false, error: 'invalid address' },
      { status: 'suppressed' },
      { status: 'cancelled' },
    ]);
    // Two recipients left after the send started (one entirely, one from a topic); one before it.
    await ctx.db
      .updateTable('subscribers')
      .set({ status: 'unsubscribed', unsubscribed_at: new Date(STARTED.getTime() + 7200_000) })
      .where('id', '=', rows[5]!.subscriberId)
      .execute();
    await ctx.db
      .insertInto('consent_events')
      .values({
        subscriber_id: rows[6]!.subscriberId,
        kind: 'withdrawn',
        source: 'test',
        details: JSON.stringify({ topic: '1' }),
        at: new Date(STARTED.getTime() + 60_000),
      })
      .execute();
    await ctx.db
      .updateTable('subscribers')
      .set({ status: 'unsubscribed', unsubscribed_at: new Date(STARTED.getTime() - 86_400_000) })
      .where('id', '=', rows[7]!.subscriberId)
      .execute();
    // Someone who did not get this edition does not count.
    await ctx.db
      .insertInto('subscribers')
      .values({
        email: `ander-${unique()}@voorbeeld.test`,
        status: 'unsubscribed',
        source: 'api',
        unsubscribed_at: new Date(STARTED.getTime() + 1000),
      })
      .execute();
    await ctx.db
      .insertInto('link_clicks')
      .values([
        { edition_id: editionId, url: 'https://voorbeeld.test/lab', clicks: 2 },
        { edition_id: editionId, url: 'https://voorbeeld.test/rapport.pdf', clicks: 5 },
      ])
      .execute();

    const stats = await getStats(editionId);
    expect(stats).toMatchObject({
      editionId,
      editionStatus: 'sent',
      openTracking: false,
      recipients: 15,
      sent: 10,
      delivered: 4,
      bounced: 1,
      softBounced: 1,
      complained: 1,
      failed: 1,
      suppressed: 1,
      cancelled: 1,
      queued: 2,
      awaitingOutcome: 3,
      unsubscribedSince: 2,
      opened: null,
      clicks: {
        total: 7,
        links: [
          { url: 'https://voorbeeld.test/rapport.pdf', clicks: 5 },
          { url: 'https://voorbeeld.test/lab', clicks: 2 },
        ],
      },
      progress: { sent: 10, processed: 13, total: 15, percent: 86.6 },
      rates: { bounce: 0.1, complaint: 0.1, open: null },
    });
    const byStatus = stats.byStatus as Record<string, number>;
    expect(Object.values(byStatus).reduce((a, b) => a + b, 0)).toBe(stats.recipients);
  });

  it('counts opens only when the edition has open tracking on', async () => {
    const editionId = await insertEdition({ openTracking: true });
    await insertDeliveries(editionId, [
      ...times(3, { status: 'delivered', accepted: true, opened: true }),
      ...times(1, { status: 'delivered', accepted: true }),
    ]);
    const stats = await getStats(editionId);
    expect(stats.opened).toBe(3);
    expect(stats.rates.open).toBe(0.75);
  });

  it('answers zeros (and null rates) for an edition without deliveries, 404 for none', async () => {
    const editionId = await insertEdition({ status: 'sending' });
    const stats = await getStats(editionId);
    expect(stats).toMatchObject({
      recipients: 0,
      sent: 0,
      progress: { sent: 0, total: 0, percent: 0 },
      rates: { bounce: null, complaint: null },
    });
    const missing = await ctx.app.request('/api/v1/editions/999999/stats', { headers: viewer });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
  });

  it('needs a login', async () => {
    const editionId = await insertEdition();
    expect((await ctx.app.request(`/api/v1/editions/${editionId}/stats`)).status).toBe(401);
  });
});

describe('GET /api/v1/editions/{id}/deliveries', () => {
  let editionId: string;
  beforeAll(async () => {
    editionId = await insertEdition();
    await insertDeliveries(editionId, [
      { email: `jan_de.vries-${unique()}@voorbeeld.test`, status: 'delivered', accepted: true, opened: true },
      {
        email: `janXde.boer-${unique()}@voorbeeld.test`,
        status: 'bounced',
        accepted: true,
        error: '550 user unknown',
      },
      { email: `100%piet-${unique()}@voorbeeld.test`, status: 'delivered', accepted: true },
      { email: `back\\slash-${unique()}@voorbeeld.test`, status: 'failed' },
      ...Array.from({ length: 9 }, (_, i) => ({
        email: `lid${i}-${unique()}@andere.test`,
        status: 'sent' as const,
        accepted: true,
      })),
    ]);
  });

  const log = async (query: string) => {
    const res = await ctx.app.request(`/api/v1/editions/${editionId}/deliveries${query}`, {
      headers: viewer,
    });
    expect(res.status).toBe(200);
    return res.json() as Promise<{ items: Record<string, unknown>[]; nextAfter: string | null }>;
  };

  it('pages through every delivery with a keyset cursor, without gaps or repeats', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page = await log(`?limit=5${after ? `&after=${after}` : ''}`);
      seen.push(...page.items.map((item) => item.id as string));
      after = page.nextAfter;
      pages++;
    } while (after && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(13);
    expect(new Set(seen).size).toBe(13);
    expect(seen).toEqual([...seen].sort((a, b) => Number(a) - Number(b)));
    const last = await log('?limit=13');
    expect(last.nextAfter).toBeNull();
  });

  it('finds a person by part of the address, case-insensitively, with LIKE wildcards taken literally', async () => {
    const jan = await log('?q=JAN');
    expect(jan.items.map((i) => (i.email as string).split('-')[0])).toEqual(['jan_de.vries', 'janXde.boer']);
    const underscore = await log(`?q=${encodeURIComponent('_de')}`);
    expect(underscore.items.map((i) => (i.email as string).split('-')[0])).toEqual(['jan_de.vries']);
    const percent = await log(`?q=${encodeURIComponent('%')}`);
    expect(percent.items.map((i) => (i.email as string).split('-')[0])).toEqual(['100%piet']);
    const backslash = await log(`?q=${encodeURIComponent('\\')}`);
    expect(backslash.items).toHaveLength(1);
    const quote = await log(`?q=${encodeURIComponent("' or 1=1 --")}`);
    expect(quote.items).toHaveLength(0);
  });

  it('filters by status and shows the reason and provider id; hides opens without tracking', async () => {
    const bounced = await log('?status=bounced');
    expect(bounced.items).toHaveLength(1);
    expect(bounced.items[0]).toMatchObject({ status: 'bounced', error: '550 user unknown', openedAt: null });
    expect(bounced.items[0]!.providerMessageId).toMatch(/^re-/);
    const delivered = await log('?status=delivered&q=vries');
    expect(delivered.items).toHaveLength(1);
    expect(delivered.items[0]!.openedAt).toBeNull();
  });

  it('refuses bad parameters with 422 and answers 404 for an unknown edition', async () => {
    for (const query of ['?status=lost', '?after=abc', '?limit=0', '?limit=1000']) {
      const res = await ctx.app.request(`/api/v1/editions/${editionId}/deliveries${query}`, {
        headers: viewer,
      });
      expect(res.status, query).toBe(422);
    }
    expect((await ctx.app.request('/api/v1/editions/999999/deliveries', { headers: viewer })).status).toBe(
      404,
    );
  });
});

describe('edition progress in /metrics', () => {
  it('exposes edition_deliveries{edition_id,status} for editions that are sending or paused', async () => {
    const sending = await insertEdition({ status: 'sending' });
    await insertDeliveries(sending, [
      ...times(3, { status: 'queued' }),
      ...times(2, { status: 'delivered', accepted: true }),
    ]);
    const paused = await insertEdition({ status: 'paused' });
    await insertDeliveries(paused, times(1, { status: 'queued' }));
    const done = await insertEdition({ status: 'sent' });
    await insertDeliveries(done, times(2, { status: 'delivered', accepted: true }));

    const app = createApp({
      ...ctx.deps,
      beforeMetrics: () => refreshEditionMetrics(ctx.db, ctx.deps.metrics),
    });
    const text = await (await app.request('/metrics', { headers: METRICS_AUTH })).text();
    expect(text).toContain(`edition_deliveries{edition_id="${sending}",status="queued"} 3`);
    expect(text).toContain(`edition_deliveries{edition_id="${sending}",status="delivered"} 2`);
    expect(text).toContain(`edition_deliveries{edition_id="${sending}",status="bounced"} 0`);
    expect(text).toContain(`edition_deliveries{edition_id="${paused}",status="queued"} 1`);
    expect(text).not.toContain(`edition_id="${done}"`);

    // Once finished, an edition drops out at the next refresh.
    await ctx.db.updateTable('editions').set({ status: 'sent' }).where('id', '=', sending).execute();
    const after = await (await app.request('/metrics', { headers: METRICS_AUTH })).text();
    expect(after).not.toContain(`edition_id="${sending}"`);
    expect(after).toContain(`edition_id="${paused}"`);
  });
});
