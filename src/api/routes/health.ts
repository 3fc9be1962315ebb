import { OpenAPIHono, z } from '@hono/zod-openapi';
import { sql } from 'kysely';
import { pendingMigrations } from '../../db/migrate.js';
import type { AppEnv, HealthCheck } from '../deps.js';
import { apiRoute } from '../openapi.js';

const CheckSchema = z.object({ ok: z.boolean(), detail: z.string().optional() }).passthrough();
const ReadySchema = z
  .object({ ready: z.boolean(), checks: z.record(z.string(), CheckSchema) })
  .openapi('Readiness');

async function timed(check: () => Promise<HealthCheck>, timeoutMs = 3_000): Promise<HealthCheck> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HealthCheck>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    return await Promise.race([check(), timeout]);
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/healthz',
      access: 'public',
      tags: ['health'],
      summary: 'Liveness: the process answers',
      responses: {
        200: {
          description: 'Alive',
          content: { 'application/json': { schema: z.object({ ok: z.literal(true) }) } },
        },
      },
    }),
    (c) => c.json({ ok: true as const }, 200),
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/readyz',
      access: 'public',
      tags: ['health'],
      summary: 'Readiness: Postgres and Redis reachable, migrations current',
      responses: {
        200: { description: 'Ready', content: { 'application/json': { schema: ReadySchema } } },
        503: { description: 'Not ready', content: { 'application/json': { schema: ReadySchema } } },
      },
    }),
    async (c) => {
      const { db, readinessChecks = {} } = c.var.deps;
      const named: Record<string, () => Promise<HealthCheck>> = {
        postgres: async () => {
          await sql`select 1`.execute(db);
          return { ok: true };
        },
        migrations: async () => {
          const pending = await pendingMigrations(db);
          return pending.length === 0
            ? { ok: true }
            : { ok: false, detail: `pending: ${pending.join(', ')}` };
        },
        ...readinessChecks,
      };
      const results = await Promise.all(
        Object.entries(named).map(async ([name, check]) => [name, await timed(check)] as const),
      );
      const checks = Object.fromEntries(results);
      const ready = results.every(([, result]) => result.ok);
      return c.json({ ready, checks }, ready ? 200 : 503);
    },
  );

  app.get('/metrics', async (c) => {
    const { metrics, beforeMetrics } = c.var.deps;
    await beforeMetrics?.().catch(() => undefined);
    return c.body(await metrics.metrics(), 200, { 'content-type': metrics.contentType });
  });

  return app;
}
