import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { currentConsentText } from '../src/domain/consent.js';
import {
  childEnv,
  freePort,
  getStatus,
  type RunningProcess,
  startScript,
  waitUntil,
} from '../test/helpers/process.js';
import { type BenchEnv, type BenchResult, result } from './harness.js';
import type { EndpointFigures, LoadClientConfig } from './load-client.js';
import { currentMachine, loadAverage } from './report.js';
import { type Alongside, type AlongsideSetup, runPipeline, seedSubscribers } from './send.bench.js';

/**
 * Issue 8, load: autocannon against public signup (`POST /subscribe`) and RFC 8058 one-click
 * unsubscribe (`POST /unsubscribe/<token>`) of the real API process (`src/server.ts --role=api`)
 * while a 100,000-recipient edition is sent (bench/send.bench.ts runPipeline, counting fake Resend).
 * Same run, same machine: the send once without HTTP load (the baseline; the API process runs idle
 * beside it) and once with it; the endpoints once before that first send (no send running) and
 * once during the second. The load comes from its own process (bench/load-client.ts).
 *
 * Environment: BENCH_LOAD_RECIPIENTS (default 100,000), BENCH_LOAD_CONNECTIONS (per endpoint,
 * default 10), BENCH_LOAD_IDLE_SECONDS (the endpoints without a send, default 10),
 * BENCH_LOAD_UNSUBSCRIBERS (existing subscribers whose tokens the unsubscribe load cycles through,
 * default 20,000).
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RECIPIENTS = Number(process.env.BENCH_LOAD_RECIPIENTS ?? 100_000);
const CONNECTIONS = Number(process.env.BENCH_LOAD_CONNECTIONS ?? 10);
const IDLE_SECONDS = Number(process.env.BENCH_LOAD_IDLE_SECONDS ?? 10);
const UNSUBSCRIBERS = Number(process.env.BENCH_LOAD_UNSUBSCRIBERS ?? 20_000);
/** The secret runPipeline signs links with (bench/send.bench.ts), so the API accepts its tokens. */
const BENCH_SECRET = 'bench-secret'.padEnd(48, 'x');
const RESULTS = path.join(ROOT, 'bench/results/load.json');
const SIGNUP = 'POST /subscribe';
const UNSUBSCRIBE = 'POST /unsubscribe/{token}';
type LoadFigures = Record<typeof SIGNUP | typeof UNSUBSCRIBE, EndpointFigures>;

/**
 * Starts bench/load-client.ts and waits until it is loaded (a tsx start takes seconds): `start()`
 * begins the load at once, `stop()` ends it and returns the figures.
 */
async function loadClient(configFile: string) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/load-client.ts', configFile],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const done = new Promise<LoadFigures>((resolve, reject) =>
    child.once('exit', (code) => {
      const line = output.trim().split('\n').at(-1);
      if (code === 0 && line) resolve(JSON.parse(line) as LoadFigures);
      else reject(new Error(`the load client exited (${code}) without figures: ${output.slice(-500)}`));
    }),
  );
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    void done.catch(reject);
  });
  return {
    done,
    start: () => child.send('start'),
    stop() {
      if (child.connected) child.send('stop');
      return done;
    },
  };
}

/**
 * The API process beside a send, with the data the load needs (subscribers to unsubscribe, a form
 * token, the consent version), and the load itself when asked for.
 */
class HttpSide implements Alongside {
  /** The endpoints measured before the send (no send running), when asked for. */
  idle: LoadFigures | null = null;
  /** The endpoints measured during the send. */
  during: LoadFigures | null = null;
  private load: Awaited<ReturnType<typeof loadClient>> | null = null;
  private stopped: Promise<void> | null = null;

  private constructor(
    private readonly api: RunningProcess,
    private readonly dir: string,
  ) {}

  static async prepare(
    setup: AlongsideSetup,
    options: { redisUrl: string; loadDuringSend: boolean; idleSeconds: number },
  ): Promise<HttpSide> {
    const { db, linkTokens, queues } = setup;
    await seedSubscribers(db, UNSUBSCRIBERS, 'uitschrijver', 'artikelen');
    const unsubscribers = await db
      .selectFrom('subscribers')
      .select('id')
      .where('email', 'like', 'uitschrijver-%')
      .execute();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'thuispost-load-'));
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const config: LoadClientConfig = {
      baseUrl,
      connectionsPerEndpoint: CONNECTIONS,
      seconds: 0,
      consentVersion: (await currentConsentText(db)).version,
      // Issued a minute ago (the time trap wants ≥ 2 s of filling in), valid for the whole bench.
      formToken: linkTokens.issue({ p: 'form' }, 6 * 3600, new Date(Date.now() - 60_000)),
      topic: 'documenten',
      unsubscribePaths: unsubscribers.map(
        ({ id }) => `/unsubscribe/${linkTokens.issue({ p: 'unsubscribe', s: id })}`,
      ),
    };
    const configFile = path.join(dir, 'load.json');
    await writeFile(configFile, JSON.stringify(config));
    const api = startScript(
      'src/server.ts',
      ['--role=api'],
      childEnv({
        DATA_DIR: dir,
        DATABASE_URL: setup.databaseUrl,
        REDIS_URL: options.redisUrl,
        APP_SECRET: BENCH_SECRET,
        PORT: String(port),
        PUBLIC_BASE_URL: baseUrl,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
      }),
    );
    const side = new HttpSide(api, dir);
    await waitUntil(async () => (await getStatus(`${baseUrl}/readyz`)) === 200, 'the API process', 120_000);
    if (options.idleSeconds > 0) {
      await writeFile(configFile, JSON.stringify({ ...config, seconds: options.idleSeconds }));
      const idle = await loadClient(configFile);
      idle.start();
      side.idle = await idle.done;
      await writeFile(configFile, JSON.stringify(config));
      // The confirmation emails of those signups go out before the send's clock starts.
      await waitUntil(
        async () => {
          const unrelayed = await sql<{
            n: string;
          }>`select count(*) as n from outbox where relayed_at is null`.execute(db);
          const counts = await queues['transactional-email'].getJobCounts('waiting', 'active', 'delayed');
          return Number(unrelayed.rows[0]!.n) === 0 && Object.values(counts).every((n) => n === 0);
        },
        'the confirmation emails of the idle run to be sent',
        300_000,
      );
    }
    if (options.loadDuringSend) side.load = await loadClient(configFile);
    return side;
  }

  start(): void {
    this.load?.start();
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      if (this.load) this.during = await this.load.stop();
      this.api.child.kill('SIGTERM');
      await this.api.exited;
      await rm(this.dir, { recursive: true, force: true });
    })();
    return this.stopped;
  }
}

/** Answers that are not 2xx; 429s listed apart (the per-IP signup limit; this load should never reach it). */
function unexpectedAnswers(figures: EndpointFigures) {
  const non2xx = Object.entries(figures.byStatus).filter(([status]) => !status.startsWith('2'));
  const rateLimited = non2xx.filter(([status]) => status === '429').reduce((sum, [, n]) => sum + n, 0);
  const other = non2xx.filter(([status]) => status !== '429').reduce((sum, [, n]) => sum + n, 0);
  return { rateLimited, other, errors: figures.errors };
}

/** One send of RECIPIENTS with the API process beside it, and the load if asked for. */
async function sendWithApiBeside(env: BenchEnv, options: { loadDuringSend: boolean; idleSeconds: number }) {
  let side: HttpSide | null = null;
  const run = await runPipeline(env, {
    recipients: RECIPIENTS,
    fakeRate: 0,
    limiterRate: 100_000,
    alongside: async (setup) => {
      side = await HttpSide.prepare(setup, { redisUrl: env.redisUrl, ...options });
      return side;
    },
  });
  return { run, side: side as HttpSide | null };
}

export async function loadBenchmarks(env: BenchEnv): Promise<BenchResult[]> {
  const log = (line: string) => process.stdout.write(`  [load] ${line}\n`);
  log(`endpoints for ${IDLE_SECONDS} s without a send, then the send of ${RECIPIENTS} without HTTP load…`);
  const { run: quiet, side: quietSide } = await sendWithApiBeside(env, {
    loadDuringSend: false,
    idleSeconds: IDLE_SECONDS,
  });
  log(`send without load: ${(quiet.sentInDb / quiet.seconds).toFixed(0)} emails/s`);
  log(`the same send with ${CONNECTIONS} connections on each endpoint…`);
  const { run: loaded, side: loadedSide } = await sendWithApiBeside(env, {
    loadDuringSend: true,
    idleSeconds: 0,
  });
  const idle = quietSide?.idle;
  const during = loadedSide?.during;
  if (!idle || !during) throw new Error('the load client gave no figures');
  const quietRate = quiet.sentInDb / quiet.seconds;
  const loadedRate = loaded.sentInDb / loaded.seconds;
  log(
    `send with load: ${loadedRate.toFixed(0)} emails/s (${((1 - loadedRate / quietRate) * 100).toFixed(0)} % less)`,
  );

  const send = (run: typeof quiet) => ({
    seconds: run.seconds,
    editionEmailsSent: run.sentInDb,
    distinctMessageIds: run.distinctMessageIds,
    duplicateRecipients: run.fake.duplicateRecipients,
    editionStatus: run.editionStatus,
    cpu: run.cpu,
  });
  const setupText =
    `API: src/server.ts --role=api in its own process (pg pool 10); load: bench/load-client.ts in its own process, ` +
    `${CONNECTIONS} connections per endpoint, each signup connection from its own loopback address (a new one every 20 requests, ` +
    `the per-IP limit is 20 per 10 minutes); send: runPipeline (workers and relay in the bench process, counting fake Resend unlimited)`;
  const results: BenchResult[] = [
    result(
      `edition send, ${RECIPIENTS.toLocaleString('en')} recipients, while signup and one-click unsubscribe are under load`,
      'emails/s',
      loadedRate,
      { name: 'the same send without HTTP load, same run', value: quietRate },
      {
        text: 'the send finishes, exactly once per recipient, under load',
        met:
          loaded.editionStatus === 'sent' &&
          loaded.sentInDb === RECIPIENTS &&
          loaded.distinctMessageIds === RECIPIENTS &&
          loaded.fake.duplicateRecipients === 0,
      },
      {
        throughputDropPercent: Math.round((1 - loadedRate / quietRate) * 1000) / 10,
        measuredAs:
          'deliveries recorded as sent ÷ (edition sent_at − schedule); the fake also counts the confirmation emails of the signups',
        withLoad: send(loaded),
        withoutLoad: send(quiet),
        setup: setupText,
      },
    ),
  ];
  for (const endpoint of [SIGNUP, UNSUBSCRIBE] as const) {
    const unexpected = unexpectedAnswers(during[endpoint]);
    results.push(
      result(
        `${endpoint} p99 during that send (${CONNECTIONS} connections)`,
        'ms',
        during[endpoint].p99Ms,
        {
          name: 'p99 of the same endpoint and load with no send running, same run',
          value: idle[endpoint].p99Ms,
        },
        {
          text: 'no errors: every answer 2xx (a 429 only where a client passed the per-IP limit, which this load avoids)',
          met: unexpected.other === 0 && unexpected.errors === 0 && unexpected.rateLimited === 0,
        },
        {
          during: during[endpoint],
          withoutSend: idle[endpoint],
          ...unexpected,
          note:
            endpoint === SIGNUP
              ? 'autocannon leaves the answer that ends each client out of its timing (1 in 20): answers are counted from every response, p50/p99 from the others'
              : undefined,
          setup: setupText,
        },
      ),
    );
  }
  await mkdir(path.dirname(RESULTS), { recursive: true });
  await writeFile(
    RESULTS,
    `${JSON.stringify({ at: new Date().toISOString(), machine: currentMachine(), loadAverage: loadAverage(), results }, null, 2)}\n`,
  );
  log(`written to ${path.relative(ROOT, RESULTS)}`);
  return results;
}
