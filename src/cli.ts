import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { migrateToLatest } from './db/migrate.js';
import type { Role } from './db/schema.js';
import { createApiToken } from './domain/auth.js';
import { DomainError } from './domain/errors.js';
import { createUser, findUserByEmail, getUser, listUsers, ROLES } from './domain/users.js';
import { exitOnStartupError } from './infra/process.js';
import { startRuntime } from './infra/runtime.js';

const USAGE = `Usage: npm run cli -- <command> [options]

  migrate                                      apply pending database migrations
  user create --email E --role R [--name N]    create an editor account; the password is read
                                               from a prompt, or from standard input when piped;
                                               it must be hard to guess: a phrase of uncommon
                                               words, not a common password, address or name
  user list                                    list accounts
  token create --name N [--role R] [--user E]  create an API token (printed once); it belongs to
                                               --user, or to the first admin
Roles: ${ROLES.join(', ')}. Works against the same database as npm start (embedded or DATABASE_URL).`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function parseRole(value: string | undefined, fallback?: Role): Role {
  if (value === undefined && fallback) return fallback;
  if (!value || !(ROLES as readonly string[]).includes(value))
    fail(`--role must be one of: ${ROLES.join(', ')}`);
  return value as Role;
}

/** Reads the password without echo from a terminal, or the first line of piped input. */
async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  const output = rl as unknown as { _writeToOutput: (text: string) => void };
  process.stdout.write('Password (at least 12 characters, hard to guess): ');
  output._writeToOutput = () => {};
  const password = await new Promise<string>((resolve) => rl.question('', resolve));
  rl.close();
  process.stdout.write('\n');
  return password;
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string' },
      user: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals.join(' ');
  if (values.help || command === '') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const known = ['migrate', 'user create', 'user list', 'token create'];
  if (!known.includes(command)) fail(`Unknown command "${command}".`);
  if (command === 'user create' && !values.email) fail('user create needs --email.');
  if (command === 'token create' && !values.name) fail('token create needs --name.');

  const runtime = await startRuntime({ env: process.env, needsRedis: false, migrate: false, process: 'cli' });
  try {
    const db = runtime.database.db;
    // Every command runs on a current schema, so `user create` works on a brand-new install.
    await migrateToLatest(db);
    switch (command) {
      case 'migrate':
        process.stdout.write('Database is up to date.\n');
        break;
      case 'user create': {
        const role = parseRole(values.role);
        const password = await readPassword();
        const user = await createUser(db, { email: values.email!, name: values.name, role, password });
        process.stdout.write(`Created ${user.role} ${user.email} (id ${user.id}).\n`);
        break;
      }
      case 'user list':
        for (const user of await listUsers(db)) {
          process.stdout.write(
            `${user.id}\t${user.role}\t${user.email}${user.disabled_at ? '\t(disabled)' : ''}\n`,
          );
        }
        break;
      case 'token create': {
        const owner = values.user
          ? await findUserByEmail(db, values.user)
          : await db
              .selectFrom('users')
              .selectAll()
              .where('role', '=', 'admin')
              .where('disabled_at', 'is', null)
              .orderBy('id')
              .executeTakeFirst();
        if (!owner)
          fail(values.user ? `No user ${values.user}.` : 'No admin exists yet: run "user create" first.');
        const user = await getUser(db, owner.id);
        const token = await createApiToken(db, user, {
          name: values.name!,
          role: parseRole(values.role, user.role),
        });
        process.stderr.write(
          `Created token "${values.name}" (${token.role}) for ${user.email}. It is shown only once:\n`,
        );
        process.stdout.write(`${token.token}\n`);
        break;
      }
    }
  } finally {
    await runtime.shutdown();
  }
}

main(process.argv.slice(2)).catch((error) => {
  if (error instanceof DomainError) {
    const fields = 'fields' in error && Array.isArray(error.fields) ? error.fields : [];
    fail(
      [
        error.message,
        ...fields.map((f: { field: string; message: string }) => `  ${f.field}: ${f.message}`),
      ].join('\n'),
    );
  }
  if (error instanceof Error && error.name === 'ZodError') fail('The email address is not valid.');
  exitOnStartupError(error);
});
