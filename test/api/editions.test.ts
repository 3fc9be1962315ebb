import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, json, TestClock, type TestContext } from '../helpers/context.js';

let ctx: TestContext;
const clock = new TestClock(new Date('2026-03-01T09:00:00Z'));
let alice: Record<string, string>;
let bob: Record<string, string>;
let viewer: Record<string, string>;

beforeAll(async () => {
  ctx = await createTestContext({ clock });
  alice = (await ctx.userWithToken('editor')).headers;
  bob = (await ctx.userWithToken('editor')).headers;
  viewer = (await ctx.userWithToken('viewer')).headers;
});
afterAll(() => ctx.close());

let slugCounter = 0;
const draft = (overrides: Record<string, unknown> = {}) => ({
  title: 'Nieuwsbrief maart',
  subject: 'Nieuws uit het lab: maart',
  preheader: 'Housing First in de regio',
  slug: `nieuwsbrief-maart-${++slugCounter}`,
  locale: 'nl',
  topics: ['nieuwsbrief'],
  blocks: [
    { type: 'heading', text: 'Welkom' },
    { type: 'paragraph', text: 'Lees **alles** over [het lab](https://voorbeeld.test/lab).' },
    { type: 'image', url: 'https://voorbeeld.test/foto.jpg', alt: 'Een woning in de regio', width: 560 },
    { type: 'button', label: 'Lees verder', url: 'https://voorbeeld.test/verder' },
    { type: 'divider' },
    {
      type: 'links',
      items: [{ title: 'Rapport', summary: 'De evaluatie', url: 'https://voorbeeld.test/rapport.pdf' }],
    },
  ],
  ...overrides,
});

const act = (id: string, action: string, headers: Record<string, string>, body: unknown = {}) =>
  ctx.app.request(`/api/v1/editions/${id}/${action}`, json(body, headers));

async function approvedEdition() {
  const { id } = await (await ctx.app.request('/api/v1/editions', json(draft(), alice))).json();
  expect((await act(id, 'submit', alice)).status).toBe(200);
  expect((await act(id, 'approve', bob)).status).toBe(200);
  return id as string;
}

describe('editions', () => {
  it('creates a draft with validated blocks', async () => {
    const res = await ctx.app.request('/api/v1/editions', json(draft(), alice));
    expect(res.status).toBe(201);
    const edition = await res.json();
    expect(edition).toMatchObject({ status: 'draft', topics: ['nieuwsbrief'], openTracking: false });
    expect(edition.blocks).toHaveLength(6);
  });

  it('rejects bad content field by field', async () => {
    const res = await ctx.app.request(
      '/api/v1/editions',
      json(
        draft({
          subject: 'Hoi\r\nBcc: x@voorbeeld.test',
          slug: 'Met Spaties',
          blocks: [{ type: 'image', url: 'https://voorbeeld.test/a.png', alt: '' }],
          topics: [],
        }),
        alice,
      ),
    );
    expect(res.status).toBe(422);
    const fields = (await res.json()).errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['subject', 'slug', 'blocks.0.alt', 'topics']));
    expect(
      (await ctx.app.request('/api/v1/editions', json(draft({ topics: ['bestaat-niet'] }), alice))).status,
    ).toBe(422);
  });

  it('enforces the four-eyes rule and records every transition', async () => {
    const { id } = await (await ctx.app.request('/api/v1/editions', json(draft(), alice))).json();
    await act(id, 'submit', alice);
    const self = await act(id, 'approve', alice);
    expect(self.status).toBe(403);
    expect((await self.json()).detail).toMatch(/Four-eyes/);
    expect((await act(id, 'approve', bob)).status).toBe(200);
    const history = (
      await (await ctx.app.request(`/api/v1/editions/${id}/history`, { headers: viewer })).json()
    ).events;
    expect(history.map((e: { from: string | null; to: string }) => `${e.from}>${e.to}`)).toEqual([
      'null>draft',
      'draft>in_review',
      'in_review>approved',
    ]);
    expect(history.every((e: { by: string | null }) => e.by !== null)).toBe(true);
  });

  it('sends an approved edition back to draft when it is edited', async () => {
    const id = await approvedEdition();
    const edited = await ctx.app.request(
      `/api/v1/editions/${id}`,
      json({ title: 'Nieuwe titel' }, alice, 'PATCH'),
    );
    expect((await edited.json()).status).toBe('draft');
  });

  it('schedules with an offset, reschedules and cancels; the old job ids become stale', async () => {
    const id = await approvedEdition();
    expect((await act(id, 'schedule', alice, { sendAt: '2026-03-10T09:00' })).status).toBe(422);
    expect((await act(id, 'schedule', alice, { sendAt: '2026-02-10T09:00:00+01:00' })).status).toBe(422);
    const scheduled = await (
      await act(id, 'schedule', alice, { sendAt: '2026-03-10T09:00:00+01:00' })
    ).json();
    expect(scheduled).toMatchObject({ status: 'scheduled', sendAt: '2026-03-10T08:00:00.000Z' });
    // Summer time: 09:00 in Amsterdam is 07:00 UTC after the last Sunday of March.
    const rescheduled = await (
      await act(id, 'schedule', alice, { sendAt: '2026-03-31T09:00:00+02:00' })
    ).json();
    expect(rescheduled.sendAt).toBe('2026-03-31T07:00:00.000Z');
    const jobs = await ctx.db
      .selectFrom('outbox')
      .select(['job_id', 'run_at'])
      .where('job_id', 'like', `edition-${id}-v%`)
      .orderBy('id')
      .execute();
    expect(jobs.map((j) => j.job_id)).toEqual([`edition-${id}-v1`, `edition-${id}-v2`]);
    expect(jobs[1]!.run_at.toISOString()).toBe('2026-03-31T07:00:00.000Z');
    const cancelled = await (await act(id, 'cancel', alice)).json();
    expect(cancelled.status).toBe('cancelled');
    const version = await ctx.db
      .selectFrom('editions')
      .select('schedule_version')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(version.schedule_version).toBe(3);
  });

  it('refuses actions that do not fit the status, with the reason', async () => {
    const { id } = await (await ctx.app.request('/api/v1/editions', json(draft(), alice))).json();
    const res = await act(id, 'schedule', alice, { sendAt: '2026-03-10T09:00:00+01:00' });
    expect(res.status).toBe(409);
    expect((await res.json()).detail).toBe('Cannot schedule an edition that is draft.');
    expect((await act(id, 'submit', viewer)).status).toBe(403);
  });

  it('keeps slugs unique', async () => {
    await ctx.app.request('/api/v1/editions', json(draft({ slug: 'uniek' }), alice));
    const res = await ctx.app.request('/api/v1/editions', json(draft({ slug: 'uniek' }), alice));
    expect(res.status).toBe(422);
    expect((await res.json()).errors[0].field).toBe('slug');
  });
});

describe('preview and test send', () => {
  it('previews HTML and text per reader language, with the content escaped', async () => {
    const { id } = await (
      await ctx.app.request(
        '/api/v1/editions',
        json(draft({ title: 'Titel <script>alert(1)</script>' }), alice),
      )
    ).json();
    const html = await ctx.app.request(`/api/v1/editions/${id}/preview?locale=en`, { headers: viewer });
    expect(html.status).toBe(200);
    const page = await html.text();
    expect(page).toContain('lang="en"');
    expect(page).toContain('Titel &lt;script&gt;');
    expect(page).not.toContain('<script>alert');
    expect(page).toContain('Unsubscribe');
    expect(page).toContain('alt="Een woning in de regio"');
    const text = await (
      await ctx.app.request(`/api/v1/editions/${id}/preview?format=text`, { headers: viewer })
    ).text();
    expect(text).toContain('Afmelden');
    expect(text).toContain('https://voorbeeld.test/lab');
    expect(text).not.toContain('__TP_');
  });

  it('sends a marked test to at most 10 addresses, not counted as deliveries', async () => {
    const { id } = await (await ctx.app.request('/api/v1/editions', json(draft(), alice))).json();
    const tooMany = await ctx.app.request(
      `/api/v1/editions/${id}/test-send`,
      json({ to: Array.from({ length: 11 }, (_, i) => `t${i}@voorbeeld.test`) }, alice),
    );
    expect(tooMany.status).toBe(422);
    const bad = await ctx.app.request(
      `/api/v1/editions/${id}/test-send`,
      json({ to: ['goed@voorbeeld.test', 'Jan <jan@voorbeeld.test>'] }, alice),
    );
    expect(bad.status).toBe(422);
    expect((await bad.json()).errors[0].field).toBe('to.1');
    const ok = await ctx.app.request(
      `/api/v1/editions/${id}/test-send`,
      json({ to: ['redacteur@voorbeeld.test'] }, alice),
    );
    expect(ok.status).toBe(202);
    const email = await ctx.db
      .selectFrom('emails')
      .selectAll()
      .where('to_address', '=', 'redacteur@voorbeeld.test')
      .executeTakeFirstOrThrow();
    expect(email.subject).toMatch(/^\[TEST\] /);
    expect(email.html).toContain('TESTVERSIE');
    expect(
      await ctx.db.selectFrom('deliveries').select('id').where('edition_id', '=', id).execute(),
    ).toHaveLength(0);
  });
});

describe('two editors saving the same edition', () => {
  it('PATCH with If-Match: a stale version gets 412 and changes nothing, the current one saves', async () => {
    const { id } = await (await ctx.app.request('/api/v1/editions', json(draft(), alice))).json();
    const opened = await ctx.app.request(`/api/v1/editions/${id}`, { headers: alice });
    const etag = opened.headers.get('etag')!;
    expect(etag).toMatch(/^"v\d+"$/);

    const first = await ctx.app.request(
      `/api/v1/editions/${id}`,
      json({ title: 'Titel van Alice' }, { ...alice, 'if-match': etag }, 'PATCH'),
    );
    expect(first.status).toBe(200);
    const newer = first.headers.get('etag')!;
    expect(newer).not.toBe(etag);

    const late = (ifMatch: string) =>
      ctx.app.request(
        `/api/v1/editions/${id}`,
        json({ title: 'Titel van Bob' }, { ...bob, 'if-match': ifMatch }, 'PATCH'),
      );
    for (const stale of [etag, 'not-an-etag']) {
      const refused = await late(stale);
      expect(refused.status).toBe(412);
      expect((await refused.json()).detail).toMatch(/Someone else saved this edition/);
    }
    const now = await (await ctx.app.request(`/api/v1/editions/${id}`, { headers: bob })).json();
    expect(now.title).toBe('Titel van Alice');

    // Based on the version that is current, or without If-Match (no check asked for): saved.
    expect((await late(newer)).status).toBe(200);
    expect((await late('*')).status).toBe(200);
  });
});
