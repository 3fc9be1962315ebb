import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { BenchResult } from './harness.js';

/**
 * The benchmark report: bench/results/latest.json holds the newest row of every figure, each tagged
 * with the bench and the run that measured it, and the "Performance" table of docs/performance.md is rendered
 * from it between two marker comments. A run of some benches replaces only those benches' rows,
 * so the table always shows every bench, each with the machine and load it was measured under.
 */

export const TABLE_START = '<!-- bench:table:start -->';
export const TABLE_END = '<!-- bench:table:end -->';

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
}

/** One `npm run bench` invocation. */
export interface BenchRun {
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  /** 1-, 5- and 15-minute load averages when the run started and at its last write; null: not recorded. */
  loadAverage: { start: number[]; end: number[] } | null;
}

/** A figure as stored: which bench measured it, in which run (`BenchRun.startedAt`). */
export interface ReportRow extends BenchResult {
  bench: string;
  run: string;
}

export interface BenchReport {
  updatedAt: string;
  runs: BenchRun[];
  results: ReportRow[];
}

// JSON turns NaN and Infinity into null; read them back as NaN ("n/a" in the table).
const figure = z.number().or(z.null().transform(() => Number.NaN));
const reportSchema = z.object({
  updatedAt: z.string(),
  runs: z.array(
    z.object({
      startedAt: z.string(),
      finishedAt: z.string(),
      machine: z.object({ cpuModel: z.string(), cores: z.number(), memoryGiB: z.number(), node: z.string() }),
      loadAverage: z.object({ start: z.array(z.number()), end: z.array(z.number()) }).nullable(),
    }),
  ),
  results: z.array(
    z.object({
      bench: z.string(),
      run: z.string(),
      name: z.string(),
      unit: z.string(),
      value: figure,
      baseline: z.object({ name: z.string(), value: figure, unit: z.string().optional() }),
      ratio: figure,
      goal: z.object({ text: z.string(), met: z.boolean() }).optional(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
});

export function parseReport(json: string): BenchReport {
  return reportSchema.parse(JSON.parse(json));
}

export function currentMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  };
}

export const loadAverage = () => os.loadavg().map((load) => Math.round(load * 100) / 100);

/**
 * The report after `run` measured `rows` (bench name → its rows): those benches' earlier rows are
 * replaced, other benches' rows kept, rows of benches that no longer exist (not in `benchOrder`)
 * dropped. Rows are ordered as `benchOrder`, then as each bench returned them; runs no row refers
 * to any more are dropped.
 */
export function mergeReport(
  previous: BenchReport | null,
  run: BenchRun,
  rows: Record<string, BenchResult[]>,
  benchOrder: string[],
): BenchReport {
  const kept = (previous?.results ?? []).filter(
    (row) => benchOrder.includes(row.bench) && !(row.bench in rows),
  );
  const added = Object.entries(rows).flatMap(([bench, results]) =>
    results.map((result) => ({ ...result, bench, run: run.startedAt })),
  );
  const results = [...kept, ...added]
    .map((row, index) => ({ row, index }))
    .sort((a, b) => benchOrder.indexOf(a.row.bench) - benchOrder.indexOf(b.row.bench) || a.index - b.index)
    .map(({ row }) => row);
  const used = new Set(results.map((row) => row.run));
  const runs = [...(previous?.runs ?? []).filter((r) => r.startedAt !== run.startedAt), run]
    .filter((r) => used.has(r.startedAt))
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  return { updatedAt: run.finishedAt, runs, results };
}

/** Two significant digits below 10, then 1 decimal below 100, whole numbers above; thousands separated. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const size = Math.abs(value);
  const decimals =
    size === 0 ? 0 : size >= 100 ? 0 : size >= 10 ? 1 : Math.max(1, 1 - Math.floor(Math.log10(size)));
  return value.toLocaleString('en', { maximumFractionDigits: Math.min(decimals, 20) });
}

const cell = (text: string) => text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
const when = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;
const loads = (values: number[]) => values.map((value) => value.toFixed(2)).join(' / ');

function describeRun(run: BenchRun, benches: string[]): string {
  const { machine } = run;
  const load = run.loadAverage
    ? `load average ${loads(run.loadAverage.start)} at start, ${loads(run.loadAverage.end)} at end (1 / 5 / 15 min)`
    : 'load average not recorded';
  return `${when(run.startedAt)} (${benches.join(', ')}) on ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB RAM, Node ${machine.node}; ${load}.`;
}

/** The Markdown between the markers: the table, then the run(s) it was measured in. */
export function renderTable(report: BenchReport): string {
  const runNumber = new Map(report.runs.map((run, index) => [run.startedAt, index + 1]));
  const several = report.runs.length > 1;
  const benchesOf = (run: BenchRun) => [
    ...new Set(report.results.filter((row) => row.run === run.startedAt).map((row) => row.bench)),
  ];
  const header = [
    'figure',
    'value',
    'baseline (same run)',
    'ratio',
    'goal',
    'met',
    ...(several ? ['run'] : []),
  ];
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...report.results.map((row) => {
      const cells = [
        row.name,
        `${formatNumber(row.value)} ${row.unit}`,
        `${row.baseline.name}: ${formatNumber(row.baseline.value)} ${row.baseline.unit ?? row.unit}`,
        formatNumber(row.ratio),
        row.goal?.text ?? '',
        row.goal ? (row.goal.met ? 'yes' : '**no**') : '',
        ...(several ? [String(runNumber.get(row.run) ?? '?')] : []),
      ];
      return `| ${cells.map(cell).join(' | ')} |`;
    }),
  ];
  const measured = several
    ? [
        'Measured in these runs:',
        '',
        ...report.runs.map((run, i) => `- Run ${i + 1}: ${describeRun(run, benchesOf(run))}`),
      ]
    : report.runs.map((run) => `Measured ${describeRun(run, benchesOf(run))}`);
  return [
    TABLE_START,
    '<!-- Written by `npm run bench` from bench/results/latest.json (bench/report.ts): edits here are overwritten. -->',
    '',
    ...lines,
    '',
    ...measured,
    TABLE_END,
  ].join('\n');
}

/** `text` with the marked block replaced by `block`; null when the markers are missing or out of order. */
export function replaceMarkedBlock(text: string, block: string): string | null {
  const start = text.indexOf(TABLE_START);
  const end = text.indexOf(TABLE_END, start);
  if (start < 0 || end < 0) return null;
  return `${text.slice(0, start)}${block}${text.slice(end + TABLE_END.length)}`;
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Merges the run's rows into `resultsFile` and rewrites the marked block of `docFile`. A results
 * file that does not parse is replaced rather than lose the figures just measured (git keeps it);
 * a page without the markers is left alone. Both are reported back.
 */
export async function saveReport(
  files: { results: string; doc: string },
  run: BenchRun,
  rows: Record<string, BenchResult[]>,
  benchOrder: string[],
): Promise<{ docUpdated: boolean; previousUnreadable: boolean }> {
  const previousJson = await readIfExists(files.results);
  let previous: BenchReport | null = null;
  try {
    previous = previousJson === null ? null : parseReport(previousJson);
  } catch {
    previous = null;
  }
  const report = mergeReport(previous, run, rows, benchOrder);
  await mkdir(path.dirname(files.results), { recursive: true });
  await writeFile(files.results, `${JSON.stringify(report, null, 2)}\n`);
  const doc = await readFile(files.doc, 'utf8');
  const updated = replaceMarkedBlock(doc, renderTable(report));
  if (updated !== null && updated !== doc) await writeFile(files.doc, updated);
  return { docUpdated: updated !== null, previousUnreadable: previousJson !== null && previous === null };
}
