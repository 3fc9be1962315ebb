import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LinkTokens } from '../../src/providers/link-tokens.js';
import { TestClock } from '../helpers/context.js';

const SECRET = 'a'.repeat(48);

describe('LinkTokens', () => {
  it('round-trips a payload and keeps purposes apart', () => {
    const tokens = new LinkTokens([SECRET], new TestClock());
    const token = tokens.issue({ p: 'unsubscribe', s: '42', t: '3' });
    const result = tokens.verify(token, 'unsubscribe');
    expect(result.ok && result.payload).toMatchObject({ p: 'unsubscribe', s: '42', t: '3' });
    expect(tokens.verify(token, 'confirm')).toEqual({ ok: false, reason: 'invalid' });
  });

  it('expires tokens with a lifetime, and tells expired from invalid', () => {
    const clock = new TestClock();
    const tokens = new LinkTokens([SECRET], clock);
    const token = tokens.issue({ p: 'confirm', s: '1' }, 7 * 24 * 3600);
    clock.advance(7 * 24 * 3600 * 1000 - 1000);
    expect(tokens.verify(token, 'confirm').ok).toBe(true);
    clock.advance(2000);
    const expired = tokens.verify(token, 'confirm');
    expect(expired.ok).toBe(false);
    expect(!expired.ok && expired.reason).toBe('expired');
    expect(!expired.ok && expired.payload?.s).toBe('1');
  });

  it('keeps accepting tokens of the previous secret after a rotation, and refuses unknown keys', () => {
    const clock = new TestClock();
    const old = new LinkTokens([SECRET], clock).issue({ p: 'unsubscribe', s: '7' });
    const rotated = new LinkTokens(['b'.repeat(48), SECRET], clock);
    expect(rotated.verify(old, 'unsubscribe').ok).toBe(true);
    expect(new LinkTokens(['b'.repeat(48)], clock).verify(old, 'unsubscribe').ok).toBe(false);
  });

  it('refuses any change to a token (property)', () => {
    const tokens = new LinkTokens([SECRET], new TestClock());
    fc.assert(
      fc.property(
        fc.record({
          s: fc.stringMatching(/^\d{1,10}$/),
          t: fc.option(fc.stringMatching(/^\d{1,5}$/), { nil: undefined }),
        }),
        fc.nat(),
        fc.integer({ min: 1, max: 127 }),
        (payload, position, delta) => {
          const token = tokens.issue({ p: 'unsubscribe', ...payload });
          const index = position % token.length;
          const changed = String.fromCharCode((token.charCodeAt(index) + delta) % 128 || 1);
          fc.pre(changed !== token[index]);
          const tampered = `${token.slice(0, index)}${changed}${token.slice(index + 1)}`;
          expect(tokens.verify(tampered, 'unsubscribe').ok).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses truncated and extended tokens (property)', () => {
    const tokens = new LinkTokens([SECRET], new TestClock());
    const token = tokens.issue({ p: 'preferences', s: '9' });
    fc.assert(
      fc.property(fc.nat(token.length - 1), fc.string({ maxLength: 5 }), (cut, extra) => {
        expect(tokens.verify(token.slice(0, cut), 'preferences').ok).toBe(false);
        fc.pre(extra.length > 0);
        expect(tokens.verify(token + extra, 'preferences').ok).toBe(false);
      }),
    );
  });
});
