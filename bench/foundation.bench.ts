import { createDb } from '../src/db/connection.js';
import { createApiToken } from '../src/domain/auth.js';
import { queueEmail } from '../src/domain/emails.js';
import { createUser } from '../src/domain/users.js';
import { createLogger } from '../src/infra/logger.js';
import { closeQueues, connectRedis, createQueues } from '../src/jobs/queues.js';
import { OutboxRelay } from '../src/jobs/relay.js';
import { systemClock } from '../src/providers/clock.js';
import { type BenchEnv, type BenchResult, benchApp, besideBareRoute, loadTest, result } from './harness.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

/**
 * The API's fixed cost: the full middleware stack (request id, logging, secure headers, metrics,
 * body limit) on /healthz, and an authenticated route (token lookup in Postgres), both against a
 * bare Hono route in the same run.
 */
export async function httpBenchmarks(env: BenchEnv): Promise<BenchResult[]> {
  // Logging at info into a sink: the request log line is part of the cost being measured.
  const { app, database } = await benchApp(env, {
    logger: createLogger('info', { write: () => true } as never),
  });
  const user = await createUser(database.db, {
    email: 'bench@voorbeeld.test',
    role: 'admin',
    password: 'bench wachtwoord zeilboot 123',
  });
  const { token } = await createApiToken(database.db, user, { name: 'bench' });
  const {
    value: [health, me],
    bare: bareFigures,
    bareBefore,
    bareAfter,
  } = await besideBareRoute(SECONDS, async () => [
    await loadTest(app, { path: '/healthz' }, SECONDS),
    await loadTest(app, { path: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } }, SECONDS),
  ]);
  await database.close();

  const baseline = { name: 'bare Hono GET /hello', value: bareFigures.requestsPerSecond };
  return [
    result(
      'GET /healthz through the full middleware stack',
      'req/s',
      health.requestsPerSecond,
      baseline,
      {
        text: 'at least 50 % of the bare route, no errors',
        met: health.requestsPerSecond >= 0.5 * baseline.value && health.errors === 0 && health.non2xx === 0,
      },
      { ...health, bare: bareFigures, bareBefore, bareAfter },
    ),
    result(
      'GET /api/v1/auth/me with an API token (Postgres lookup)',
      'req/s',
      me.requestsPerSecond,
      baseline,
      {
        text: 'p99 under 50 ms, no errors',
        met: me.p99Ms < 50 && me.errors === 0 && me.non2xx === 0,
      },
      { ...me },
    ),
  ];
}

/** Outbox relay throughput (rows committed → jobs in Redis) against BullMQ addBulk alone. */
export async function relayBenchmarks(env: BenchEnv): Promise<BenchResult[]> {
  const rows = Number(process.env.BENCH_OUTBOX_ROWS ?? 20_000);
  const logger = createLogger('silent');
  const redis = connectRedis(env.redisUrl, () => undefined);

  const baselineQueues = createQueues(redis.producer, `bench-base-${Date.now()}`);
  const started = performance.now();
  for (let offset = 0; offset < rows; offset += 500) {
    await baselineQueues['transactional-email'].addBulk(
      Array.from({ length: Math.min(500, rows - offset) }, (_, i) => ({
        name: 'send-email',
        data: { emailId: String(offset + i + 1) },
        opts: { jobId: `email-${offset + i + 1}` },
      })),
    );
  }
  const baselineRate = rows / ((performance.now() - started) / 1000);
  await baselineQueues['transactional-email'].obliterate({ force: true });
  await closeQueues(baselineQueues);

  const databaseUrl = await env.freshDatabase();
  const database = createDb(databaseUrl, logger, { max: 10 });
  for (let offset = 0; offset < rows; offset += 1000) {
    await database.db.transaction().execute(async (tx) => {
      for (let i = 0; i < Math.min(1000, rows - offset); i++) {
        await queueEmail(tx, { kind: 'bench', to: 'x@voorbeeld.test', subject: 's', html: 'h', text: 't' });
      }
    });
  }
  const queues = createQueues(redis.producer, `bench-relay-${Date.now()}`);
  const relay = new OutboxRelay({ db: database.db, databaseUrl, queues, clock: systemClock, logger });
  const relayStarted = performance.now();
  const relayed = await relay.drainAll();
  const relayRate = relayed / ((performance.now() - relayStarted) / 1000);
  await queues['transactional-email'].obliterate({ force: true });
  await closeQueues(queues);
  await database.close();
  await redis.close();

  return [
    result(
      'outbox relay: committed rows to BullMQ jobs',
      'rows/s',
      relayRate,
      { name: 'BullMQ addBulk of the same jobs', value: baselineRate },
      {
        text: 'at least 50 % of bare addBulk',
        met: relayRate >= 0.5 * baselineRate && relayed === rows,
      },
      { rows, relayed },
    ),
  ];
}
