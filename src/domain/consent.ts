import type { DbOrTx } from '../db/connection.js';
import type { ConsentKind, LawfulBasis } from '../db/schema.js';
import type { FieldError } from './errors.js';

/** Where a consent event came from, as evidence: a form URL, an import id, an API token id. */
export interface ConsentEvidence {
  source: string;
  /** Already hashed or truncated: never a raw IP address. */
  ipHash?: string | null;
  userAgent?: string | null;
}

/** Appends to the consent ledger (a trigger refuses updates; rows go only with their subscriber). */
export async function recordConsent(
  db: DbOrTx,
  subscriberId: string,
  kind: ConsentKind,
  evidence: ConsentEvidence,
  extra: {
    consentVersion?: string | null;
    lawfulBasis?: LawfulBasis | null;
    details?: Record<string, unknown>;
  } = {},
): Promise<void> {
  await db
    .insertInto('consent_events')
    .values({
      subscriber_id: subscriberId,
      kind,
      consent_version: extra.consentVersion ?? null,
      lawful_basis: extra.lawfulBasis ?? null,
      source: evidence.source.slice(0, 500),
      details: JSON.stringify(extra.details ?? {}),
      ip_hash: evidence.ipHash ?? null,
      user_agent: evidence.userAgent?.slice(0, 300) ?? null,
    })
    .execute();
}

export function consentHistory(db: DbOrTx, subscriberId: string) {
  return db
    .selectFrom('consent_events')
    .select([
      'id',
      'kind',
      'consent_version',
      'lawful_basis',
      'source',
      'details',
      'ip_hash',
      'user_agent',
      'at',
    ])
    .where('subscriber_id', '=', subscriberId)
    .orderBy('id')
    .execute();
}

export async function currentConsentText(db: DbOrTx) {
  return db
    .selectFrom('consent_texts')
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirstOrThrow();
}

/** The field error for a consent text version that does not exist (any more). */
export const UNKNOWN_CONSENT_VERSION_FIELD: FieldError = {
  field: 'consentVersion',
  message: 'Onbekende versie van de toestemmingstekst; herlaad het formulier.',
};
