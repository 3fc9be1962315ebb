import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort, isPidAlive, processCwd, sameDir } from '../../src/infra/child-process.js';
import {
  type EmbeddedService,
  hbaWithPasswords,
  startEmbeddedPostgres,
} from '../../src/infra/embedded-postgres.js';
import { failureOnTakenPort, launchInChild } from './launch-in-child.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TIMEOUT = 90_000;

const tempDirs: string[] = [];
const services: EmbeddedService[] = [];
const children: ChildProcess[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thuispost-pg-test-'));
  tempDirs.push(dir);
  return dir;
}

async function start(opts: { dataDir: string; database?: string; port?: number }): Promise<EmbeddedService> {
  const svc = await startEmbeddedPostgres({ ...opts, logger });
  services.push(svc);
  return svc;
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    return Number(fs.readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}

async function waitUntil(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** pids of processes whose cwd is `dir` (postgres backends chdir into the data directory) */
function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cwd = processCwd(Number(name));
    if (cwd && isPidAlive(Number(name)) && sameDir(cwd, dir)) pids.push(Number(name));
  }
  return pids;
}

/** The generated superuser password kept in the data directory. */
function passwordOf(dataDir: string): string {
  return fs.readFileSync(path.join(dataDir, 'postgres-password'), 'utf8').trim();
}

const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

/**
 * What the server answers a client that offers no password, spoken in the wire protocol itself
 * (no driver, no ~/.pgpass): 'ok' when it lets the client in (AuthenticationOk), 'password' when
 * it asks for one (cleartext, MD5 or SASL), or the text of its error.
 */
function answerWithoutPassword(target: { port: number } | { path: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(
      'port' in target ? { host: '127.0.0.1', port: target.port } : { path: target.path },
    );
    const params = Buffer.from('user\0thuispost\0database\0postgres\0\0', 'latin1');
    const startup = Buffer.alloc(8 + params.length);
    startup.writeInt32BE(startup.length, 0);
    startup.writeInt32BE(3 << 16, 4); // protocol 3.0
    params.copy(startup, 8);
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('no answer within 10 s'));
    }, 10_000);
    sock.on('connect', () => sock.write(startup));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 5 || buf.length < 1 + buf.readInt32BE(1)) return;
      clearTimeout(timer);
      sock.destroy();
      const type = String.fromCharCode(buf[0]!);
      if (type === 'R') resolve(buf.readInt32BE(5) === 0 ? 'ok' : 'password');
      else
        resolve(
          buf
            .toString('latin1', 5, 1 + buf.readInt32BE(1))
            .replaceAll('\0', ' ')
            .trim(),
        );
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** The URL with another password (or none). */
function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = password;
  return parsed.toString();
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of services.reverse()) await s.stop().catch(() => undefined);
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
}, TIMEOUT);

describe('startEmbeddedPostgres', () => {
  let dataDir: string;
  let svc: EmbeddedService;

  beforeAll(async () => {
    dataDir = tempDir();
    svc = await start({ dataDir });
  }, TIMEOUT);

  it('starts a real PostgreSQL 18 with the expected settings', async () => {
    expect(svc.owned).toBe(true);
    expect(svc.url).toMatch(/^postgres:\/\/thuispost:[^@]+@127\.0\.0\.1:\d+\/thuispost$/);
    const row = await withClient(svc.url, async (c) => {
      const r = await c.query<Record<string, string>>(
        `SELECT version() AS version, current_user AS "user", current_database() AS db,
                current_setting('server_encoding') AS encoding, current_setting('max_connections') AS max_connections,
                current_setting('fsync') AS fsync, current_setting('listen_addresses') AS listen,
                current_setting('unix_socket_directories') AS sockets, upper('grüße ünï') AS upper`,
      );
      return r.rows[0]!;
    });
    expect(row.version).toMatch(/^PostgreSQL 18\./);
    expect(row).toMatchObject({
      user: 'thuispost',
      db: 'thuispost',
      encoding: 'UTF8',
      max_connections: '200',
      fsync: 'on',
      listen: '127.0.0.1',
      sockets: path.join(dataDir, 'postgres', 'socket'),
    });
    expect(row.upper).toBe('GRÜßE ÜNÏ');
    // log goes to the data directory
    expect(fs.readFileSync(path.join(dataDir, 'postgres', 'log', 'postgres.log'), 'utf8')).toContain(
      'database system is ready to accept connections',
    );
    if (process.getuid?.() === 0) {
      // never runs as root
      const pid = postmasterPid(dataDir)!;
      const uid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
      expect(uid).not.toBe(0);
    }
  });

  it('requires the generated password, kept in DATA_DIR/postgres-password (mode 600)', async () => {
    const file = path.join(dataDir, 'postgres-password');
    expect(modeOf(file)).toBe(0o600);
    const password = passwordOf(dataDir);
    expect(password.length).toBeGreaterThanOrEqual(32);
    expect(decodeURIComponent(new URL(svc.url).password)).toBe(password);
    const port = Number(new URL(svc.url).port);
    // a client without a password is asked for one, over TCP and over the Unix socket
    expect(await answerWithoutPassword({ port })).toBe('password');
    expect(
      await answerWithoutPassword({ path: path.join(dataDir, 'postgres', 'socket', `.s.PGSQL.${port}`) }),
    ).toBe('password');
    await expect(withClient(withPassword(svc.url, ''), (c) => c.query('SELECT 1'))).rejects.toThrow();
    await expect(
      withClient(withPassword(svc.url, 'a-wrong-password-1234'), (c) => c.query('SELECT 1')),
    ).rejects.toMatchObject({ code: '28P01' });
    // no trust left in pg_hba.conf; the role's password is stored as a SCRAM verifier
    const hba = fs.readFileSync(path.join(dataDir, 'postgres', 'pg_hba.conf'), 'utf8');
    expect(hba).toMatch(/^host\s+all\s+all\s+127\.0\.0\.1\/32\s+scram-sha-256\s*$/m);
    expect(hba).not.toMatch(/^\s*(local|host)\S*\s[^#\n]*\btrust\b/m);
    const stored = await withClient(
      svc.url,
      async (c) =>
        (await c.query(`SELECT rolpassword FROM pg_authid WHERE rolname = 'thuispost'`)).rows[0].rolpassword,
    );
    expect(stored).toMatch(/^SCRAM-SHA-256\$4096:/);
    // initdb's copy of the password is gone
    expect(fs.readdirSync(dataDir).filter((n) => n.startsWith('.postgres-pwfile'))).toEqual([]);
  });

  it('accepts 50 concurrent connections', async () => {
    const clients = Array.from({ length: 50 }, () => new pg.Client({ connectionString: svc.url }));
    try {
      await Promise.all(clients.map((c) => c.connect()));
      const pids = await Promise.all(
        clients.map(
          async (c) =>
            (await c.query('SELECT pg_backend_pid() AS pid, pg_sleep(0.05)')).rows[0].pid as number,
        ),
      );
      expect(new Set(pids).size).toBe(50);
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    }
  });

  it('delivers LISTEN/NOTIFY across connections', async () => {
    const listener = new pg.Client({ connectionString: svc.url });
    await listener.connect();
    try {
      await listener.query('LISTEN thuispost_test');
      const received = new Promise<string | undefined>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no notification within 10 s')), 10_000);
        listener.once('notification', (n) => {
          clearTimeout(t);
          resolve(n.payload);
        });
      });
      await withClient(svc.url, (c) => c.query(`SELECT pg_notify('thuispost_test', 'hello')`));
      expect(await received).toBe('hello');
    } finally {
      await listener.end();
    }
  });

  it('supports FOR UPDATE SKIP LOCKED', async () => {
    await withClient(svc.url, async (c) => {
      await c.query('CREATE TABLE jobs (id int PRIMARY KEY)');
      await c.query('INSERT INTO jobs SELECT generate_series(1, 10)');
    });
    const a = new pg.Client({ connectionString: svc.url });
    const b = new pg.Client({ connectionString: svc.url });
    await Promise.all([a.connect(), b.connect()]);
    try {
      const claim = 'SELECT id FROM jobs ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 6';
      await a.query('BEGIN');
      await b.query('BEGIN');
      const ra = (await a.query(claim)).rows.map((r) => r.id as number);
      const rb = (await b.query(claim)).rows.map((r) => r.id as number);
      expect(ra).toEqual([1, 2, 3, 4, 5, 6]);
      expect(rb).toEqual([7, 8, 9, 10]);
      await a.query('COMMIT');
      await b.query('COMMIT');
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  it('attaches to the running server instead of starting another (owned: false)', async () => {
    const pid = postmasterPid(dataDir);
    const second = await start({ dataDir });
    expect(second.owned).toBe(false);
    expect(second.url).toBe(svc.url);
    await second.stop(); // no-op
    expect(postmasterPid(dataDir)).toBe(pid);
    expect(isPidAlive(pid!)).toBe(true);
    // another database on the same server is created on demand
    const other = await start({ dataDir, database: 'thuispost_other' });
    expect(other.owned).toBe(false);
    expect(other.url).toBe(svc.url.replace(/\/thuispost$/, '/thuispost_other'));
    expect(
      await withClient(other.url, async (c) => (await c.query('SELECT current_database() AS d')).rows[0].d),
    ).toBe('thuispost_other');
  });

  it(
    'keeps data across stop/start',
    async () => {
      await withClient(svc.url, (c) =>
        c.query(`CREATE TABLE kept (v text); INSERT INTO kept VALUES ('persisted')`),
      );
      const pid = postmasterPid(dataDir)!;
      await svc.stop();
      expect(isPidAlive(pid)).toBe(false);
      expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);

      const port = await findFreePort();
      svc = await start({ dataDir, port });
      expect(svc.owned).toBe(true);
      expect(svc.url).toBe(`postgres://thuispost:${passwordOf(dataDir)}@127.0.0.1:${port}/thuispost`);
      const rows = await withClient(svc.url, async (c) => (await c.query('SELECT v FROM kept')).rows);
      expect(rows).toEqual([{ v: 'persisted' }]);
    },
    TIMEOUT,
  );

  it(
    'restarts after the postmaster was killed with SIGKILL (stale postmaster.pid)',
    async () => {
      const pid = postmasterPid(dataDir)!;
      process.kill(pid, 'SIGKILL');
      await waitUntil('postmaster to die', () => !isPidAlive(pid));
      await svc.stop(); // already dead: resolves
      expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(true);

      svc = await start({ dataDir });
      expect(svc.owned).toBe(true);
      expect(postmasterPid(dataDir)).not.toBe(pid);
      const rows = await withClient(svc.url, async (c) => (await c.query('SELECT v FROM kept')).rows);
      expect(rows).toEqual([{ v: 'persisted' }]);
    },
    TIMEOUT,
  );

  it(
    'ignores a postmaster.pid that names a live unrelated process',
    async () => {
      await svc.stop();
      const lockFile = path.join(dataDir, 'postgres', 'postmaster.pid');
      // pid 1 is alive but certainly not our postmaster (pid reuse after a reboot looks like this)
      fs.writeFileSync(
        lockFile,
        `1\n${path.join(dataDir, 'postgres')}\n1700000000\n5999\n\n127.0.0.1\n0 0\nready   \n`,
      );
      svc = await start({ dataDir });
      expect(svc.owned).toBe(true);
      expect(postmasterPid(dataDir)).not.toBe(1);
    },
    TIMEOUT,
  );
});

describe('hbaWithPasswords', () => {
  it('replaces the trust method of every record and nothing else', () => {
    const before = [
      '# TYPE  DATABASE  USER  ADDRESS  METHOD   (trust in a comment stays)',
      'local   all       all            trust',
      'host    all       all   127.0.0.1/32   trust   # trust',
      '  host  all       all   127.0.0.1 255.255.255.255  trust',
      'hostssl trust     all   ::1/128        trust',
      'host    all       all   10.0.0.0/8     reject',
      'local   replication all peer',
      'include_if_exists other.conf',
      '',
    ].join('\n');
    expect(hbaWithPasswords(before)).toBe(
      [
        '# TYPE  DATABASE  USER  ADDRESS  METHOD   (trust in a comment stays)',
        'local   all       all            scram-sha-256',
        'host    all       all   127.0.0.1/32   scram-sha-256   # trust',
        '  host  all       all   127.0.0.1 255.255.255.255  scram-sha-256',
        'hostssl trust     all   ::1/128        scram-sha-256',
        'host    all       all   10.0.0.0/8     reject',
        'local   replication all peer',
        'include_if_exists other.conf',
        '',
      ].join('\n'),
    );
    expect(hbaWithPasswords(hbaWithPasswords(before))).toBe(hbaWithPasswords(before));
  });
});

describe('a data directory made by an earlier version (initdb --auth=trust, no password file)', () => {
  const hbaFile = (dataDir: string) => path.join(dataDir, 'postgres', 'pg_hba.conf');
  const passwordFile = (dataDir: string) => path.join(dataDir, 'postgres-password');
  const setTrust = (dataDir: string) =>
    fs.writeFileSync(
      hbaFile(dataDir),
      fs.readFileSync(hbaFile(dataDir), 'utf8').replaceAll('scram-sha-256', 'trust'),
    );

  /**
   * What earlier versions left behind: the same cluster, but initialised with --auth=trust (the
   * same pg_hba.conf with "trust" as the method), a superuser without a password, no password file.
   */
  async function makeOldStyle(dataDir: string, running: EmbeddedService): Promise<void> {
    await withClient(running.url, (c) => c.query('ALTER ROLE thuispost PASSWORD NULL'));
    await running.stop();
    setTrust(dataDir);
    fs.rmSync(passwordFile(dataDir));
  }

  async function expectPasswordRequired(dataDir: string, running: EmbeddedService, password: string) {
    const port = Number(new URL(running.url).port);
    expect(decodeURIComponent(new URL(running.url).password)).toBe(password);
    expect(await answerWithoutPassword({ port })).toBe('password');
    expect(
      await answerWithoutPassword({ path: path.join(dataDir, 'postgres', 'socket', `.s.PGSQL.${port}`) }),
    ).toBe('password');
    await expect(
      withClient(withPassword(running.url, 'a-wrong-password-1234'), (c) => c.query('SELECT 1')),
    ).rejects.toMatchObject({ code: '28P01' });
    expect(fs.readFileSync(hbaFile(dataDir), 'utf8')).not.toMatch(/^\s*(local|host)\S*\s[^#\n]*\btrust\b/m);
    expect(modeOf(passwordFile(dataDir))).toBe(0o600);
  }

  const subscribers = (url: string) =>
    withClient(url, async (c) => (await c.query('SELECT email FROM subscribers')).rows);

  /** A cluster with data in it, to show that a switch keeps it. */
  async function startWithOneSubscriber(dataDir: string) {
    const svc = await start({ dataDir });
    await withClient(svc.url, (c) =>
      c.query(`CREATE TABLE subscribers (email text); INSERT INTO subscribers VALUES ('lid@voorbeeld.test')`),
    );
    return svc;
  }

  it(
    'is switched to scram-sha-256 on start: the data stays, a connection without the password is refused',
    async () => {
      const dataDir = tempDir();
      let svc = await startWithOneSubscriber(dataDir);
      await makeOldStyle(dataDir, svc);
      expect(fs.readFileSync(hbaFile(dataDir), 'utf8')).toMatch(
        /^host\s+all\s+all\s+127\.0\.0\.1\/32\s+trust\s*$/m,
      );
      expect(fs.existsSync(passwordFile(dataDir))).toBe(false);

      svc = await start({ dataDir });
      expect(svc.owned).toBe(true);
      const password = passwordOf(dataDir);
      await expectPasswordRequired(dataDir, svc, password);
      expect(await subscribers(svc.url)).toEqual([{ email: 'lid@voorbeeld.test' }]);
      const stored = await withClient(
        svc.url,
        async (c) =>
          (await c.query(`SELECT rolpassword FROM pg_authid WHERE rolname = 'thuispost'`)).rows[0]
            .rolpassword,
      );
      expect(stored).toMatch(/^SCRAM-SHA-256\$4096:/);
      // the password was never sent in clear text: it is nowhere in the server's log
      expect(fs.readFileSync(path.join(dataDir, 'postgres', 'log', 'postgres.log'), 'utf8')).not.toContain(
        password,
      );

      // the next start has nothing to switch and keeps the password
      await svc.stop();
      svc = await start({ dataDir });
      expect(passwordOf(dataDir)).toBe(password);
      await expectPasswordRequired(dataDir, svc, password);
      expect(await subscribers(svc.url)).toEqual([{ email: 'lid@voorbeeld.test' }]);
      await svc.stop();
    },
    TIMEOUT,
  );

  it(
    'finishes a switch that was interrupted after any step',
    async () => {
      const dataDir = tempDir();
      let svc = await startWithOneSubscriber(dataDir);
      await makeOldStyle(dataDir, svc);

      // killed after writing the password file, before the role had it: that password is used
      const kept = 'a-password-written-before-the-crash';
      fs.writeFileSync(passwordFile(dataDir), `${kept}\n`, { mode: 0o600 });
      svc = await start({ dataDir });
      await expectPasswordRequired(dataDir, svc, kept);
      expect(passwordOf(dataDir)).toBe(kept);

      // killed after the role got its password, before pg_hba.conf was replaced
      await svc.stop();
      setTrust(dataDir);
      svc = await start({ dataDir });
      await expectPasswordRequired(dataDir, svc, kept);

      // killed (the whole server, as by a power cut) after pg_hba.conf was replaced, before the reload
      await svc.stop();
      setTrust(dataDir);
      svc = await start({ dataDir });
      const postmaster = postmasterPid(dataDir)!;
      process.kill(postmaster, 'SIGKILL');
      await waitUntil('postmaster to die', () => !isPidAlive(postmaster));
      await waitUntil('its backends to exit', () => processesIn(path.join(dataDir, 'postgres')).length === 0);
      svc = await start({ dataDir });
      await expectPasswordRequired(dataDir, svc, kept);
      expect(await subscribers(svc.url)).toEqual([{ email: 'lid@voorbeeld.test' }]);
      await svc.stop();
    },
    TIMEOUT,
  );

  it(
    'says how to recover when the password file is lost or wrong, and the documented reset works',
    async () => {
      const dataDir = tempDir();
      let svc = await startWithOneSubscriber(dataDir);
      const password = passwordOf(dataDir);
      await svc.stop();

      // a wrong password (in a file readable by others): refused, the server stopped again
      fs.writeFileSync(passwordFile(dataDir), 'not-the-password-of-this-cluster\n', { mode: 0o644 });
      fs.chmodSync(passwordFile(dataDir), 0o644);
      await expect(start({ dataDir })).rejects.toThrow(/refuses the password in .*postgres-password/);
      expect(modeOf(passwordFile(dataDir))).toBe(0o600);
      expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);

      // the file is gone
      fs.rmSync(passwordFile(dataDir));
      const err = await start({ dataDir }).then(
        () => new Error('expected a failure'),
        (e: Error) => e,
      );
      expect(err.message).toMatch(/requires a password, but .*postgres-password is missing/);
      expect(err.message).toContain('replace "scram-sha-256" by "trust" in pg_hba.conf');
      expect(fs.existsSync(passwordFile(dataDir))).toBe(false);

      // the reset the message describes
      setTrust(dataDir);
      svc = await start({ dataDir });
      const fresh = passwordOf(dataDir);
      expect(fresh).not.toBe(password);
      await expectPasswordRequired(dataDir, svc, fresh);
      expect(await subscribers(svc.url)).toEqual([{ email: 'lid@voorbeeld.test' }]);
      await svc.stop();
    },
    TIMEOUT,
  );
});

describe('startEmbeddedPostgres process lifetime', () => {
  it(
    'leaves no postgres process behind when the node process that started it is SIGKILLed; reports start failures',
    async () => {
      const dataDir = tempDir();
      const { child, info } = await launchInChild(
        root,
        dataDir,
        { module: 'embedded-postgres', exportName: 'startEmbeddedPostgres' },
        60_000,
      );
      children.push(child);
      expect(info.url).toMatch(/^postgres:\/\/thuispost:[^@]+@127\.0\.0\.1:\d+\/thuispost$/);
      const pm = postmasterPid(dataDir)!;
      expect(isPidAlive(pm)).toBe(true);
      expect(await withClient(info.url, async (c) => (await c.query('SELECT 1 AS one')).rows[0].one)).toBe(1);

      // info.pid is the node process that spawned postgres (tsx runs the script in a child node)
      process.kill(info.pid, 'SIGKILL');
      await waitUntil('postmaster to exit after its parent was SIGKILLed', () => !isPidAlive(pm), 20_000);
      await waitUntil(
        'all postgres processes of the data dir to exit',
        () => processesIn(path.join(dataDir, 'postgres')).length === 0,
        20_000,
      );

      // and the directory is immediately reusable
      const again = await start({ dataDir });
      expect(again.owned).toBe(true);
      await again.stop();

      // a failing start reports why, with the server log
      const err = await failureOnTakenPort((port) => startEmbeddedPostgres({ dataDir, port, logger }));
      expect(err.message).toContain('PostgreSQL failed to start');
      expect(err.message).toContain('postgres.log');
      expect(err.message).toMatch(/could not bind IPv4 address "127\.0\.0\.1": Address already in use/);
      expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    },
    TIMEOUT,
  );
});
