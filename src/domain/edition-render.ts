import type { DbOrTx } from '../db/connection.js';
import type { Locale } from '../db/schema.js';
import { renderEdition } from '../emails/render-edition.js';
import { renderableBlocks } from './edition-content.js';
import type { EditionView } from './editions.js';
import { getSettings } from './settings.js';

const LOCALES: Locale[] = ['nl', 'en'];

export function webVersionUrl(publicBaseUrl: string, slug: string): string {
  return `${publicBaseUrl}/nieuwsbrieven/${encodeURIComponent(slug)}`;
}

/**
 * Renders the edition once per reader locale (or only the `locales` asked for), with
 * per-recipient markers (see emails/personalise.ts).
 */
export async function renderEditionLocales(
  db: DbOrTx,
  edition: EditionView,
  publicBaseUrl: string,
  options: { test?: boolean; locales?: Locale[] } = {},
) {
  const settings = await getSettings(db);
  const topic = await db
    .selectFrom('edition_topics')
    .innerJoin('topics', 'topics.id', 'edition_topics.topic_id')
    .select(['topics.name_nl', 'topics.name_en'])
    .where('edition_topics.edition_id', '=', edition.id)
    .orderBy('topics.position')
    .executeTakeFirst();
  const blocks = renderableBlocks(edition.blocks);
  const renders = await Promise.all(
    (options.locales ?? LOCALES).map(async (locale) => ({
      locale,
      ...(await renderEdition({
        readerLocale: locale,
        contentLocale: edition.locale,
        title: edition.title,
        subject: edition.subject,
        preheader: edition.preheader,
        blocks,
        webVersionUrl: webVersionUrl(publicBaseUrl, edition.slug),
        topicName: topic ? (locale === 'en' ? topic.name_en : topic.name_nl) : null,
        programmeName: settings.programmeName,
        postalAddress: settings.postalAddress,
        contactEmail: settings.contactEmail,
        test: options.test,
      })),
    })),
  );
  return renders;
}
