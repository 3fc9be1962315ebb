/**
 * LinkedIn's "little text" format (commentary of a post): these characters are markup and must be
 * escaped with a backslash, or LinkedIn silently cuts the post at the first unescaped one.
 */
export const RESERVED = new Set(['\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_', '~']);
/** The most characters a post's commentary may have (counted after escaping). */
export const MAX_COMMENTARY = 3000;
const ELLIPSIS = '…';

export function escapeLittleText(text: string): string {
  let out = '';
  for (const ch of text) out += RESERVED.has(ch) ? `\\${ch}` : ch;
  return out;
}

export function unescapeLittleText(escaped: string): string {
  let out = '';
  for (let i = 0; i < escaped.length; i++) {
    const ch = escaped[i]!;
    const next = escaped[i + 1];
    if (ch === '\\' && next !== undefined && RESERVED.has(next)) {
      out += next;
      i++;
    } else {
      out += ch;
    }
  }
  return out;
}

/** True when every reserved character in `escaped` is preceded by an escaping backslash. */
export function isProperlyEscaped(escaped: string): boolean {
  for (let i = 0; i < escaped.length; i++) {
    const ch = escaped[i]!;
    if (ch === '\\') {
      if (!RESERVED.has(escaped[i + 1] ?? '')) return false;
      i++;
    } else if (RESERVED.has(ch)) {
      return false;
    }
  }
  return true;
}

/** How long the whole text is once escaped (before any cut): over MAX_COMMENTARY it gets cut. */
export function escapedLength(text: string): number {
  return escapeLittleText(normaliseCommentary(text)).length;
}

function normaliseCommentary(text: string): string {
  return text.replace(/\r\n?/g, '\n').trim();
}

/**
 * The commentary as sent: escaped, and within `max` characters (UTF-16 code units, which is never
 * fewer than LinkedIn's count). Too long: cut on a word boundary (never inside an escape or a
 * surrogate pair) and end with an ellipsis; a single word longer than the limit is cut hard.
 */
export function composeCommentary(text: string, max = MAX_COMMENTARY): string {
  const normalised = normaliseCommentary(text);
  const escaped = escapeLittleText(normalised);
  if (escaped.length <= max) return escaped;
  const budget = max - ELLIPSIS.length;
  let length = 0;
  let hardCut = 0;
  let wordCut = -1;
  let index = 0;
  for (const ch of normalised) {
    const size = RESERVED.has(ch) ? ch.length + 1 : ch.length;
    if (length + size > budget) break;
    if (/\s/.test(ch)) wordCut = index;
    length += size;
    index += ch.length;
    hardCut = index;
  }
  const cut = wordCut > 0 ? wordCut : hardCut;
  return escapeLittleText(normalised.slice(0, cut).trimEnd()) + ELLIPSIS;
}
