import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { createDb } from '../src/db/connection.js';
import { createImport, IMPORT_CHUNK_BYTES, IMPORT_MAX_RECORD_BYTES } from '../src/domain/imports.js';
import { createLogger } from '../src/infra/logger.js';
import { runImport } from '../src/jobs/processors/subscriber-import.js';
import { systemClock } from '../src/providers/clock.js';
import { type BenchEnv, type BenchResult, result } from './harness.js';

const ORGANISATIONS = 40;

/** A Dutch-Excel style file (BOM, `;`, CRLF) of fictitious members; every row valid and new. */
export function generateCsv(rows: number): Buffer {
  const lines = ['\uFEFFe-mail;naam;taal;onderwerpen;organisatie'];
  for (let i = 1; i <= rows; i++) {
    lines.push(
      `lid-${i}@voorbeeld.test;Lid ${i} van Voorbeeld;${i % 5 === 0 ? 'en' : 'nl'};${i % 3 === 0 ? 'nieuwsbrief|artikelen' : 'nieuwsbrief'};Organisatie ${i % ORGANISATIONS}`,
    );
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n`, 'utf8');
}

/** Peak RSS above `idle` while `work` runs, sampled every 50 ms. */
async function withPeakRss<T>(work: () => Promise<T>): Promise<{ value: T; idleRss: number; peakExtra: number; ms: number }> {
  await new Promise((resolve) => setTimeout(resolve, 200));
  const idleRss = process.memoryUsage().rss;
  let peak = idleRss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const started = performance.now();
  try {
    const value = await work();
    const ms = performance.now() - started;
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, idleRss, peakExtra: peak - idleRss, ms };
  } finally {
    clearInterval(timer);
  }
}

/** csv-parse alone over the same bytes, streamed in the same chunks with the same options. */
async function parseOnly(csv: Buffer): Promise<number> {
  const chunks = function* () {
    for (let offset = 0; offset < csv.length; offset += IMPORT_CHUNK_BYTES) yield csv.subarray(offset, offset + IMPORT_CHUNK_BYTES);
  };
  const parser = Readable.from(chunks(), { objectMode: false }).pipe(
    parse({
      delimiter: ';',
      bom: true,
      info: true,
      relax_quotes: true,
      relax_column_count: true,
      skip_empty_lines: true,
      max_record_size: IMPORT_MAX_RECORD_BYTES,
    }),
  );
  let records = 0;
  for await (const _ of parser) records++;
  return records - 1;
}

async function importOnce(env: BenchEnv, rows: number) {
  const csv = generateCsv(rows);
  const databaseUrl = await env.freshDatabase();
  const logger = createLogger('silent');
  const database = createDb(databaseUrl, logger, { max: 10 });
  try {
    const created = await database.db.transaction().execute((tx) =>
      createImport(tx, csv, { lawfulBasis: 'legitimate_interest', dryRun: false, defaultTopics: [], defaultLocale: null }),
    );
    const measured = await withPeakRss(() => runImport(database.db, created.id, { logger, clock: systemClock }));
    const after = await database.db.selectFrom('imports').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
    const subscribers = await database.db
      .selectFrom('subscribers')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    return { csvBytes: csv.length, measured, after, subscribers: Number(subscribers.n) };
  } finally {
    await database.close();
  }
}

/**
 * CSV import of BENCH_IMPORT_ROWS (default 100,000) rows through the real processor (stored file →
 * csv-parse → staging → set-based merge) into a fresh database, against csv-parse alone over the
 * same bytes in the same run. Memory: peak RSS minus RSS just before the run; the same import at a
 * quarter of the size shows whether it stays flat.
 */
export async function importBenchmarks(env: BenchEnv): Promise<BenchResult[]> {
  const rows = Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);
  const parseStarted = performance.now();
  const parsed = await parseOnly(generateCsv(rows));
  const parseRate = parsed / ((performance.now() - parseStarted) / 1000);

  const small = await importOnce(env, Math.max(1, Math.round(rows / 4)));
  const full = await importOnce(env, rows);
  const rate = rows / (full.measured.ms / 1000);
  const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
  const complete = full.after.status === 'done' && full.after.created === rows && full.subscribers === rows;
  return [
    result(
      `CSV import of ${rows.toLocaleString('en')} rows (parse, stage, merge, consent events)`,
      'rows/s',
      rate,
      { name: 'csv-parse alone over the same file', value: parseRate },
      {
        text: 'at least 50,000 rows/s and under 50 MB extra memory',
        met: complete && rate >= 50_000 && full.measured.peakExtra < 50 * 1024 * 1024,
      },
      {
        rows,
        csvMiB: mb(full.csvBytes),
        seconds: Math.round(full.measured.ms) / 1000,
        created: full.after.created,
        organisationsCreated: full.after.organisations_created,
        peakExtraRssMiB: mb(full.measured.peakExtra),
        idleRssMiB: mb(full.measured.idleRss),
        quarterSize: {
          rows: small.after.created,
          seconds: Math.round(small.measured.ms) / 1000,
          peakExtraRssMiB: mb(small.measured.peakExtra),
        },
      },
    ),
  ];
}
