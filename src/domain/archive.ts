import type { DbOrTx } from '../db/connection.js';
import type { Locale } from '../db/schema.js';
import { type Block, renderableBlocks } from './edition-content.js';
import { isAllowedUrl } from './urls.js';

/**
 * The public newsletter archive: only editions that were sent (status `sent`), by send time.
 * Drafts, scheduled, cancelled or failed editions never show, whatever their slug.
 */

export interface ArchivedEdition {
  id: string;
  slug: string;
  title: string;
  preheader: string;
  locale: Locale;
  imageUrl: string | null;
  sentAt: Date;
  updatedAt: Date;
}

function sentEditions(db: DbOrTx) {
  return db
    .selectFrom('editions')
    .select(['id', 'slug', 'title', 'preheader', 'locale', 'image_url', 'sent_at', 'updated_at'])
    .where('status', '=', 'sent')
    .where('sent_at', 'is not', null);
}

function toArchived(row: {
  id: string;
  slug: string;
  title: string;
  preheader: string;
  locale: Locale;
  image_url: string | null;
  sent_at: Date | null;
  updated_at: Date;
}): ArchivedEdition {
  return {
    id: row.id,
    slug: row.slug,
    title: row.title,
    preheader: row.preheader,
    locale: row.locale,
    imageUrl: row.image_url,
    sentAt: row.sent_at!,
    updatedAt: row.updated_at,
  };
}

/** Every sent edition, newest first (optionally only the latest `limit`). */
export async function listSentEditions(
  db: DbOrTx,
  options: { limit?: number } = {},
): Promise<ArchivedEdition[]> {
  const rows = await sentEditions(db)
    .orderBy('sent_at', 'desc')
    .orderBy('id', 'desc')
    .$if(options.limit !== undefined, (q) => q.limit(options.limit!))
    .execute();
  return rows.map(toArchived);
}

/** The year of a moment in the programme's time zone (an edition sent at 00:30 on 1 January belongs to the new year). */
export function amsterdamYear(date: Date): number {
  return Number(amsterdamYearFormat.format(date));
}

const amsterdamYearFormat = new Intl.DateTimeFormat('en-GB', {
  year: 'numeric',
  timeZone: 'Europe/Amsterdam',
});

/** Sent editions grouped by year (Europe/Amsterdam), newest year and edition first. */
export async function sentEditionsByYear(
  db: DbOrTx,
): Promise<{ year: number; editions: ArchivedEdition[] }[]> {
  const groups: { year: number; editions: ArchivedEdition[] }[] = [];
  for (const edition of await listSentEditions(db)) {
    const year = amsterdamYear(edition.sentAt);
    const last = groups.at(-1);
    if (last && last.year === year) last.editions.push(edition);
    else groups.push({ year, editions: [edition] });
  }
  return groups;
}

export interface WebEdition extends ArchivedEdition {
  blocks: Block[];
}

/**
 * The web version of a sent edition, or null when there is no sent edition with this slug.
 * Blocks that no longer fit the schema are left out rather than failing the page.
 */
export async function getSentEdition(db: DbOrTx, slug: string): Promise<WebEdition | null> {
  const row = await db
    .selectFrom('editions')
    .select(['id', 'slug', 'title', 'preheader', 'locale', 'image_url', 'sent_at', 'updated_at', 'blocks'])
    .where('status', '=', 'sent')
    .where('sent_at', 'is not', null)
    .where('slug', '=', slug)
    .executeTakeFirst();
  if (!row) return null;
  return { ...toArchived(row), blocks: renderableBlocks(row.blocks) };
}

/**
 * The image for link previews (the public site, the LinkedIn announcement): the edition's own
 * (share image), else its first image block on the web.
 */
export function editionImage(edition: {
  imageUrl: string | null;
  blocks: readonly Block[];
}): { url: string; alt: string | null } | null {
  if (edition.imageUrl) return { url: edition.imageUrl, alt: null };
  for (const block of edition.blocks)
    if (block.type === 'image' && isAllowedUrl(block.url, 'image')) return { url: block.url, alt: block.alt };
  return null;
}
