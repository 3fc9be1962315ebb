import { z } from 'zod';
import type { DbOrTx } from '../db/connection.js';
import { hasControlCharacter } from './email-address.js';
import { patchSchema } from './patch-schema.js';
import { urlField } from './urls.js';

/** Programme settings with their defaults; stored rows override them key by key. */
export const settingsSchema = z.object({
  /** One line: it is part of email subjects, where a line break would start a header of its own. */
  programmeName: z
    .string()
    .trim()
    .min(1)
    .max(120)
    .refine((value) => !hasControlCharacter(value), 'De naam past op één regel, zonder stuurtekens.')
    .default('Thuispost'),
  programmeDescription: z
    .string()
    .trim()
    .max(2000)
    .default('Nieuws, artikelen en documenten van ons programma, rechtstreeks in je mailbox.'),
  /** Postal address, required in every bulk email footer. */
  postalAddress: z.string().trim().max(300).default('Voorbeeldstraat 1, 1234 AB Voorbeeldstad'),
  contactEmail: z.string().trim().max(254).default('info@voorbeeld.test'),
  /** Four-eyes rule for editions: the approver must not be the last editor. */
  requireSecondApprover: z.boolean().default(true),
  /**
   * The LinkedIn announcement of a sent edition (see domain/linkedin.ts). Placeholders: {titel},
   * {onderwerp}, {samenvatting} (the preheader) and {link} (the web version).
   */
  linkedinAnnouncementTemplate: z
    .string()
    .trim()
    .min(1)
    .max(3000)
    .default('Nieuwe nieuwsbrief: {titel}\n\n{samenvatting}\n\nLees de hele nieuwsbrief online: {link}'),
  /** Announcements wait as drafts until an editor approves them; off: they go out right after the send. */
  linkedinAnnouncementNeedsApproval: z.boolean().default(false),
  /** Thumbnail for posts without an image of their own; none either: the post goes without a thumbnail. */
  linkedinDefaultImageUrl: urlField('fetchedImage').nullable().default(null),
  /** The programme description in English, for the public site with ?lang=en; empty: the Dutch one is shown. */
  programmeDescriptionEn: z.string().trim().max(2000).default(''),
  /** Image for link previews (OpenGraph) of public pages without an image of their own; absolute URL. */
  siteImageUrl: urlField('fetchedImage').nullable().default(null),
});

export type Settings = z.infer<typeof settingsSchema>;

export async function getSettings(db: DbOrTx): Promise<Settings> {
  const rows = await db.selectFrom('settings').select(['key', 'value']).execute();
  const stored = Object.fromEntries(rows.map((row) => [row.key, row.value]));
  const parsed = settingsSchema.safeParse(stored);
  // A stored value that no longer fits the schema falls back to its default instead of failing pages.
  if (parsed.success) return parsed.data;
  const valid = Object.fromEntries(
    Object.entries(stored).filter(([key, value]) => {
      const field = settingsSchema.shape[key as keyof Settings];
      return field ? field.safeParse(value).success : false;
    }),
  );
  return settingsSchema.parse(valid);
}

export async function updateSettings(db: DbOrTx, changes: Partial<Settings>): Promise<Settings> {
  const entries = Object.entries(patchSchema(settingsSchema).parse(changes)).filter(
    ([, value]) => value !== undefined,
  );
  for (const [key, value] of entries) {
    await db
      .insertInto('settings')
      .values({ key, value: JSON.stringify(value) })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({ value: JSON.stringify(value), updated_at: new Date() }),
      )
      .execute();
  }
  return getSettings(db);
}
