import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { sql } from 'kysely';
import { Resend } from 'resend';
import { createDb, type Db } from '../src/db/connection.js';
import type { Locale } from '../src/db/schema.js';
import type { Principal } from '../src/domain/auth.js';
import type { Block } from '../src/domain/edition-content.js';
import { webVersionUrl } from '../src/domain/edition-render.js';
import { createEdition, transitionEdition } from '../src/domain/editions.js';
import { settingsSchema } from '../src/domain/settings.js';
import { createUser } from '../src/domain/users.js';
import { personalisable } from '../src/emails/personalise.js';
import { type EditionRenderInput, renderEdition } from '../src/emails/render-edition.js';
import { createLogger } from '../src/infra/logger.js';
import { createMetricsRegistry } from '../src/infra/metrics.js';
import { personalBatchEmail } from '../src/jobs/processors/edition-batches.js';
import { closeQueues, connectRedis, createQueues, type Queues } from '../src/jobs/queues.js';
import { OutboxRelay } from '../src/jobs/relay.js';
import { startWorkers } from '../src/jobs/workers.js';
import { systemClock } from '../src/providers/clock.js';
import { LinkTokens } from '../src/providers/link-tokens.js';
import { type BatchEmail, fillBatchEmail, type SharedEmailContent } from '../src/providers/mailer.js';
import { resendBatchBody } from '../src/providers/resend-batch-body.js';
import { ResendMailer } from '../src/providers/resend-mailer.js';
import { type BenchEnv, type BenchResult, result } from './harness.js';

/**
 * The delivery pipeline benchmarks: an edition of ≈ 30 KB sent to many recipients through the
 * real pipeline (snapshot + outbox + relay + BullMQ + gap values + assembled batch body posted
 * through the Resend SDK's transport + recording),
 * against a counting fake Resend in its own process on 127.0.0.1, next to a bare SDK loop that
 * posts pre-built batches to the same kind of fake in the same run.
 *
 * Environment: BENCH_SEND_RECIPIENTS (default 100,000; 1,000,000 with BENCH_LARGE=1),
 * BENCH_RATE_LIMIT (requests/s of the rate-limited run, default 5), BENCH_RATE_SECONDS (how long
 * that run should last at the limit, default 15), BENCH_SUBST_ITERATIONS (default 2,000).
 */

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const CONCURRENCY = 10;
const PUBLIC_BASE_URL = 'https://nieuwsbrief.voorbeeld.test';
const EMAIL_FROM = 'Housing First Voorbeeldregio <nieuwsbrief@voorbeeld.test>';
const MB = 1024 * 1024;

const large = process.env.BENCH_LARGE === '1';
const RECIPIENTS = Number(process.env.BENCH_SEND_RECIPIENTS ?? (large ? 1_000_000 : 100_000));
const RATE_LIMIT = Number(process.env.BENCH_RATE_LIMIT ?? 5);
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 15);
const SUBST_ITERATIONS = Number(process.env.BENCH_SUBST_ITERATIONS ?? 2_000);

// ---------------------------------------------------------------------------------------------
// The counting fake, in its own process

export interface FakeStats {
  emails: number;
  requests: number;
  accepted: number;
  replays: number;
  replayedKeys: number;
  keys: number;
  withoutKey: number;
  conflicts: number;
  rateLimited: number;
  invalid: number;
  uniqueRecipients: number;
  duplicateRecipients: number;
  bodyBytes: number;
  firstAcceptedAt: number | null;
  lastAcceptedAt: number | null;
  cpuUserMicros: number;
  cpuSystemMicros: number;
  rate: number;
}

export interface CountingFake {
  url: string;
  pid: number;
  stats(): Promise<FakeStats>;
  stop(): Promise<void>;
}

/** Starts bench/fake-resend-counting.ts as a child process (with an IPC channel, so it dies with us). */
export async function startCountingFake(rate = 0): Promise<CountingFake> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(HERE, 'fake-resend-counting.ts'), '--rate', String(rate)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => reject(new Error('the counting fake did not print its port within 30 s')),
      30_000,
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const line = buffered.split('\n')[0];
      if (buffered.includes('\n') && line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the counting fake exited (${code}) before it listened`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    pid: child.pid!,
    async stats() {
      const response = await fetch(`${url}/stats`);
      return (await response.json()) as FakeStats;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A realistic edition: ≈ 30 KB of HTML once rendered

const PARAGRAPHS = [
  'In **Voorbeeldstad** hebben we samen met Woonstichting Voorbeeld en het wijkteam de afgelopen maanden tien nieuwe woningen opgeleverd. Elke bewoner heeft een eigen huurcontract en begeleiding die past bij wat hij of zij zelf wil. Lees [het volledige verslag](https://voorbeeld.test/verslag) op onze site.',
  'De eerste evaluatie laat zien dat *negen van de tien* deelnemers na een jaar nog steeds in hun woning wonen. Dat is in lijn met wat Housing First-programma’s elders in Europa rapporteren. De onderzoekers van de hogeschool bespreken de cijfers op [de themamiddag](https://voorbeeld.test/themamiddag).',
  'Gemeenten, zorgaanbieders en corporaties die willen aansluiten, kunnen zich melden bij het programmabureau. We zoeken vooral partners met kleine, verspreide woningen in gewone wijken, zodat deelnemers niet geclusterd wonen. Meer weten? Mail naar **info@voorbeeld.test** of bekijk [de folder](https://voorbeeld.test/folder.pdf).',
];

export function benchBlocks(articles = 7): Block[] {
  const blocks: Block[] = [
    {
      type: 'paragraph',
      text: 'Welkom bij de nieuwsbrief van het **Housing First**-lab in onze regio. Dit keer: nieuwe woningen, een evaluatie en een uitnodiging.',
    },
  ];
  for (let i = 1; i <= articles; i++) {
    blocks.push(
      { type: 'heading', level: 2, text: `Artikel ${i}: nieuws uit het lab in Voorbeeldstad` },
      {
        type: 'image',
        url: `https://voorbeeld.test/beelden/artikel-${i}.jpg`,
        alt: `Foto bij artikel ${i}: bewoners en begeleiders`,
        width: 560,
        href: `https://voorbeeld.test/artikel-${i}`,
      },
      { type: 'paragraph', text: PARAGRAPHS[i % PARAGRAPHS.length]! },
      { type: 'paragraph', text: PARAGRAPHS[(i + 1) % PARAGRAPHS.length]! },
      { type: 'button', label: 'Lees verder', url: `https://voorbeeld.test/artikel-${i}` },
      { type: 'divider' },
    );
  }
  blocks.push({
    type: 'links',
    heading: 'Nieuwe documenten',
    items: Array.from({ length: 6 }, (_, i) => ({
      title: `Document ${i + 1}: verslag van de werkgroep`,
      summary: 'Een korte samenvatting in eenvoudige taal, voor deelnemers en partners.',
      url: `https://voorbeeld.test/documenten/${i + 1}.pdf`,
    })),
  });
  return blocks;
}

const EDITION = {
  title: 'Nieuwsbrief maart 2026',
  subject: 'Nieuws uit het Housing First-lab, maart 2026',
  preheader: 'Nieuwe woningen, een evaluatie en een uitnodiging',
  slug: 'nieuwsbrief-maart-2026',
};

/** The input the pipeline renders from (a fresh database holds the default settings). */
export function renderInput(blocks: Block[], locale: Locale): EditionRenderInput {
  const settings = settingsSchema.parse({});
  return {
    readerLocale: locale,
    contentLocale: 'nl',
    title: EDITION.title,
    subject: EDITION.subject,
    preheader: EDITION.preheader,
    blocks,
    webVersionUrl: webVersionUrl(PUBLIC_BASE_URL, EDITION.slug),
    topicName: locale === 'en' ? 'Newsletter' : 'Nieuwsbrief',
    programmeName: settings.programmeName,
    postalAddress: settings.postalAddress,
    contactEmail: settings.contactEmail,
  };
}

/** The email the send builds for recipient n (src/jobs/processors/edition-batches.ts). */
function recipientEmail(
  linkTokens: LinkTokens,
  content: SharedEmailContent,
  n: number,
  locale: Locale,
  issuedAt: Date,
): BatchEmail {
  return personalBatchEmail(
    { linkTokens, publicBaseUrl: PUBLIC_BASE_URL },
    { subscriberId: String(n), topicId: '1', email: `lid-${n}@voorbeeld.test`, name: `Lid ${n}`, locale },
    content,
    issuedAt,
  );
}

// ---------------------------------------------------------------------------------------------
// Measuring: memory, CPU of every process involved, machine load

const gc: (() => void) | undefined = (() => {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
})();

function machineCpuTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

const CLOCK_TICKS = 100;

function procStat(pid: number): { ppid: number; cpu: number; childCpu: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is the state (stat field 3): ppid is field 4, utime/stime 14/15, cutime/cstime 16/17.
    return {
      ppid: Number(fields[1]),
      cpu: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
      childCpu: (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS,
    };
  } catch {
    return null;
  }
}

/** CPU seconds of the Postgres server: postmaster, its live children, and the children it reaped. */
function postgresCpu(postmasterPid: number | null): number | null {
  if (postmasterPid === null) return null;
  const postmaster = procStat(postmasterPid);
  if (!postmaster) return null;
  let total = postmaster.cpu + postmaster.childCpu;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat?.ppid === postmasterPid) total += stat.cpu;
  }
  return total;
}

async function postmasterPid(db: Db): Promise<number | null> {
  try {
    const row = await sql<{
      setting: string;
    }>`select setting from pg_settings where name = 'data_directory'`.execute(db);
    const dir = row.rows[0]?.setting;
    if (!dir) return null;
    return Number(readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return null;
  }
}

async function redisCpu(redis: { info(section: string): Promise<string> }): Promise<number | null> {
  try {
    const info = await redis.info('cpu');
    const read = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? Number.NaN);
    const total = read('used_cpu_user') + read('used_cpu_sys');
    return Number.isFinite(total) ? total : null;
  } catch {
    return null;
  }
}

interface CpuProbe {
  finish(fake: FakeStats): Promise<Record<string, unknown>>;
}

/** CPU seconds used by each party while `work` runs, next to the machine's capacity. */
async function startCpuProbe(
  db: Db | null,
  redis: { info(section: string): Promise<string> } | null,
): Promise<CpuProbe> {
  const pgPid = db ? await postmasterPid(db) : null;
  const startedAt = performance.now();
  const node = process.cpuUsage();
  const machine = machineCpuTicks();
  const pg0 = postgresCpu(pgPid);
  const redis0 = redis ? await redisCpu(redis) : null;
  return {
    async finish(fake) {
      const wall = (performance.now() - startedAt) / 1000;
      const nodeUsed = process.cpuUsage(node);
      const machineNow = machineCpuTicks();
      const pg1 = postgresCpu(pgPid);
      const redis1 = redis ? await redisCpu(redis) : null;
      const round = (value: number | null) => (value === null ? null : Math.round(value * 100) / 100);
      const benchProcess = (nodeUsed.user + nodeUsed.system) / 1e6;
      const fakeProcess = (fake.cpuUserMicros + fake.cpuSystemMicros) / 1e6;
      const postgres = pg0 !== null && pg1 !== null ? pg1 - pg0 : null;
      const redisUsed = redis0 !== null && redis1 !== null ? redis1 - redis0 : null;
      const machineBusy =
        ((machineNow.busy - machine.busy) / Math.max(1, machineNow.total - machine.total)) *
        os.cpus().length *
        wall;
      return {
        wallSeconds: round(wall),
        cores: os.cpus().length,
        capacityCpuSeconds: round(wall * os.cpus().length),
        machineBusyCpuSeconds: round(machineBusy),
        benchProcessCpuSeconds: round(benchProcess),
        fakeResendCpuSeconds: round(fakeProcess),
        postgresCpuSeconds: round(postgres),
        redisCpuSeconds: round(redisUsed),
        otherProcessesCpuSeconds: round(
          machineBusy - benchProcess - fakeProcess - (postgres ?? 0) - (redisUsed ?? 0),
        ),
        loadAverage: os.loadavg().map((value) => Math.round(value * 100) / 100),
      };
    },
  };
}

/** Peak RSS and heap, sampled every 50 ms, and the time spent in garbage collection, until stopped. */
function startMemorySampler() {
  let peakRss = process.memoryUsage().rss;
  let peakHeap = process.memoryUsage().heapUsed;
  let samples = 0;
  const gcMs = { minor: 0, major: 0, other: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      const key =
        kind === constants.NODE_PERFORMANCE_GC_MINOR
          ? 'minor'
          : kind === constants.NODE_PERFORMANCE_GC_MAJOR
            ? 'major'
            : 'other';
      gcMs[key] += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const sample = () => {
    const usage = process.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
    samples++;
  };
  const timer = setInterval(sample, 50);
  return {
    stop() {
      clearInterval(timer);
      observer.disconnect();
      sample();
      const round = (value: number) => Math.round(value);
      return {
        peakRss,
        peakHeap,
        samples,
        gcMs: { minor: round(gcMs.minor), major: round(gcMs.major), other: round(gcMs.other) },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The pipeline

/** The seeding statement of test/helpers/editions.ts seedSubscribers, copied (that module imports vitest). */
export async function seedSubscribers(db: Db, count: number, prefix = 'lid', topic = 'nieuwsbrief') {
  await sql`
    with inserted as (
      insert into subscribers (email, name, locale, status, source, organisation_id, confirmed_at)
      select ${prefix} || '-' || n || '@voorbeeld.test', 'Lid ' || n, case when n % 2 = 0 then 'en' else 'nl' end,
             'active', 'import', null::bigint, now()
        from generate_series(1, ${count}) as n
      returning id)
    insert into subscriptions (subscriber_id, topic_id)
    select inserted.id, topics.id from inserted, topics where topics.slug = ${topic}`.execute(db);
  // A database that has held these subscribers for a while has planner statistics for them.
  await sql`analyze subscribers`.execute(db);
  await sql`analyze subscriptions`.execute(db);
}

function principal(user: Principal['user']): Principal {
  return { user, role: 'editor', via: 'token', tokenId: null, csrfToken: null };
}

interface PipelineRun {
  recipients: number;
  seconds: number;
  emailsPerSecond: number;
  fake: FakeStats;
  sentInDb: number;
  distinctMessageIds: number;
  memory: {
    idleRss: number;
    peakRss: number;
    idleHeap: number;
    peakHeap: number;
    samples: number;
    gcMs: Record<string, number>;
  };
  html: { nlBytes: number; enBytes: number; personalisedBytes: number };
  phases: Record<string, number | null>;
  cpu: Record<string, unknown>;
  batchJobs: Record<string, number | null>;
  jobWarnings: number;
  firstWarnings: string[];
  editionStatus: string;
}

let runCounter = 0;

/** What runs beside a send (e.g. HTTP load): made on the send's fresh database before it starts. */
export interface Alongside {
  /** Called when the edition is scheduled (the send's clock starts). */
  start(): void;
  /** Called once the edition is sent (or the run fails); idempotent. */
  stop(): Promise<void>;
}

export interface AlongsideSetup {
  databaseUrl: string;
  db: Db;
  linkTokens: LinkTokens;
  queues: Queues;
}

/**
 * How the batch jobs ran: their durations, and their starts grouped into limiter windows (a gap of
 * ≥ 500 ms between two starts opens a new window), to tell the limiter's pace from the work's.
 */
function batchJobTimings(jobs: { processedOn?: number; finishedOn?: number }[], started: number) {
  const timed = jobs.filter((job) => job.processedOn && job.finishedOn);
  const durations = timed.map((job) => job.finishedOn! - job.processedOn!).sort((a, b) => a - b);
  const starts = timed.map((job) => job.processedOn!).sort((a, b) => a - b);
  const windows: number[] = [];
  for (const [index, start] of starts.entries()) {
    if (index === 0 || start - starts[index - 1]! >= 500) windows.push(start);
  }
  const quantile = (q: number) =>
    durations[Math.min(durations.length - 1, Math.floor(q * durations.length))] ?? null;
  return {
    jobs: timed.length,
    durationMsP50: quantile(0.5),
    durationMsP95: quantile(0.95),
    durationMsMax: durations.at(-1) ?? null,
    firstStartMs: starts.length > 0 ? starts[0]! - started : null,
    lastStartMs: starts.length > 0 ? starts.at(-1)! - started : null,
    startWindows: windows.length,
    meanWindowGapMs:
      windows.length > 1 ? Math.round((windows.at(-1)! - windows[0]!) / (windows.length - 1)) : null,
  };
}

/**
 * One real send: fresh database, `recipients` subscribers, an approved ≈ 30 KB edition, the real
 * workers (concurrency 10) and outbox relay in this process, the ResendMailer pointed at a counting
 * fake in its own process; timed from `schedule` (send now) until the edition is `sent`.
 */
export async function runPipeline(
  env: BenchEnv,
  options: {
    recipients: number;
    fakeRate: number;
    limiterRate: number;
    concurrency?: number;
    alongside?: (setup: AlongsideSetup) => Promise<Alongside>;
  },
): Promise<PipelineRun> {
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const fake = await startCountingFake(options.fakeRate);
    cleanups.push(() => fake.stop());
    const databaseUrl = await env.freshDatabase();
    const quiet = createLogger('silent');
    // The driver (seeding, scheduling, polling) has its own small pool; the worker gets the pool
    // a worker process has in production (src/infra/runtime.ts: 10).
    const driver = createDb(databaseUrl, quiet, { max: 2 });
    cleanups.push(() => driver.close());
    const database = createDb(databaseUrl, quiet, { max: 10 });
    cleanups.push(() => database.close());

    await seedSubscribers(driver.db, options.recipients);
    const author = principal(
      await createUser(driver.db, {
        email: 'auteur@voorbeeld.test',
        role: 'editor',
        password: 'bench wachtwoord zeilboot 123',
      }),
    );
    const approver = principal(
      await createUser(driver.db, {
        email: 'goedkeurder@voorbeeld.test',
        role: 'editor',
        password: 'bench wachtwoord zeilboot 123',
      }),
    );
    const editionId = await driver.db.transaction().execute(async (tx) => {
      const edition = await createEdition(tx, author, {
        ...EDITION,
        locale: 'nl',
        topics: ['nieuwsbrief'],
        blocks: benchBlocks(),
      });
      await transitionEdition(tx, systemClock, author, edition.id, 'submit');
      await transitionEdition(tx, systemClock, approver, edition.id, 'approve');
      return edition.id;
    });

    const warnings: string[] = [];
    const logger = createLogger('warn', { write: (line: string) => warnings.push(line) } as never);
    const redis = connectRedis(env.redisUrl, () => undefined);
    cleanups.push(() => redis.close());
    const prefix = `bench-send-${Date.now().toString(36)}-${runCounter++}`;
    const queues = createQueues(redis.producer, prefix);
    cleanups.push(async () => {
      await Promise.all(
        Object.values(queues).map((queue) => queue.obliterate({ force: true }).catch(() => undefined)),
      );
      await closeQueues(queues);
    });
    const linkTokens = new LinkTokens(['bench-secret'.padEnd(48, 'x')], systemClock);
    const workers = await startWorkers({
      db: database.db,
      mailer: new ResendMailer('re_bench', fake.url),
      clock: systemClock,
      logger,
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      emailFrom: EMAIL_FROM,
      publicBaseUrl: PUBLIC_BASE_URL,
      linkTokens,
      connection: redis.workerOptions,
      prefix,
      concurrency: options.concurrency ?? CONCURRENCY,
      providerRequestsPerSecond: options.limiterRate,
    });
    cleanups.push(() => workers.close());
    const relay = new OutboxRelay({ db: database.db, databaseUrl, queues, clock: systemClock, logger });
    await relay.start();
    cleanups.push(() => relay.stop());

    const alongside = await options.alongside?.({ databaseUrl, db: driver.db, linkTokens, queues });
    if (alongside) cleanups.push(() => alongside.stop());

    // Idle: workers and relay running, nothing to do.
    await new Promise((resolve) => setTimeout(resolve, 500));
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const idle = process.memoryUsage();
    const sampler = startMemorySampler();
    const cpu = await startCpuProbe(driver.db, redis.producer);

    const started = Date.now();
    await driver.db
      .transaction()
      .execute((tx) => transitionEdition(tx, systemClock, author, editionId, 'schedule'));
    alongside?.start();
    // Bounded: at least 30 s, or 5 ms per recipient (200 emails/s) plus a minute.
    const deadline = started + Math.max(30_000, 60_000 + options.recipients * 5);
    let status = 'scheduled';
    while (Date.now() < deadline) {
      const row = await driver.db
        .selectFrom('editions')
        .select(['status'])
        .where('id', '=', editionId)
        .executeTakeFirstOrThrow();
      status = row.status;
      if (status !== 'scheduled' && status !== 'sending') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const polledEnd = Date.now();
    await alongside?.stop();
    const memory = sampler.stop();
    const fakeStats = await fake.stats();
    const cpuFigures = await cpu.finish(fakeStats);
    if (status !== 'sent') {
      throw new Error(
        `the edition is ${status}, not sent, after ${Math.round((polledEnd - started) / 1000)} s: ${warnings.slice(0, 3).join(' | ')}`,
      );
    }

    const edition = await driver.db
      .selectFrom('editions')
      .select(['sent_at', 'sending_started_at'])
      .where('id', '=', editionId)
      .executeTakeFirstOrThrow();
    const finishedAt = edition.sent_at?.getTime() ?? polledEnd;
    const deliveries = await driver.db
      .selectFrom('deliveries')
      .select((eb) => [
        eb.fn.countAll<string>().as('total'),
        eb.fn.count<string>('provider_message_id').distinct().as('ids'),
        eb.fn.min('sent_at').as('first'),
        eb.fn.max('sent_at').as('last'),
      ])
      .where('edition_id', '=', editionId)
      .where('status', '=', 'sent')
      .executeTakeFirstOrThrow();
    const relayed = await driver.db
      .selectFrom('outbox')
      .select((eb) => [eb.fn.min('relayed_at').as('first'), eb.fn.max('relayed_at').as('last')])
      .where('queue', '=', 'edition-batches')
      .executeTakeFirstOrThrow();
    const batchJobs = batchJobTimings(await queues['edition-batches'].getJobs(['completed'], 0, -1), started);
    const renders = await driver.db
      .selectFrom('edition_renders')
      .select(['locale', 'html', 'text', 'subject'])
      .where('edition_id', '=', editionId)
      .execute();
    const nl = renders.find((r) => r.locale === 'nl')!;
    const sample = fillBatchEmail(
      recipientEmail(linkTokens, personalisable(nl, EMAIL_FROM), 1, 'nl', new Date()),
    );

    const at = (value: Date | string | null | undefined) =>
      value ? new Date(value).getTime() - started : null;
    const first = at(deliveries.first as Date | null);
    const last = at(deliveries.last as Date | null);
    const seconds = (finishedAt - started) / 1000;
    return {
      recipients: options.recipients,
      seconds,
      emailsPerSecond: fakeStats.emails / seconds,
      fake: fakeStats,
      sentInDb: Number(deliveries.total),
      distinctMessageIds: Number(deliveries.ids),
      memory: { idleRss: idle.rss, idleHeap: idle.heapUsed, ...memory },
      html: {
        nlBytes: Buffer.byteLength(nl.html),
        enBytes: Buffer.byteLength(renders.find((r) => r.locale === 'en')?.html ?? ''),
        personalisedBytes: Buffer.byteLength(sample.html),
      },
      phases: {
        scheduledMs: 0,
        startSendJobStartedMs: at(edition.sending_started_at),
        firstBatchRelayedMs: at(relayed.first as Date | null),
        lastBatchRelayedMs: at(relayed.last as Date | null),
        firstBatchRecordedMs: first,
        lastBatchRecordedMs: last,
        editionSentMs: finishedAt - started,
        steadyEmailsPerSecond:
          first !== null && last !== null && last > first
            ? Math.round(((Number(deliveries.total) - 100) / (last - first)) * 1000)
            : null,
        fakeFirstAcceptedMs: fakeStats.firstAcceptedAt === null ? null : fakeStats.firstAcceptedAt - started,
        fakeLastAcceptedMs: fakeStats.lastAcceptedAt === null ? null : fakeStats.lastAcceptedAt - started,
      },
      cpu: cpuFigures,
      batchJobs,
      jobWarnings: warnings.length,
      firstWarnings: warnings.slice(0, 3),
      editionStatus: status,
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

/** Exactly `expected` emails accepted by the fake, to as many distinct addresses, and recorded once each. */
function sentExactlyOnce(run: PipelineRun, expected: number): boolean {
  return (
    run.fake.emails === expected &&
    run.fake.uniqueRecipients === expected &&
    run.fake.duplicateRecipients === 0 &&
    run.fake.conflicts === 0 &&
    run.sentInDb === expected &&
    run.distinctMessageIds === expected
  );
}

function assertSentOnce(label: string, run: PipelineRun, expected: number): void {
  if (sentExactlyOnce(run, expected)) return;
  const message =
    `${label}: expected exactly ${expected} emails, once each; the fake accepted ${run.fake.emails} ` +
    `(${run.fake.uniqueRecipients} distinct addresses, ${run.fake.duplicateRecipients} sent again, ${run.fake.conflicts} conflicts), ` +
    `the database recorded ${run.sentInDb} sent with ${run.distinctMessageIds} distinct message ids`;
  process.stderr.write(`\n!!! ${message}\n\n`);
  throw new Error(message);
}

// ---------------------------------------------------------------------------------------------
// The baseline: a bare SDK loop

/**
 * Pre-built batches of 100 personalised ≈ 30 KB emails (10 distinct batches, reused with other
 * addresses), posted through the real Resend SDK with 10 requests in flight to a fresh counting
 * fake, each under its own idempotency key like the pipeline's.
 */
export async function runBaseline(
  templates: { subject: string; html: string; text: string }[],
  emails: number,
  concurrency = CONCURRENCY,
) {
  const fake = await startCountingFake(0);
  try {
    const tokens = new LinkTokens(['bench-secret'.padEnd(48, 'x')], systemClock);
    const issuedAt = new Date();
    const contents = templates.map((template) => personalisable(template, EMAIL_FROM));
    const prebuilt = Array.from({ length: 10 }, (_, b) =>
      Array.from({ length: 100 }, (_, i) => {
        const n = b * 100 + i + 1;
        const locale: Locale = n % 2 === 0 ? 'en' : 'nl';
        return fillBatchEmail(recipientEmail(tokens, contents[n % 2]!, n, locale, issuedAt));
      }),
    );
    const resend = new Resend('re_bench', { baseUrl: fake.url });
    const batches = Math.ceil(emails / 100);
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const idleRss = process.memoryUsage().rss;
    const sampler = startMemorySampler();
    const cpu = await startCpuProbe(null, null);
    let next = 0;
    let failure: unknown = null;
    const started = performance.now();
    const deadline = Date.now() + Math.max(60_000, emails * 5);
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < batches && failure === null && Date.now() < deadline) {
          const index = next++;
          const size = Math.min(100, emails - index * 100);
          const batch = prebuilt[index % prebuilt.length]!.slice(0, size).map((email, i) => ({
            ...email,
            to: [`basis-${index * 100 + i + 1}@voorbeeld.test`],
          }));
          const { data, error } = await resend.batch.send(batch, {
            idempotencyKey: `baseline-batch-${index}`,
          });
          if (error || data?.data.length !== size) failure = error ?? new Error('wrong number of ids');
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const memory = sampler.stop();
    const stats = await fake.stats();
    const cpuFigures = await cpu.finish(stats);
    if (failure !== null || stats.emails !== emails || stats.duplicateRecipients !== 0) {
      throw new Error(
        `baseline loop failed: ${JSON.stringify(failure)}; fake accepted ${stats.emails} of ${emails}`,
      );
    }
    return {
      emails,
      seconds,
      emailsPerSecond: emails / seconds,
      fake: stats,
      htmlBytes: Buffer.byteLength(prebuilt[0]![0]!.html),
      peakRssOverIdleMB: (memory.peakRss - idleRss) / MB,
      gcMs: memory.gcMs,
      cpu: cpuFigures,
    };
  } finally {
    await fake.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Substitution versus a render per recipient

/**
 * What the send does per recipient: two link tokens, the gap values, and its share of the batch
 * body (the edition is cut at its markers and JSON-escaped once per send, as a worker does).
 */
async function substitutionCost(input: EditionRenderInput) {
  const render = await renderEdition(input);
  const tokens = new LinkTokens(['bench-secret'.padEnd(48, 'x')], systemClock);
  const issuedAt = new Date();
  let sink = 0;
  const content = personalisable(render, EMAIL_FROM);
  const substituteBatch = (first: number) => {
    const emails = Array.from({ length: 100 }, (_, i) =>
      recipientEmail(tokens, content, first + i, 'nl', issuedAt),
    );
    sink += resendBatchBody(emails).byteLength;
  };
  for (let i = 0; i < 2; i++) substituteBatch(i * 100);
  const batches = Math.max(1, Math.round(SUBST_ITERATIONS / 100));
  let started = performance.now();
  for (let i = 0; i < batches; i++) substituteBatch(1_000 + i * 100);
  const substituteMicros = ((performance.now() - started) * 1000) / (batches * 100);

  for (let i = 0; i < 10; i++) sink += (await renderEdition(input)).html.length;
  // Bounded in count and in time (30 s): a render costs milliseconds.
  let renders = 0;
  started = performance.now();
  while (renders < SUBST_ITERATIONS && performance.now() - started < 30_000) {
    sink += (await renderEdition(input)).html.length;
    renders++;
  }
  const renderMicros = ((performance.now() - started) * 1000) / renders;
  return {
    substituteMicros,
    renderMicros,
    substitutions: batches * 100,
    renders,
    htmlBytes: render.html.length,
    sink,
  };
}

// ---------------------------------------------------------------------------------------------

export async function sendBenchmarks(env: BenchEnv): Promise<BenchResult[]> {
  const log = (line: string) => process.stdout.write(`  [send] ${line}\n`);
  const results: BenchResult[] = [];
  const sharedProcess =
    'the workers, the outbox relay and the bench driver (seeding, scheduling, polling every 100 ms, sampling) share one Node process; the fake Resend runs in its own process';

  // 1. The pipeline, unlimited, with memory sampled (first, so no earlier send of ours inflates the heap).
  log(`pipeline: ${RECIPIENTS} recipients, unlimited fake…`);
  const pipeline = await runPipeline(env, { recipients: RECIPIENTS, fakeRate: 0, limiterRate: 100_000 });
  assertSentOnce('pipeline run', pipeline, RECIPIENTS);
  log(`pipeline: ${pipeline.emailsPerSecond.toFixed(0)} emails/s in ${pipeline.seconds.toFixed(1)} s`);

  // 2. The bare SDK loop, same number of emails, same (kind of) fake, same concurrency.
  const blocks = benchBlocks();
  const inputs = { nl: renderInput(blocks, 'nl'), en: renderInput(blocks, 'en') };
  const templates = [await renderEdition(inputs.en), await renderEdition(inputs.nl)];
  log(`baseline: bare SDK loop, ${RECIPIENTS} emails…`);
  const baseline = await runBaseline(templates, RECIPIENTS);
  log(`baseline: ${baseline.emailsPerSecond.toFixed(0)} emails/s`);

  const { fake: pipelineFake, memory, ...pipelineDetails } = pipeline;
  // CPU seconds of every party (this process, fake, Postgres, Redis) per 1,000 emails: less
  // sensitive than emails/s to what else the machine runs at the same time.
  const cpuPerThousand = (cpu: Record<string, unknown>, emails: number) =>
    Math.round(
      (['benchProcessCpuSeconds', 'fakeResendCpuSeconds', 'postgresCpuSeconds', 'redisCpuSeconds']
        .map((key) => Number(cpu[key] ?? 0))
        .reduce((sum, value) => sum + value, 0) /
        emails) *
        1_000_000,
    ) / 1000;
  results.push(
    result(
      `edition send pipeline (snapshot + queue + substitute + send + record), ${RECIPIENTS.toLocaleString('en')} recipients`,
      'emails/s',
      pipeline.emailsPerSecond,
      {
        name: 'bare Resend SDK loop, pre-built batches of 100, 10 in flight, same fake',
        value: baseline.emailsPerSecond,
      },
      {
        text: 'at least 80 % of the bare SDK loop, and exactly one email per recipient',
        met:
          pipeline.emailsPerSecond >= 0.8 * baseline.emailsPerSecond && sentExactlyOnce(pipeline, RECIPIENTS),
      },
      {
        ...pipelineDetails,
        timedFrom: 'schedule (send now) committed → edition.sent_at',
        gcMsDuringSend: memory.gcMs,
        cpuSecondsPer1000Emails: {
          pipeline: cpuPerThousand(pipeline.cpu, RECIPIENTS),
          bareSdkLoop: cpuPerThousand(baseline.cpu, RECIPIENTS),
        },
        fake: pipelineFake,
        baseline: { ...baseline },
        setup: `${sharedProcess}; worker concurrency ${CONCURRENCY}, pg pool 10, limiter 100,000 req/s (off), default job options (completed jobs kept)`,
      },
    ),
  );
  results.push(
    result(
      `worker RSS during the ${RECIPIENTS.toLocaleString('en')}-recipient send: peak − idle`,
      'MB',
      (memory.peakRss - memory.idleRss) / MB,
      { name: 'idle RSS (workers and relay started, after gc)', value: memory.idleRss / MB },
      { text: 'peak RSS − idle RSS under 50 MB', met: memory.peakRss - memory.idleRss < 50 * MB },
      {
        idleRssMB: memory.idleRss / MB,
        peakRssMB: memory.peakRss / MB,
        idleHeapMB: memory.idleHeap / MB,
        peakHeapMB: memory.peakHeap / MB,
        samples: memory.samples,
        sampledEveryMs: 50,
        gcMsDuringSend: memory.gcMs,
        bareSdkLoopPeakRssOverIdleMB: baseline.peakRssOverIdleMB,
        gcBeforeIdle: gc !== undefined,
        process: sharedProcess,
        // The V8 heap flags of this run, which shape these figures.
        nodeFlags: process.execArgv.filter((arg) => /^--(max-|min-|heap-|optimize-for-size)/.test(arg)),
        reference: 'listmonk: 57 MB in total for a 7M-email campaign',
      },
    ),
  );

  // 3. Rate-limited: fake at N requests/s, our limiter at N.
  const rateRecipients = Number(process.env.BENCH_RATE_RECIPIENTS ?? RATE_LIMIT * 100 * RATE_SECONDS);
  log(`rate-limited: fake and limiter at ${RATE_LIMIT} req/s, ${rateRecipients} recipients…`);
  const limited = await runPipeline(env, {
    recipients: rateRecipients,
    fakeRate: RATE_LIMIT,
    limiterRate: RATE_LIMIT,
  });
  assertSentOnce('rate-limited run', limited, rateRecipients);
  const span =
    limited.fake.firstAcceptedAt !== null && limited.fake.lastAcceptedAt !== null
      ? (limited.fake.lastAcceptedAt - limited.fake.firstAcceptedAt) / 1000
      : 0;
  // The last one-second window counted whole: exact for a limiter that sends N at each window start.
  const achieved = limited.fake.emails / (span + 1);
  const ceiling = RATE_LIMIT * 100;
  log(`rate-limited: ${achieved.toFixed(0)} emails/s of ${ceiling}; ${limited.fake.rateLimited} × 429`);
  {
    const { fake, memory: _memory, ...details } = limited;
    results.push(
      result(
        `rate-limited send: fake and limiter at ${RATE_LIMIT} requests/s, ${rateRecipients.toLocaleString('en')} recipients`,
        'emails/s',
        achieved,
        { name: `the limit: ${RATE_LIMIT} requests/s × 100 emails`, value: ceiling },
        {
          text: 'at least 95 % of N × 100 emails/s, exactly one email per recipient',
          met: achieved >= 0.95 * ceiling && sentExactlyOnce(limited, rateRecipients),
        },
        {
          measuredAs: 'emails accepted by the fake ÷ (last accepted request − first accepted request + 1 s)',
          endToEndEmailsPerSecond: limited.emailsPerSecond,
          fakeAnswered429: fake.rateLimited,
          fakeLimiter: 'token bucket, N tokens, refilled at N/s, full at the start',
          fake,
          ...details,
        },
      ),
    );
  }

  // 4. Substitution per recipient versus a React Email render per recipient.
  log('substitution versus render…');
  const cost = await substitutionCost(inputs.nl);
  results.push(
    result(
      'per-recipient substitution (2 link tokens + gap values + share of the assembled batch body) of the ≈ 30 KB edition',
      'µs/recipient',
      cost.substituteMicros,
      {
        name: 'full React Email render per recipient (renderEdition, without tokens)',
        value: cost.renderMicros,
      },
      undefined,
      {
        substitutions: cost.substitutions,
        renders: cost.renders,
        htmlBytes: cost.htmlBytes,
        renderIsSlowerBy: cost.renderMicros / cost.substituteMicros,
      },
    ),
  );
  return results;
}
