import { z } from 'zod';
import { isAllowedUrl, urlField } from './urls.js';

/**
 * The structured content of an edition. Text fields allow a small, safe subset of markdown
 * (**bold**, *italic*, [link](https://…)); nothing else is ever interpreted as markup.
 */
// Images are shown on the web version under its CSP (img-src https:): https only. Links may also
// be http or mailto (see urls.ts).
const imageUrl = urlField('image');
const linkUrl = urlField('link');

const text = (max: number) => z.string().trim().min(1, 'Vul dit veld in.').max(max);

export const blockSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('heading'),
    text: text(200),
    level: z.union([z.literal(2), z.literal(3)]).default(2),
  }),
  z.object({ type: z.literal('paragraph'), text: text(5000) }),
  z.object({
    type: z.literal('image'),
    url: imageUrl,
    alt: z.string().trim().min(1, 'Beschrijf de afbeelding (alt-tekst) voor wie haar niet ziet.').max(300),
    width: z.number().int().min(40).max(600).optional(),
    href: linkUrl.optional(),
  }),
  z.object({ type: z.literal('button'), label: text(80), url: linkUrl }),
  z.object({ type: z.literal('divider') }),
  z.object({
    type: z.literal('links'),
    heading: z.string().trim().max(200).optional(),
    items: z
      .array(z.object({ title: text(200), summary: z.string().trim().max(1000).optional(), url: linkUrl }))
      .min(1, 'Voeg minstens één link toe.')
      .max(30),
  }),
]);

export type Block = z.infer<typeof blockSchema>;
export const blocksSchema = z.array(blockSchema).max(200);

/**
 * Stored blocks as they may be rendered: those that pass the schema today. A block stored before a
 * rule was tightened (an http image, once allowed) or written past the API (a javascript: link) is
 * left out rather than rendered, or than failing the whole page or send. Saving the edition in the
 * editor names what is wrong with it.
 */
export function renderableBlocks(stored: unknown): Block[] {
  if (!Array.isArray(stored)) return [];
  const blocks: Block[] = [];
  for (const raw of stored.slice(0, 200)) {
    const parsed = blockSchema.safeParse(raw);
    if (parsed.success) blocks.push(parsed.data);
  }
  return blocks;
}

export type InlineSegment =
  | { kind: 'text'; text: string; bold?: boolean; italic?: boolean }
  | { kind: 'link'; text: string; url: string; bold?: boolean; italic?: boolean };

const INLINE = /\*\*(.+?)\*\*|\*(.+?)\*|\[([^\]]+)\]\(([^)\s]+)\)/g;

/**
 * Parses the markdown subset into plain segments (never HTML): templates render them as
 * elements, so any other character is just text and is escaped by React.
 */
export function parseInline(
  source: string,
  inherited: { bold?: boolean; italic?: boolean } = {},
): InlineSegment[] {
  const segments: InlineSegment[] = [];
  let last = 0;
  for (const match of source.matchAll(INLINE)) {
    if (match.index > last)
      segments.push({ kind: 'text', text: source.slice(last, match.index), ...inherited });
    const [, bold, italic, linkText, url] = match;
    if (bold !== undefined) segments.push(...parseInline(bold, { ...inherited, bold: true }));
    else if (italic !== undefined) segments.push(...parseInline(italic, { ...inherited, italic: true }));
    else if (linkText !== undefined && url !== undefined) {
      segments.push(
        isAllowedUrl(url, 'link')
          ? { kind: 'link', text: linkText, url, ...inherited }
          : { kind: 'text', text: match[0], ...inherited },
      );
    }
    last = match.index + match[0].length;
  }
  if (last < source.length) segments.push({ kind: 'text', text: source.slice(last), ...inherited });
  return segments;
}

/** Plain text of the segments, links as "text (url)", for text emails and previews. */
export function inlineToText(segments: InlineSegment[]): string {
  return segments
    .map((s) => (s.kind === 'link' && s.url !== s.text ? `${s.text} (${s.url})` : s.text))
    .join('');
}
