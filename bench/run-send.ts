import path from 'node:path';
import { type BenchResult, startBenchEnv, writeResults } from './harness.js';
import { sendBenchmarks } from './send.bench.js';

/**
 * Only the delivery pipeline benchmarks (bench/send.bench.ts): `npx tsx bench/run-send.ts`.
 * Writes bench/results/send.json; `npm run bench` runs them with all the others.
 */
const env = await startBenchEnv();
try {
  const results: BenchResult[] = await sendBenchmarks(env);
  for (const figure of results) {
    const goal = figure.goal ? ` — goal ${figure.goal.met ? 'met' : 'NOT met'}: ${figure.goal.text}` : '';
    process.stdout.write(
      `${figure.name}: ${figure.value.toFixed(1)} ${figure.unit} (${figure.baseline.name}: ${figure.baseline.value.toFixed(1)}; ratio ${figure.ratio.toFixed(3)})${goal}\n`,
    );
  }
  await writeResults(path.resolve('bench/results/send.json'), results);
  process.stdout.write('written to bench/results/send.json\n');
} finally {
  await env.close();
}
