import { z } from 'zod';

/**
 * Every URL a person types into thuispost (API or admin form) and every stored URL that goes into
 * an attribute (href, src, og:image) passes through here: one rule per use, the same at input
 * and at render time.
 *
 * - `image`: an image our own pages show in <img> (edition image blocks, on the web version and in
 *   the email). Only https: the public pages' CSP allows `img-src 'self' data: https:`, so an http
 *   image would be blocked on the web version (and is mixed content besides).
 * - `fetchedImage`: an image only fetched by a server, never shown under our CSP: the share image
 *   (og:image, read by crawlers) and LinkedIn thumbnails (fetched by our SSRF-guarded
 *   providers/image-fetch.ts). https or http.
 * - `web`: a link to a web page where nothing else makes sense (a LinkedIn post's link, a link
 *   document). https or http.
 * - `link`: a link in edition content (button, link list, image link, inline link): https, http or
 *   mailto.
 *
 * What is refused, whatever the use: any other scheme (javascript:, data:, vbscript:, file:, …, in
 * any case and after any leading spaces or control characters, since browsers strip those), URLs
 * without a scheme (`//host`, `/path`), `https:host` without the slashes (which a browser on an
 * https page reads as a relative path), user names and passwords in the address, control
 * characters anywhere, an empty host, more than 2,000 characters.
 */
export type UrlUse = 'image' | 'fetchedImage' | 'web' | 'link';

const MAX_LENGTH = 2000;

const SCHEMES: Record<UrlUse, readonly string[]> = {
  image: ['https:'],
  fetchedImage: ['https:', 'http:'],
  web: ['https:', 'http:'],
  link: ['https:', 'http:', 'mailto:'],
};

/** The Dutch messages of the forms (the API gives the same ones). */
export const URL_MESSAGES: Record<UrlUse, string> = {
  image: 'Gebruik een volledig webadres dat begint met https:// (afbeeldingen alleen via https).',
  fetchedImage: 'Gebruik een volledig webadres van een afbeelding dat begint met https:// (of http://).',
  web: 'Gebruik een volledig webadres dat begint met https:// (of http://).',
  link: 'Gebruik een volledig webadres dat begint met https:// (of http://), of een mailto:-adres.',
};

// C0 controls, DEL and the C1 controls: never part of an address someone means to type.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Whether `value` is an acceptable URL for `use` (see above). */
export function isAllowedUrl(value: unknown, use: UrlUse): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH) return false;
  if (CONTROL.test(value) || value.trim() !== value) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (!SCHEMES[use].includes(url.protocol)) return false;
  if (url.protocol === 'mailto:') return /^mailto:[^\s@/]+@[^\s@/]+/i.test(value);
  // The text itself must name the scheme with its slashes: "https:host" is a relative path to a
  // browser on an https page, and "HTTPS://" is fine.
  if (!/^https?:\/\//i.test(value)) return false;
  return url.hostname !== '' && url.username === '' && url.password === '';
}

/** At render time: the stored URL when it is acceptable for `use`, else null (leave it out). */
export function safeUrl(value: string | null | undefined, use: UrlUse): string | null {
  return isAllowedUrl(value, use) ? value : null;
}

/**
 * The zod field for a URL input: trimmed, then checked for `use`, with the Dutch message of the
 * forms. `message` replaces it where a form words it differently.
 */
export function urlField(use: UrlUse, message = URL_MESSAGES[use]) {
  return z
    .string()
    .trim()
    .max(MAX_LENGTH, `Een webadres is hoogstens ${MAX_LENGTH} tekens lang.`)
    .refine((value) => isAllowedUrl(value, use), message);
}
