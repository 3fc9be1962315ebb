import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailHash } from '../../../src/domain/email-address.js';
import { type AdminBrowser, logInAs } from '../../helpers/admin.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';

let ctx: TestContext;
let editor: AdminBrowser;
let viewer: AdminBrowser;

beforeAll(async () => {
  ctx = await createTestContext();
  editor = await logInAs(ctx, 'editor');
  viewer = await logInAs(ctx, 'viewer');
});
afterAll(() => ctx.close());

const subscriber = (email: string) =>
  ctx.db.selectFrom('subscribers').selectAll().where('email', '=', email).executeTakeFirst();
const subscriberCount = async () =>
  Number(
    (
      await ctx.db
        .selectFrom('subscribers')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
const topicsOf = async (id: string) =>
  (
    await ctx.db
      .selectFrom('subscriptions')
      .innerJoin('topics', 'topics.id', 'subscriptions.topic_id')
      .select('topics.slug')
      .where('subscriber_id', '=', id)
      .orderBy('topics.slug')
      .execute()
  ).map((row) => row.slug);

async function organisation(name: string): Promise<string> {
  const row = await ctx.db
    .insertInto('organisations')
    .values({ name, kind: 'gemeente' })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

const partner = {
  email: ' Pim.Partner@Voorbeeld.TEST ',
  name: 'Pim Partner',
  locale: 'nl',
  organisationId: '',
  topics: ['nieuwsbrief', 'documenten'],
  lawfulBasis: 'public_task',
};

describe('adding and changing subscribers', () => {
  it('adds a partner with a lawful basis: active, subscribed, consent recorded with the editor as source', async () => {
    const org = await organisation('Gemeente Voorbeeldstad');
    const res = await editor.submit('/admin/subscribers', { ...partner, organisationId: org });
    expect(res.status).toBe(303);
    const row = (await subscriber('Pim.Partner@voorbeeld.test'))!;
    expect(res.headers.get('location')).toBe(`/admin/subscribers/${row.id}?ok=created`);
    expect(row).toMatchObject({
      status: 'active',
      source: 'editor',
      name: 'Pim Partner',
      organisation_id: org,
    });
    expect(await topicsOf(row.id)).toEqual(['documenten', 'nieuwsbrief']);

    const detail = await (await viewer.page(`/admin/subscribers/${row.id}`)).text();
    expect(detail).toContain('Pim Partner (Pim.Partner@voorbeeld.test)');
    expect(detail).toContain('Gemeente Voorbeeldstad');
    expect(detail).toContain('Toestemmingsgeschiedenis');
    expect(detail).toContain('Toegevoegd met rechtsgrond');
    expect(detail).toContain('Taak van algemeen belang');
    expect(detail).toContain(`editor:user:${editor.userId}`);
    expect(detail).toContain('Nog geen edities verzonden.');
    // A viewer may look, not change.
    expect(detail).not.toContain('/erase');

    const audit = await ctx.db
      .selectFrom('audit_log')
      .select(['action', 'details'])
      .where('target', '=', `subscriber:${row.id}`)
      .executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ action: 'subscriber.create', details: { lawfulBasis: 'public_task' } });
  });

  it('asks for a confirmation email when the editor wants double opt-in', async () => {
    const res = await editor.submit('/admin/subscribers', {
      ...partner,
      email: 'dubbel@voorbeeld.test',
      topics: 'nieuwsbrief',
      requireConfirmation: 'true',
      lawfulBasis: 'consent',
    });
    expect(res.status).toBe(303);
    const row = (await subscriber('dubbel@voorbeeld.test'))!;
    expect(row.status).toBe('pending');
    const outbox = await ctx.db.selectFrom('outbox').select('job_name').execute();
    expect(outbox.map((entry) => entry.job_name)).toContain('send-confirmation');
  });

  it('shows the form again with Dutch field messages and stores nothing on bad input', async () => {
    const before = await subscriberCount();
    const res = await editor.submit('/admin/subscribers', {
      ...partner,
      email: 'Jan <jan@voorbeeld.test>',
      topics: [],
      lawfulBasis: '',
    });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain('Kies minstens één onderwerp.');
    expect(html).toContain('Kies de rechtsgrond om deze persoon te mailen.');
    expect(html).toContain('value="Jan &lt;jan@voorbeeld.test&gt;"');

    const badEmail = await editor.submit('/admin/subscribers', { ...partner, email: 'geen-adres' });
    expect(badEmail.status).toBe(422);
    expect(await badEmail.text()).toContain('Een e-mailadres heeft de vorm naam@voorbeeld.nl.');

    const twice = await editor.submit('/admin/subscribers', {
      ...partner,
      email: 'pim.partner@voorbeeld.test',
    });
    expect(twice.status).toBe(409);
    expect(await twice.text()).toContain('Dit adres staat al in de lijst met abonnees.');
    expect(await subscriberCount()).toBe(before);
  });

  it('changes name, language and topics, and unsubscribes, recording each consent change', async () => {
    const row = (await subscriber('Pim.Partner@voorbeeld.test'))!;
    const form = await (await editor.page(`/admin/subscribers/${row.id}/edit`)).text();
    expect(form).toContain('value="Pim Partner"');
    expect(form).toMatch(/name="topics" value="documenten" checked/);

    const noTopics = await editor.submit(`/admin/subscribers/${row.id}`, { name: 'Pim', locale: 'en' });
    expect(noTopics.status).toBe(422);
    expect(await noTopics.text()).toContain('Kies minstens één onderwerp, of meld af.');
    expect((await subscriber('Pim.Partner@voorbeeld.test'))?.name).toBe('Pim Partner');

    const saved = await editor.submit(`/admin/subscribers/${row.id}`, {
      name: 'Pim de Partner',
      locale: 'en',
      organisationId: '',
      topics: 'artikelen',
    });
    expect(saved.status).toBe(303);
    expect(await subscriber('Pim.Partner@voorbeeld.test')).toMatchObject({
      name: 'Pim de Partner',
      locale: 'en',
      organisation_id: null,
    });
    expect(await topicsOf(row.id)).toEqual(['artikelen']);

    const left = await editor.submit(`/admin/subscribers/${row.id}`, {
      name: 'Pim de Partner',
      locale: 'en',
      unsubscribe: 'true',
    });
    expect(left.status).toBe(303);
    expect((await subscriber('Pim.Partner@voorbeeld.test'))?.status).toBe('unsubscribed');
    const kinds = await ctx.db
      .selectFrom('consent_events')
      .select('kind')
      .where('subscriber_id', '=', row.id)
      .orderBy('id')
      .execute();
    expect(kinds.map((event) => event.kind)).toEqual(['imported', 'changed', 'withdrawn']);
  });

  it('refuses every change from a viewer with 403', async () => {
    const before = await subscriberCount();
    const row = (await subscriber('dubbel@voorbeeld.test'))!;
    expect((await viewer.page('/admin/subscribers/new')).status).toBe(403);
    expect(
      (await viewer.submit('/admin/subscribers', { ...partner, email: 'lezer@voorbeeld.test' })).status,
    ).toBe(403);
    expect((await viewer.submit(`/admin/subscribers/${row.id}`, { name: 'X', locale: 'nl' })).status).toBe(
      403,
    );
    expect((await viewer.submit(`/admin/subscribers/${row.id}/erase`, { email: row.email })).status).toBe(
      403,
    );
    expect((await viewer.page(`/admin/subscribers/${row.id}/export`)).status).toBe(403);
    expect(await subscriberCount()).toBe(before);
    expect((await subscriber('dubbel@voorbeeld.test'))?.name).toBe(row.name);
  });
});

describe('search', () => {
  it('filters by text, status, topic and organisation, pages with a keyset cursor, and escapes names', async () => {
    const org = await organisation('Woonstichting Zoek');
    for (let i = 0; i < 3; i++) {
      await editor.submit('/admin/subscribers', {
        ...partner,
        email: `zoek${i}@voorbeeld.test`,
        name: i === 0 ? '<b>Vet</b> & "Zoeker"' : `Zoeker ${i}`,
        organisationId: org,
        topics: i === 2 ? 'artikelen' : 'nieuwsbrief',
      });
    }
    const all = await (await viewer.page('/admin/subscribers?q=zoek&limit=2')).text();
    expect(all).toContain('zoek2@voorbeeld.test');
    expect(all).toContain('zoek1@voorbeeld.test');
    expect(all).not.toContain('zoek0@voorbeeld.test');
    const next = /href="(\/admin\/subscribers\?[^"]*after=\d+[^"]*)">Volgende pagina/.exec(all)?.[1];
    expect(next).toBeDefined();
    const second = await (await viewer.page(next!.replaceAll('&amp;', '&'))).text();
    expect(second).toContain('zoek0@voorbeeld.test');
    expect(second).not.toContain('zoek1@voorbeeld.test');
    expect(second).toContain('&lt;b&gt;Vet&lt;/b&gt; &amp; &quot;Zoeker&quot;');
    expect(second).not.toContain('<b>Vet</b>');

    const byTopic = await (await viewer.page(`/admin/subscribers?q=zoek&topic=artikelen`)).text();
    expect(byTopic).toContain('zoek2@voorbeeld.test');
    expect(byTopic).not.toContain('zoek1@voorbeeld.test');
    const byOrg = await (await viewer.page(`/admin/subscribers?organisationId=${org}&status=active`)).text();
    expect(byOrg).toContain('zoek1@voorbeeld.test');
    expect(byOrg).not.toContain('dubbel@voorbeeld.test');
    const pending = await (await viewer.page('/admin/subscribers?status=pending')).text();
    expect(pending).toContain('dubbel@voorbeeld.test');
    expect(pending).not.toContain('zoek1@voorbeeld.test');

    const bad = await viewer.page('/admin/subscribers?status=weird');
    expect(bad.status).toBe(422);
    expect(await bad.text()).toContain('href="#veld-status"');
  });
});

describe('GDPR', () => {
  it('downloads everything about one person as JSON, including consent and deliveries', async () => {
    const row = (await subscriber('zoek1@voorbeeld.test'))!;
    const edition = await ctx.db
      .insertInto('editions')
      .values({ title: 'Nieuwsbrief <maart>', subject: 'Maart', slug: 'maart', blocks: JSON.stringify([]) })
      .returning('id')
      .executeTakeFirstOrThrow();
    await ctx.db
      .insertInto('deliveries')
      .values({
        edition_id: edition.id,
        subscriber_id: row.id,
        email: row.email,
        locale: 'nl',
        batch_no: 0,
        status: 'delivered',
        sent_at: new Date('2026-03-02T08:00:00Z'),
        delivered_at: new Date('2026-03-02T08:00:05Z'),
      })
      .execute();
    const detail = await (await viewer.page(`/admin/subscribers/${row.id}`)).text();
    expect(detail).toContain(`<a href="/admin/editions/${edition.id}">Nieuwsbrief &lt;maart&gt;</a>`);
    expect(detail).toContain('Afgeleverd');
    expect(detail).toContain('2 mrt 2026, 09:00');

    const res = await editor.page(`/admin/subscribers/${row.id}/export`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain(`subscriber-${row.id}.json`);
    const data = await res.json();
    expect(data.subscriber.email).toBe('zoek1@voorbeeld.test');
    expect(data.consentHistory).toHaveLength(1);
    expect(data.deliveries).toEqual([
      expect.objectContaining({
        edition_id: edition.id,
        edition_title: 'Nieuwsbrief <maart>',
        status: 'delivered',
      }),
    ]);
  });

  it('erases only after the address is typed again, and leaves no personal data behind', async () => {
    await editor.submit('/admin/subscribers', {
      ...partner,
      email: 'vergeet-mij@voorbeeld.test',
      name: 'Vera Vergeten',
    });
    const row = (await subscriber('vergeet-mij@voorbeeld.test'))!;
    const confirm = await (await editor.page(`/admin/subscribers/${row.id}/erase`)).text();
    expect(confirm).toContain('Weet je het zeker?');
    expect(confirm).toContain('Typ het e-mailadres ter bevestiging');

    const wrong = await editor.submit(`/admin/subscribers/${row.id}/erase`, {
      email: 'iemand@voorbeeld.test',
    });
    expect(wrong.status).toBe(422);
    expect(await wrong.text()).toContain('Dit is niet het e-mailadres van deze abonnee.');
    expect(await subscriber('vergeet-mij@voorbeeld.test')).toBeDefined();

    const erased = await editor.submit(`/admin/subscribers/${row.id}/erase`, {
      email: ' Vergeet-Mij@voorbeeld.test ',
    });
    expect(erased.status).toBe(303);
    expect(erased.headers.get('location')).toBe('/admin/subscribers?ok=erased');

    // No table anywhere still holds the address or the name.
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(ctx.db);
    for (const { table_name } of tables.rows) {
      const hits = await sql<{ n: string }>`
        select count(*) as n from ${sql.table(table_name)} t
        where t::text ilike '%vergeet-mij%' or t::text ilike '%Vera Vergeten%'`.execute(ctx.db);
      expect(Number(hits.rows[0]!.n), table_name).toBe(0);
    }
    const suppression = await ctx.db
      .selectFrom('suppressions')
      .select('reason')
      .where('email_hash', '=', emailHash('vergeet-mij@voorbeeld.test'))
      .executeTakeFirst();
    expect(suppression?.reason).toBe('erased');
    expect((await editor.page(`/admin/subscribers/${row.id}`)).status).toBe(404);

    // Adding the address again by hand is refused, in Dutch, on its field.
    const again = await editor.submit('/admin/subscribers', {
      ...partner,
      email: 'vergeet-mij@voorbeeld.test',
    });
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('alleen de persoon zelf kan zich opnieuw aanmelden');
  });
});
