import { exitOnStartupError, handleSignals } from '../infra/process.js';
import { startRuntime } from '../infra/runtime.js';
import { runBackground } from './run-workers.js';

/** Worker entry (`npm run start:worker`): relay, queue workers and schedules; run as many as needed. */
try {
  const runtime = await startRuntime({
    env: process.env,
    needsRedis: true,
    migrate: true,
    process: 'worker',
  });
  await runBackground(runtime);
  handleSignals(runtime);
  runtime.logger.info({ concurrency: runtime.config.workerConcurrency }, 'thuispost worker is running');
} catch (error) {
  exitOnStartupError(error);
}
