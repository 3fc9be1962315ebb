import type { Locale } from '../db/schema.js';
import { PLACEHOLDERS } from './Edition.js';
import { emailStrings } from './strings.js';

export interface RecipientValues {
  locale: Locale;
  name: string | null;
  preferencesUrl: string;
  unsubscribeUrl: string;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

/**
 * Fills the per-recipient markers of a pre-rendered edition: HTML-escaped in the HTML, as-is in
 * the text. Cheap string replacement instead of a React render per recipient.
 */
export function personalise(
  rendered: { html: string; text: string },
  values: RecipientValues,
): { html: string; text: string } {
  const greeting = emailStrings(values.locale).greeting(values.name);
  const replacements: [string, string][] = [
    [PLACEHOLDERS.preferencesUrl, values.preferencesUrl],
    [PLACEHOLDERS.unsubscribeUrl, values.unsubscribeUrl],
    [PLACEHOLDERS.greeting, greeting],
  ];
  let { html, text } = rendered;
  for (const [marker, value] of replacements) {
    html = html.replaceAll(marker, escapeHtml(value));
    text = text.replaceAll(marker, value);
  }
  return { html, text };
}
