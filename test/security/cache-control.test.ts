import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminBrowser, logInAs } from '../helpers/admin.js';
import { createTestContext, json, type TestContext } from '../helpers/context.js';

let ctx: TestContext;
let admin: AdminBrowser;
let token: Record<string, string>;
let subscriberId: string;

beforeAll(async () => {
  ctx = await createTestContext();
  admin = await logInAs(ctx, 'admin');
  token = (await ctx.userWithToken('admin')).headers;
  const created = await ctx.app.request(
    '/api/v1/subscribers',
    json(
      { email: 'cache@voorbeeld.test', topics: ['nieuwsbrief'], lawfulBasis: 'public_task', name: 'Cas Che' },
      token,
    ),
  );
  expect(created.status, await created.clone().text()).toBe(201);
  subscriberId = (await created.json()).id;
  await ctx.db
    .insertInto('editions')
    .values({
      title: 'Archief',
      subject: 'Archief',
      preheader: 'Uit het archief',
      slug: 'archief-cache',
      blocks: JSON.stringify([{ type: 'paragraph', text: 'Inhoud.' }]),
      status: 'sent',
      sent_at: '2026-02-01T08:00:00Z',
    })
    .execute();
});
afterAll(() => ctx.close());

type Caller = 'session' | 'token' | 'anonymous';
const personal = (): [string, Caller][] => {
  const links = ctx.deps.linkTokens;
  return [
    ['/admin', 'session'],
    ['/admin/subscribers', 'session'],
    [`/admin/subscribers/${subscriberId}`, 'session'],
    ['/admin/editions', 'session'],
    ['/admin/tokens', 'session'],
    ['/admin/login', 'anonymous'],
    ['/admin/subscribers', 'anonymous'],
    ['/dev/mailbox', 'session'],
    ['/api/v1/auth/me', 'token'],
    ['/api/v1/subscribers', 'token'],
    [`/api/v1/subscribers/${subscriberId}`, 'token'],
    [`/api/v1/subscribers/${subscriberId}/export`, 'token'],
    ['/api/v1/subscribers/export.csv', 'token'],
    ['/api/v1/subscribers', 'anonymous'],
    ['/api/v1/nothing-here', 'token'],
    [`/preferences/${links.issue({ p: 'preferences', s: subscriberId })}`, 'anonymous'],
    [`/unsubscribe/${links.issue({ p: 'unsubscribe', s: subscriberId })}`, 'anonymous'],
    [`/confirm/${links.issue({ p: 'confirm', s: subscriberId, n: 1 }, 3600)}`, 'anonymous'],
    ['/preferences/not-a-token', 'anonymous'],
  ];
};

function request(path: string, caller: Caller) {
  if (caller === 'session') return admin.page(path);
  return ctx.app.request(path, caller === 'token' ? { headers: token } : {});
}

describe('Cache-Control on answers with personal data', () => {
  it('is no-store on admin pages, the API and pages reached by a personal link, whatever the status', async () => {
    const seen: string[] = [];
    for (const [path, caller] of personal()) {
      const res = await request(path, caller);
      await res.arrayBuffer();
      seen.push(
        `${path.replace(/\/[\w-]+\.[\w-]+\.[\w-]+$/, '/<token>')} as ${caller}: ${res.status} ${res.headers.get('cache-control')}`,
      );
      expect(res.headers.get('cache-control'), `${path} as ${caller} (${res.status})`).toBe('no-store');
    }
    // The table really reached the pages (not only refusals): a few answered 200.
    expect(seen.filter((line) => line.includes(': 200 ')).length).toBeGreaterThanOrEqual(12);
  });

  it('is no-store on answers to changes too (a form post, an API write)', async () => {
    const links = ctx.deps.linkTokens;
    const page = await ctx.app.request(`/preferences/${links.issue({ p: 'preferences', s: subscriberId })}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'topics=nieuwsbrief',
    });
    expect(page.headers.get('cache-control')).toBe('no-store');
    const api = await ctx.app.request('/api/v1/topics', json({ slug: '' }, token));
    expect(api.status).toBe(422);
    expect(api.headers.get('cache-control')).toBe('no-store');
  });

  it('leaves the public archive, feeds and the OpenAPI document cacheable', async () => {
    for (const path of [
      '/nieuwsbrieven',
      '/nieuwsbrieven/archief-cache',
      '/feed.xml',
      '/api/v1/openapi.json',
    ]) {
      const res = await ctx.app.request(path);
      expect(res.status, path).toBe(200);
      const cache = res.headers.get('cache-control') ?? '';
      expect(cache, path).not.toContain('no-store');
    }
    expect((await ctx.app.request('/nieuwsbrieven')).headers.get('cache-control')).toMatch(
      /^public, max-age=\d+$/,
    );
  });

  it('leaves the admin scripts (code, no data) cacheable by the browser', async () => {
    const res = await admin.page('/admin/editions/assets/edition-preview.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('private, max-age=3600');
  });
});
