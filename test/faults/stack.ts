import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { createDb, type DbHandle } from '../../src/db/connection.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { type EmbeddedService, startEmbeddedPostgres } from '../../src/infra/embedded-postgres.js';
import { startEmbeddedRedis } from '../../src/infra/embedded-redis.js';
import { createLogger } from '../../src/infra/logger.js';
import { FakeLinkedIn } from '../fakes/linkedin-server.js';
import { FakeResend } from '../fakes/resend-server.js';
import { METRICS_AUTH, TEST_APP_SECRET, TEST_METRICS_TOKEN } from '../helpers/context.js';
import {
  childEnv,
  freePort,
  getStatus,
  pidAlive,
  type RunningProcess,
  startScript,
  waitUntil,
} from '../helpers/process.js';

export type CrashKind = 'worker' | 'api' | 'redis' | 'postgres';
export const CRASH_KINDS: CrashKind[] = ['worker', 'api', 'redis', 'postgres'];

export const LINKEDIN_TOKEN = 'storing-token';
export const LINKEDIN_ORG = '626262';

export interface FaultStackOptions {
  /** Worker processes (`npm run start:worker`), each killed in turn. */
  workers: number;
  workerConcurrency: number;
  /** RESEND_REQUESTS_PER_SECOND: the pace of the edition send. */
  resendRequestsPerSecond: number;
}

/**
 * The whole service as it runs in production, on this machine: Postgres and Redis of its own
 * (embedded, in a temp dir, on fixed ports so that they can be killed and started again), the
 * API (`src/server.ts --role=api`) and worker processes (`src/jobs/main.ts`) as child processes,
 * and the fake Resend and LinkedIn servers. Every part can be killed with SIGKILL and restarted.
 */
export class FaultStack {
  readonly db: DbHandle['db'];
  readonly apiUrl: string;
  api!: RunningProcess;
  readonly workers: RunningProcess[] = [];
  /** Processes of the service that ended on their own, with what they said: must stay empty. */
  readonly unexpectedExits: string[] = [];
  private stopping = false;
  private readonly quiet = pino({ level: 'silent' });

  private constructor(
    private readonly options: FaultStackOptions,
    private readonly dataDir: string,
    private readonly ports: { postgres: number; redis: number; api: number },
    private postgres: EmbeddedService,
    private redis: EmbeddedService,
    readonly databaseUrl: string,
    readonly redisUrl: string,
    private readonly driver: DbHandle,
    readonly resend: FakeResend,
    readonly linkedin: FakeLinkedIn,
  ) {
    this.db = driver.db;
    this.apiUrl = `http://127.0.0.1:${ports.api}`;
  }

  static async start(options: FaultStackOptions): Promise<FaultStack> {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'thuispost-faults-'));
    // Traversable, so that Postgres can run as its own user when the tests run as root.
    await chmod(dataDir, 0o711);
    const logger = pino({ level: 'silent' });
    const [postgresPort, redisPort, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const postgres = await startEmbeddedPostgres({
      dataDir,
      port: postgresPort,
      logger,
      database: 'storing',
    });
    const redis = await startEmbeddedRedis({ dataDir, port: redisPort, logger });
    // The driver's own pool: seeding, polling and checks; it rides out the Postgres restarts.
    const driver = createDb(postgres.url, createLogger('silent'), { max: 4 });
    await migrateToLatest(driver.db);
    const resend = await new FakeResend().start();
    const linkedin = await new FakeLinkedIn().start();
    linkedin.issueToken(LINKEDIN_TOKEN, [LINKEDIN_ORG]);
    const stack = new FaultStack(
      options,
      dataDir,
      { postgres: postgresPort, redis: redisPort, api: apiPort },
      postgres,
      redis,
      postgres.url,
      redis.url,
      driver,
      resend,
      linkedin,
    );
    stack.api = stack.startApi();
    for (let i = 0; i < options.workers; i++) stack.workers.push(stack.startWorker());
    await stack.waitHealthy();
    return stack;
  }

  private env(): NodeJS.ProcessEnv {
    return childEnv({
      DATA_DIR: this.dataDir,
      DATABASE_URL: this.databaseUrl,
      REDIS_URL: this.redisUrl,
      REDIS_PREFIX: 'storing',
      APP_SECRET: TEST_APP_SECRET,
      METRICS_TOKEN: TEST_METRICS_TOKEN,
      PORT: String(this.ports.api),
      PUBLIC_BASE_URL: this.apiUrl,
      RESEND_API_KEY: 're_test_key',
      RESEND_BASE_URL: this.resend.url,
      RESEND_REQUESTS_PER_SECOND: String(this.options.resendRequestsPerSecond),
      LINKEDIN_ACCESS_TOKEN: LINKEDIN_TOKEN,
      LINKEDIN_ORGANIZATION_ID: LINKEDIN_ORG,
      LINKEDIN_API_BASE_URL: this.linkedin.url,
      WORKER_CONCURRENCY: String(this.options.workerConcurrency),
      // Info: the worker announces that it runs (see workerReady).
      LOG_LEVEL: 'info',
    });
  }

  private startApi(): RunningProcess {
    return this.watch('api', startScript('src/server.ts', ['--role=api'], this.env()));
  }

  private startWorker(): RunningProcess {
    return this.watch('worker', startScript('src/jobs/main.ts', [], this.env()));
  }

  /** A process that ends without being killed here is a failure of the service itself. */
  private watch(name: string, running: RunningProcess): RunningProcess {
    void running.exited.then((status) => {
      if (status.signal === 'SIGKILL' || this.stopping) return;
      this.unexpectedExits.push(
        `${name} exited by itself (${status.code ?? status.signal}): ${running.stderr().slice(-2_000)} ${running.stdout().slice(-2_000)}`,
      );
    });
    return running;
  }

  private static workerReady(worker: RunningProcess): boolean {
    return worker.stdout().includes('thuispost worker is running');
  }

  /** Waits until the API is ready (Postgres, Redis, migrations) and every worker runs. */
  async waitHealthy(timeoutMs = 120_000): Promise<void> {
    try {
      await waitUntil(
        async () => {
          if (this.unexpectedExits.length > 0) throw new Error(this.unexpectedExits.join('\n'));
          return (
            this.workers.every(FaultStack.workerReady) && (await getStatus(`${this.apiUrl}/readyz`)) === 200
          );
        },
        'the API to be ready and every worker to run',
        timeoutMs,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await this.diagnosis()}`);
    }
  }

  /** What each process says about itself: for a failure message. */
  private async diagnosis(): Promise<string> {
    const readyz = await fetch(`${this.apiUrl}/readyz`, {
      headers: METRICS_AUTH,
      signal: AbortSignal.timeout(5_000),
    })
      .then(async (response) => `${response.status} ${await response.text()}`)
      .catch((error: Error) => error.message);
    const describe = (name: string, running: RunningProcess) =>
      `${name}: ${running.child.exitCode === null && running.child.signalCode === null ? 'running' : `exited (${running.child.exitCode ?? running.child.signalCode})`}` +
      `${FaultStack.workerReady(running) ? ', worker ready' : ''}; stderr: ${running.stderr().slice(-1_500)}; stdout: ${running.stdout().slice(-1_500)}`;
    return [
      `readyz: ${readyz}`,
      describe('api', this.api),
      ...this.workers.map((worker, i) => describe(`worker ${i}`, worker)),
    ].join('\n');
  }

  /** SIGKILL one component, wait `outageMs` (services only), and start it again. */
  async crash(kind: CrashKind, which: number, outageMs: number): Promise<void> {
    switch (kind) {
      case 'worker': {
        const index = which % this.workers.length;
        await kill(this.workers[index]!);
        this.workers[index] = this.startWorker();
        return;
      }
      case 'api':
        await kill(this.api);
        this.api = this.startApi();
        return;
      case 'redis':
        await killPids([pidFromFile(path.join(this.dataDir, 'redis', 'redis.pid'))]);
        await sleep(outageMs);
        this.redis = await startEmbeddedRedis({
          dataDir: this.dataDir,
          port: this.ports.redis,
          logger: this.quiet,
        });
        return;
      case 'postgres': {
        // The postmaster and every backend at once, as a power cut would.
        const postmaster = pidFromFile(path.join(this.dataDir, 'postgres', 'postmaster.pid'));
        await killPids([postmaster, ...childPids(postmaster)]);
        await sleep(outageMs);
        this.postgres = await startEmbeddedPostgres({
          dataDir: this.dataDir,
          port: this.ports.postgres,
          logger: this.quiet,
          database: 'storing',
        });
        return;
      }
    }
  }

  /**
   * Polls `probe` (through Postgres restarts) until it holds; fails at once when a process of the
   * service ended by itself, and after `timeoutMs` with `explain()` in the message.
   */
  async waitFor(
    what: string,
    probe: () => Promise<boolean> | boolean,
    { timeoutMs, explain = () => '' }: { timeoutMs: number; explain?: () => Promise<unknown> | unknown },
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.retrying(async () => probe()))) {
      if (this.unexpectedExits.length > 0) throw new Error(this.unexpectedExits.join('\n'));
      if (Date.now() > deadline) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}: ${JSON.stringify(await explain())}`,
        );
      }
      await sleep(250);
    }
  }

  /** An edition's status, read through Postgres restarts. */
  async editionStatus(id: string): Promise<string> {
    const row = await this.retrying(() =>
      this.db.selectFrom('editions').select('status').where('id', '=', id).executeTakeFirstOrThrow(),
    );
    return row.status;
  }

  /** Retries a driver query while Postgres is down or restarting. */
  async retrying<T>(query: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await query();
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(250);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const running of [this.api, ...this.workers]) {
      if (running.child.exitCode === null && running.child.signalCode === null) {
        running.child.kill('SIGTERM');
        await running.exited;
      }
    }
    await this.resend.stop();
    await this.linkedin.stop();
    await this.driver.close();
    await this.redis.stop();
    await this.postgres.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

async function kill(running: RunningProcess): Promise<void> {
  running.child.kill('SIGKILL');
  await running.exited;
}

function pidFromFile(file: string): number {
  return Number(readFileSync(file, 'utf8').split('\n')[0]);
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

async function killPids(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await waitUntil(() => pids.every((pid) => !pidAlive(pid)), `processes ${pids.join(', ')} to die`, 15_000);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface HttpAnswer {
  /** 0: no answer (refused, reset, timed out); the body then says why. */
  status: number;
  body: string;
}

/**
 * One HTTP request from a chosen loopback address (127.x.y.z): the service sees a distinct
 * client, as it would see distinct people, without trusting any forwarded-for header.
 */
export function requestFrom(
  localAddress: string,
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string },
  timeoutMs = 15_000,
): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    const request = http.request(
      url,
      { method: init.method, headers: init.headers, localAddress, timeout: timeoutMs, agent: false },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        response.on('error', (error) => resolve({ status: 0, body: error.message }));
      },
    );
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', (error) => resolve({ status: 0, body: error.message }));
    request.end(init.body);
  });
}
