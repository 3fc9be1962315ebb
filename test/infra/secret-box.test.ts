import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/infra/secret-box.js';

const SECRET = 'secret-box-test-'.padEnd(48, 'a');
const OTHER = 'secret-box-other-'.padEnd(48, 'b');

describe('SecretBox (AES-256-GCM, key from APP_SECRET via HKDF)', () => {
  it('opens what it sealed, and never shows the plaintext', () => {
    const box = new SecretBox([SECRET]);
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (plaintext) => {
        const sealed = box.seal(plaintext, 'ctx');
        expect(box.open(sealed, 'ctx')).toBe(plaintext);
        if (plaintext.length >= 4) expect(sealed).not.toContain(plaintext);
      }),
      { numRuns: 200 },
    );
    expect(box.seal('same', 'ctx')).not.toBe(box.seal('same', 'ctx'));
  });

  it('refuses a tampered value, another context and an unknown key; opens values of the previous secret', () => {
    const box = new SecretBox([SECRET]);
    const sealed = box.seal('AQX-toegangstoken', 'linkedin-access-token');
    const parts = sealed.split('.');
    const flipped = parts[3]!.startsWith('A') ? `B${parts[3]!.slice(1)}` : `A${parts[3]!.slice(1)}`;
    expect(() =>
      box.open([...parts.slice(0, 3), flipped, parts[4]].join('.'), 'linkedin-access-token'),
    ).toThrow();
    expect(() => box.open(sealed, 'linkedin-refresh-token')).toThrow();
    expect(() => new SecretBox([OTHER]).open(sealed, 'linkedin-access-token')).toThrow(/unknown key/);
    expect(new SecretBox([OTHER, SECRET]).open(sealed, 'linkedin-access-token')).toBe('AQX-toegangstoken');
  });

  it('signs values: a changed value, signature or context does not verify', () => {
    const box = new SecretBox([SECRET]);
    const signed = box.sign('nonce123', 'state');
    expect(box.verify(signed, 'state')).toBe('nonce123');
    expect(box.verify(signed.replace('nonce123', 'nonce124'), 'state')).toBeNull();
    expect(box.verify(`${signed.slice(0, -1)}${signed.endsWith('A') ? 'B' : 'A'}`, 'state')).toBeNull();
    expect(box.verify(signed, 'other')).toBeNull();
    expect(box.verify('garbage', 'state')).toBeNull();
  });
});
