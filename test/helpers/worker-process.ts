import { TEST_APP_SECRET, type TestContext } from './context.js';
import { childEnv, type RunningProcess, startScript } from './process.js';

/**
 * The real worker process (`npm run start:worker`: src/jobs/main.ts) on a test context's Postgres
 * and Redis, with `env` on top (providers' base URLs, credentials, concurrency, log level).
 */
export function startTestWorker(
  ctx: Pick<TestContext, 'databaseUrl' | 'redisUrl' | 'redisPrefix'>,
  env: Record<string, string | undefined>,
): RunningProcess {
  return startScript(
    'src/jobs/main.ts',
    [],
    childEnv({
      DATABASE_URL: ctx.databaseUrl,
      REDIS_URL: ctx.redisUrl,
      REDIS_PREFIX: ctx.redisPrefix,
      APP_SECRET: TEST_APP_SECRET,
      PUBLIC_BASE_URL: 'http://localhost:3000',
      ...env,
    }),
  );
}
