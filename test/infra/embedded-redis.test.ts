import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort, isPidAlive, processCmdline } from '../../src/infra/child-process.js';
import {
  type EmbeddedService,
  REDIS_MISSING_MESSAGE,
  redisPing,
  resolveRedisServer,
  startEmbeddedRedis,
} from '../../src/infra/embedded-redis.js';
import { failureOnTakenPort, launchInChild } from './launch-in-child.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TIMEOUT = 60_000;

const tempDirs: string[] = [];
const services: EmbeddedService[] = [];
const children: ChildProcess[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thuispost-redis-test-'));
  tempDirs.push(dir);
  return dir;
}

async function start(opts: { dataDir: string; port?: number }): Promise<EmbeddedService> {
  const svc = await startEmbeddedRedis({ ...opts, logger });
  services.push(svc);
  return svc;
}

function redisPid(dataDir: string): number | undefined {
  try {
    return Number(fs.readFileSync(path.join(dataDir, 'redis', 'redis.pid'), 'utf8').trim());
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

/** The generated requirepass password kept in the data directory. */
function passwordOf(dataDir: string): string {
  return fs.readFileSync(path.join(dataDir, 'redis-password'), 'utf8').trim();
}

const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

/** Send commands over a plain socket (no client library) and return the first line of each reply. */
function rawCommands(port: number, commands: string[][]): Promise<string[]> {
  const encode = (args: string[]) =>
    `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no full answer within 10 s: ${JSON.stringify(buf)}`));
    }, 10_000);
    sock.on('connect', () => sock.write(commands.map(encode).join('')));
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const lines = buf.split('\r\n');
      if (lines.length > commands.length) {
        clearTimeout(timer);
        sock.destroy();
        resolve(lines.slice(0, commands.length));
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function withRedis<T>(url: string, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  await r.connect();
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of services.reverse()) await s.stop().catch(() => undefined);
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
}, TIMEOUT);

describe('startEmbeddedRedis', () => {
  let dataDir: string;
  let svc: EmbeddedService;

  beforeAll(async () => {
    dataDir = tempDir();
    svc = await start({ dataDir });
  }, TIMEOUT);

  it('starts redis-server with the expected configuration', async () => {
    expect(svc.owned).toBe(true);
    expect(svc.url).toMatch(/^redis:\/\/:[^@]+@127\.0\.0\.1:\d+$/);
    expect(Number(new URL(svc.url).port)).not.toBe(6379);
    await withRedis(svc.url, async (r) => {
      expect(await r.ping()).toBe('PONG');
      const cfg = async (k: string) => ((await r.config('GET', k)) as string[])[1];
      expect(await cfg('maxmemory-policy')).toBe('noeviction');
      expect(await cfg('appendonly')).toBe('yes');
      expect(await cfg('appendfsync')).toBe('everysec');
      expect(await cfg('save')).toBe('');
      expect(await cfg('bind')).toBe('127.0.0.1');
      expect(await cfg('protected-mode')).toBe('yes');
      expect(await cfg('dir')).toBe(fs.realpathSync(path.join(dataDir, 'redis')));
    });
    const pid = redisPid(dataDir)!;
    expect(isPidAlive(pid)).toBe(true);
    expect(fs.readFileSync(path.join(dataDir, 'redis', 'redis.port'), 'utf8').trim()).toBe(
      new URL(svc.url).port,
    );
  });

  it('requires the generated password (mode 600 in DATA_DIR/redis-password), never shown by ps', async () => {
    const password = passwordOf(dataDir);
    expect(password.length).toBeGreaterThanOrEqual(32);
    expect(modeOf(path.join(dataDir, 'redis-password'))).toBe(0o600);
    expect(decodeURIComponent(new URL(svc.url).password)).toBe(password);
    const port = Number(new URL(svc.url).port);

    // raw RESP: PING without AUTH, and after a wrong AUTH, gets NOAUTH
    expect(await redisPing(port)).toMatch(/^-NOAUTH/);
    expect(await redisPing(port, 'a-wrong-password-1234')).toMatch(/^-NOAUTH/);
    expect(await redisPing(port, password)).toBe('+PONG');

    // a client without the password can do nothing; a wrong AUTH is refused
    const replies = await rawCommands(port, [
      ['GET', 'thuispost:test'],
      ['KEYS', '*'],
      ['AUTH', 'a-wrong-password-1234'],
      ['SET', 'thuispost:intruder', 'x'],
    ]);
    expect(replies).toEqual([
      expect.stringMatching(/^-NOAUTH/),
      expect.stringMatching(/^-NOAUTH/),
      expect.stringMatching(/^-WRONGPASS/),
      expect.stringMatching(/^-NOAUTH/),
    ]);
    // ioredis without the password too
    const anonymous = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 });
    anonymous.on('error', () => undefined);
    try {
      await expect(anonymous.connect().then(() => anonymous.get('thuispost:test'))).rejects.toThrow(
        /NOAUTH|Connection is closed/,
      );
    } finally {
      anonymous.disconnect();
    }

    // the password reaches redis-server through a config file of mode 600, not its command line
    const pid = redisPid(dataDir)!;
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(password);
    expect(processCmdline(pid)).not.toContain(password);
    expect(modeOf(path.join(dataDir, 'redis', 'redis.conf'))).toBe(0o600);
    await withRedis(svc.url, async (r) => {
      expect(((await r.config('GET', 'requirepass')) as string[])[1]).toBe(password);
    });
  });

  it('attaches to the running server instead of starting another (owned: false)', async () => {
    const pid = redisPid(dataDir);
    const second = await start({ dataDir });
    expect(second).toMatchObject({ owned: false, url: svc.url });
    await second.stop(); // no-op
    expect(redisPid(dataDir)).toBe(pid);
    expect(await redisPing(Number(new URL(svc.url).port), passwordOf(dataDir))).toBe('+PONG');
  });

  it(
    'keeps data across stop/start (AOF)',
    async () => {
      await withRedis(svc.url, (r) => r.set('thuispost:test', 'persisted'));
      const pid = redisPid(dataDir)!;
      await svc.stop();
      expect(isPidAlive(pid)).toBe(false);
      expect(fs.existsSync(path.join(dataDir, 'redis', 'redis.port'))).toBe(false);

      const port = await findFreePort();
      svc = await start({ dataDir, port });
      expect(svc).toMatchObject({ owned: true, url: `redis://:${passwordOf(dataDir)}@127.0.0.1:${port}` });
      expect(await withRedis(svc.url, (r) => r.get('thuispost:test'))).toBe('persisted');
    },
    TIMEOUT,
  );

  it(
    'starts despite stale pid files (kill -9, pid reuse)',
    async () => {
      const pid = redisPid(dataDir)!;
      process.kill(pid, 'SIGKILL');
      await waitUntil('redis to die', () => !isPidAlive(pid));
      await svc.stop();
      expect(fs.existsSync(path.join(dataDir, 'redis', 'redis.pid'))).toBe(true);
      svc = await start({ dataDir });
      expect(svc.owned).toBe(true);
      expect(redisPid(dataDir)).not.toBe(pid);

      // a pid file naming a live process that is not our redis (pid 1)
      await svc.stop();
      fs.writeFileSync(path.join(dataDir, 'redis', 'redis.pid'), '1\n');
      fs.writeFileSync(path.join(dataDir, 'redis', 'redis.port'), '6379\n');
      svc = await start({ dataDir });
      expect(svc.owned).toBe(true);
      expect(new URL(svc.url).port).not.toBe('6379');
      expect(await withRedis(svc.url, (r) => r.get('thuispost:test'))).toBe('persisted');
    },
    TIMEOUT,
  );

  it(
    'opens a data directory of an earlier version (no password file, no redis.conf) with a new password, keeping its data',
    async () => {
      await withRedis(svc.url, (r) => r.set('thuispost:old', 'kept'));
      const before = passwordOf(dataDir);
      await svc.stop();
      fs.rmSync(path.join(dataDir, 'redis-password'));
      fs.rmSync(path.join(dataDir, 'redis', 'redis.conf'));

      svc = await start({ dataDir });
      const password = passwordOf(dataDir);
      expect(password).not.toBe(before);
      expect(modeOf(path.join(dataDir, 'redis-password'))).toBe(0o600);
      const port = Number(new URL(svc.url).port);
      expect(await rawCommands(port, [['GET', 'thuispost:old']])).toEqual([
        expect.stringMatching(/^-NOAUTH/),
      ]);
      expect(await redisPing(port, before)).toMatch(/^-NOAUTH/);
      expect(await withRedis(svc.url, (r) => r.get('thuispost:old'))).toBe('kept');
    },
    TIMEOUT,
  );

  it('fails with a clear error when redis-server is missing and cannot be installed', async () => {
    const empty = tempDir();
    await expect(
      resolveRedisServer({ logger, searchDirs: [empty], usePath: false, allowInstall: false }),
    ).rejects.toThrow(REDIS_MISSING_MESSAGE);
    expect(REDIS_MISSING_MESSAGE).toContain(
      'Install Redis 7 (e.g. `sudo apt-get install redis-server`) or set REDIS_URL to an existing Redis',
    );
  });
});

describe('startEmbeddedRedis process lifetime', () => {
  it(
    'leaves no redis-server behind when the node process that started it is SIGKILLed; reports start failures',
    async () => {
      const dataDir = tempDir();
      const { child, info } = await launchInChild(
        root,
        dataDir,
        { module: 'embedded-redis', exportName: 'startEmbeddedRedis' },
        30_000,
      );
      children.push(child);
      const pid = redisPid(dataDir)!;
      expect(isPidAlive(pid)).toBe(true);
      expect(await redisPing(Number(new URL(info.url).port), passwordOf(dataDir))).toBe('+PONG');

      // info.pid is the node process that spawned redis (tsx runs the script in a child node)
      process.kill(info.pid, 'SIGKILL');
      await waitUntil('redis-server to exit after its parent was SIGKILLed', () => !isPidAlive(pid), 20_000);

      const again = await start({ dataDir });
      expect(again.owned).toBe(true);
      await again.stop();

      // a failing start reports why, with the server log
      const err = await failureOnTakenPort((port) => startEmbeddedRedis({ dataDir, port, logger }));
      expect(err.message).toContain('Redis failed to start');
      expect(err.message).toContain('redis.log');
      expect(err.message).toMatch(/Address already in use/);
    },
    TIMEOUT,
  );
});
