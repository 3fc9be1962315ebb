import path from 'node:path';
import { httpBenchmarks, relayBenchmarks } from './foundation.bench.js';
import { type BenchResult, startBenchEnv, writeResults } from './harness.js';
import { importBenchmarks } from './import.bench.js';
import { sendBenchmarks } from './send.bench.js';

/**
 * `npm run bench`: runs every benchmark against real Postgres and Redis and writes
 * bench/results/latest.json. Figures are ratios against baselines measured in the same run.
 */
const env = await startBenchEnv();
const results: BenchResult[] = [];
try {
  for (const bench of [httpBenchmarks, relayBenchmarks, sendBenchmarks, importBenchmarks]) {
    const figures = await bench(env);
    for (const figure of figures) {
      const goal = figure.goal ? ` — goal ${figure.goal.met ? 'met' : 'NOT met'}: ${figure.goal.text}` : '';
      process.stdout.write(
        `${figure.name}: ${figure.value.toFixed(0)} ${figure.unit} (${figure.baseline.name}: ${figure.baseline.value.toFixed(0)}; ratio ${figure.ratio.toFixed(2)})${goal}\n`,
      );
    }
    results.push(...figures);
  }
  await writeResults(path.resolve('bench/results/latest.json'), results);
  process.stdout.write('written to bench/results/latest.json\n');
} finally {
  await env.close();
}
