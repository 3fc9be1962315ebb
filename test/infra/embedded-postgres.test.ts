import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort, isPidAlive, processCwd, sameDir } from '../../src/infra/child-process.js';
import { type EmbeddedService, startEmbeddedPostgres } from '../../src/infra/embedded-postgres.js';
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
    expect(svc.url).toMatch(/^postgres:\/\/thuispost@127\.0\.0\.1:\d+\/thuispost$/);
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
      expect(svc.url).toBe(`postgres://thuispost@127.0.0.1:${port}/thuispost`);
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
      expect(info.url).toMatch(/^postgres:\/\/thuispost@127\.0\.0\.1:\d+\/thuispost$/);
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
