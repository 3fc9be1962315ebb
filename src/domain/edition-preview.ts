import type { Db, DbOrTx } from '../db/connection.js';
import type { Locale } from '../db/schema.js';
import { personalise } from '../emails/personalise.js';
import type { Clock } from '../providers/clock.js';
import { audit } from './audit.js';
import type { Principal } from './auth.js';
import { renderEditionLocales } from './edition-render.js';
import { type EditionView, getEdition } from './editions.js';
import { queueEmail } from './emails.js';
import { hit } from './rate-limits.js';
import { parseEmailOrThrow } from './subscribers.js';

/** At most this many addresses per test send, and this many test sends per editor per hour. */
export const TEST_SEND_MAX_ADDRESSES = 10;
export const TEST_SENDS_PER_HOUR = 30;

/** Previews and tests show working-looking personal links that lead nowhere personal. */
function sampleRecipient(locale: Locale, publicBaseUrl: string) {
  return {
    locale,
    name: null,
    preferencesUrl: `${publicBaseUrl}/subscribe`,
    unsubscribeUrl: `${publicBaseUrl}/subscribe`,
  };
}

/** The email as a reader in `locale` would get it, with sample personal links. */
export async function previewEdition(
  db: DbOrTx,
  edition: EditionView,
  publicBaseUrl: string,
  locale: Locale,
  options: { test?: boolean } = {},
): Promise<{ subject: string; html: string; text: string }> {
  const [rendered] = await renderEditionLocales(db, edition, publicBaseUrl, {
    ...options,
    locales: [locale],
  });
  const filled = personalise(rendered!, sampleRecipient(locale, publicBaseUrl));
  return { subject: rendered!.subject, ...filled };
}

/**
 * Queues a marked test version to a few addresses (not counted as deliveries); rate-limited per
 * editor, recorded in the audit log. Returns how many were queued.
 */
export async function sendTestEdition(
  db: Db,
  clock: Clock,
  actor: Principal,
  editionId: string,
  input: { to: string[]; locale?: Locale | undefined },
  publicBaseUrl: string,
): Promise<number> {
  const addresses = input.to.map((address, index) => parseEmailOrThrow(address, `to.${index}`));
  await hit(
    db,
    clock,
    { key: `test-send:user:${actor.user.id}`, limit: TEST_SENDS_PER_HOUR, windowMs: 60 * 60 * 1000 },
    `At most ${TEST_SENDS_PER_HOUR} test sends per hour.`,
  );
  const edition = await getEdition(db, editionId);
  const email = await previewEdition(db, edition, publicBaseUrl, input.locale ?? edition.locale, {
    test: true,
  });
  await db.transaction().execute(async (tx) => {
    for (const to of addresses) {
      await queueEmail(tx, { kind: 'edition-test', to, ...email });
    }
    await audit(tx, actor, 'edition.test-send', `edition:${editionId}`, { count: addresses.length });
  });
  return addresses.length;
}
