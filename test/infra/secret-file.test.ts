import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { readOrCreateSecretFile, readSecretFile } from '../../src/infra/secret-file.js';

const logger = pino({ level: 'silent' });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thuispost-secret-file-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

describe('password files of the embedded services', () => {
  it('are generated once, mode 600 whatever the umask, and then read back', () => {
    const file = path.join(dir, 'generated-password');
    const umask = process.umask(0);
    let first: string;
    try {
      first = readOrCreateSecretFile(file, logger);
    } finally {
      process.umask(umask);
    }
    expect(modeOf(file)).toBe(0o600);
    expect(first).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${first}\n`);
    expect(readOrCreateSecretFile(file, logger)).toBe(first);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('keep a password that is already there, and close one that others could read', () => {
    const file = path.join(dir, 'kept-password');
    fs.writeFileSync(file, 'a-password-of-my-own-choosing\n');
    fs.chmodSync(file, 0o644);
    expect(readOrCreateSecretFile(file, logger)).toBe('a-password-of-my-own-choosing');
    expect(modeOf(file)).toBe(0o600);
  });

  it('refuse a file that holds no usable password, without overwriting it', () => {
    const file = path.join(dir, 'broken-password');
    fs.writeFileSync(file, 'short\n', { mode: 0o600 });
    expect(() => readOrCreateSecretFile(file, logger)).toThrow(/does not hold a usable password/);
    expect(fs.readFileSync(file, 'utf8')).toBe('short\n');
    expect(readSecretFile(path.join(dir, 'missing-password'), logger)).toBeUndefined();
  });
});
