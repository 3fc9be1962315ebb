import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blockSchema, inlineToText, parseInline } from '../../src/domain/edition-content.js';

describe('parseInline', () => {
  it('parses bold, italic and links, and nests them', () => {
    expect(
      parseInline('Lees **het rapport** over *wonen* en [de folder](https://voorbeeld.test/folder.pdf).'),
    ).toEqual([
      { kind: 'text', text: 'Lees ' },
      { kind: 'text', text: 'het rapport', bold: true },
      { kind: 'text', text: ' over ' },
      { kind: 'text', text: 'wonen', italic: true },
      { kind: 'text', text: ' en ' },
      { kind: 'link', text: 'de folder', url: 'https://voorbeeld.test/folder.pdf' },
      { kind: 'text', text: '.' },
    ]);
    expect(parseInline('**[vet](https://voorbeeld.test)**')).toEqual([
      { kind: 'link', text: 'vet', url: 'https://voorbeeld.test', bold: true },
    ]);
  });

  it('keeps javascript: and other schemes as plain text', () => {
    const segments = parseInline('[klik](javascript:alert(1))');
    expect(segments.every((s) => s.kind === 'text')).toBe(true);
    expect(inlineToText(segments)).toContain('javascript:alert');
  });

  it('never loses or invents text outside the markup (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }).filter((s) => !/[*[\]()]/.test(s)),
        (plain) => {
          expect(inlineToText(parseInline(plain))).toBe(plain);
        },
      ),
    );
  });
});

describe('blockSchema', () => {
  it('requires alt text on images and https-like URLs', () => {
    expect(
      blockSchema.safeParse({ type: 'image', url: 'https://voorbeeld.test/a.png', alt: '' }).success,
    ).toBe(false);
    expect(blockSchema.safeParse({ type: 'image', url: 'javascript:alert(1)', alt: 'x' }).success).toBe(
      false,
    );
    expect(
      blockSchema.safeParse({ type: 'button', label: 'Lees', url: 'https://voorbeeld.test' }).success,
    ).toBe(true);
    expect(blockSchema.safeParse({ type: 'script', text: 'x' }).success).toBe(false);
  });
});
