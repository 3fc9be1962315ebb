import { OpenAPIHono, z } from '@hono/zod-openapi';
import { sql } from 'kysely';
import { pendingMigrations } from '../../db/migrate.js';
import type { AppEnv, HealthCheck } from '../deps.js';
import { canSeeMonitoring } from '../middleware/monitoring.js';
import { apiRoute } from '../openapi.js';
import { problem } from '../problem.js';

const CheckSchema = z.object({ ok: z.boolean(), detail: z.string().optional() }).passthrough();
const ReadySchema = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    ready: z.boolean().optional().openapi({ description: 'With METRICS_TOKEN or as an admin only' }),
    checks: z
      .record(z.string(), CheckSchema)
      .optional()
      .openapi({ description: 'Per dependency; with METRICS_TOKEN or as an admin only' }),
  })
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
      description:
        'Anyone gets the status (200 ready, 503 not). The checks per dependency (names, errors, ' +
        'pending migrations, warnings) only with `Authorization: Bearer <METRICS_TOKEN>`, an admin ' +
        "API token or an admin's session; a wrong token is refused with 401.",
      responses: {
        200: { description: 'Ready', content: { 'application/json': { schema: ReadySchema } } },
        503: { description: 'Not ready', content: { 'application/json': { schema: ReadySchema } } },
      },
    }),
    async (c) => {
      // Before the checks: a wrong token is refused without any work.
      const detailed = await canSeeMonitoring(c);
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
      const status = ready ? ('ready' as const) : ('not_ready' as const);
      // Without credentials: the status only. Dependency names, error texts, migration names and
      // versions help an attacker more than a load balancer.
      return c.json(detailed ? { status, ready, checks } : { status }, ready ? 200 : 503);
    },
  );

  // Prometheus authenticates with METRICS_TOKEN (docs/operations.md); admins may look too.
  app.get('/metrics', async (c) => {
    if (!(await canSeeMonitoring(c))) {
      c.header('www-authenticate', 'Bearer realm="metrics"');
      return problem(
        c,
        401,
        'Unauthorized',
        'Send Authorization: Bearer <METRICS_TOKEN> (or an admin API token, or log in as an admin).',
      );
    }
    const { metrics, beforeMetrics } = c.var.deps;
    await beforeMetrics?.().catch(() => undefined);
    return c.body(await metrics.metrics(), 200, { 'content-type': metrics.contentType });
  });

  return app;
}
