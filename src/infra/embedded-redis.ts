/**
 * Starts a local redis-server for thuispost when no REDIS_URL is configured. Data (AOF) lives in
 * `${dataDir}/redis`; if a redis-server for that directory is already running we attach to it.
 * The server gets SIGTERM from the kernel when this node process dies (setpriv --pdeathsig).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import {
  APT_TIMEOUT_MS,
  daemonEnv,
  type EmbeddedService,
  ensureDir,
  findExecutable,
  findFreePort,
  installDebianPackage,
  isPidAlive,
  isPortOpen,
  isRoot,
  pidOwnsDir,
  processCmdline,
  readTextFile,
  rotateLog,
  ServiceProcess,
  STANDARD_BIN_DIRS,
  waitFor,
  withStartLock,
} from './child-process.js';
import { readOrCreateSecretFile, writeFileAtomic } from './secret-file.js';

export type { EmbeddedService } from './child-process.js';

export interface EmbeddedRedisOptions {
  /** the project's data directory (absolute); Redis data lives in `${dataDir}/redis` */
  dataDir: string;
  /** TCP port (default: a free port chosen by the OS) */
  port?: number;
  logger: Logger;
}

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

export const REDIS_MISSING_MESSAGE =
  'redis-server was not found. Install Redis 7 (e.g. `sudo apt-get install redis-server`) or set REDIS_URL to an existing Redis.';

/** The generated `requirepass` password: `${dataDir}/redis-password`. */
export function redisPasswordFile(dataDir: string): string {
  return path.join(path.resolve(dataDir), 'redis-password');
}

export function redisUrl(port: number, password: string): string {
  return `redis://:${encodeURIComponent(password)}@${HOST}:${port}`;
}

export async function startEmbeddedRedis(opts: EmbeddedRedisOptions): Promise<EmbeddedService> {
  const t0 = performance.now();
  const { logger } = opts;
  const redisDir = path.join(path.resolve(opts.dataDir), 'redis');
  const pidFile = path.join(redisDir, 'redis.pid');
  const portFile = path.join(redisDir, 'redis.port');
  const logFile = path.join(redisDir, 'redis.log');
  ensureDir(redisDir, undefined, 0o700);
  // Redis does not remember its password: every start passes the one in this file to it
  const password = readOrCreateSecretFile(redisPasswordFile(opts.dataDir), logger);

  const attach = (running: { pid: number; port: number; open: boolean }): EmbeddedService => {
    if (opts.port !== undefined && opts.port !== running.port) {
      logger.warn(
        { port: running.port, wantedPort: opts.port },
        `Redis for this data directory already runs on port ${running.port}; using that instead of ${opts.port}`,
      );
    }
    logger.info({ port: running.port, pid: running.pid }, 'attached to the already running embedded Redis');
    if (running.open) {
      logger.warn(
        { pid: running.pid },
        'the running embedded Redis (started by an earlier version) accepts clients without a password; restart thuispost to give it one',
      );
    }
    return { url: redisUrl(running.port, password), owned: false, stop: async () => {} };
  };

  const running = await findRunningRedis(redisDir, pidFile, portFile, password, logger);
  if (running) return attach(running);

  // Redis does not lock its directory: serialise concurrent starts ourselves
  return withStartLock(
    path.join(redisDir, 'start.lock'),
    async () => {
      const started = await findRunningRedis(redisDir, pidFile, portFile, password, logger);
      if (started) return attach(started);
      return startOwned({ redisDir, pidFile, portFile, logFile, password, port: opts.port, logger, t0 });
    },
    {
      timeoutMs: APT_TIMEOUT_MS + START_TIMEOUT_MS,
      staleMs: APT_TIMEOUT_MS + START_TIMEOUT_MS,
      what: 'another process to finish starting Redis',
    },
  );
}

async function startOwned(a: {
  redisDir: string;
  pidFile: string;
  portFile: string;
  logFile: string;
  password: string;
  port: number | undefined;
  logger: Logger;
  t0: number;
}): Promise<EmbeddedService> {
  const { redisDir, pidFile, portFile, logFile, password, logger, t0 } = a;
  const redisServer = await resolveRedisServer({ logger });
  rotateLog(logFile);
  // The password goes in a config file (mode 600), never on the command line, which `ps` shows
  // to every local user.
  const confFile = path.join(redisDir, 'redis.conf');
  writeFileAtomic(
    confFile,
    '# Written by thuispost on every start of the embedded Redis; the password is in ../redis-password.\n' +
      `requirepass ${password}\n`,
    { mode: 0o600 },
  );
  fs.rmSync(portFile, { force: true }); // left behind when the previous owner was SIGKILLed
  const deadline = Date.now() + START_TIMEOUT_MS;

  for (let attempt = 1; ; attempt++) {
    const port = a.port ?? (await findFreePort(HOST));
    const proc = new ServiceProcess({
      name: 'Redis',
      command: redisServer,
      args: [
        confFile,
        '--port',
        String(port),
        '--bind',
        HOST,
        '--dir',
        redisDir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--save',
        '',
        '--daemonize',
        'no',
        '--pidfile',
        pidFile,
        '--protected-mode',
        'yes',
        // BullMQ requires that keys are never evicted
        '--maxmemory-policy',
        'noeviction',
      ],
      env: daemonEnv(['REDIS']),
      cwd: redisDir,
      logFile,
      stopSignal: 'SIGTERM',
    });

    try {
      await waitFor(
        `Redis to answer PING on ${HOST}:${port} (log: ${logFile})`,
        async () => ((await redisPing(port, password)) === '+PONG' ? true : undefined),
        {
          timeoutMs: Math.max(1000, deadline - Date.now()),
          intervalMs: 20,
          abort: () => (proc.exitStatus ? proc.failure('failed to start') : undefined),
        },
      );
    } catch (err) {
      if (!proc.exitStatus) {
        await proc.stop(5_000).catch(() => undefined);
        throw proc.failure(`did not answer PING within ${START_TIMEOUT_MS / 1000} s`);
      }
      const portTaken = /Address already in use|Could not create server TCP listening socket/i.test(
        proc.tail(50),
      );
      if (a.port === undefined && portTaken && attempt < 5 && Date.now() < deadline) {
        logger.debug({ port }, 'port was taken in the meantime; retrying with another one');
        continue;
      }
      throw err;
    }

    fs.writeFileSync(portFile, `${port}\n`);
    let stopping = false;
    let stopped: Promise<void> | undefined;
    void proc.exited.then((status) => {
      if (!stopping) logger.error({ status, log: proc.tail(15) }, 'embedded Redis exited unexpectedly');
    });
    const ms = Math.round(performance.now() - t0);
    logger.info(
      { port, pid: proc.pid, dir: redisDir, ms },
      `embedded Redis ready on ${HOST}:${port} in ${ms} ms`,
    );
    return {
      url: redisUrl(port, password),
      owned: true,
      stop() {
        stopping = true;
        stopped ??= proc.stop(STOP_TIMEOUT_MS).then(() => {
          fs.rmSync(portFile, { force: true });
          logger.info({ dir: redisDir }, 'embedded Redis stopped');
        });
        return stopped;
      },
    };
  }
}

/* ------------------------------------------------------------------------------------------------
 * Running server detection
 * ---------------------------------------------------------------------------------------------- */

async function findRunningRedis(
  redisDir: string,
  pidFile: string,
  portFile: string,
  password: string,
  logger: Logger,
): Promise<{ pid: number; port: number; open: boolean } | undefined> {
  const pid = Number(readTextFile(pidFile)?.trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (!isPidAlive(pid) || !pidOwnsDir(pid, redisDir, /redis/)) {
    logger.debug({ pid }, 'removing stale Redis pid file');
    fs.rmSync(pidFile, { force: true });
    fs.rmSync(portFile, { force: true });
    return undefined;
  }
  // redis-server sets its process title to "redis-server 127.0.0.1:PORT" (authoritative while
  // the port file may still be missing or stale during a concurrent start)
  const port =
    Number(/:(\d+)\b/.exec(processCmdline(pid) ?? '')?.[1]) || Number(readTextFile(portFile)?.trim());
  if (!port) {
    throw new Error(
      `A redis-server (pid ${pid}) is already running on ${redisDir} but its port is unknown. ` +
        `Stop it (kill ${pid}) or set REDIS_URL.`,
    );
  }
  let refused: string | undefined;
  await waitFor(
    `the running Redis (pid ${pid}) on ${HOST}:${port} to answer PING`,
    async () => {
      const answer = await redisPing(port, password);
      if (answer === '+PONG') return true;
      if (answer && /^-(NOAUTH|WRONGPASS)/.test(answer)) refused = answer;
      return undefined;
    },
    {
      timeoutMs: START_TIMEOUT_MS,
      intervalMs: 50,
      abort: () =>
        refused
          ? new Error(
              `The running Redis (pid ${pid}) on ${redisDir} refuses the password in ${path.join(path.dirname(redisDir), 'redis-password')} (${refused}). ` +
                `Stop it (kill ${pid}) and start thuispost again.`,
            )
          : isPidAlive(pid)
            ? undefined
            : new Error(`the running Redis (pid ${pid}) on ${redisDir} exited while we waited for it`),
    },
  );
  return { pid, port, open: (await redisPing(port)) === '+PONG' };
}

/**
 * Send a raw RESP PING (after `AUTH password` when given) and return the first line of PING's
 * reply ("+PONG", "-LOADING ...", "-NOAUTH ...") or undefined when nothing answers within
 * timeoutMs. A server without a password answers AUTH with an error and PING with +PONG.
 */
export function redisPing(
  port: number,
  password?: string,
  host = HOST,
  timeoutMs = 1000,
): Promise<string | undefined> {
  const command = (...args: string[]) =>
    `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  const replies = password === undefined ? 1 : 2;
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    let buf = '';
    const done = (v: string | undefined) => {
      sock.removeAllListeners();
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(undefined));
    sock.once('error', () => done(undefined));
    sock.once('connect', () =>
      sock.write(`${password === undefined ? '' : command('AUTH', password)}${command('PING')}`),
    );
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      // both replies are single lines (+OK/-ERR..., +PONG/-...)
      const lines = buf.split('\r\n');
      if (lines.length > replies) done(lines[replies - 1]);
    });
    sock.once('end', () => done(buf.split('\r\n')[replies - 1] || undefined));
  });
}

/* ------------------------------------------------------------------------------------------------
 * Finding / installing redis-server
 * ---------------------------------------------------------------------------------------------- */

export interface ResolveRedisOptions {
  logger: Logger;
  /** where to look besides PATH (default: /usr/bin, /usr/sbin, /usr/local/bin, ...) */
  searchDirs?: readonly string[];
  /** also search PATH (default true) */
  usePath?: boolean;
  /** install via apt-get when missing and we are root (default true) */
  allowInstall?: boolean;
}

/** Path of redis-server; installs the Debian package when possible, else throws how to fix it. */
export async function resolveRedisServer(opts: ResolveRedisOptions): Promise<string> {
  const { logger } = opts;
  const dirs = opts.searchDirs ?? STANDARD_BIN_DIRS;
  const find = () => {
    if (opts.usePath === false) {
      for (const d of dirs) {
        const p = path.join(d, 'redis-server');
        try {
          fs.accessSync(p, fs.constants.X_OK);
          return p;
        } catch {
          // next
        }
      }
      return undefined;
    }
    return findExecutable('redis-server', dirs);
  };
  const found = find();
  if (found) return found;

  const apt = findExecutable('apt-get');
  if (opts.allowInstall === false || !isRoot() || !apt) throw new Error(REDIS_MISSING_MESSAGE);

  logger.warn(
    'redis-server not found: installing the Debian package redis-server with apt-get (this happens once)',
  );
  try {
    await installDebianPackage(apt, 'redis-server', logger);
  } catch (err) {
    throw new Error(`${REDIS_MISSING_MESSAGE}\nAutomatic installation failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const installed = find();
  if (!installed)
    throw new Error(
      `${REDIS_MISSING_MESSAGE}\n(apt-get install succeeded but redis-server is still missing)`,
    );
  // The package may have started its own service on 6379. We leave it alone: the embedded server
  // uses its own port, directory and pid file.
  if (await isPortOpen(6379, HOST, 500)) {
    logger.info(
      'the Debian redis-server service runs on 127.0.0.1:6379; leaving it alone (embedded Redis uses its own port)',
    );
  }
  logger.info({ path: installed }, 'installed redis-server');
  return installed;
}
