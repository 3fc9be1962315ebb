import type {
  ConsentKind,
  ImportStatus,
  LawfulBasis,
  SubscriberSource,
  SubscriberStatus,
} from '../../db/schema.js';

/** Dutch words for the subscriber area's states, shown as text (never by colour alone). */

export const STATUS_LABELS: Record<SubscriberStatus, string> = {
  pending: 'Wacht op bevestiging',
  active: 'Actief',
  unsubscribed: 'Afgemeld',
  bounced: 'Onbestelbaar',
  complained: 'Klacht (spam)',
};

export const SOURCE_LABELS: Record<SubscriberSource, string> = {
  form: 'Aanmeldformulier',
  import: 'Import',
  api: 'API',
  editor: 'Redactie',
};

export const LAWFUL_BASIS_LABELS: Record<LawfulBasis, string> = {
  consent: 'Toestemming',
  legitimate_interest: 'Gerechtvaardigd belang',
  contract: 'Overeenkomst',
  public_task: 'Taak van algemeen belang',
};

export const CONSENT_KIND_LABELS: Record<ConsentKind, string> = {
  given: 'Toestemming gegeven',
  confirmed: 'Bevestigd',
  changed: 'Gewijzigd',
  withdrawn: 'Ingetrokken',
  imported: 'Toegevoegd met rechtsgrond',
};

export const IMPORT_STATUS_LABELS: Record<ImportStatus, string> = {
  queued: 'In de wachtrij',
  running: 'Bezig',
  done: 'Klaar',
  failed: 'Mislukt',
};

export const LOCALE_LABELS = { nl: 'Nederlands', en: 'Engels' } as const;
