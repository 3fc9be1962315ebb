import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

/**
 * Encryption at rest for secrets we must be able to read back (LinkedIn access and refresh
 * tokens): AES-256-GCM with a random 96-bit IV, key derived from APP_SECRET with HKDF-SHA256
 * (its own `info`, so it is independent of the link-signing key). Each value names its key id,
 * so values written under APP_SECRET_PREVIOUS still open after a rotation.
 *
 * Format: `v1.<kid>.<base64url iv>.<base64url ciphertext>.<base64url tag>`.
 */
interface Key {
  id: string;
  enc: Buffer;
  mac: Buffer;
}

function deriveKey(appSecret: string): Key {
  const enc = Buffer.from(hkdfSync('sha256', appSecret, 'thuispost', 'secret-box-v1', 32));
  const mac = Buffer.from(hkdfSync('sha256', appSecret, 'thuispost', 'signed-values-v1', 32));
  const id = createHmac('sha256', enc).update('key-id').digest('base64url').slice(0, 6);
  return { id, enc, mac };
}

export class SecretBox {
  private readonly keys: Key[];

  /** `secrets[0]` encrypts; all of them decrypt. */
  constructor(secrets: string[]) {
    if (secrets.length === 0) throw new Error('SecretBox needs at least one secret');
    this.keys = secrets.map(deriveKey);
  }

  /** `context` is authenticated too: a value sealed for one purpose does not open for another. */
  seal(plaintext: string, context: string): string {
    const key = this.keys[0]!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key.enc, iv);
    cipher.setAAD(Buffer.from(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [
      'v1',
      key.id,
      iv.toString('base64url'),
      ciphertext.toString('base64url'),
      tag.toString('base64url'),
    ].join('.');
  }

  /** Throws when the value was tampered with, sealed for another context or under an unknown key. */
  open(sealed: string, context: string): string {
    const [version, kid, iv, ciphertext, tag] = sealed.split('.');
    if (version !== 'v1' || !kid || !iv || ciphertext === undefined || !tag)
      throw new Error('not a sealed value');
    const key = this.keys.find((candidate) => candidate.id === kid);
    if (!key)
      throw new Error('sealed with an unknown key (was APP_SECRET changed without APP_SECRET_PREVIOUS?)');
    const decipher = createDecipheriv('aes-256-gcm', key.enc, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  }

  /** An HMAC-signed value (`<value>.<kid>.<signature>`), e.g. an OAuth state. */
  sign(value: string, context: string): string {
    const key = this.keys[0]!;
    return `${value}.${key.id}.${createHmac('sha256', key.mac).update(`${context}\n${value}`).digest('base64url')}`;
  }

  /** The value of a signed string, or null when the signature does not match. */
  verify(signed: string, context: string): string | null {
    const parts = signed.split('.');
    if (parts.length < 3 || signed.length > 2000) return null;
    const signature = parts.pop()!;
    const kid = parts.pop()!;
    const value = parts.join('.');
    const key = this.keys.find((candidate) => candidate.id === kid);
    if (!key) return null;
    const expected = Buffer.from(
      createHmac('sha256', key.mac).update(`${context}\n${value}`).digest('base64url'),
    );
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given) ? value : null;
  }
}
