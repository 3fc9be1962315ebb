/**
 * Generated credentials of the embedded services (`DATA_DIR/postgres-password`,
 * `DATA_DIR/redis-password`): created once, mode 0600, never rewritten. Creation is atomic and
 * durable (temp file, fsync, hard link, fsync of the directory) because a password that reaches
 * a server before it reaches the disk would lock us out after a power cut.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';

/** What a password file may hold: safe unquoted in a redis.conf and readable in a URL. */
const PASSWORD_PATTERN = /^[A-Za-z0-9._~+/=-]{16,256}$/;

/** Read the password kept in `file`, or undefined when the file does not exist. */
export function readSecretFile(file: string, logger: Logger): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const secret = text.trim();
  if (!PASSWORD_PATTERN.test(secret)) {
    throw new Error(
      `${file} does not hold a usable password (16 to 256 of the characters A-Z a-z 0-9 . _ ~ + / = -). ` +
        'Restore it from a backup, or delete it (README.md: "Two commands" says how to reset a password).',
    );
  }
  const mode = fs.statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    fs.chmodSync(file, 0o600);
    logger.warn({ file, mode: mode.toString(8) }, `${file} was readable by others; changed its mode to 600`);
  }
  return secret;
}

/** The password kept in `file`; generated (48 random bytes, base64url) when the file is missing. */
export function readOrCreateSecretFile(file: string, logger: Logger): string {
  const existing = readSecretFile(file, logger);
  if (existing !== undefined) return existing;

  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(48).toString('base64url');
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.fchmodSync(fd, 0o600); // whatever the umask
    fs.writeSync(fd, `${secret}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    // link() fails when the name exists: of two concurrent creators, the first one wins
    fs.linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readOrCreateSecretFile(file, logger);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  fsyncDir(dir);
  logger.info({ file }, `generated a password into ${file} (mode 600)`);
  return secret;
}

/** Make a rename/link in `dir` durable. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // some filesystems refuse fsync on directories; nothing more we can do
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Write `text` to `file` atomically (temp file in the same directory, fsync, rename). */
export function writeFileAtomic(
  file: string,
  text: string,
  opts: { mode: number; owner?: { uid: number; gid: number } | undefined },
): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', opts.mode);
  try {
    fs.fchmodSync(fd, opts.mode);
    if (opts.owner) fs.fchownSync(fd, opts.owner.uid, opts.owner.gid);
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}
