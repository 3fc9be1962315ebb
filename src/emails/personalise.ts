import type { Locale } from '../db/schema.js';
import { fillGaps, type GappedText, type SharedEmailContent } from '../providers/mailer.js';
import { PLACEHOLDERS } from './Edition.js';
import { emailStrings } from './strings.js';

export interface RecipientValues {
  locale: Locale;
  name: string | null;
  preferencesUrl: string;
  unsubscribeUrl: string;
}

type Slot = keyof typeof PLACEHOLDERS;

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

const SLOT_BY_MARKER = new Map<string, Slot>(
  Object.entries(PLACEHOLDERS).map(([slot, marker]) => [marker, slot as Slot]),
);
// One capturing group: String.prototype.split then keeps the markers between the parts.
const MARKERS = new RegExp(
  `(${[...SLOT_BY_MARKER.keys()].map((marker) => marker.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})`,
);

/** Cuts a pre-rendered text at its per-recipient markers, in one pass. */
export function splitAtMarkers(rendered: string): GappedText {
  const pieces = rendered.split(MARKERS);
  return {
    parts: pieces.filter((_, index) => index % 2 === 0),
    slots: pieces.filter((_, index) => index % 2 === 1).map((marker) => SLOT_BY_MARKER.get(marker)!),
  };
}

/** A rendered edition (one locale) as the shared content of a batch's emails. */
export function personalisable(
  rendered: { subject: string; html: string; text: string },
  from: string,
): SharedEmailContent {
  return {
    from,
    subject: rendered.subject,
    html: splitAtMarkers(rendered.html),
    text: splitAtMarkers(rendered.text),
  };
}

/** One recipient's values for the markers: HTML-escaped for the HTML, as-is for the text. */
export function recipientGapValues(values: RecipientValues): {
  html: Record<Slot, string>;
  text: Record<Slot, string>;
} {
  const text: Record<Slot, string> = {
    greeting: emailStrings(values.locale).greeting(values.name),
    preferencesUrl: values.preferencesUrl,
    unsubscribeUrl: values.unsubscribeUrl,
  };
  return {
    text,
    html: {
      greeting: escapeHtml(text.greeting),
      preferencesUrl: escapeHtml(text.preferencesUrl),
      unsubscribeUrl: escapeHtml(text.unsubscribeUrl),
    },
  };
}

/**
 * Fills the per-recipient markers of a pre-rendered edition: HTML-escaped in the HTML, as-is in
 * the text. Cheap string replacement instead of a React render per recipient.
 */
export function personalise(
  rendered: { html: string; text: string },
  values: RecipientValues,
): { html: string; text: string } {
  const gapValues = recipientGapValues(values);
  return {
    html: fillGaps(splitAtMarkers(rendered.html), gapValues.html),
    text: fillGaps(splitAtMarkers(rendered.text), gapValues.text),
  };
}
