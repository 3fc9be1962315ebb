import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { markEnvTokenRefused } from '../src/domain/linkedin.js';
import { Pseudonyms } from '../src/infra/crypto.js';
import worker, { type WorkerEnv } from '../src/worker.js';
import { createTestContext, type TestContext } from './helpers/context.js';

// Wrangler bundles `pino` as its browser build (conditions workerd, worker, browser); so does this
// file, so that the logger below is the one that runs on Workers.
vi.mock('pino', async () => {
  const { createRequire } = await import('node:module');
  const browserBuild = createRequire(import.meta.url)('pino/browser.js');
  return { default: browserBuild, pino: browserBuild };
});

const APP_SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const METRICS_TOKEN = 'a-metrics-token-for-prometheus-0123456789';
const monitoring = { headers: { authorization: `Bearer ${METRICS_TOKEN}` } };

let ctx: TestContext;
let env: WorkerEnv;
let logged: string[] = [];
const pending: Promise<unknown>[] = [];
const executionCtx = {
  waitUntil: (promise: Promise<unknown>) => void pending.push(promise),
  passThroughOnException: () => {},
  props: {},
};

/** Calls the Worker as workerd would, then lets the work it left for waitUntil finish. */
async function call(path: string, init?: RequestInit, withEnv: WorkerEnv = env) {
  const res = await worker.fetch(
    new Request(`https://nieuws.example.org${path}`, init),
    withEnv,
    executionCtx,
  );
  const closes = pending.splice(0);
  await Promise.all(closes);
  return { res, closes: closes.length };
}

beforeAll(async () => {
  ctx = await createTestContext();
  env = {
    HYPERDRIVE: { connectionString: ctx.databaseUrl },
    NODE_ENV: 'production',
    PUBLIC_BASE_URL: 'https://nieuws.example.org',
    LOG_LEVEL: 'info',
    APP_SECRET,
    METRICS_TOKEN,
    EMAIL_FROM: 'Thuispost <nieuwsbrief@example.org>',
  };
});
afterAll(() => ctx.close());

const consoleLog = vi.spyOn(console, 'log');
afterEach(() => {
  logged = [];
});
consoleLog.mockImplementation((...args: unknown[]) => {
  logged.push(args.map(String).join(' '));
});

describe('the Workers entry', () => {
  it('answers liveness without opening a database connection', async () => {
    const { res, closes } = await call('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(closes).toBe(0);
  });

  it('is ready on the Hyperdrive database, says Redis is not checked, and closes its pool', async () => {
    const { res, closes } = await call('/readyz', monitoring);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.ready).toBe(true);
    expect(body.checks.postgres).toEqual({ ok: true });
    expect(body.checks.migrations).toEqual({ ok: true });
    expect(body.checks.redis).toMatchObject({ ok: true, skipped: true });
    expect(body.checks.linkedin).toEqual({ ok: true, mode: 'dry-run' });
    expect(closes).toBe(1);
  });

  it('answers /readyz without credentials with the status only, and /metrics only with METRICS_TOKEN', async () => {
    const brief = await call('/readyz');
    expect(brief.res.status).toBe(200);
    expect(await brief.res.json()).toEqual({ status: 'ready' });
    const refused = await call('/metrics');
    expect(refused.res.status).toBe(401);
    expect(await refused.res.text()).not.toContain('http_request_duration_seconds');
    const wrong = await call('/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } });
    expect(wrong.res.status).toBe(401);
    const scraped = await call('/metrics', monitoring);
    expect(scraped.res.status).toBe(200);
    expect(await scraped.res.text()).toContain('http_request_duration_seconds');
  });

  it('reports LinkedIn in /readyz as on Node: a refused token and an old API version warn, never unready', async () => {
    const headless: WorkerEnv = {
      ...env,
      LINKEDIN_ACCESS_TOKEN: 'geweigerd-token',
      LINKEDIN_ORGANIZATION_ID: '737373',
      LINKEDIN_VERSION: '202401',
    };
    expect((await (await call('/readyz', monitoring, headless)).res.json()).checks.linkedin).toMatchObject({
      ok: true,
      mode: 'environment',
      warning: expect.stringContaining('LINKEDIN_VERSION 202401'),
    });
    await ctx.db
      .transaction()
      .execute((tx) => markEnvTokenRefused(tx, 'geweigerd-token', 'Unauthorized', new Date()));
    const { res } = await call('/readyz', monitoring, headless);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.ready).toBe(true);
    expect(body.checks.linkedin).toMatchObject({
      ok: true,
      mode: 'broken',
      warning: expect.stringContaining('LINKEDIN_ACCESS_TOKEN'),
    });
  });

  it('wires the same API: no token is a 401 problem', async () => {
    const { res } = await call('/api/v1/users');
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 401, title: 'Unauthorized' });
  });

  it('takes the client IP from cf-connecting-ip and writes through the request pool', async () => {
    const { res } = await call('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'cf-connecting-ip': '203.0.113.7' },
      body: JSON.stringify({ email: 'nobody@voorbeeld.test', password: 'wrong password, long enough' }),
    });
    expect(res.status).toBe(401);
    // The keyed pseudonym, from the Worker's own APP_SECRET.
    const ipKey = `login:ip:${new Pseudonyms(APP_SECRET).ip('203.0.113.7')}`;
    const row = await ctx.db
      .selectFrom('rate_limits')
      .select('hits')
      .where('key', '=', ipKey)
      .executeTakeFirst();
    expect(row?.hits).toBe(1);
  });

  it('writes rows and outbox rows in one transaction (the Node relay picks them up)', async () => {
    const admin = await ctx.userWithToken('admin');
    const { res, closes } = await call('/api/v1/system/test-email', {
      method: 'POST',
      headers: { ...admin.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'ontvanger@voorbeeld.test' }),
    });
    expect(res.status).toBe(202);
    const { emailId } = await res.json();
    const outbox = await ctx.db.selectFrom('outbox').select(['queue', 'job_id']).execute();
    expect(outbox).toContainEqual({ queue: 'transactional-email', job_id: `email-${emailId}` });
    expect(closes).toBe(1);
  });

  it('serves /docs as a page linking to the OpenAPI document', async () => {
    const { res } = await call('/docs');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('href="/api/v1/openapi.json"');
  });

  it('logs one JSON line per request through console.log, with the redaction rules of Node', async () => {
    await call('/healthz');
    const lines = logged.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({
        service: 'thuispost',
        runtime: 'cloudflare-workers',
        msg: 'request',
        route: '/healthz',
        status: 200,
      }),
    );

    const { createLogger } = await import('../src/infra/logger.js');
    logged = [];
    createLogger('info')
      .child({ reqId: 'r1' })
      .info({ email: 'iemand@voorbeeld.test', user: { token: 'tp_secret' }, err: new Error('boom') }, 'x');
    const [line] = logged;
    expect(line).not.toContain('iemand@voorbeeld.test');
    expect(line).not.toContain('tp_secret');
    expect(JSON.parse(line ?? '{}')).toMatchObject({
      service: 'thuispost',
      reqId: 'r1',
      email: '[redacted]',
      user: { token: '[redacted]' },
      err: { msg: 'boom' },
      msg: 'x',
    });
  });

  it('answers 500 problem+json naming (not showing) invalid configuration', async () => {
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
    const withoutSecret: WorkerEnv = { ...env };
    delete withoutSecret.APP_SECRET;
    const { res } = await call('/healthz', undefined, withoutSecret);
    expect(consoleError).toHaveBeenCalledWith(expect.stringContaining('APP_SECRET'));
    consoleError.mockRestore();
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = await res.json();
    expect(body.detail).toContain('APP_SECRET');
    expect(JSON.stringify(body)).not.toContain(ctx.databaseUrl);
  });
});
