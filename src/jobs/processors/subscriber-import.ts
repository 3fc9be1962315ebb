import { Readable } from 'node:stream';
import type { Job } from 'bullmq';
import { CsvError, parse } from 'csv-parse';
import type { Db } from '../../db/connection.js';
import { Invalid } from '../../domain/errors.js';
import {
  failImport,
  IMPORT_MAX_RECORD_BYTES,
  type ImportCounts,
  ImportFileError,
  type ImportRun,
  ImportSuperseded,
  importChunkCount,
  loadTopicIndex,
  mapHeader,
  mergeImport,
  noteImportError,
  type RecordRules,
  readImportChunk,
  StagingBatch,
  stageImportBatch,
  startImportRun,
  validateRecord,
} from '../../domain/imports.js';
import type { Logger } from '../../infra/logger.js';
import type { Clock } from '../../providers/clock.js';
import { QUEUES } from '../queues.js';

const payloadSchema = QUEUES.imports['run-import'];
/**
 * Records per staging batch (and progress update), and the slices csv-parse is fed. Both small, so
 * that little lives long enough to reach V8's old generation: memory stays flat (see bench/).
 */
const DEFAULT_BATCH_ROWS = 2_000;
const PARSE_SLICE_BYTES = 64 * 1024;

export interface ImportRunOptions {
  logger: Logger;
  clock: Clock;
  /** A failure on the last attempt marks the import failed; earlier ones are only noted (and retried). */
  lastAttempt?: boolean;
  /** Records per staging batch (and progress update). */
  batchRows?: number;
  /** Test hooks, to simulate a crash between parsing and merging or inside the merge. */
  hooks?: { beforeMerge?: () => Promise<void> | void; beforeCommit?: () => Promise<void> | void };
}

export type ImportRunResult =
  | { outcome: 'done'; counts: ImportCounts }
  | { outcome: 'failed'; reason: string }
  | { outcome: 'nothing-to-do' | 'superseded' };

/** Runs a CSV import (see domain/imports.ts). Idempotent: a done import is left alone, any other is redone. */
export function subscriberImportProcessor(deps: { db: Db; logger: Logger; clock: Clock }) {
  return async (job: Job): Promise<void> => {
    const { importId } = payloadSchema.parse(job.data);
    const result = await runImport(deps.db, importId, {
      logger: deps.logger,
      clock: deps.clock,
      lastAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
    });
    deps.logger.info({ importId, ...result }, 'subscriber import finished');
  };
}

export async function runImport(
  db: Db,
  importId: string,
  options: ImportRunOptions,
): Promise<ImportRunResult> {
  const run = await startImportRun(db, importId, options.clock.now());
  if (!run) return { outcome: 'nothing-to-do' };
  try {
    const parsed = await parseIntoStaging(db, run, options.batchRows ?? DEFAULT_BATCH_ROWS);
    await options.hooks?.beforeMerge?.();
    const counts = await mergeImport(db, run, parsed, {
      now: options.clock.now(),
      beforeCommit: options.hooks?.beforeCommit,
    });
    return { outcome: 'done', counts };
  } catch (error) {
    if (error instanceof ImportSuperseded) return { outcome: 'superseded' };
    if (error instanceof ImportFileError) {
      await failImport(db, run, error.message, options.clock.now());
      return { outcome: 'failed', reason: error.message };
    }
    const message = error instanceof Error ? error.message : String(error);
    options.logger.warn({ importId, run: run.run, err: message }, 'subscriber import attempt failed');
    if (options.lastAttempt) {
      await failImport(db, run, `Technische fout: ${message}`, options.clock.now()).catch(() => undefined);
    } else {
      await noteImportError(db, run, message).catch(() => undefined);
    }
    throw error;
  }
}

/** The stored chunks in order, decoded from Windows-1252 where needed; the next chunk is read ahead. */
async function* fileChunks(db: Db, run: ImportRun): AsyncGenerator<Buffer> {
  const chunks = await importChunkCount(db, run);
  const decoder = run.encoding === 'windows-1252' ? new TextDecoder('windows-1252') : null;
  const read = (n: number) => {
    const promise = readImportChunk(db, run.id, n);
    promise.catch(() => undefined); // awaited below; this only keeps it from counting as unhandled
    return promise;
  };
  let next = chunks > 0 ? read(0) : null;
  for (let n = 0; n < chunks; n++) {
    const data = await next!;
    next = n + 1 < chunks ? read(n + 1) : null;
    const bytes = decoder ? Buffer.from(decoder.decode(data, { stream: true }), 'utf8') : data;
    // csv-parse turns a whole input chunk into records at once: small slices keep few of them alive.
    for (let offset = 0; offset < bytes.length; offset += PARSE_SLICE_BYTES) {
      yield bytes.subarray(offset, offset + PARSE_SLICE_BYTES);
    }
  }
  if (decoder) {
    const rest = decoder.decode();
    if (rest) yield Buffer.from(rest, 'utf8');
  }
}

const CSV_ERRORS_NL: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'een aanhalingsteken (") wordt niet gesloten',
  CSV_MAX_RECORD_SIZE: `een regel is langer dan ${IMPORT_MAX_RECORD_BYTES / 1024} kB (een aanhalingsteken dat niet gesloten wordt?)`,
};

/**
 * Streams the file through csv-parse and stages it in batches; memory stays at about two batches
 * whatever the file size. While Postgres writes one batch, the next one is parsed.
 */
async function parseIntoStaging(
  db: Db,
  run: ImportRun,
  batchRows: number,
): Promise<{ records: number; errors: number }> {
  const source = Readable.from(fileChunks(db, run), { objectMode: false });
  const parser = parse({
    delimiter: run.separator,
    bom: true,
    relax_quotes: true,
    relax_column_count: true,
    // Blank lines come through as blank records (skipped below), so that line numbers stay exact
    // without csv-parse's `info` (which costs more than half of its speed).
    skip_empty_lines: false,
    max_record_size: IMPORT_MAX_RECORD_BYTES,
  });
  source.once('error', (error) => parser.destroy(error));
  source.pipe(parser);

  let rules: RecordRules | null = null;
  let records = 0;
  let errors = 0;
  let nextLine = 1;
  let batch = new StagingBatch();
  let inFlight: Promise<void> | null = null;
  const flush = async () => {
    const full = batch;
    batch = new StagingBatch();
    if (inFlight) await inFlight;
    const progress = { processed: records, errors };
    inFlight = stageImportBatch(db, run, full, progress);
    inFlight.catch(() => undefined); // awaited at the next flush or at the end
  };

  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      // A record spans one line plus the line breaks inside its quoted fields.
      const line = nextLine;
      nextLine += 1;
      for (const field of record) if (field.includes('\n')) nextLine += field.split('\n').length - 1;
      if (!rules) {
        rules = {
          columns: mapHeader(record),
          topics: await loadTopicIndex(db),
          defaultTopicIds: run.defaultTopicIds,
          defaultLocale: run.defaultLocale,
        };
        continue;
      }
      const result = validateRecord(record, rules);
      if (result.kind === 'blank') continue;
      records++;
      if (result.kind === 'invalid') errors++;
      batch.add(line, result);
      if (batch.size >= batchRows) await flush();
    }
    await flush();
    await inFlight;
  } catch (error) {
    if (error instanceof CsvError) {
      const what = CSV_ERRORS_NL[error.code] ?? error.message;
      const { lines } = error as unknown as { lines?: unknown };
      const at = typeof lines === 'number' ? `regel ${lines}: ` : '';
      throw new ImportFileError(`Het bestand is geen geldige CSV (${at}${what}). Er is niets ingelezen.`);
    }
    if (error instanceof Invalid) {
      // The header checked at upload no longer maps (cannot happen with the same code; be safe).
      throw new ImportFileError(error.message);
    }
    throw error;
  } finally {
    source.destroy();
    await (inFlight as Promise<void> | null)?.catch(() => undefined);
  }
  if (!rules) throw new ImportFileError('Het bestand heeft geen kopregel.');
  return { records, errors };
}
