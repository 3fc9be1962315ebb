import { sha256 } from '../infra/crypto.js';

export type NormalisedEmail = { ok: true; email: string } | { ok: false; reason: string };

// RFC 5322 dot-atom characters of a local part; quoted local parts are refused (no real use here).
const LOCAL_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * One address, normalised: trimmed, domain lower-cased and converted to punycode. Refuses display
 * names ("Jan <jan@…>"), lists, whitespace inside, a local part over 64 or an address over 254
 * characters. Messages are Dutch: they reach the person who typed the address.
 */
export function normaliseEmail(input: string): NormalisedEmail {
  const value = input.trim();
  if (value === '') return { ok: false, reason: 'Vul een e-mailadres in.' };
  if (/[\s<>,;"()[\]\\]/.test(value) || hasControlCharacter(value)) {
    return {
      ok: false,
      reason: 'Vul één e-mailadres in, zonder naam of spaties (bijvoorbeeld naam@voorbeeld.nl).',
    };
  }
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1)
    return { ok: false, reason: 'Een e-mailadres heeft de vorm naam@voorbeeld.nl.' };
  const local = value.slice(0, at);
  const rawDomain = value.slice(at + 1);
  if (local.length > 64)
    return { ok: false, reason: 'Het deel vóór de @ mag hoogstens 64 tekens lang zijn.' };
  if (!LOCAL_ATOM.test(local))
    return { ok: false, reason: 'Het deel vóór de @ bevat tekens die niet in een e-mailadres passen.' };
  const domain = toAsciiDomain(rawDomain);
  if (!domain) return { ok: false, reason: 'Het domein na de @ is ongeldig.' };
  const email = `${local}@${domain}`;
  if (email.length > 254) return { ok: false, reason: 'Een e-mailadres mag hoogstens 254 tekens lang zijn.' };
  return { ok: true, email };
}

/** A line break, NUL or other control character: never in an address or any text that becomes a header. */
export function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function toAsciiDomain(domain: string): string | null {
  if (domain.includes('@') || domain.endsWith('.') || domain.startsWith('.')) return null;
  let ascii: string;
  try {
    // The WHATWG URL parser applies IDNA (UTS #46): lower-cases and converts to punycode.
    ascii = new URL(`http://${domain}`).hostname;
  } catch {
    return null;
  }
  const labels = ascii.split('.');
  if (ascii.length > 253 || labels.length < 2) return null;
  if (!labels.every((label) => DOMAIN_LABEL.test(label))) return null;
  const tld = labels[labels.length - 1]!;
  if (!/^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/.test(tld)) return null;
  return ascii;
}

/** The key of the suppression list: a hash, so suppressing keeps no address. */
export function emailHash(normalisedEmail: string): string {
  return sha256(`suppression:${normalisedEmail.toLowerCase()}`);
}
