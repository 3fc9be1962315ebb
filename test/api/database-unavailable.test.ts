import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { createDb, type DbHandle } from '../../src/db/connection.js';
import { createTestContext, json, type TestContext } from '../helpers/context.js';
import { freePort } from '../helpers/process.js';

/**
 * The fault suite kills Postgres under the running API: requests in that moment must get a 503
 * with Retry-After (the request was fine; try again), never a 500 that says we have a bug.
 */
let ctx: TestContext;
let gone: DbHandle;

beforeAll(async () => {
  ctx = await createTestContext();
  // Nothing listens on this port: a Postgres that is down.
  gone = createDb(`postgres://thuispost@127.0.0.1:${await freePort()}/weg`, ctx.deps.logger);
});
afterAll(async () => {
  await gone.close();
  await ctx.close();
});

describe('with Postgres down', () => {
  it('answers 503 with Retry-After and a problem document, without details of the failure', async () => {
    const app = createApp({ ...ctx.deps, db: gone.db });
    const requests: [string, RequestInit][] = [
      ['/subscribe', json({ email: 'iemand@voorbeeld.test', topics: ['nieuwsbrief'], consent: true })],
      ['/api/v1/subscribers', { headers: { authorization: 'Bearer tp_iets' } }],
      ['/nieuwsbrieven', {}],
    ];
    for (const [path, init] of requests) {
      const response = await app.request(path, init);
      expect(response.status, path).toBe(503);
      expect(response.headers.get('retry-after'), path).toBe('5');
      const body = await response.text();
      expect(JSON.parse(body), path).toMatchObject({ status: 503, title: 'Service unavailable' });
      expect(body, path).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|\n\s+at /);
    }
  });
});
