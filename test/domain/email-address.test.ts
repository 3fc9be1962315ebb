import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normaliseEmail } from '../../src/domain/email-address.js';

describe('normaliseEmail', () => {
  it.each([
    ['  Jan.Jansen@Voorbeeld.NL ', 'Jan.Jansen@voorbeeld.nl'],
    ['info@bücher.example', 'info@xn--bcher-kva.example'],
    ['a+nieuws@sub.gemeente.nl', 'a+nieuws@sub.gemeente.nl'],
    ["o'brien@example.org", "o'brien@example.org"],
  ])('normalises %s', (input, expected) => {
    expect(normaliseEmail(input)).toEqual({ ok: true, email: expected });
  });

  it.each([
    '',
    'geen-apenstaart',
    'Jan <jan@voorbeeld.nl>',
    'a@voorbeeld.nl, b@voorbeeld.nl',
    'a@voorbeeld.nl;b@voorbeeld.nl',
    'jan jansen@voorbeeld.nl',
    'jan@localhost',
    'jan@-voorbeeld.nl',
    'jan..jansen@voorbeeld.nl',
    '.jan@voorbeeld.nl',
    'jan@voorbeeld..nl',
    'jan@voorbeeld.nl.',
    '"quoted"@voorbeeld.nl',
    `${'a'.repeat(65)}@voorbeeld.nl`,
    `a@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(60)}.nl`,
    'jan@voorbeeld.nl\r\nBcc: x@y.nl',
  ])('refuses %j with a reason', (input) => {
    const result = normaliseEmail(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason.length).toBeGreaterThan(10);
  });

  it('accepts a local part of exactly 64 characters and refuses addresses over 254', () => {
    expect(normaliseEmail(`${'a'.repeat(64)}@voorbeeld.nl`).ok).toBe(true);
    const long = `${'a'.repeat(64)}@${'b'.repeat(62)}.${'c'.repeat(62)}.${'d'.repeat(62)}.nl`;
    expect(long.length).toBeGreaterThan(254);
    expect(normaliseEmail(long).ok).toBe(false);
  });

  const localPart = fc.stringMatching(/^[a-zA-Z0-9_+-]{1,20}(\.[a-zA-Z0-9_+-]{1,10}){0,2}$/);
  const domain = fc
    .tuple(fc.stringMatching(/^[a-z0-9]{1,15}$/), fc.constantFrom('nl', 'org', 'com', 'eu'))
    .map(([l, t]) => `${l}.${t}`);

  it('is idempotent, and only trims and lower-cases the domain (property)', () => {
    fc.assert(
      fc.property(
        localPart,
        domain,
        fc.constantFrom('', ' ', '\t'),
        fc.boolean(),
        (local, dom, pad, upper) => {
          const input = `${pad}${local}@${upper ? dom.toUpperCase() : dom}${pad}`;
          const first = normaliseEmail(input);
          expect(first).toEqual({ ok: true, email: `${local}@${dom}` });
          if (first.ok) expect(normaliseEmail(first.email)).toEqual(first);
        },
      ),
    );
  });

  it('never accepts anything with a line break, angle bracket or second @-separated list (property)', () => {
    fc.assert(
      fc.property(
        localPart,
        domain,
        fc.constantFrom('\n', '\r', '<', '>', ',', ';', ' '),
        fc.nat(30),
        (local, dom, bad, at) => {
          const address = `${local}@${dom}`;
          // Inside the address (leading whitespace is trimmed, which is right).
          const position = 1 + (at % address.length);
          const input = `${address.slice(0, position)}${bad}${address.slice(position)}x`;
          expect(normaliseEmail(input).ok).toBe(false);
        },
      ),
    );
  });
});
