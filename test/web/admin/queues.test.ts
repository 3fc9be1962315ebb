import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/api/app.js';
import {
  closeQueues,
  connectRedis,
  createQueues,
  type Queues,
  type RedisConnections,
} from '../../../src/jobs/queues.js';
import { type AdminBrowser, logInAs } from '../../helpers/admin.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import { waitUntil } from '../../helpers/process.js';

/** bull-board at /admin/queues over real BullMQ queues on the test Redis. */
let ctx: TestContext;
let redis: RedisConnections;
let queues: Queues;
let monitored: TestContext;
let admin: AdminBrowser;
let editor: AdminBrowser;
let failedJobId: string;
const OWN_ORIGIN = 'http://localhost:3000';

beforeAll(async () => {
  ctx = await createTestContext();
  redis = connectRedis(ctx.redisUrl, () => undefined);
  queues = createQueues(redis.producer, ctx.redisPrefix);
  monitored = { ...ctx, app: createApp({ ...ctx.deps, queues }) };
  admin = await logInAs(monitored, 'admin');
  editor = await logInAs(monitored, 'editor');

  const job = await queues.maintenance.add('cleanup', {}, { jobId: 'opruimen-1', attempts: 1 });
  failedJobId = job.id!;
  const worker = new Worker(
    'maintenance',
    async () => {
      throw new Error('Opruimen mislukt: <img src=x onerror=alert(1)>');
    },
    { connection: redis.workerOptions, prefix: ctx.redisPrefix },
  );
  await waitUntil(async () => (await job.getState()) === 'failed', 'the job to fail');
  await worker.close();
});
afterAll(async () => {
  await Promise.all(Object.values(queues).map((queue) => queue.obliterate({ force: true })));
  await closeQueues(queues);
  await redis.close();
  await ctx.close();
});

function put(path: string, headers: Record<string, string>) {
  return monitored.app.request(path, { method: 'PUT', headers });
}

describe('the job monitor', () => {
  it('serves bull-board with its assets from node_modules; only base-uri is relaxed, and only here', async () => {
    const res = await admin.page('/admin/queues');
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("base-uri 'self'");
    expect(csp).not.toContain('googleapis');
    expect((await admin.page('/admin/posts')).headers.get('content-security-policy')).toContain(
      "base-uri 'none'",
    );
    const html = await res.text();
    expect(html).toContain('<base href="/admin/queues/"');
    expect(html).not.toContain('fonts.googleapis.com');
    const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await admin.page(`/admin/queues/${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('javascript');
    expect((await admin.page('/admin/queues/static/../../../../package.json')).status).toBe(404);
  });

  it('lists every queue with its Dutch description, and a failed job with its reason', async () => {
    const overview = await (await admin.page('/admin/queues/api/queues')).json();
    const names = overview.queues.map((queue: { name: string }) => queue.name).sort();
    expect(names).toEqual(Object.keys(queues).sort());
    expect(overview.queues.find((queue: { name: string }) => queue.name === 'imports').description).toBe(
      'CSV-imports van abonnees.',
    );
    const failed = await (
      await admin.page('/admin/queues/api/queues?activeQueue=maintenance&status=failed&page=1')
    ).json();
    const maintenance = failed.queues.find((queue: { name: string }) => queue.name === 'maintenance');
    expect(
      maintenance.jobs.map((job: { id: string; failedReason: string }) => [job.id, job.failedReason]),
    ).toEqual([[failedJobId, 'Opruimen mislukt: <img src=x onerror=alert(1)>']]);
  });

  it('retries a failed job only for a request from our own origin', async () => {
    const retry = `/admin/queues/api/queues/maintenance/${failedJobId}/retry`;
    expect((await put(retry, { cookie: admin.cookie })).status).toBe(403);
    expect((await put(retry, { cookie: admin.cookie, origin: 'https://aanvaller.example' })).status).toBe(
      403,
    );
    expect(await queues.maintenance.getJobState(failedJobId)).toBe('failed');
    const res = await put(retry, { cookie: admin.cookie, origin: OWN_ORIGIN });
    expect(res.status).toBe(204);
    expect(await queues.maintenance.getJobState(failedJobId)).toBe('waiting');
  });

  it('refuses changes that bypass the outbox, such as emptying a queue or adding a job', async () => {
    await queues.imports.add('run-import', { importId: '1' }, { jobId: 'import-1', delay: 60_000 });
    const empty = await put('/admin/queues/api/queues/imports/empty', {
      cookie: admin.cookie,
      origin: OWN_ORIGIN,
    });
    expect(empty.status).toBe(403);
    expect((await empty.json()).message).toContain('alleen mislukte taken');
    const add = await monitored.app.request('/admin/queues/api/queues/imports/add', {
      method: 'POST',
      headers: { cookie: admin.cookie, origin: OWN_ORIGIN, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'run-import', data: { importId: '2' } }),
    });
    expect(add.status).toBe(403);
    expect(await queues.imports.getJobCounts('delayed', 'waiting')).toEqual({ delayed: 1, waiting: 0 });
  });

  it('is for admins only', async () => {
    expect((await editor.page('/admin/queues')).status).toBe(403);
    expect((await editor.page('/admin/queues/api/queues')).status).toBe(403);
    expect((await monitored.app.request('/admin/queues')).headers.get('location')).toBe('/admin/login');
    expect(
      (await put('/admin/queues/api/queues/pause', { cookie: editor.cookie, origin: OWN_ORIGIN })).status,
    ).toBe(403);
    expect(await queues.maintenance.isPaused()).toBe(false);
    expect((await put('/admin/queues/api/queues/pause', { origin: OWN_ORIGIN })).status).toBe(401);
  });

  it('says in Dutch when the process has no queues', async () => {
    const plain = await logInAs(ctx, 'admin');
    const res = await plain.page('/admin/queues');
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('geen verbinding met de wachtrijen');
  });
});
