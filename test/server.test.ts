import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../src/infra/embedded-postgres.js';
import { startEmbeddedRedis } from '../src/infra/embedded-redis.js';
import { childEnv, freePort, getStatus, pidAlive, startScript, waitUntil } from './helpers/process.js';

/**
 * The README's promise, end to end: `npm start` on an empty data directory starts its own
 * Postgres and Redis, becomes ready, stops without orphans, and reuses its data next time.
 */
let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'thuispost-server-'));
  await chmod(dataDir, 0o711);
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

async function pidsOfEmbeddedServices(dir: string): Promise<number[]> {
  const postmaster = (await readFile(path.join(dir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]!;
  const redis = (await readFile(path.join(dir, 'redis', 'redis.pid'), 'utf8')).trim();
  return [Number(postmaster), Number(redis)];
}

describe('npm start', () => {
  it('stops with a message naming the variable when the configuration is bad', async () => {
    const run = startScript('src/server.ts', [], childEnv({ PORT: 'abc', DATA_DIR: dataDir }));
    const { code } = await run.exited;
    expect(code).not.toBe(0);
    expect(run.stderr()).toContain('PORT');
    expect(run.stderr()).not.toMatch(/\n\s+at /);
  });

  it('runs on embedded Postgres and Redis, leaves no orphans, and reuses its data on the next start', async () => {
    const port = await freePort();
    const env = childEnv({ PORT: String(port), DATA_DIR: dataDir });
    // info: the lines that name the embedded services' URLs are logged (without their passwords)
    const first = startScript('src/server.ts', [], { ...env, LOG_LEVEL: 'info' });
    await waitUntil(
      async () => (await getStatus(`http://127.0.0.1:${port}/readyz`)) === 200,
      '/readyz',
      90_000,
    );

    const setupLink = /http:\/\/localhost:\d+(\/admin\/setup\/\S+)/.exec(first.stdout());
    expect(setupLink, first.stdout()).not.toBeNull();

    // Both services want the passwords generated into the data directory (mode 600), which
    // never appear in the output.
    const output = first.stdout() + first.stderr();
    expect(output).toContain('using the embedded Postgres');
    expect(output).toMatch(/"redis":"redis:\/\/:\*\*\*@127\.0\.0\.1:\d+"/);
    for (const name of ['postgres-password', 'redis-password']) {
      const file = path.join(dataDir, name);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const password = (await readFile(file, 'utf8')).trim();
      expect(password.length).toBeGreaterThanOrEqual(32);
      expect(output).not.toContain(password);
    }
    expect(await getStatus(`http://127.0.0.1:${port}${setupLink![1]}`)).toBe(200);
    expect(await getStatus(`http://127.0.0.1:${port}/api/v1/users`)).toBe(401);

    // The CLI attaches to the running service's embedded database.
    const create = startScript(
      'src/cli.ts',
      ['user', 'create', '--email', 'beheer@voorbeeld.test', '--role', 'admin'],
      env,
      'een lang genoeg wachtwoord\n',
    );
    expect((await create.exited).code, create.stderr()).toBe(0);

    const children = await pidsOfEmbeddedServices(dataDir);
    expect(children.every(pidAlive)).toBe(true);
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    await waitUntil(() => children.every((pid) => !pidAlive(pid)), 'embedded services to stop', 15_000);

    const second = startScript('src/server.ts', [], env);
    await waitUntil(
      async () => (await getStatus(`http://127.0.0.1:${port}/readyz`)) === 200,
      '/readyz again',
      60_000,
    );
    const list = startScript('src/cli.ts', ['user', 'list'], env);
    await list.exited;
    expect(list.stdout()).toContain('beheer@voorbeeld.test');
    // An admin exists now: no setup link this time.
    expect(second.stdout()).not.toContain('/admin/setup/');

    // Even a SIGKILL of the service takes its Postgres and Redis down with it.
    const secondChildren = await pidsOfEmbeddedServices(dataDir);
    second.child.kill('SIGKILL');
    await second.exited;
    await waitUntil(
      () => secondChildren.every((pid) => !pidAlive(pid)),
      'orphans to exit after SIGKILL',
      15_000,
    );
  }, 180_000);

  it('survives Postgres and Redis restarting underneath it: not ready, then ready again', async () => {
    const servicesDir = await mkdtemp(path.join(os.tmpdir(), 'thuispost-deps-'));
    await chmod(servicesDir, 0o711);
    const logger = pino({ level: 'warn' });
    const [pgPort, redisPort, port] = await Promise.all([freePort(), freePort(), freePort()]);
    let postgres = await startEmbeddedPostgres({ dataDir: servicesDir, port: pgPort, logger });
    let redis = await startEmbeddedRedis({ dataDir: servicesDir, port: redisPort, logger });
    const server = startScript(
      'src/server.ts',
      [],
      childEnv({
        PORT: String(port),
        DATA_DIR: servicesDir,
        DATABASE_URL: postgres.url,
        REDIS_URL: redis.url,
        APP_SECRET: 'x'.repeat(48),
      }),
    );
    const ready = `http://127.0.0.1:${port}/readyz`;
    try {
      await waitUntil(async () => (await getStatus(ready)) === 200, 'ready', 60_000);

      await redis.stop();
      await waitUntil(async () => (await getStatus(ready)) === 503, 'not ready without Redis', 20_000);
      redis = await startEmbeddedRedis({ dataDir: servicesDir, port: redisPort, logger });
      await waitUntil(async () => (await getStatus(ready)) === 200, 'ready after Redis returns', 30_000);

      await postgres.stop();
      await waitUntil(async () => (await getStatus(ready)) === 503, 'not ready without Postgres', 20_000);
      postgres = await startEmbeddedPostgres({ dataDir: servicesDir, port: pgPort, logger });
      await waitUntil(async () => (await getStatus(ready)) === 200, 'ready after Postgres returns', 30_000);
      expect(server.child.exitCode).toBeNull();
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      await redis.stop();
      await postgres.stop();
      await rm(servicesDir, { recursive: true, force: true });
    }
  }, 180_000);
});
