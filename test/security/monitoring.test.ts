import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { logInAs } from '../helpers/admin.js';
import { createTestContext, METRICS_AUTH, TEST_METRICS_TOKEN, type TestContext } from '../helpers/context.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
  // Something to count, so that an answer with metrics is recognisable.
  await ctx.app.request('/healthz');
});
afterAll(() => ctx.close());

/** Text that only a metrics answer holds. */
function expectNoMetrics(text: string) {
  expect(text).not.toContain('http_request_duration_seconds');
  expect(text).not.toContain('# HELP');
  expect(text).not.toContain('# TYPE');
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('GET /metrics', () => {
  it('refuses anonymous callers with 401, a Bearer challenge and no metric in the body', async () => {
    const res = await ctx.app.request('/metrics');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expectNoMetrics(await res.text());
  });

  it('refuses wrong tokens with 401 and no metrics', async () => {
    const wrong = [
      bearer(`${TEST_METRICS_TOKEN}x`),
      bearer(TEST_METRICS_TOKEN.slice(0, -1)),
      bearer(TEST_METRICS_TOKEN.toUpperCase()),
      bearer('tp_not-a-real-api-token'),
      { authorization: `Basic ${Buffer.from(`prometheus:${TEST_METRICS_TOKEN}`).toString('base64')}` },
      { authorization: 'Bearer' },
      { authorization: TEST_METRICS_TOKEN },
    ];
    for (const headers of wrong) {
      const res = await ctx.app.request('/metrics', { headers });
      expect(res.status, headers.authorization).toBe(401);
      expectNoMetrics(await res.text());
    }
  });

  it('answers METRICS_TOKEN with the metrics', async () => {
    const res = await ctx.app.request('/metrics', { headers: METRICS_AUTH });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toMatch(/http_request_duration_seconds_bucket\{[^}]*route="\/healthz"/);
  });

  it('lets admins look (API token or session) and refuses lower roles with 403', async () => {
    for (const role of ['viewer', 'editor'] as const) {
      const res = await ctx.app.request('/metrics', { headers: (await ctx.userWithToken(role)).headers });
      expect(res.status, role).toBe(403);
      expectNoMetrics(await res.text());
      const session = await logInAs(ctx, role);
      const page = await session.page('/metrics');
      expect(page.status, `${role} session`).toBe(403);
      expectNoMetrics(await page.text());
    }
    const admin = await ctx.app.request('/metrics', { headers: (await ctx.userWithToken('admin')).headers });
    expect(admin.status).toBe(200);
    expect(await admin.text()).toContain('http_request_duration_seconds');
    const session = await (await logInAs(ctx, 'admin')).page('/metrics');
    expect(session.status).toBe(200);
    expect(await session.text()).toContain('http_request_duration_seconds');
    const forged = await ctx.app.request('/metrics', { headers: { cookie: 'tp_session=verzonnen' } });
    expect(forged.status).toBe(401);
  });

  it('without METRICS_TOKEN configured, opens to admins only: no token value works', async () => {
    const app = createApp({ ...ctx.deps, config: { ...ctx.deps.config, metricsToken: undefined } });
    expect((await app.request('/metrics')).status).toBe(401);
    for (const token of [TEST_METRICS_TOKEN, '', 'undefined']) {
      const res = await app.request('/metrics', { headers: bearer(token) });
      expect(res.status, JSON.stringify(token)).toBe(401);
      expectNoMetrics(await res.text());
    }
    const admin = await app.request('/metrics', { headers: (await ctx.userWithToken('admin')).headers });
    expect(admin.status).toBe(200);
  });
});

describe('GET /readyz and /healthz', () => {
  const failing = () =>
    createApp({
      ...ctx.deps,
      readinessChecks: {
        redis: async () => ({ ok: false, detail: 'connect ECONNREFUSED 10.0.0.5:6379' }),
        linkedin: async () => ({ ok: true, warning: 'LINKEDIN_VERSION 202401 is old' }),
      },
    });

  it('tells anonymous callers only whether the service is ready', async () => {
    const ready = await ctx.app.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });

    const notReady = await failing().request('/readyz');
    expect(notReady.status).toBe(503);
    const text = await notReady.text();
    expect(JSON.parse(text)).toEqual({ status: 'not_ready' });
    for (const detail of [
      'postgres',
      'redis',
      'migrations',
      'linkedin',
      'ECONNREFUSED',
      '10.0.0.5',
      '202401',
    ]) {
      expect(text).not.toContain(detail);
    }
  });

  it('gives the checks with METRICS_TOKEN or to an admin', async () => {
    const res = await failing().request('/readyz', { headers: METRICS_AUTH });
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body).toMatchObject({ status: 'not_ready', ready: false });
    expect(body.checks.postgres).toEqual({ ok: true });
    expect(body.checks.migrations).toEqual({ ok: true });
    expect(body.checks.redis).toEqual({ ok: false, detail: 'connect ECONNREFUSED 10.0.0.5:6379' });
    expect(body.checks.linkedin.warning).toContain('202401');

    const admin = await ctx.app.request('/readyz', { headers: (await ctx.userWithToken('admin')).headers });
    expect((await admin.json()).checks.postgres).toEqual({ ok: true });
  });

  it('refuses a wrong token with 401 and a lower role with 403, without details', async () => {
    const wrong = await ctx.app.request('/readyz', { headers: bearer(`${TEST_METRICS_TOKEN}x`) });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain('postgres');
    const viewer = await ctx.app.request('/readyz', { headers: (await ctx.userWithToken('viewer')).headers });
    expect(viewer.status).toBe(403);
    expect(await viewer.text()).not.toContain('postgres');
  });

  it('keeps /healthz public and minimal', async () => {
    const res = await ctx.app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });
});
