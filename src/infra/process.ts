import { ConfigError } from '../config.js';
import type { Runtime } from './runtime.js';

/** Stops the runtime once on SIGTERM/SIGINT; a second signal forces the exit. */
export function handleSignals(runtime: Runtime, beforeShutdown: () => Promise<void> = async () => {}): void {
  let firstSignalAt: number | null = null;
  const stop = async (signal: NodeJS.Signals) => {
    if (firstSignalAt !== null) {
      // npm and tsx forward the terminal's signal too: only a later, deliberate one forces the exit.
      if (Date.now() - firstSignalAt < 2_000) return;
      runtime.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    firstSignalAt = Date.now();
    runtime.logger.info({ signal }, 'shutting down');
    await beforeShutdown();
    await runtime.shutdown();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** Entry points end here on a start-up failure: a clear message, no stack trace for config errors. */
export function exitOnStartupError(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(
      `thuispost could not start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
  }
  process.exit(1);
}
