import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, json, METRICS_AUTH, type TestContext } from '../helpers/context.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

describe('health', () => {
  it('answers liveness', async () => {
    const res = await ctx.app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('is ready with a migrated database', async () => {
    const res = await ctx.app.request('/readyz', { headers: METRICS_AUTH });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.ready).toBe(true);
    expect(body.checks.postgres.ok).toBe(true);
    expect(body.checks.migrations.ok).toBe(true);
  });

  it('reports not ready, with details, when a dependency fails', async () => {
    const { createApp } = await import('../../src/api/app.js');
    const app = createApp({
      ...ctx.deps,
      readinessChecks: { redis: async () => ({ ok: false, detail: 'connection refused' }) },
    });
    const res = await app.request('/readyz', { headers: METRICS_AUTH });
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.ready).toBe(false);
    expect(body.checks.redis).toEqual({ ok: false, detail: 'connection refused' });
  });

  it('exposes Prometheus metrics with the request histogram', async () => {
    await ctx.app.request('/healthz');
    const res = await ctx.app.request('/metrics', { headers: METRICS_AUTH });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('http_request_duration_seconds_bucket');
    expect(text).toMatch(/route="\/healthz"/);
  });
});

describe('OpenAPI', () => {
  it('serves a valid OpenAPI 3.1 document', async () => {
    const res = await ctx.app.request('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(Object.keys(doc.paths)).toContain('/api/v1/users');
  });

  it('renders the docs page from local assets', async () => {
    const page = await ctx.app.request('/docs');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/docs/assets/swagger-ui-bundle.js');
    const asset = await ctx.app.request('/docs/assets/swagger-ui-bundle.js');
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('javascript');
  });
});

describe('errors and headers', () => {
  it('answers unknown paths with problem+json 404', async () => {
    const res = await ctx.app.request('/nope');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect((await res.json()).title).toBe('Not found');
  });

  it('sets secure headers and a request id', async () => {
    const res = await ctx.app.request('/healthz');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-request-id')).toMatch(/[0-9a-f-]{36}/);
  });

  it('gives field-by-field errors for invalid JSON bodies and changes nothing', async () => {
    const { headers } = await ctx.userWithToken('admin');
    const before = await ctx.db.selectFrom('users').select('id').execute();
    const res = await ctx.app.request(
      '/api/v1/users',
      json({ email: 'not-an-email', role: 'boss', password: 'x' }, headers),
    );
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = await res.json();
    expect(body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['email', 'password', 'role']);
    expect(await ctx.db.selectFrom('users').select('id').execute()).toHaveLength(before.length);
  });

  it('rejects malformed JSON with 400 and a wrong content type with 415', async () => {
    const { headers } = await ctx.userWithToken('admin');
    const malformed = await ctx.app.request('/api/v1/users', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: '{"email": ',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toBe('application/problem+json');
    const wrongType = await ctx.app.request('/api/v1/users', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(wrongType.status).toBe(415);
  });

  it('rejects oversized bodies with 413', async () => {
    const { headers } = await ctx.userWithToken('admin');
    const res = await ctx.app.request(
      '/api/v1/users',
      json({ email: 'a@voorbeeld.test', role: 'viewer', password: 'x'.repeat(2 * 1024 * 1024) }, headers),
    );
    expect(res.status).toBe(413);
    expect((await res.json()).title).toBe('Payload too large');
  });

  it('never leaks a stack trace on an internal error', async () => {
    const { createApp } = await import('../../src/api/app.js');
    const app = createApp({
      ...ctx.deps,
      readinessChecks: {},
      beforeMetrics: async () => undefined,
    });
    app.get('/boom', () => {
      throw new Error('secret internals at /work/main/src/x.ts:1');
    });
    const res = await app.request('/boom');
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('internals');
    expect(text).not.toContain('.ts');
  });
});
