import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Clock } from './clock.js';

/**
 * Signed tokens for every personal link (confirm, unsubscribe, preferences) and for the signup
 * form's time trap. HMAC-SHA256 with a key derived from APP_SECRET; each token names its key id,
 * so that after a rotation tokens signed with the previous secret keep working.
 *
 * Format: `<kid>.<base64url(JSON payload)>.<base64url(signature)>`.
 */
export type LinkPurpose = 'confirm' | 'unsubscribe' | 'preferences' | 'form';

export interface LinkPayload {
  /** purpose: a token for one purpose never works for another */
  p: LinkPurpose;
  /** subscriber id */
  s?: string;
  /** topic id: the email was sent for this topic */
  t?: string;
  /** issued at, seconds since the epoch */
  i: number;
  /** expires at, seconds since the epoch; absent: never */
  e?: number;
  /** generation (e.g. confirmation count), to tell tokens of the same subscriber apart */
  n?: number;
}

export type VerifyResult =
  | { ok: true; payload: LinkPayload }
  | { ok: false; reason: 'invalid' | 'expired'; payload?: LinkPayload };

interface Key {
  id: string;
  secret: Buffer;
}

function deriveKey(appSecret: string): Key {
  const secret = Buffer.from(hkdfSync('sha256', appSecret, 'thuispost', 'link-tokens-v1', 32));
  const id = createHmac('sha256', secret).update('key-id').digest('base64url').slice(0, 6);
  return { id, secret };
}

const sign = (key: Key, body: string) =>
  createHmac('sha256', key.secret).update(`${key.id}.${body}`).digest('base64url');

export class LinkTokens {
  private readonly keys: Key[];

  /** `secrets[0]` signs; all of them verify (put the previous secret second while rotating). */
  constructor(
    secrets: string[],
    private readonly clock: Clock,
  ) {
    if (secrets.length === 0) throw new Error('LinkTokens needs at least one secret');
    this.keys = secrets.map(deriveKey);
  }

  /**
   * `issuedAt` fixes the issue time, so that the same link comes out on every retry of a send
   * (a provider idempotency key needs an identical request body).
   */
  issue(payload: Omit<LinkPayload, 'i' | 'e'>, ttlSeconds?: number, issuedAt?: Date): string {
    const now = Math.floor((issuedAt ?? this.clock.now()).getTime() / 1000);
    const full: LinkPayload = { ...payload, i: now, ...(ttlSeconds ? { e: now + ttlSeconds } : {}) };
    const key = this.keys[0]!;
    const body = Buffer.from(JSON.stringify(full)).toString('base64url');
    return `${key.id}.${body}.${sign(key, body)}`;
  }

  verify(token: string, purpose: LinkPurpose): VerifyResult {
    const parts = token.split('.');
    if (parts.length !== 3 || token.length > 1000) return { ok: false, reason: 'invalid' };
    const [kid, body, signature] = parts as [string, string, string];
    const key = this.keys.find((candidate) => candidate.id === kid);
    if (!key) return { ok: false, reason: 'invalid' };
    const expected = Buffer.from(sign(key, body));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given))
      return { ok: false, reason: 'invalid' };
    let payload: LinkPayload;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as LinkPayload;
    } catch {
      return { ok: false, reason: 'invalid' };
    }
    if (payload === null || typeof payload !== 'object' || payload.p !== purpose)
      return { ok: false, reason: 'invalid' };
    if (payload.e !== undefined && payload.e * 1000 < this.clock.now().getTime()) {
      return { ok: false, reason: 'expired', payload };
    }
    return { ok: true, payload };
  }
}
