/**
 * Shared helpers for the embedded service launchers (Postgres, Redis):
 * free ports, pid/port liveness, privilege dropping, spawning long-running
 * children that die with us, bounded waits and log tails.
 *
 * Linux-only in places (/proc, setpriv); everything degrades gracefully elsewhere.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';

/** What both launchers return. */
export interface EmbeddedService {
  url: string;
  /** true when this call started the process */
  owned: boolean;
  stop(): Promise<void>;
}

/** An unprivileged identity to run a child as (only used when we are root). */
export interface RunAs {
  uid: number;
  gid: number;
  /** login name, when the uid has a passwd entry (needed for supplementary groups) */
  user?: string;
}

export const isRoot = (): boolean => process.getuid?.() === 0;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/* ------------------------------------------------------------------------------------------------
 * Ports
 * ---------------------------------------------------------------------------------------------- */

/** A TCP port the OS considers free right now on `host` (listen on 0, read it, close). */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('could not determine a free port'))));
    });
  });
}

/** true when something accepts TCP connections on host:port within timeoutMs. */
export function isPortOpen(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    const done = (ok: boolean) => {
      sock.removeAllListeners();
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/* ------------------------------------------------------------------------------------------------
 * Processes (/proc based where possible)
 * ---------------------------------------------------------------------------------------------- */

/** true when `pid` exists and is not a zombie. */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).charAt(0);
    if (state === 'Z' || state === 'X') return false;
  } catch {
    // no /proc (or it vanished in between): trust kill(0)
  }
  return true;
}

/** The working directory of a process, if we may read it. */
export function processCwd(pid: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

/** The command line of a process (args joined by spaces), if readable. */
export function processCmdline(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}

/** The real uid of a process, if readable. */
export function processUid(pid: number): number | undefined {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] !== undefined ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Compare two directory paths after resolving symlinks. */
export function sameDir(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  return real(a) === real(b);
}

/**
 * Decide whether a live `pid` read from a lock/pid file really is the daemon for `dir`
 * (daemons like postgres and redis chdir() into their data dir). Guards against pid reuse
 * after a reboot or `kill -9`. When nothing can be checked, assume it is.
 */
export function pidOwnsDir(pid: number, dir: string, namePattern: RegExp): boolean {
  const cwd = processCwd(pid);
  if (cwd !== undefined) return sameDir(cwd.replace(/ \(deleted\)$/, ''), dir);
  try {
    const owner = fs.statSync(dir).uid;
    const uid = processUid(pid);
    if (uid !== undefined && uid !== owner) return false;
  } catch {
    // ignore
  }
  const cmd = processCmdline(pid);
  if (cmd !== undefined && cmd !== '' && !namePattern.test(cmd)) return false;
  return true;
}

/** Read a small text file, undefined if missing/unreadable. */
export function readTextFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/* ------------------------------------------------------------------------------------------------
 * Executables, users, permissions
 * ---------------------------------------------------------------------------------------------- */

export const STANDARD_BIN_DIRS = [
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/sbin',
  '/usr/bin',
  '/sbin',
  '/bin',
];

/** Find an executable on PATH (plus `extraDirs`). */
export function findExecutable(
  name: string,
  extraDirs: readonly string[] = STANDARD_BIN_DIRS,
): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), ...extraDirs].filter(Boolean);
  for (const dir of new Set(dirs)) {
    const candidate = path.join(dir, name);
    try {
      if (fs.statSync(candidate).isFile()) {
        fs.accessSync(candidate, fs.constants.X_OK);
        return candidate;
      }
    } catch {
      // keep looking
    }
  }
  return undefined;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  runAs?: RunAs;
  /** hard bound; the command is SIGKILLed after it (default 60 s) */
  timeoutMs?: number;
  /** signal the command gets if we die while it runs (needs setpriv) */
  pdeathsig?: NodeJS.Signals;
}

/** Run a short-lived command to completion; rejects with its exit status and output tail. */
export function runCommand(
  command: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  const wrapped = wrapCommand(command, args, { runAs: opts.runAs, pdeathsig: opts.pdeathsig });
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    execFile(
      wrapped.command,
      wrapped.args,
      {
        env: opts.env,
        cwd: opts.cwd,
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
        ...wrapped.spawnIds,
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const e = err as NodeJS.ErrnoException & {
          killed?: boolean;
          code?: number | string;
          signal?: string;
        };
        const what = e.killed
          ? `timed out after ${Math.round(timeoutMs / 1000)} s`
          : typeof e.code === 'number'
            ? `exited with code ${e.code}`
            : e.signal
              ? `was killed by ${e.signal}`
              : e.message;
        const output = tailLines(`${stdout}\n${stderr}`, 25);
        reject(
          new Error(`\`${[command, ...args].join(' ')}\` ${what}${output ? `:\n${output}` : ''}`, {
            cause: err,
          }),
        );
      },
    );
  });
}

/** Look up a user (by name or numeric uid) in the passwd database. */
export const APT_TIMEOUT_MS = 10 * 60_000;

/**
 * `apt-get install` of one Debian package (as root), updating the package lists first when there
 * are none and once more when the install fails on stale lists. Used for what `npm start` and
 * `npm test` need from the OS (redis-server, chromium).
 */
export async function installDebianPackage(apt: string, pkg: string, logger: Logger): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = () => runCommand(apt, ['update'], { env, timeoutMs: APT_TIMEOUT_MS });
  const install = () =>
    runCommand(apt, ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '--no-install-recommends', pkg], {
      env,
      timeoutMs: APT_TIMEOUT_MS,
    });
  let hasLists = false;
  try {
    hasLists = fs.readdirSync('/var/lib/apt/lists').some((n) => n.includes('_Packages'));
  } catch {
    hasLists = false;
  }
  if (!hasLists) {
    logger.info('running apt-get update');
    await update();
  }
  try {
    await install();
  } catch {
    logger.info(`apt-get install ${pkg} failed; running apt-get update and retrying`);
    await update();
    await install();
  }
}

export async function lookupUser(nameOrUid: string): Promise<RunAs | undefined> {
  const parse = (line: string): RunAs | undefined => {
    const [user, , uid, gid] = line.trim().split(':');
    if (!user || uid === undefined || gid === undefined) return undefined;
    return { user, uid: Number(uid), gid: Number(gid) };
  };
  // fast path: local users are in /etc/passwd; getent also covers NSS (LDAP, systemd-homed, ...)
  for (const line of (readTextFile('/etc/passwd') ?? '').split('\n')) {
    const u = parse(line);
    if (u && (u.user === nameOrUid || String(u.uid) === nameOrUid)) return u;
  }
  const getent = findExecutable('getent');
  if (getent) {
    try {
      const { stdout } = await runCommand(getent, ['passwd', nameOrUid], { timeoutMs: 10_000 });
      return parse(stdout.split('\n')[0] ?? '');
    } catch {
      return undefined; // exit code 2: not found
    }
  }
  return undefined;
}

/**
 * The unprivileged system user to run daemons as when we are root: the existing `postgres`
 * user if there is one, otherwise a `thuispost` system user (created on demand).
 */
export async function ensureServiceUser(logger: Logger): Promise<RunAs> {
  const existing = (await lookupUser('postgres')) ?? (await lookupUser('thuispost'));
  if (existing && existing.uid !== 0) return existing;
  const useradd = findExecutable('useradd');
  if (!useradd) {
    throw new Error(
      'PostgreSQL refuses to run as root and there is neither a `postgres` user nor `useradd` to create one. ' +
        'Run thuispost as a normal user, create a system user named `postgres`, or set DATABASE_URL.',
    );
  }
  const shell = fs.existsSync('/usr/sbin/nologin') ? '/usr/sbin/nologin' : '/bin/false';
  logger.warn('running as root: creating system user "thuispost" to run the embedded PostgreSQL server');
  try {
    await runCommand(useradd, ['--system', '--no-create-home', '--shell', shell, 'thuispost'], {
      timeoutMs: 30_000,
    });
  } catch (err) {
    // a concurrent launcher may have created it in the meantime
    const again = await lookupUser('thuispost');
    if (again) return again;
    throw err;
  }
  const created = await lookupUser('thuispost');
  if (!created) throw new Error('useradd succeeded but user "thuispost" cannot be found');
  return created;
}

function canTraverse(st: fs.Stats, who: RunAs): boolean {
  if (who.uid === 0) return true;
  if (st.uid === who.uid) return (st.mode & 0o100) !== 0;
  if (st.gid === who.gid) return (st.mode & 0o010) !== 0;
  return (st.mode & 0o001) !== 0;
}

/**
 * Make sure `who` can reach `dir`: every directory from / down to `dir` (inclusive) that `who`
 * cannot traverse gets `o+x` (never read). Each change is logged as a warning.
 */
export function ensureTraversable(dir: string, who: RunAs, logger: Logger): void {
  const real = fs.realpathSync(dir);
  const chain: string[] = [];
  for (let p = real; ; p = path.dirname(p)) {
    chain.unshift(p);
    if (path.dirname(p) === p) break;
  }
  for (const p of chain) {
    const st = fs.statSync(p);
    if (canTraverse(st, who)) continue;
    const mode = (st.mode & 0o7777) | 0o001;
    fs.chmodSync(p, mode);
    logger.warn(
      { dir: p, mode: mode.toString(8) },
      `added o+x (traverse only, no read) to ${p} so that uid ${who.uid} can reach ${real}`,
    );
  }
}

/** Recursively chown a tree (lchown, symlinks are not followed). */
export function chownTree(root: string, uid: number, gid: number): void {
  const visit = (p: string) => {
    const st = fs.lstatSync(p);
    if (st.uid !== uid || st.gid !== gid) fs.lchownSync(p, uid, gid);
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) visit(path.join(p, name));
  };
  visit(root);
}

/** mkdir -p, then (when given) make `who` own the directory itself. */
export function ensureDir(dir: string, who?: RunAs, mode = 0o700): void {
  fs.mkdirSync(dir, { recursive: true, mode });
  if (who) {
    const st = fs.statSync(dir);
    if (st.uid !== who.uid || st.gid !== who.gid) fs.chownSync(dir, who.uid, who.gid);
  }
}

/* ------------------------------------------------------------------------------------------------
 * Spawning
 * ---------------------------------------------------------------------------------------------- */

let setprivCache: { path: string; pdeathsig: boolean } | null | undefined;

/** setpriv (util-linux) if present, and whether it knows --pdeathsig (util-linux >= 2.33). */
export function findSetpriv(): { path: string; pdeathsig: boolean } | undefined {
  if (setprivCache !== undefined) return setprivCache ?? undefined;
  setprivCache = null;
  const p = findExecutable('setpriv');
  if (p) {
    let pdeathsig = false;
    try {
      // the option name is a literal in the binary: cheaper than spawning `setpriv --help`
      pdeathsig = fs.readFileSync(p).includes('pdeathsig');
    } catch {
      const r = spawnSync(p, ['--help'], { encoding: 'utf8', timeout: 5000 });
      pdeathsig = `${r.stdout ?? ''}${r.stderr ?? ''}`.includes('--pdeathsig');
    }
    setprivCache = { path: p, pdeathsig };
  }
  return setprivCache ?? undefined;
}

export interface WrappedCommand {
  command: string;
  args: string[];
  /** start in its own process group (only when a parent-death signal protects us from orphans) */
  detached: boolean;
  /** uid/gid for node's own spawn() privilege drop (fallback when setpriv is missing) */
  spawnIds: { uid?: number; gid?: number };
  pdeathsig: boolean;
}

/**
 * Prefix a command with `setpriv` to (a) drop privileges to `runAs` and (b) have the kernel send
 * `pdeathsig` to it when we die, even by SIGKILL. setpriv applies the parent-death signal after
 * the uid change (the kernel clears it on credential changes), and it then exec()s, so the child
 * pid we get is the daemon itself. Without setpriv we fall back to node's uid/gid spawn options
 * (no parent-death signal then; the process.on('exit') hook is all that remains).
 */
export function wrapCommand(
  command: string,
  args: readonly string[],
  opts: { runAs?: RunAs | undefined; pdeathsig?: NodeJS.Signals | undefined },
): WrappedCommand {
  const setpriv = findSetpriv();
  const wantPdeath = opts.pdeathsig !== undefined && setpriv?.pdeathsig === true;
  if (setpriv && (opts.runAs || wantPdeath)) {
    const pre: string[] = [];
    if (opts.runAs) {
      pre.push(
        `--reuid=${opts.runAs.uid}`,
        `--regid=${opts.runAs.gid}`,
        opts.runAs.user ? '--init-groups' : '--clear-groups',
      );
    }
    if (wantPdeath && opts.pdeathsig) pre.push('--pdeathsig', opts.pdeathsig);
    return {
      command: setpriv.path,
      args: [...pre, '--', command, ...args],
      detached: wantPdeath,
      spawnIds: {},
      pdeathsig: wantPdeath,
    };
  }
  return {
    command,
    args: [...args],
    detached: false,
    spawnIds: opts.runAs ? { uid: opts.runAs.uid, gid: opts.runAs.gid } : {},
    pdeathsig: false,
  };
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export function describeExit(s: ExitStatus): string {
  if (s.error) return `failed to start (${s.error.message})`;
  if (s.signal) return `was killed by ${s.signal}`;
  return `exited with code ${s.code}`;
}

/** Children we own; on process exit they get their stop signal (belt and braces next to pdeathsig). */
const ownedChildren = new Map<ChildProcess, NodeJS.Signals>();
let exitHookInstalled = false;

function trackChild(child: ChildProcess, signal: NodeJS.Signals): void {
  ownedChildren.set(child, signal);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const [c, sig] of ownedChildren) {
        if (c.exitCode === null && c.signalCode === null) {
          try {
            c.kill(sig);
          } catch {
            // already gone
          }
        }
      }
    });
  }
}

export interface SpawnServiceOptions {
  /** human name for messages, e.g. "PostgreSQL" */
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout+stderr are appended here (a file, not a pipe: the daemon must outlive nothing of ours) */
  logFile: string;
  /** graceful stop signal; also used as the parent-death signal */
  stopSignal: NodeJS.Signals;
  runAs?: RunAs | undefined;
}

/**
 * A long-running daemon child. It does not keep node's event loop alive (unref), it gets
 * `stopSignal` when node dies (setpriv --pdeathsig) or exits normally (exit hook), and
 * `stop()` stops it gracefully with a bounded wait followed by SIGKILL.
 *
 * Note: the kernel's parent-death signal fires when the *thread* that spawned the child exits,
 * so start daemons from the main thread, not from a worker_thread that may end early.
 */
export class ServiceProcess {
  readonly child: ChildProcess;
  readonly name: string;
  readonly logFile: string;
  /** size of the log file before this process started: tail() shows only this run */
  readonly logOffset: number;
  readonly exited: Promise<ExitStatus>;
  private status: ExitStatus | undefined;
  private readonly stopSignal: NodeJS.Signals;
  private stopping: Promise<void> | undefined;

  constructor(opts: SpawnServiceOptions) {
    this.name = opts.name;
    this.logFile = opts.logFile;
    this.stopSignal = opts.stopSignal;
    const wrapped = wrapCommand(opts.command, opts.args, { runAs: opts.runAs, pdeathsig: opts.stopSignal });
    const fd = fs.openSync(opts.logFile, 'a', 0o600);
    try {
      this.logOffset = fs.fstatSync(fd).size;
      if (opts.runAs) fs.fchownSync(fd, opts.runAs.uid, opts.runAs.gid);
      this.child = spawn(wrapped.command, wrapped.args, {
        stdio: ['ignore', fd, fd],
        env: opts.env,
        cwd: opts.cwd,
        detached: wrapped.detached,
        ...wrapped.spawnIds,
      });
    } finally {
      fs.closeSync(fd);
    }
    this.exited = new Promise<ExitStatus>((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.status = { code, signal };
        ownedChildren.delete(this.child);
        resolve(this.status);
      });
      this.child.once('error', (error) => {
        // spawn failure (ENOENT, EACCES...): no 'exit' follows
        if (this.child.pid === undefined) {
          this.status = { code: null, signal: null, error };
          ownedChildren.delete(this.child);
          resolve(this.status);
        }
      });
    });
    this.child.unref();
    trackChild(this.child, opts.stopSignal);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Exit status if the process has already exited. */
  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  /** Last lines this run wrote to its log. */
  tail(lines = 30): string {
    return readLogTail(this.logFile, this.logOffset, lines);
  }

  /** Error describing an unexpected exit, including the log tail. */
  failure(what: string): Error {
    const s = this.status;
    const log = this.tail();
    return new Error(
      `${this.name} ${what}${s ? `: process ${describeExit(s)}` : ''}.` +
        ` Last lines of ${this.logFile}:\n${log || '(empty)'}`,
    );
  }

  /** Graceful stop: stopSignal, wait up to timeoutMs, then SIGKILL (and wait a bit more). */
  stop(timeoutMs = 10_000): Promise<void> {
    this.stopping ??= (async () => {
      if (this.status) return;
      this.signal(this.stopSignal);
      if (await raceTimeout(this.exited, timeoutMs)) return;
      this.signal('SIGKILL');
      if (!(await raceTimeout(this.exited, 5_000))) {
        throw new Error(`${this.name} (pid ${this.pid}) did not exit even after SIGKILL`);
      }
    })();
    return this.stopping;
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      this.child.kill(sig);
    } catch {
      // already gone
    }
  }
}

async function raceTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/* ------------------------------------------------------------------------------------------------
 * Start lock
 * ---------------------------------------------------------------------------------------------- */

/**
 * Run `fn` while holding an exclusive lock file (O_EXCL, containing our pid), so that two
 * processes starting at the same moment (`npm start` + a CLI command) never start two daemons on
 * one data directory. A lock whose holder is dead, or that is older than `staleMs`, is taken over.
 */
export async function withStartLock<T>(
  lockFile: string,
  fn: () => Promise<T>,
  opts: { timeoutMs: number; staleMs: number; what: string },
): Promise<T> {
  const mine = `${process.pid}\n`;
  await waitFor(
    `${opts.what} (lock file ${lockFile})`,
    () => {
      try {
        fs.writeFileSync(lockFile, mine, { flag: 'wx', mode: 0o644 });
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let stale = false;
      try {
        const holder = Number(fs.readFileSync(lockFile, 'utf8').trim());
        const age = Date.now() - fs.statSync(lockFile).mtimeMs;
        stale = age > opts.staleMs || (holder > 0 ? !isPidAlive(holder) : age > 5_000);
      } catch {
        return undefined; // vanished in between: retry
      }
      if (stale) fs.rmSync(lockFile, { force: true });
      return undefined;
    },
    { timeoutMs: opts.timeoutMs, intervalMs: 50 },
  );
  try {
    return await fn();
  } finally {
    if (readTextFile(lockFile) === mine) fs.rmSync(lockFile, { force: true });
  }
}

/* ------------------------------------------------------------------------------------------------
 * Waiting and logs
 * ---------------------------------------------------------------------------------------------- */

/**
 * Poll `probe` until it returns something other than undefined. Rejects after `timeoutMs`
 * ("Timed out after N s waiting for <what>"), or as soon as `abort()` returns an Error.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs?: number; abort?: () => Error | undefined },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 50;
  for (;;) {
    const aborted = opts.abort?.();
    if (aborted) throw aborted;
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) {
      throw new Error(`Timed out after ${Math.round(opts.timeoutMs / 1000)} s waiting for ${what}`);
    }
    await sleep(interval);
  }
}

export function tailLines(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n').trim();
}

/** The last `lines` lines written to `file` after byte `fromOffset` (reads at most 64 KiB). */
export function readLogTail(file: string, fromOffset = 0, lines = 30): string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const start = Math.max(fromOffset, size - 64 * 1024);
    const len = Math.max(0, size - start);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, start);
    return tailLines(buf.toString('utf8'), lines);
  } catch {
    return '';
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Keep daemon logs bounded: if `file` is larger than maxBytes, move it to `file.1`. */
export function rotateLog(file: string, maxBytes = 10 * 1024 * 1024): void {
  try {
    if (fs.statSync(file).size > maxBytes) fs.renameSync(file, `${file}.1`);
  } catch {
    // missing: nothing to rotate
  }
}

/** Environment for daemons: ours, minus variables that could redirect them, plus a C locale. */
export function daemonEnv(dropPrefixes: readonly string[], extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (dropPrefixes.some((p) => k.startsWith(p))) continue;
    if (k === 'LANG' || k === 'LANGUAGE' || k.startsWith('LC_')) continue;
    env[k] = v;
  }
  return { ...env, LANG: 'C', LC_ALL: 'C', ...extra };
}
