import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { migrateToLatest } from './db/migrate.js';
import { DemoRefused, seedDemo } from './domain/demo.js';
import { exitOnStartupError } from './infra/process.js';
import { startRuntime } from './infra/runtime.js';

const USAGE = `Usage: npm run demo [-- --force]

Fills an empty installation with a fictitious programme ("Housing First Regio Voorbeeld"):
settings, organisations, topics, sent newsletters over two years, documents and about fifty
subscribers with consent records. Works against the same database as npm start (embedded or
DATABASE_URL). Sends no email and posts nothing.

  --force   add the demo content even though editions or subscribers exist already`;

interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** The demo command; returns the exit code (0 done, 1 refused, 2 usage). */
export async function main(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
  output: Output = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) },
): Promise<number> {
  let values: { force?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    output.err(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    output.out(`${USAGE}\n`);
    return 0;
  }
  const runtime = await startRuntime({ env, needsRedis: false, migrate: false, process: 'cli' });
  try {
    const db = runtime.database.db;
    await migrateToLatest(db);
    const summary = await seedDemo(db, {
      now: runtime.clock.now(),
      publicBaseUrl: runtime.config.publicBaseUrl,
      force: values.force === true,
    });
    output.out(
      [
        'Demo content added:',
        `  ${summary.editions} sent newsletters, ${summary.documents} documents, ${summary.subscribers} subscribers,`,
        `  ${summary.organisations} organisations, ${summary.topics} topics, ${summary.settings} settings.`,
        `Open ${runtime.config.publicBaseUrl}/ to see the site.`,
        '',
      ].join('\n'),
    );
    return 0;
  } catch (error) {
    if (error instanceof DemoRefused) {
      output.err(`${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    await runtime.shutdown();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => process.exit(code), exitOnStartupError);
}
