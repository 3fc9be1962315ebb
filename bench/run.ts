import path from 'node:path';
import { httpBenchmarks, relayBenchmarks } from './foundation.bench.js';
import { type BenchResult, startBenchEnv, writeResults } from './harness.js';
import { importBenchmarks } from './import.bench.js';
import { sendBenchmarks } from './send.bench.js';
import { signupBenchmarks } from './signup.bench.js';

/**
 * `npm run bench`: runs every benchmark against real Postgres and Redis and writes
 * bench/results/latest.json. Figures are ratios against baselines measured in the same run.
 */
const ALL = {
  http: httpBenchmarks,
  relay: relayBenchmarks,
  signup: signupBenchmarks,
  import: importBenchmarks,
  send: sendBenchmarks,
};
// `npm run bench -- signup send` runs only those; results then go to bench/results/partial.json.
const selected = process.argv.slice(2).filter((name): name is keyof typeof ALL => name in ALL);
const env = await startBenchEnv();
const results: BenchResult[] = [];
try {
  for (const bench of selected.length > 0 ? selected.map((name) => ALL[name]) : Object.values(ALL)) {
    const figures = await bench(env);
    for (const figure of figures) {
      const goal = figure.goal ? ` — goal ${figure.goal.met ? 'met' : 'NOT met'}: ${figure.goal.text}` : '';
      process.stdout.write(
        `${figure.name}: ${figure.value.toFixed(0)} ${figure.unit} (${figure.baseline.name}: ${figure.baseline.value.toFixed(0)}; ratio ${figure.ratio.toFixed(2)})${goal}\n`,
      );
    }
    results.push(...figures);
  }
  const file = selected.length > 0 ? 'bench/results/partial.json' : 'bench/results/latest.json';
  await writeResults(path.resolve(file), results);
  process.stdout.write(`written to ${file}\n`);
} finally {
  await env.close();
}
