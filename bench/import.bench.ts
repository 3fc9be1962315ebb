import os from 'node:os';
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parse } from 'csv-parse';
import { type RawBuilder, sql } from 'kysely';
import { createDb, type DbOrTx } from '../src/db/connection.js';
import { createImport, IMPORT_CHUNK_BYTES, IMPORT_MAX_RECORD_BYTES } from '../src/domain/imports.js';
import { createLogger } from '../src/infra/logger.js';
import { runImport } from '../src/jobs/processors/subscriber-import.js';
import { systemClock } from '../src/providers/clock.js';
import { type BenchEnv, type BenchResult, result } from './harness.js';

const ORGANISATIONS = 40;
const MiB = 1024 * 1024;

/**
 * A Dutch-Excel style file (BOM, `;`, CRLF) of fictitious members; every row valid and new. Built
 * 10,000 lines at a time, so that making it leaves no heap of line strings behind to inflate the
 * RSS the import is measured against.
 */
export function generateCsv(rows: number): Buffer {
  const line = (i: number) =>
    `lid-${i}@voorbeeld.test;Lid ${i} van Voorbeeld;${i % 5 === 0 ? 'en' : 'nl'};${i % 3 === 0 ? 'nieuwsbrief|artikelen' : 'nieuwsbrief'};Organisatie ${i % ORGANISATIONS}\r\n`;
  const chunks = [Buffer.from('\uFEFFe-mail;naam;taal;onderwerpen;organisatie\r\n')];
  for (let from = 1; from <= rows; from += 10_000) {
    let text = '';
    for (let i = from; i <= Math.min(rows, from + 9_999); i++) text += line(i);
    chunks.push(Buffer.from(text));
  }
  return Buffer.concat(chunks);
}

/** V8's gc(), without starting node with --expose-gc (for the live-memory figure only). */
function exposeGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

const liveMemory = () => {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external + usage.arrayBuffers;
};

/**
 * Memory while `work` runs, sampled every 50 ms, above an idle figure taken right after a forced
 * collection (the file generated for the run is garbage by then): without `live`, peak RSS (what
 * the process costs the machine, including garbage V8 has not collected yet); with `live`, the peak
 * of live memory (heap, buffers) right after a forced collection at each sample: what the import
 * really holds.
 */
async function measured<T>(
  work: () => Promise<T>,
  gc: () => void,
  live: boolean,
): Promise<{ value: T; idleRss: number; peakExtra: number; ms: number }> {
  await new Promise((resolve) => setTimeout(resolve, 200));
  gc();
  const sample = () => {
    if (!live) return process.memoryUsage().rss;
    gc();
    return liveMemory();
  };
  const idle = sample();
  const idleRss = process.memoryUsage().rss;
  let peak = idle;
  const timer = setInterval(() => {
    peak = Math.max(peak, sample());
  }, 50);
  const started = performance.now();
  try {
    const value = await work();
    const ms = performance.now() - started;
    peak = Math.max(peak, sample());
    return { value, idleRss, peakExtra: peak - idle, ms };
  } finally {
    clearInterval(timer);
  }
}

/** csv-parse alone over the same bytes, streamed in the same chunks with the same options. */
async function parseOnly(csv: Buffer): Promise<number> {
  const chunks = function* () {
    for (let offset = 0; offset < csv.length; offset += IMPORT_CHUNK_BYTES)
      yield csv.subarray(offset, offset + IMPORT_CHUNK_BYTES);
  };
  const parser = Readable.from(chunks(), { objectMode: false }).pipe(
    parse({
      delimiter: ';',
      bom: true,
      relax_quotes: true,
      relax_column_count: true,
      skip_empty_lines: false,
      max_record_size: IMPORT_MAX_RECORD_BYTES,
    }),
  );
  let records = 0;
  for await (const _ of parser) records++;
  return records - 1;
}

async function importOnce(env: BenchEnv, rows: number, gc: () => void, live: boolean) {
  let csv: Buffer | null = generateCsv(rows);
  const csvBytes = csv.length;
  const databaseUrl = await env.freshDatabase();
  const logger = createLogger('silent');
  const database = createDb(databaseUrl, logger, { max: 10 });
  try {
    const created = await database.db.transaction().execute((tx) =>
      createImport(tx, csv!, {
        lawfulBasis: 'legitimate_interest',
        dryRun: false,
        defaultTopics: [],
        defaultLocale: null,
      }),
    );
    csv = null;
    let parsedAt = 0;
    const started = performance.now();
    const run = await measured(
      () =>
        runImport(database.db, created.id, {
          logger,
          clock: systemClock,
          hooks: {
            beforeMerge: () => {
              parsedAt = performance.now();
            },
          },
        }),
      gc,
      live,
    );
    const after = await database.db
      .selectFrom('imports')
      .selectAll()
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    const subscribers = await database.db
      .selectFrom('subscribers')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    return {
      csvBytes,
      run,
      after,
      subscribers: Number(subscribers.n),
      parseSeconds: Math.round(parsedAt - started) / 1000,
    };
  } finally {
    await database.close();
  }
}

/**
 * What the schema itself costs: the same rows as generateCsv's, already computed inside Postgres
 * (an unlogged table, not timed), written into subscribers, subscriptions and consent events
 * with one INSERT … SELECT each in one transaction, with every index, foreign key and check the
 * import writes through. No parsing, no staging, no plan: no import can be faster than this.
 */
async function writeFloor(env: BenchEnv, rows: number) {
  const database = createDb(await env.freshDatabase(), createLogger('silent'), { max: 1 });
  const db = database.db;
  try {
    await sql`insert into organisations (name, kind)
      select 'Organisatie ' || i, 'overig' from generate_series(0, ${ORGANISATIONS - 1}::int) i`.execute(db);
    await sql`create unlogged table floor_rows as
      select i as id, 'lid-' || i || '@voorbeeld.test' as email, 'Lid ' || i || ' van Voorbeeld' as name,
             case when i % 5 = 0 then 'en' else 'nl' end as locale,
             (select id from organisations where name = 'Organisatie ' || (i % ${ORGANISATIONS}::int)) as organisation_id,
             t.topic_ids, jsonb_build_object('import', 1, 'line', i + 1, 'topics', to_jsonb(t.topic_ids)) as details
      from generate_series(1, ${rows}::int) i
      cross join lateral (
        select array_agg(id order by id) as topic_ids from topics
        where slug = 'nieuwsbrief' or (i % 3 = 0 and slug = 'artikelen')) t`.execute(db);
    await sql`vacuum analyze floor_rows`.execute(db);
    await sql`checkpoint`.execute(db);
    const seconds: Record<string, number> = {};
    const timed = async (name: string, statement: RawBuilder<unknown>, tx: DbOrTx) => {
      const started = performance.now();
      await statement.execute(tx);
      seconds[name] = Math.round(performance.now() - started) / 1000;
    };
    const started = performance.now();
    await db.transaction().execute(async (tx) => {
      await timed(
        'subscribers',
        sql`insert into subscribers (id, email, name, locale, status, source, organisation_id)
          overriding system value
          select id, email, name, locale, 'active', 'import', organisation_id from floor_rows order by id`,
        tx,
      );
      await timed(
        'subscriptions',
        sql`insert into subscriptions (subscriber_id, topic_id)
          select f.id, t.topic_id from floor_rows f cross join lateral unnest(f.topic_ids) as t(topic_id)`,
        tx,
      );
      await timed(
        'consentEvents',
        sql`insert into consent_events (subscriber_id, kind, lawful_basis, source, details)
          select id, 'imported', 'legitimate_interest', 'import:1', details from floor_rows`,
        tx,
      );
    });
    return { rowsPerSecond: rows / ((performance.now() - started) / 1000), seconds };
  } finally {
    await database.close();
  }
}

const mb = (bytes: number) => Math.round((bytes / MiB) * 10) / 10;

/**
 * CSV import of BENCH_IMPORT_ROWS (default 100,000) new rows through the real processor (stored
 * file → csv-parse → staging → set-based merge with subscriptions and consent events) into a fresh
 * database, against csv-parse alone over the same bytes in the same run, and against the write
 * floor (writeFloor). Memory: peak RSS above the RSS right after a forced collection before the
 * run (the first run of the process, so V8's heap has not grown yet); and, in runs at a quarter
 * and at full size with forced GC, the peak of live memory: what the import holds apart from
 * garbage V8 has not collected yet. Equal at both sizes means flat.
 */
export async function importBenchmarks(env: BenchEnv): Promise<BenchResult[]> {
  const rows = Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);
  const loadBefore = os.loadavg()[0]!;
  const gc = exposeGc();
  // First, in a process that has not grown its heap yet: the RSS figure is the honest worst case.
  const full = await importOnce(env, rows, gc, false);
  const quarterLive = await importOnce(env, Math.max(1, Math.round(rows / 4)), gc, true);
  const fullLive = await importOnce(env, rows, gc, true);
  const parseStarted = performance.now();
  const parsed = await parseOnly(generateCsv(rows));
  const parseRate = parsed / ((performance.now() - parseStarted) / 1000);

  const floor = await writeFloor(env, rows);

  const rate = rows / (full.run.ms / 1000);
  const complete = full.after.status === 'done' && full.after.created === rows && full.subscribers === rows;
  return [
    result(
      `CSV import of ${rows.toLocaleString('en')} new rows (parse, stage, merge, subscriptions, consent events)`,
      'rows/s',
      rate,
      { name: 'csv-parse alone over the same file', value: parseRate },
      {
        text: 'at least 50,000 rows/s and under 50 MB extra memory',
        met: complete && rate >= 50_000 && full.run.peakExtra < 50 * MiB,
      },
      {
        rows,
        csvMiB: mb(full.csvBytes),
        seconds: Math.round(full.run.ms) / 1000,
        parseAndStageSeconds: full.parseSeconds,
        mergeSeconds: Math.round(full.run.ms - full.parseSeconds * 1000) / 1000,
        created: full.after.created,
        organisationsCreated: full.after.organisations_created,
        peakExtraRssMiB: mb(full.run.peakExtra),
        idleRssMiB: mb(full.run.idleRss),
        peakExtraLiveMiB: {
          [`${quarterLive.after.created} rows`]: mb(quarterLive.run.peakExtra),
          [`${fullLive.after.created} rows`]: mb(fullLive.run.peakExtra),
        },
        loadAverage1m: {
          before: Math.round(loadBefore * 10) / 10,
          after: Math.round(os.loadavg()[0]! * 10) / 10,
        },
        cpus: os.cpus().length,
      },
    ),
    result(
      `write floor: the same ${rows.toLocaleString('en')} rows pre-computed in Postgres, one INSERT … SELECT per table (no parsing, no plan)`,
      'rows/s',
      floor.rowsPerSecond,
      { name: 'the CSV import above', value: rate },
      undefined,
      {
        secondsPerTable: floor.seconds,
        importShareOfFloor: Math.round((rate / floor.rowsPerSecond) * 100) / 100,
      },
    ),
  ];
}
