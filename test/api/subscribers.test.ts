import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailHash } from '../../src/domain/email-address.js';
import { createTestContext, json, type TestContext } from '../helpers/context.js';

let ctx: TestContext;
let editor: Record<string, string>;
let viewer: Record<string, string>;

beforeAll(async () => {
  ctx = await createTestContext();
  editor = (await ctx.userWithToken('editor')).headers;
  viewer = (await ctx.userWithToken('viewer')).headers;
});
afterAll(() => ctx.close());

const create = (body: Record<string, unknown>) =>
  ctx.app.request(
    '/api/v1/subscribers',
    json({ topics: ['nieuwsbrief'], lawfulBasis: 'public_task', ...body }, editor),
  );

async function countRows(table: 'subscribers' | 'consent_events' | 'subscriptions' | 'outbox') {
  const row = await ctx.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('admin subscribers API', () => {
  it('adds a partner with a lawful basis: active, subscribed, consent recorded', async () => {
    const org = await (
      await ctx.app.request(
        '/api/v1/organisations',
        json({ name: 'Gemeente Voorbeeldstad', kind: 'gemeente' }, editor),
      )
    ).json();
    const res = await create({
      email: ' Partner@Voorbeeld.TEST ',
      name: 'Pim Partner',
      organisationId: org.id,
      topics: ['nieuwsbrief', 'documenten'],
    });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body).toMatchObject({
      email: 'Partner@voorbeeld.test',
      status: 'active',
      source: 'api',
      organisationName: 'Gemeente Voorbeeldstad',
      topics: ['nieuwsbrief', 'documenten'],
    });
    const history = await (
      await ctx.app.request(`/api/v1/subscribers/${body.id}/consent`, { headers: viewer })
    ).json();
    expect(history.events).toHaveLength(1);
    expect(history.events[0]).toMatchObject({ kind: 'imported', lawfulBasis: 'public_task' });
    expect(history.events[0].source).toMatch(/^api:token:\d+$/);
  });

  it('with requireConfirmation the person confirms first: pending and a confirmation queued', async () => {
    const before = await countRows('outbox');
    const res = await create({
      email: 'bevestig-eerst@voorbeeld.test',
      lawfulBasis: 'consent',
      requireConfirmation: true,
    });
    expect((await res.json()).status).toBe('pending');
    const outbox = await ctx.db
      .selectFrom('outbox')
      .select('job_name')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    expect(outbox.job_name).toBe('send-confirmation');
    expect(await countRows('outbox')).toBe(before + 1);
  });

  it('rejects bad input field by field and stores nothing', async () => {
    const before = await Promise.all([countRows('subscribers'), countRows('consent_events')]);
    const cases: [Record<string, unknown>, string][] = [
      [{ email: 'Jan <jan@voorbeeld.test>' }, 'email'],
      [{ email: `${'a'.repeat(65)}@voorbeeld.test` }, 'email'],
      [{ email: 'ok@voorbeeld.test', topics: ['bestaat-niet'] }, 'topics'],
      [{ email: 'ok@voorbeeld.test', topics: [] }, 'topics'],
      [{ email: 'ok@voorbeeld.test', lawfulBasis: 'zomaar' }, 'lawfulBasis'],
      [{ email: 'ok@voorbeeld.test', lawfulBasis: undefined }, 'lawfulBasis'],
      [{ email: 'ok@voorbeeld.test', organisationId: '999999' }, ''],
    ];
    for (const [body, field] of cases) {
      const res = await create(body);
      expect([404, 422], JSON.stringify(body)).toContain(res.status);
      const problem = await res.json();
      if (field)
        expect(
          problem.errors.map((e: { field: string }) => e.field),
          JSON.stringify(body),
        ).toContain(field);
    }
    expect(await Promise.all([countRows('subscribers'), countRows('consent_events')])).toEqual(before);
  });

  it('refuses duplicates and suppressed addresses', async () => {
    await create({ email: 'dubbel@voorbeeld.test' });
    expect((await create({ email: 'dubbel@VOORBEELD.test' })).status).toBe(409);
    await ctx.db
      .insertInto('suppressions')
      .values({ email_hash: emailHash('geblokkeerd@voorbeeld.test'), reason: 'complained', source: 'test' })
      .execute();
    const suppressed = await create({ email: 'geblokkeerd@voorbeeld.test' });
    expect(suppressed.status).toBe(409);
    expect((await suppressed.json()).detail).toMatch(/unsubscribed, bounced or was erased/);
  });

  it('filters, searches and pages with a keyset cursor', async () => {
    for (let i = 0; i < 7; i++)
      await create({
        email: `pagina-${i}@voorbeeld.test`,
        name: `Lid_${i} 100%`,
        topics: [i % 2 ? 'artikelen' : 'nieuwsbrief'],
      });
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const url: string = `/api/v1/subscribers?q=pagina-&limit=3${after ? `&after=${after}` : ''}`;
      const page = await (await ctx.app.request(url, { headers: viewer })).json();
      seen.push(...page.items.map((s: { email: string }) => s.email));
      after = page.next;
    } while (after);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);

    const articles = await (
      await ctx.app.request('/api/v1/subscribers?q=pagina-&topic=artikelen', { headers: viewer })
    ).json();
    expect(articles.items).toHaveLength(3);
    // LIKE wildcards in the search text are literal: '_' and '%' do not match everything.
    const literal = await (
      await ctx.app.request(`/api/v1/subscribers?q=${encodeURIComponent('Lid_3 100%')}`, { headers: viewer })
    ).json();
    expect(literal.items.map((s: { email: string }) => s.email)).toEqual(['pagina-3@voorbeeld.test']);
    const injection = await ctx.app.request(`/api/v1/subscribers?q=${encodeURIComponent("' or 1=1 --")}`, {
      headers: viewer,
    });
    expect(injection.status).toBe(200);
    expect((await injection.json()).items).toEqual([]);
    expect((await ctx.app.request('/api/v1/subscribers?status=weird', { headers: viewer })).status).toBe(422);
    expect((await ctx.app.request('/api/v1/subscribers?after=abc', { headers: viewer })).status).toBe(422);
  });

  it('changes topics and unsubscribes, recording both in the ledger', async () => {
    const { id } = await (await create({ email: 'wijzig@voorbeeld.test' })).json();
    const changed = await ctx.app.request(
      `/api/v1/subscribers/${id}`,
      json({ topics: ['artikelen', 'documenten'], locale: 'en' }, editor, 'PATCH'),
    );
    expect((await changed.json()).topics).toEqual(['artikelen', 'documenten']);
    const unsubscribed = await ctx.app.request(
      `/api/v1/subscribers/${id}`,
      json({ unsubscribe: true }, editor, 'PATCH'),
    );
    expect((await unsubscribed.json()).status).toBe('unsubscribed');
    const kinds = (
      await (await ctx.app.request(`/api/v1/subscribers/${id}/consent`, { headers: viewer })).json()
    ).events.map((e: { kind: string }) => e.kind);
    expect(kinds).toEqual(['imported', 'changed', 'withdrawn']);
    const suppression = await ctx.db
      .selectFrom('suppressions')
      .select('reason')
      .where('email_hash', '=', emailHash('wijzig@voorbeeld.test'))
      .executeTakeFirst();
    expect(suppression?.reason).toBe('unsubscribed');
  });

  it('viewers read but cannot change', async () => {
    expect(
      (
        await ctx.app.request(
          '/api/v1/subscribers',
          json({ email: 'x@voorbeeld.test', topics: ['nieuwsbrief'], lawfulBasis: 'consent' }, viewer),
        )
      ).status,
    ).toBe(403);
  });
});

describe('GDPR', () => {
  it('exports everything about one person, including the consent history', async () => {
    const { id } = await (await create({ email: 'inzage@voorbeeld.test', name: 'Ineke Inzage' })).json();
    const res = await ctx.app.request(`/api/v1/subscribers/${id}/export`, { headers: editor });
    expect(res.headers.get('content-disposition')).toContain(`subscriber-${id}.json`);
    const data = await res.json();
    expect(data.subscriber.email).toBe('inzage@voorbeeld.test');
    expect(data.consentHistory).toHaveLength(1);
  });

  it('erasure leaves no personal data, keeps a hashed suppression, and blocks accidental re-adding', async () => {
    const { id } = await (
      await create({
        email: 'vergeet-mij@voorbeeld.test',
        name: 'Vera Vergeten',
        requireConfirmation: true,
        lawfulBasis: 'consent',
      })
    ).json();
    await ctx.db
      .insertInto('emails')
      .values({
        kind: 'test',
        to_address: 'vergeet-mij@voorbeeld.test',
        subject: 's',
        html: 'h',
        text: 't',
        headers: '{}',
      })
      .execute();
    expect(
      (await ctx.app.request(`/api/v1/subscribers/${id}`, { method: 'DELETE', headers: editor })).status,
    ).toBe(204);

    // No table anywhere still holds the address or the name.
    const tables = await sql<{
      table_name: string;
    }>`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(
      ctx.db,
    );
    for (const { table_name } of tables.rows) {
      const hits = await sql<{
        n: string;
      }>`select count(*) as n from ${sql.table(table_name)} t where t::text ilike '%vergeet-mij%' or t::text ilike '%Vera Vergeten%'`.execute(
        ctx.db,
      );
      expect(Number(hits.rows[0]!.n), table_name).toBe(0);
    }
    const suppression = await ctx.db
      .selectFrom('suppressions')
      .select('reason')
      .where('email_hash', '=', emailHash('vergeet-mij@voorbeeld.test'))
      .executeTakeFirst();
    expect(suppression?.reason).toBe('erased');
    expect((await create({ email: 'vergeet-mij@voorbeeld.test' })).status).toBe(409);
    expect((await ctx.app.request(`/api/v1/subscribers/${id}`, { headers: viewer })).status).toBe(404);
    const erasures = await ctx.db
      .selectFrom('audit_log')
      .select('action')
      .where('action', '=', 'subscriber.erase')
      .execute();
    expect(erasures.length).toBeGreaterThan(0);
  });
});

describe('organisations and topics', () => {
  it('manages organisations with unique names', async () => {
    const res = await ctx.app.request(
      '/api/v1/organisations',
      json({ name: 'Woonstichting Voorbeeld', kind: 'woningcorporatie' }, editor),
    );
    expect(res.status).toBe(201);
    const { id } = await res.json();
    expect(
      (
        await ctx.app.request(
          '/api/v1/organisations',
          json({ name: 'woonstichting voorbeeld', kind: 'overig' }, editor),
        )
      ).status,
    ).toBe(409);
    expect(
      (await ctx.app.request('/api/v1/organisations', json({ name: '', kind: 'club' }, editor))).status,
    ).toBe(422);
    const renamed = await ctx.app.request(
      `/api/v1/organisations/${id}`,
      json({ name: 'Woonstichting Nieuw' }, editor, 'PATCH'),
    );
    expect((await renamed.json()).name).toBe('Woonstichting Nieuw');
    expect(
      (await ctx.app.request(`/api/v1/organisations/${id}`, { method: 'DELETE', headers: editor })).status,
    ).toBe(204);
    expect((await ctx.app.request(`/api/v1/organisations/${id}`, { headers: viewer })).status).toBe(404);
  });

  it('has the three seeded topics and archives a topic in use instead of deleting it', async () => {
    const { topics } = await (await ctx.app.request('/api/v1/topics', { headers: viewer })).json();
    expect(topics.slice(0, 3).map((t: { nameNl: string }) => t.nameNl)).toEqual([
      'Nieuwsbrief',
      'Artikelen',
      'Documenten en folders',
    ]);
    const created = await (
      await ctx.app.request(
        '/api/v1/topics',
        json({ slug: 'evenementen', nameNl: 'Evenementen', nameEn: 'Events' }, editor),
      )
    ).json();
    await create({ email: 'evenement@voorbeeld.test', topics: ['evenementen'] });
    expect(
      (await ctx.app.request(`/api/v1/topics/${created.id}`, { method: 'DELETE', headers: editor })).status,
    ).toBe(409);
    const archived = await ctx.app.request(
      `/api/v1/topics/${created.id}`,
      json({ archived: true }, editor, 'PATCH'),
    );
    expect((await archived.json()).archived).toBe(true);
    // An empty change (found by the fuzzer: it was a 500) changes nothing and answers the topic.
    const unchanged = await ctx.app.request(`/api/v1/topics/${created.id}`, json({}, editor, 'PATCH'));
    expect(unchanged.status).toBe(200);
    expect(await unchanged.json()).toMatchObject({ slug: 'evenementen', archived: true });
    const list = await (await ctx.app.request('/api/v1/topics', { headers: viewer })).json();
    expect(list.topics.map((t: { slug: string }) => t.slug)).not.toContain('evenementen');
    expect(
      (
        await ctx.app.request(
          '/api/v1/topics',
          json({ slug: 'Met Spaties', nameNl: 'x', nameEn: 'y' }, editor),
        )
      ).status,
    ).toBe(422);
  });
});
