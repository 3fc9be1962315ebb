import { randomUUID } from 'node:crypto';
import { serve } from '@hono/node-server';
import autocannon from 'autocannon';
import { currentConsentText } from '../src/domain/consent.js';
import { createLogger } from '../src/infra/logger.js';
import { type BenchEnv, type BenchResult, benchApp, besideBareRoute, result } from './harness.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);

/**
 * Issue goal: public signup (`POST /subscribe`, JSON) at ≥ 10 % of a bare Hono route's
 * requests/s, p99 < 50 ms. Every request is a new address: one statement stores the subscriber,
 * its subscription, a consent event and an outbox row and counts the per-IP rate-limit hit, and
 * commits durably. Each comes from a different client address, so that the per-IP limit measures
 * nothing but itself. The app logs at `info` (into nothing), as in production. The signups run on
 * a group-committed writer, as on Node in production. Measured after a
 * warm-up of BENCH_WARMUP_SECONDS (default 2).
 */
export async function signupBenchmarks(env: BenchEnv): Promise<BenchResult[]> {
  const { app, database, linkTokens } = await benchApp(env, {
    logger: createLogger('info', { write: () => true } as never),
    clientIp: (c) => c.req.header('x-bench-client') ?? '127.0.0.1',
  });
  const consentVersion = (await currentConsentText(database.db)).version;
  // Issued a minute ago: the time trap (≥ 2 s to fill in the form) is satisfied.
  const formToken = linkTokens.issue({ p: 'form' }, 3600, new Date(Date.now() - 60_000));

  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  let counter = 0;
  const load = (seconds: number) =>
    autocannon({
      url: `http://127.0.0.1:${port}/subscribe`,
      connections: 50,
      duration: seconds,
      requests: [
        {
          method: 'POST',
          setupRequest: (request) => {
            counter++;
            return {
              ...request,
              headers: {
                'content-type': 'application/json',
                'x-bench-client': `10.${counter % 250}.${(counter >> 8) % 250}.${counter % 7}`,
              },
              body: JSON.stringify({
                email: `aanmelding-${counter}-${randomUUID().slice(0, 8)}@voorbeeld.test`,
                topics: ['nieuwsbrief'],
                locale: 'nl',
                consent: true,
                consentVersion,
                formToken,
              }),
            };
          },
        },
      ],
    });
  // A running server is warm: the first second or two (JIT, the pool's connections, each one
  // preparing the statement) are not part of the figure, but their signups must be stored too.
  const warmup = await load(WARMUP_SECONDS);
  const { value: run, bare, bareBefore, bareAfter } = await besideBareRoute(SECONDS, () => load(SECONDS));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const stored = await database.db
    .selectFrom('subscribers')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  await database.close();

  const rps = run.requests.average;
  const baseline = { name: 'bare Hono GET /hello', value: bare.requestsPerSecond };
  const errors = [warmup, run].reduce((sum, r) => sum + r.errors + r.timeouts + r.non2xx, 0);
  return [
    result(
      'POST /subscribe (JSON, new address each time)',
      'req/s',
      rps,
      baseline,
      {
        text: 'at least 10 % of the bare route, p99 under 50 ms, no errors, every signup stored',
        // Requests still in flight when the run ends are stored but not counted as answered.
        met:
          rps >= 0.1 * baseline.value &&
          run.latency.p99 < 50 &&
          errors === 0 &&
          Number(stored.n) >= warmup['2xx'] + run['2xx'],
      },
      {
        p50Ms: run.latency.p50,
        p99Ms: run.latency.p99,
        requests: run.requests.total,
        answered2xx: run['2xx'],
        warmupSeconds: WARMUP_SECONDS,
        warmupAnswered2xx: warmup['2xx'],
        stored: Number(stored.n),
        errors,
        non2xx: run.non2xx,
        bare,
        bareBefore,
        bareAfter,
      },
    ),
  ];
}
