import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { linkedinHealth, linkedinReadiness } from '../../src/domain/linkedin.js';
import type { LinkedInAppConfig } from '../../src/infra/linkedin-config.js';
import { SecretBox } from '../../src/infra/secret-box.js';
import { FakeLinkedIn } from '../fakes/linkedin-server.js';
import { startTestBackground, type TestBackground } from '../helpers/background.js';
import {
  createTestContext,
  json,
  METRICS_AUTH,
  TEST_APP_SECRET,
  type TestContext,
} from '../helpers/context.js';
import { waitUntil } from '../helpers/process.js';

/**
 * The admin's OAuth connection (no LINKEDIN_ACCESS_TOKEN): dry run before connecting, the
 * authorization-code flow against the fake, encrypted tokens, 401 → held → reconnect → published,
 * health warnings and the token refresh job.
 */
const ORG = '424242';
const DAY = 24 * 60 * 60 * 1000;
let ctx: TestContext;
let fake: FakeLinkedIn;
let background: TestBackground;
let app: ReturnType<typeof createApp>;
let linkedin: LinkedInAppConfig;
let admin: { userId: string; headers: Record<string, string> };
let editor: Record<string, string>;
const box = new SecretBox([TEST_APP_SECRET]);
/** A version one month old, so that only the tests about it see the age warning. */
const lastMonth = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() - 1, 1));
const VERSION = `${lastMonth.getUTCFullYear()}${String(lastMonth.getUTCMonth() + 1).padStart(2, '0')}`;

beforeAll(async () => {
  ctx = await createTestContext();
  fake = await new FakeLinkedIn().start();
  const settings = { apiBaseUrl: fake.url, oauthBaseUrl: fake.url, version: VERSION, timeoutMs: 1_000 };
  linkedin = {
    settings,
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    envAccessToken: undefined,
    envOrganizationId: undefined,
    secretBox: box,
  };
  app = createApp({ ...ctx.deps, linkedin });
  background = await startTestBackground(ctx, {
    linkedin: {
      settings,
      secretBox: box,
      oauthApp: { clientId: fake.clientId, clientSecret: fake.clientSecret },
      allowPrivateImageHosts: true,
      imagePollIntervalMs: 20,
    },
  });
  admin = await ctx.userWithToken('admin');
  editor = (await ctx.userWithToken('editor')).headers;
});
afterAll(async () => {
  await background.stop();
  await fake.stop();
  await ctx.close();
});

async function publishPost(commentary: string) {
  const link = `https://voorbeeld.test/documenten/${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const created = await app.request(
    '/api/v1/linkedin/posts',
    json(
      {
        kind: 'document',
        commentary,
        link,
        title: 'Jaarverslag',
        description: 'Het jaarverslag van het lab.',
        imageUrl: `${fake.url}/image.png`,
      },
      editor,
    ),
  );
  expect(created.status).toBe(201);
  const { id } = await created.json();
  expect((await app.request(`/api/v1/linkedin/posts/${id}/schedule`, json({}, editor))).status).toBe(200);
  return { id: id as string, link };
}

async function waitForPost(id: string, statuses: string[]) {
  await waitUntil(
    async () =>
      statuses.includes(
        (
          await ctx.db
            .selectFrom('linkedin_posts')
            .select('status')
            .where('id', '=', id)
            .executeTakeFirstOrThrow()
        ).status,
      ),
    `post ${id} to be ${statuses.join('/')}`,
    20_000,
  );
  return ctx.db.selectFrom('linkedin_posts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** The whole connect flow as the admin; returns the pending connection's form HTML. */
async function connect(code: string, headers = admin.headers) {
  const start = await app.request('/admin/linkedin/connect', { headers });
  expect(start.status).toBe(302);
  const location = new URL(start.headers.get('location')!);
  const state = location.searchParams.get('state')!;
  fake.codes.add(code);
  const callback = await app.request(
    `/admin/linkedin/callback?code=${code}&state=${encodeURIComponent(state)}`,
    { headers },
  );
  return { location, state, callback };
}

describe('dry run (no connection, no token)', () => {
  it('publishes to the local feed: the exact request without the token, marked as a dry run', async () => {
    const { id, link } = await publishPost('Proef: het #jaarverslag staat online');
    const post = await waitForPost(id, ['published', 'failed']);
    expect(post.status).toBe('published');
    expect(post.dry_run).toBe(true);
    expect(post.post_urn).toBe(`urn:li:share:dryrun-${id}`);
    expect(fake.createRequests()).toHaveLength(0);

    const page = await app.request('/dev/linkedin', { headers: admin.headers });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`urn:li:share:dryrun-${id}`);
    expect(html).toContain('PROEF');
    const feed = await ctx.db
      .selectFrom('linkedin_dry_run_feed')
      .selectAll()
      .where('post_id', '=', id)
      .executeTakeFirstOrThrow();
    const create = (
      feed.requests as {
        method: string;
        url: string;
        headers: Record<string, string>;
        body: Record<string, unknown>;
      }[]
    ).at(-1)!;
    expect(create.method).toBe('POST');
    expect(create.url).toBe(`${fake.url}/rest/posts`);
    expect(create.headers).toMatchObject({
      'LinkedIn-Version': VERSION,
      'X-Restli-Protocol-Version': '2.0.0',
      Authorization: 'Bearer <access token>',
    });
    expect(create.body).toMatchObject({
      commentary: 'Proef: het \\#jaarverslag staat online',
      visibility: 'PUBLIC',
      lifecycleState: 'PUBLISHED',
      content: { article: { source: link, title: 'Jaarverslag' } },
    });
    const view = await (await app.request(`/api/v1/linkedin/posts/${id}`, { headers: editor })).json();
    expect(view.dryRun).toBe(true);
    expect(view.postUrl).toBeNull();

    expect((await app.request('/dev/linkedin')).status).toBe(303);
    expect((await app.request('/dev/linkedin', { headers: editor })).status).toBe(403);
  });
});

describe('connecting through OAuth', () => {
  it('redirects to LinkedIn with a signed state, the scopes and our callback', async () => {
    const start = await app.request('/admin/linkedin/connect', { headers: admin.headers });
    expect(start.status).toBe(302);
    const location = new URL(start.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(`${fake.url}/oauth/v2/authorization`);
    expect(location.searchParams.get('response_type')).toBe('code');
    expect(location.searchParams.get('client_id')).toBe(fake.clientId);
    expect(location.searchParams.get('redirect_uri')).toBe('http://localhost:3000/admin/linkedin/callback');
    expect(location.searchParams.get('scope')).toBe(
      'w_organization_social r_organization_social rw_organization_admin',
    );
    expect(location.searchParams.get('state')).toMatch(/\./);
    expect((await app.request('/admin/linkedin/connect', { headers: editor })).status).toBe(403);
  });

  it('rejects a tampered, foreign or reused state before exchanging the code', async () => {
    const { state } = await connect('code-onbruikbaar', { ...admin.headers });
    const tampered = `${state.slice(0, 5)}x${state.slice(6)}`;
    fake.codes.add('code-x');
    const exchangesBefore = fake.requests.filter((r) => r.path === '/oauth/v2/accessToken').length;
    expect(
      (
        await app.request(`/admin/linkedin/callback?code=code-x&state=${encodeURIComponent(tampered)}`, {
          headers: admin.headers,
        })
      ).status,
    ).toBe(400);
    // Used already (by connect() above).
    expect(
      (
        await app.request(`/admin/linkedin/callback?code=code-x&state=${encodeURIComponent(state)}`, {
          headers: admin.headers,
        })
      ).status,
    ).toBe(400);
    // Issued to another admin.
    const other = await ctx.userWithToken('admin');
    const foreign = new URL(
      (await app.request('/admin/linkedin/connect', { headers: other.headers })).headers.get('location')!,
    ).searchParams.get('state')!;
    expect(
      (
        await app.request(`/admin/linkedin/callback?code=code-x&state=${encodeURIComponent(foreign)}`, {
          headers: admin.headers,
        })
      ).status,
    ).toBe(400);
    expect(fake.requests.filter((r) => r.path === '/oauth/v2/accessToken').length).toBe(exchangesBefore);
  });

  it('exchanges the code, lets the admin choose the organisation and stores the tokens encrypted', async () => {
    const { callback } = await connect('code-1');
    expect(callback.status).toBe(200);
    const html = await callback.text();
    expect(html).toContain('Voorbeeldlab Wonen');
    const pending = /name="pending" value="(\d+)"/.exec(html)![1]!;
    const exchange = fake.requests.find(
      (r) => r.path === '/oauth/v2/accessToken' && (r.body as { code?: string }).code === 'code-1',
    )!;
    expect(exchange.body).toMatchObject({
      grant_type: 'authorization_code',
      redirect_uri: 'http://localhost:3000/admin/linkedin/callback',
    });

    const wrong = await app.request('/admin/linkedin/organisation', {
      method: 'POST',
      headers: { ...admin.headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ pending, organizationId: '999' }).toString(),
    });
    expect(wrong.status).toBe(422);
    const choose = await app.request('/admin/linkedin/organisation', {
      method: 'POST',
      headers: { ...admin.headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ pending, organizationId: ORG }).toString(),
    });
    expect(choose.status).toBe(303);

    const row = await ctx.db
      .selectFrom('linkedin_connections')
      .selectAll()
      .where('status', '=', 'active')
      .executeTakeFirstOrThrow();
    expect(row.organization_id).toBe(ORG);
    expect(row.organization_name).toBe('Voorbeeldlab Wonen');
    expect(row.access_token_enc).not.toContain('fake-access-code-1');
    expect(row.refresh_token_enc).not.toContain('fake-refresh-code-1');
    expect(box.open(row.access_token_enc!, 'linkedin-access-token')).toBe('fake-access-code-1');
    expect(() => box.open(row.access_token_enc!, 'linkedin-refresh-token')).toThrow();
    expect(row.access_token_expires_at!.getTime() - Date.now()).toBeGreaterThan(59 * DAY);

    const health = await (await app.request('/api/v1/linkedin/health', { headers: editor })).json();
    expect(health).toMatchObject({
      mode: 'connected',
      organizationId: ORG,
      refreshable: true,
      daysLeft: 59,
      warnings: [],
    });

    const { id, link } = await publishPost('Gekoppeld: eerste echte bericht');
    expect((await waitForPost(id, ['published', 'failed'])).status).toBe('published');
    const [remote] = [...fake.posts.values()].filter((p) => p.content.article.source === link);
    expect(remote!.author).toBe(`urn:li:organization:${ORG}`);
    expect(fake.createRequests().at(-1)!.headers.authorization).toBe('Bearer fake-access-code-1');
  });

  it('holds posts after a 401, marks the connection broken, and publishes them after reconnecting', async () => {
    fake.tokens.delete('fake-access-code-1');
    const { id, link } = await publishPost('Na de storing: dit bericht wacht op een nieuwe koppeling');
    const held = await waitForPost(id, ['held', 'failed', 'published']);
    expect(held.status).toBe('held');
    const connection = await ctx.db
      .selectFrom('linkedin_connections')
      .selectAll()
      .where('status', 'in', ['active', 'broken'])
      .executeTakeFirstOrThrow();
    expect(connection.status).toBe('broken');
    const health = await (await app.request('/api/v1/linkedin/health', { headers: editor })).json();
    expect(health.mode).toBe('broken');
    const page = await (await app.request('/admin/linkedin', { headers: admin.headers })).text();
    expect(page).toContain('De koppeling werkt niet meer');
    expect(page).toContain('Opnieuw koppelen');
    expect(health.heldPosts).toBe(1);
    const ready = await linkedinReadiness(ctx.db, { version: VERSION }, new Date());
    expect(ready.ok).toBe(true);
    expect(ready.warning).toMatch(/koppel opnieuw/);

    // A second post while broken is held without a request to LinkedIn.
    const { id: second } = await publishPost('Ook dit bericht wacht');
    expect((await waitForPost(second, ['held', 'failed', 'published'])).status).toBe('held');

    const { callback } = await connect('code-2');
    const pending = /name="pending" value="(\d+)"/.exec(await callback.text())![1]!;
    const choose = await app.request('/admin/linkedin/organisation', {
      method: 'POST',
      headers: { ...admin.headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ pending, organizationId: ORG }).toString(),
    });
    expect(choose.status).toBe(303);
    expect((await waitForPost(id, ['published', 'failed'])).status).toBe('published');
    expect((await waitForPost(second, ['published', 'failed'])).status).toBe('published');
    expect([...fake.posts.values()].filter((p) => p.content.article.source === link)).toHaveLength(1);
    const statuses = await ctx.db.selectFrom('linkedin_connections').select('status').orderBy('id').execute();
    expect(statuses.filter((s) => s.status === 'active')).toHaveLength(1);
    const old = await ctx.db
      .selectFrom('linkedin_connections')
      .selectAll()
      .where('id', '=', connection.id)
      .executeTakeFirstOrThrow();
    expect(old.status).toBe('disconnected');
    expect(old.access_token_enc).toBeNull();
  });

  it('refreshes a token that expires within 14 days (scheduled job)', async () => {
    const current = await ctx.db
      .selectFrom('linkedin_connections')
      .selectAll()
      .where('status', '=', 'active')
      .executeTakeFirstOrThrow();
    await ctx.db
      .updateTable('linkedin_connections')
      .set({ access_token_expires_at: new Date(Date.now() + 3 * DAY) })
      .where('id', '=', current.id)
      .execute();
    const job = await background.queues.linkedin.add('refresh-token', {}, { jobId: `refresh-${Date.now()}` });
    await waitUntil(async () => (await job.getState()) === 'completed', 'the refresh job');
    expect((await background.queues.linkedin.getJob(job.id!))!.returnvalue).toMatch(
      /^refreshed; \d+ admin warning/,
    );
    const after = await ctx.db
      .selectFrom('linkedin_connections')
      .selectAll()
      .where('id', '=', current.id)
      .executeTakeFirstOrThrow();
    expect(after.access_token_expires_at!.getTime() - Date.now()).toBeGreaterThan(59 * DAY);
    expect(box.open(after.access_token_enc!, 'linkedin-access-token')).toMatch(
      /^fake-refresh-code-2-access-/,
    );
  });
});

describe('health warnings', () => {
  it('warns 14, 7 and 1 days before the token expires, and about an old LINKEDIN_VERSION, without making /readyz unready', async () => {
    const current = await ctx.db
      .selectFrom('linkedin_connections')
      .selectAll()
      .where('status', '=', 'active')
      .executeTakeFirstOrThrow();
    const now = new Date('2026-03-01T09:00:00Z');
    const at = async (ms: number) => {
      await ctx.db
        .updateTable('linkedin_connections')
        .set({ access_token_expires_at: new Date(now.getTime() + ms) })
        .where('id', '=', current.id)
        .execute();
      return linkedinHealth(ctx.db, { version: '202602' }, now);
    };
    expect((await at(20 * DAY)).warnings).toEqual([]);
    expect((await at(13 * DAY)).warnings.join(' ')).toMatch(/minder dan 14 dagen/);
    expect((await at(6 * DAY)).warnings.join(' ')).toMatch(/minder dan 7 dagen/);
    expect((await at(DAY / 2)).warnings.join(' ')).toMatch(/minder dan 1 dag/);
    const old = await linkedinHealth(ctx.db, { version: '202504' }, now);
    expect(old.versionAgeMonths).toBe(11);
    expect(old.warnings.join(' ')).toMatch(/LINKEDIN_VERSION 202504/);
    expect((await linkedinHealth(ctx.db, { version: '202505' }, now)).warnings.join(' ')).not.toMatch(
      /LINKEDIN_VERSION/,
    );
    const ready = await linkedinReadiness(ctx.db, { version: '202504' }, now);
    expect(ready.ok).toBe(true);
    expect(ready.warning).toMatch(/LINKEDIN_VERSION/);

    const withCheck = createApp({
      ...ctx.deps,
      linkedin,
      readinessChecks: { linkedin: () => linkedinReadiness(ctx.db, { version: '202504' }, now) },
    });
    const readyz = await withCheck.request('/readyz', { headers: METRICS_AUTH });
    expect(readyz.status).toBe(200);
    expect((await readyz.json()).checks.linkedin).toMatchObject({
      ok: true,
      warning: expect.stringMatching(/LINKEDIN_VERSION/),
    });
  });
});
