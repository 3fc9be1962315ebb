import { defineConfig } from 'vitest/config';

/**
 * `npm run test:faults`: the fault suite (test/faults), which starts its own Postgres, Redis and
 * service processes so that it can kill them. One file at a time; it runs for minutes.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 60 * 60_000,
    hookTimeout: 5 * 60_000,
    maxWorkers: 1,
    pool: 'forks',
  },
});
