import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  composeCommentary,
  escapeLittleText,
  isProperlyEscaped,
  MAX_COMMENTARY,
  unescapeLittleText,
} from '../../src/providers/linkedin-text.js';
import { firstUnescaped } from '../fakes/linkedin-server.js';

const reserved = fc.constantFrom(...'\\|{}@[]()<>#*_~'.split(''));
/** Text rich in what matters: reserved characters, backslashes, spaces, astral characters. */
const tricky = fc
  .array(
    fc.oneof(
      reserved,
      fc.constantFrom(' ', '\n', 'a', 'é', '😀', '\\\\', '…'),
      fc.string({ unit: 'grapheme', maxLength: 5 }),
    ),
    { maxLength: 400 },
  )
  .map((parts) => parts.join(''));

describe('LinkedIn "little text" escaping', () => {
  it('round-trips any commentary: unescape(escape(x)) === x', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 500 }), tricky),
        (text) => unescapeLittleText(escapeLittleText(text)) === text,
      ),
      {
        numRuns: 2000,
      },
    );
  });

  it('leaves no reserved character unescaped (checked by our own rule and by the fake server’s)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 500 }), tricky), (text) => {
        const escaped = escapeLittleText(text);
        return isProperlyEscaped(escaped) && firstUnescaped(escaped) === -1;
      }),
      { numRuns: 2000 },
    );
  });

  it('escapes each reserved character with one backslash', () => {
    expect(escapeLittleText('Lees #nieuws @lab (nu) *vet* _x_ ~y~ [a] {b} <c> a|b \\')).toBe(
      'Lees \\#nieuws \\@lab \\(nu\\) \\*vet\\* \\_x\\_ \\~y\\~ \\[a\\] \\{b\\} \\<c\\> a\\|b \\\\',
    );
  });
});

describe('commentary within 3,000 characters', () => {
  it('keeps short texts whole and never exceeds the limit after escaping', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          tricky,
          fc.string({ maxLength: 4000 }),
          fc
            .array(fc.constantFrom('woord ', '#tag ', '(x) ', '😀'), { maxLength: 2000 })
            .map((a) => a.join('')),
        ),
        (text) => {
          const out = composeCommentary(text);
          expect(out.length).toBeLessThanOrEqual(MAX_COMMENTARY);
          expect(isProperlyEscaped(out.endsWith('…') ? out.slice(0, -1) : out)).toBe(true);
          const normalised = text.replace(/\r\n?/g, '\n').trim();
          if (escapeLittleText(normalised).length <= MAX_COMMENTARY)
            expect(out).toBe(escapeLittleText(normalised));
          else {
            expect(out.endsWith('…')).toBe(true);
            // What is kept is a prefix of the text, cut at a whole character.
            expect(normalised.startsWith(unescapeLittleText(out.slice(0, -1)))).toBe(true);
            expect(/[\uD800-\uDBFF]$/.test(out.slice(0, -1))).toBe(false);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('cuts on a word boundary, counting the escaped length', () => {
    const text = `${'#woord '.repeat(400)}einde`;
    const out = composeCommentary(text);
    expect(out.length).toBeLessThanOrEqual(3000);
    expect(out.endsWith('\\#woord…')).toBe(true);
    expect(escapeLittleText(text).length).toBeGreaterThan(3000);
  });
});
