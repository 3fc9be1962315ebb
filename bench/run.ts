import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpBenchmarks, relayBenchmarks } from './foundation.bench.js';
import { type BenchResult, startBenchEnv } from './harness.js';
import { importBenchmarks } from './import.bench.js';
import { loadBenchmarks } from './load.bench.js';
import { pageBenchmarks } from './pages.bench.js';
import { type BenchRun, currentMachine, formatNumber, loadAverage, saveReport } from './report.js';
import { sendBenchmarks } from './send.bench.js';
import { signupBenchmarks } from './signup.bench.js';

/**
 * `npm run bench`: runs every benchmark against real Postgres and Redis, merges the figures into
 * bench/results/latest.json and rewrites the Performance table in docs/performance.md from it (bench/report.ts).
 * `npm run bench -- signup send` runs only those and replaces only their rows. Figures are ratios
 * against baselines measured in the same run.
 */
const ALL = {
  http: httpBenchmarks,
  relay: relayBenchmarks,
  signup: signupBenchmarks,
  import: importBenchmarks,
  send: sendBenchmarks,
  pages: pageBenchmarks,
  load: loadBenchmarks,
};
type BenchName = keyof typeof ALL;
const isBench = (name: string): name is BenchName => name in ALL;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FILES = {
  results: path.join(ROOT, 'bench/results/latest.json'),
  doc: path.join(ROOT, 'docs/performance.md'),
};

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !isBench(name));
if (unknown.length > 0) {
  process.stderr.write(`unknown bench(es): ${unknown.join(', ')}; known: ${Object.keys(ALL).join(', ')}\n`);
  process.exit(2);
}
const selected = requested.length > 0 ? requested.filter(isBench) : (Object.keys(ALL) as BenchName[]);

const startLoad = loadAverage();
const startedAt = new Date().toISOString();
const rows: Record<string, BenchResult[]> = {};
const env = await startBenchEnv();
try {
  for (const name of selected) {
    const figures = await ALL[name](env);
    for (const figure of figures) {
      const goal = figure.goal ? ` — goal ${figure.goal.met ? 'met' : 'NOT met'}: ${figure.goal.text}` : '';
      process.stdout.write(
        `${figure.name}: ${formatNumber(figure.value)} ${figure.unit} (${figure.baseline.name}: ${formatNumber(figure.baseline.value)}; ratio ${formatNumber(figure.ratio)})${goal}\n`,
      );
    }
    rows[name] = figures;
    // Saved after every bench: a later bench that fails does not cost the figures measured so far.
    const run: BenchRun = {
      startedAt,
      finishedAt: new Date().toISOString(),
      machine: currentMachine(),
      loadAverage: { start: startLoad, end: loadAverage() },
    };
    const saved = await saveReport(FILES, run, rows, Object.keys(ALL));
    if (saved.previousUnreadable)
      process.stdout.write('bench/results/latest.json was not a report in this format: started a new one\n');
    process.stdout.write(
      `${name}: written to bench/results/latest.json${saved.docUpdated ? ' and docs/performance.md' : ' (docs/performance.md markers missing: table not updated)'}\n`,
    );
  }
} finally {
  await env.close();
}
