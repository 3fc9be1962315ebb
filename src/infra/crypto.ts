import { createHash, createHmac, hkdfSync, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** URL-safe random token with `bytes` bytes of entropy. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

// scrypt with N=2^15, r=8: 32 MiB per hash, memory-hard as OWASP recommends for password storage.
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyLength: 32 } as const;
const SCRYPT_MAXMEM = 64 * 1024 * 1024;

function scryptAsync(password: string, salt: Buffer, n: number, r: number, p: number, keyLength: number) {
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(
      password.normalize('NFKC'),
      salt,
      keyLength,
      { N: n, r, p, maxmem: SCRYPT_MAXMEM },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

/** Format: `scrypt$N$r$p$salt$hash` (base64url), so parameters can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keyLength);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join(
    '$',
  );
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scryptAsync(
    password,
    Buffer.from(salt, 'base64url'),
    Number(n),
    Number(r),
    Number(p),
    expected.length,
  );
  return timingSafeEqual(key, expected);
}

/** A hash that costs as much as a real one, to keep login timing equal for unknown users. */
export const DUMMY_PASSWORD_HASH =
  'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

/**
 * Keyed pseudonyms of personal values that are stored only to count or correlate (an IP address
 * in the consent ledger and in rate-limit keys, a login name in a rate-limit key). HMAC-SHA256
 * with keys derived from APP_SECRET by HKDF, one label per purpose, so that the values of one
 * purpose say nothing about another. Whoever holds the key can tell that two events came from
 * the same address (and test a guessed address); without it the value cannot be reversed, not
 * even by trying all 2^32 IPv4 addresses, as an unkeyed hash can. Values of the current scheme
 * start with `hmac1:`; older consent rows hold a bare 32-hex unkeyed SHA-256 (`sha256("ip:" + ip)`).
 * Changing APP_SECRET changes every pseudonym: events before and after no longer correlate.
 */
export class Pseudonyms {
  static readonly SCHEME = 'hmac1';
  private readonly ipKey: Buffer;
  private readonly accountKey: Buffer;

  constructor(appSecret: string) {
    this.ipKey = Buffer.from(hkdfSync('sha256', appSecret, 'thuispost', 'ip-pseudonym-v1', 32));
    this.accountKey = Buffer.from(
      hkdfSync('sha256', appSecret, 'thuispost', 'login-account-pseudonym-v1', 32),
    );
  }

  /** An IP address, as stored anywhere (consent evidence, rate-limit keys): `hmac1:` + 32 hex. */
  ip(ip: string): string {
    return `${Pseudonyms.SCHEME}:${createHmac('sha256', this.ipKey).update(ip).digest('hex').slice(0, 32)}`;
  }

  /** A login name (an email address) in a rate-limit key. */
  loginAccount(email: string): string {
    const digest = createHmac('sha256', this.accountKey).update(email.trim().toLowerCase()).digest('hex');
    return `${Pseudonyms.SCHEME}:${digest.slice(0, 32)}`;
  }
}
