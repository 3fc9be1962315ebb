import type { ColumnType, Generated, GeneratedAlways, Insertable, Selectable } from 'kysely';

/** Timestamps come back as Date and may be written as Date or ISO string. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T> = ColumnType<T, string | T, string | T>;

export type Role = 'admin' | 'editor' | 'viewer';

export interface UsersTable {
  id: GeneratedAlways<string>;
  email: string;
  name: Generated<string>;
  role: Role;
  password_hash: string;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
  disabled_at: Timestamp | null;
}

export interface SessionsTable {
  id_hash: string;
  user_id: string;
  csrf_token: string;
  created_at: DefaultedTimestamp;
  expires_at: Timestamp;
  user_agent: string | null;
}

export interface ApiTokensTable {
  id: GeneratedAlways<string>;
  user_id: string;
  name: string;
  role: Role;
  token_hash: string;
  prefix: string;
  created_at: DefaultedTimestamp;
  last_used_at: Timestamp | null;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface SetupTokensTable {
  token_hash: string;
  created_at: DefaultedTimestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

export interface OutboxTable {
  id: GeneratedAlways<string>;
  queue: string;
  job_name: string;
  job_id: string;
  payload: Json<Record<string, unknown>>;
  run_at: DefaultedTimestamp;
  created_at: DefaultedTimestamp;
  relayed_at: Timestamp | null;
  relay_attempts: Generated<number>;
  last_error: string | null;
}

export interface EmailsTable {
  id: GeneratedAlways<string>;
  kind: string;
  to_address: string;
  subject: string;
  html: string;
  text: string;
  headers: Json<Record<string, string>>;
  status: ColumnType<'queued' | 'sent' | 'failed', 'queued' | 'sent' | 'failed' | undefined>;
  provider_message_id: string | null;
  attempts: Generated<number>;
  last_error: string | null;
  created_at: DefaultedTimestamp;
  sent_at: Timestamp | null;
  /** Job id of the worker job that rendered this email (template emails only). */
  dedupe_key: string | null;
}

export interface DevMailboxTable {
  id: GeneratedAlways<string>;
  message_id: string;
  idempotency_key: string | null;
  from_address: string;
  to_addresses: string[];
  subject: string;
  html: string;
  text: string;
  headers: Json<Record<string, string>>;
  created_at: DefaultedTimestamp;
}

export interface RateLimitsTable {
  key: string;
  window_start: Timestamp;
  hits: number;
}

export interface LoginThrottlesTable {
  account_key: string;
  failures: number;
  next_attempt_at: Timestamp;
  updated_at: Timestamp;
}

export interface LoginKnownAddressesTable {
  account_key: string;
  address_key: string;
  last_success_at: Timestamp;
}

export interface AuditLogTable {
  id: GeneratedAlways<string>;
  at: DefaultedTimestamp;
  actor_user_id: string | null;
  actor_token_id: string | null;
  action: string;
  target: string | null;
  details: Json<Record<string, unknown>>;
}

export type Locale = 'nl' | 'en';
export type SubscriberStatus = 'pending' | 'active' | 'unsubscribed' | 'bounced' | 'complained';
export type SubscriberSource = 'form' | 'import' | 'api' | 'editor';
export type OrganisationKind = 'gemeente' | 'zorgaanbieder' | 'woningcorporatie' | 'overig';
export type ConsentKind = 'given' | 'confirmed' | 'changed' | 'withdrawn' | 'imported';
export type LawfulBasis = 'consent' | 'legitimate_interest' | 'contract' | 'public_task';
export type SuppressionReason = 'unsubscribed' | 'bounced' | 'complained' | 'erased' | 'manual';

export interface OrganisationsTable {
  id: GeneratedAlways<string>;
  name: string;
  kind: OrganisationKind;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface TopicsTable {
  id: GeneratedAlways<string>;
  slug: string;
  name_nl: string;
  name_en: string;
  description_nl: Generated<string>;
  description_en: Generated<string>;
  public: Generated<boolean>;
  position: Generated<number>;
  created_at: DefaultedTimestamp;
  archived_at: Timestamp | null;
}

export interface SubscribersTable {
  id: GeneratedAlways<string>;
  email: string;
  name: string | null;
  locale: ColumnType<Locale, Locale | undefined, Locale>;
  status: SubscriberStatus;
  source: SubscriberSource;
  organisation_id: string | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
  confirmed_at: Timestamp | null;
  unsubscribed_at: Timestamp | null;
  confirmation_sent_at: Timestamp | null;
  confirmation_count: Generated<number>;
}

export interface SubscriptionsTable {
  subscriber_id: string;
  topic_id: string;
  created_at: DefaultedTimestamp;
}

export interface ConsentTextsTable {
  version: string;
  text_nl: string;
  text_en: string;
  created_at: DefaultedTimestamp;
}

export interface ConsentEventsTable {
  id: GeneratedAlways<string>;
  subscriber_id: string;
  kind: ConsentKind;
  consent_version: string | null;
  lawful_basis: LawfulBasis | null;
  source: string;
  details: Json<Record<string, unknown>>;
  ip_hash: string | null;
  user_agent: string | null;
  at: DefaultedTimestamp;
}

export interface SuppressionsTable {
  email_hash: string;
  reason: SuppressionReason;
  source: string;
  created_at: DefaultedTimestamp;
}

export interface SettingsTable {
  key: string;
  value: Json<unknown>;
  updated_at: DefaultedTimestamp;
}

export type EditionStatus =
  | 'draft'
  | 'in_review'
  | 'approved'
  | 'scheduled'
  | 'sending'
  | 'sent'
  | 'paused'
  | 'cancelled'
  | 'failed';
export type DeliveryStatus =
  | 'queued'
  | 'sent'
  | 'delivered'
  | 'bounced'
  | 'soft_bounced'
  | 'complained'
  | 'failed'
  | 'suppressed'
  | 'cancelled';

export interface EditionsTable {
  id: GeneratedAlways<string>;
  title: string;
  subject: string;
  preheader: Generated<string>;
  slug: string;
  locale: ColumnType<Locale, Locale | undefined, Locale>;
  organisation_kinds: ColumnType<OrganisationKind[], OrganisationKind[] | undefined, OrganisationKind[]>;
  blocks: Json<unknown[]>;
  image_url: string | null;
  open_tracking: Generated<boolean>;
  status: ColumnType<EditionStatus, EditionStatus | undefined, EditionStatus>;
  send_at: Timestamp | null;
  schedule_version: Generated<number>;
  created_by: string | null;
  last_edited_by: string | null;
  approved_by: string | null;
  approved_at: Timestamp | null;
  sending_started_at: Timestamp | null;
  sent_at: Timestamp | null;
  paused_reason: string | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface EditionTopicsTable {
  edition_id: string;
  topic_id: string;
}

export interface EditionEventsTable {
  id: GeneratedAlways<string>;
  edition_id: string;
  actor_user_id: string | null;
  from_status: EditionStatus | null;
  to_status: EditionStatus;
  note: string | null;
  at: DefaultedTimestamp;
}

export interface EditionRendersTable {
  edition_id: string;
  locale: Locale;
  subject: string;
  html: string;
  text: string;
  rendered_at: DefaultedTimestamp;
}

export interface DeliveriesTable {
  id: GeneratedAlways<string>;
  edition_id: string;
  subscriber_id: string | null;
  email: string | null;
  locale: Locale;
  topic_id: string | null;
  batch_no: number;
  status: ColumnType<DeliveryStatus, DeliveryStatus | undefined, DeliveryStatus>;
  provider_message_id: string | null;
  error: string | null;
  sent_at: Timestamp | null;
  delivered_at: Timestamp | null;
  opened_at: Timestamp | null;
  updated_at: DefaultedTimestamp;
}

export interface DeliveryBatchesTable {
  edition_id: string;
  batch_no: number;
  status: ColumnType<
    'pending' | 'sent' | 'failed' | 'review' | 'cancelled',
    'pending' | undefined,
    'pending' | 'sent' | 'failed' | 'review' | 'cancelled'
  >;
  attempts: Generated<number>;
  first_attempt_at: Timestamp | null;
  last_attempt_at: Timestamp | null;
  sent_at: Timestamp | null;
  last_error: string | null;
  /** Refused as a whole once: sent one message at a time from then on, never as a batch again. */
  one_by_one: Generated<boolean>;
}

export interface ProviderEventsTable {
  svix_id: string;
  type: string;
  provider_message_id: string | null;
  payload: Json<Record<string, unknown>>;
  received_at: DefaultedTimestamp;
}

export interface LinkClicksTable {
  edition_id: string;
  url: string;
  clicks: number;
}

export type ImportStatus = 'queued' | 'running' | 'done' | 'failed';
export type ImportEncoding = 'utf-8' | 'windows-1252';
export type ImportSeparator = ',' | ';';

/** A CSV import of subscribers (see migrations/0016_imports.ts and domain/imports.ts). */
export interface ImportsTable {
  id: Generated<string>;
  status: ColumnType<ImportStatus, ImportStatus | undefined, ImportStatus>;
  dry_run: boolean;
  lawful_basis: LawfulBasis;
  default_topic_ids: ColumnType<string[], string[] | undefined, string[]>;
  default_locale: Locale | null;
  filename: string | null;
  size_bytes: ColumnType<string, number | string, number | string>;
  encoding: ImportEncoding;
  separator: ImportSeparator;
  ignored_columns: ColumnType<string[], string[] | undefined, string[]>;
  total: Generated<number>;
  processed: Generated<number>;
  created: Generated<number>;
  updated: Generated<number>;
  unchanged: Generated<number>;
  skipped: Generated<number>;
  errors: Generated<number>;
  organisations_created: Generated<number>;
  /** Incremented by each run of the import job; only the latest run may write. */
  run: Generated<number>;
  last_error: string | null;
  created_by: string | null;
  created_at: DefaultedTimestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
}

/** The uploaded file, in chunks of about 1 MB; deleted when the import has finished. */
export interface ImportFilesTable {
  import_id: string;
  chunk_no: number;
  data: ColumnType<Buffer, Uint8Array, never>;
}

/** The per-line report of an import: invalid, duplicate and skipped lines. */
export interface ImportErrorsTable {
  id: GeneratedAlways<string>;
  import_id: string;
  line: number;
  value: string;
  reason: string;
}

export type LinkedInConnectionStatus = 'pending' | 'active' | 'broken' | 'disconnected';
export type LinkedInPostKind = 'edition' | 'article' | 'document' | 'custom';
export type LinkedInPostStatus =
  | 'draft'
  | 'scheduled'
  | 'publishing'
  | 'published'
  | 'failed'
  | 'held'
  | 'cancelled';

/** The LinkedIn OAuth connection (see migrations/0024_linkedin_connections.ts); tokens encrypted. */
export interface LinkedInConnectionsTable {
  id: GeneratedAlways<string>;
  status: ColumnType<
    LinkedInConnectionStatus,
    LinkedInConnectionStatus | undefined,
    LinkedInConnectionStatus
  >;
  organization_id: string | null;
  organization_name: string | null;
  organizations: Json<{ id: string; name: string }[]>;
  access_token_enc: string | null;
  access_token_expires_at: Timestamp | null;
  refresh_token_enc: string | null;
  refresh_token_expires_at: Timestamp | null;
  scopes: Generated<string>;
  broken_reason: string | null;
  broken_at: Timestamp | null;
  last_refreshed_at: Timestamp | null;
  connected_by: string | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface LinkedInOauthStatesTable {
  nonce_hash: string;
  user_id: string;
  created_at: DefaultedTimestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

/** A LinkedIn post and its publishing state (see migrations/0025_linkedin_posts.ts). */
export interface LinkedInPostsTable {
  id: GeneratedAlways<string>;
  kind: LinkedInPostKind;
  edition_id: string | null;
  document_id: ColumnType<string | null, string | null | undefined, string | null>;
  commentary: string;
  link: string;
  title: string;
  description: string;
  image_url: string | null;
  scheduled_at: Timestamp | null;
  status: ColumnType<LinkedInPostStatus, LinkedInPostStatus | undefined, LinkedInPostStatus>;
  schedule_version: Generated<number>;
  post_urn: string | null;
  /** LinkedIn answered "duplicate of <post_urn>": published as that existing post (migrations/0038). */
  already_on_linkedin: Generated<boolean>;
  thumbnail_urn: string | null;
  dry_run: Generated<boolean>;
  attempts: Generated<number>;
  last_error: string | null;
  first_attempt_at: Timestamp | null;
  create_sent_at: Timestamp | null;
  sent_commentary: string | null;
  lease_job_id: string | null;
  lease_until: Timestamp | null;
  retry_at: Timestamp | null;
  published_at: Timestamp | null;
  created_by: string | null;
  approved_by: string | null;
  approved_at: Timestamp | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface LinkedInPostAttemptsTable {
  id: GeneratedAlways<string>;
  post_id: string;
  step: string;
  response_status: number | null;
  outcome: string;
  detail: string | null;
  dry_run: Generated<boolean>;
  at: DefaultedTimestamp;
}

export interface LinkedInDryRunFeedTable {
  id: GeneratedAlways<string>;
  post_id: string | null;
  post_urn: string;
  requests: Json<unknown[]>;
  created_at: DefaultedTimestamp;
}

/** LINKEDIN_ACCESS_TOKEN values LinkedIn refused, by SHA-256 (migrations/0033_linkedin_refused_env_tokens.ts). */
export interface LinkedInRefusedEnvTokensTable {
  fingerprint: string;
  reason: string;
  refused_at: DefaultedTimestamp;
}

export type DocumentKind = 'file' | 'link';
export type DocumentFormat = 'pdf' | 'docx' | 'xlsx' | 'pptx' | 'odt' | 'ods';

/** Categories of the public documents page (see migrations/0027_document_categories.ts). */
export interface DocumentCategoriesTable {
  id: GeneratedAlways<string>;
  slug: string;
  name_nl: string;
  name_en: string;
  position: Generated<number>;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

/** A document on the public site: an uploaded file or a link (see migrations/0028_documents.ts). */
export interface DocumentsTable {
  id: Generated<string>;
  category_id: string;
  kind: DocumentKind;
  title: string;
  slug: string;
  summary: Generated<string>;
  /** A Postgres `date`: select it as text (see domain/documents.ts), written as 'YYYY-MM-DD'. */
  document_date: ColumnType<string, string, string>;
  url: string | null;
  file_format: DocumentFormat | null;
  file_name: string | null;
  file_size: ColumnType<string | null, number | string | null, number | string | null>;
  file_sha256: string | null;
  published_at: Timestamp | null;
  /** When an editor asked for a LinkedIn post about it (outbox `announce-document-<id>`). */
  announced_at: Timestamp | null;
  created_by: string | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

/** The bytes of an uploaded document, in chunks of about 1 MB. */
export interface DocumentFilesTable {
  document_id: string;
  chunk_no: number;
  data: ColumnType<Buffer, Uint8Array, never>;
}

export interface Database {
  document_categories: DocumentCategoriesTable;
  documents: DocumentsTable;
  document_files: DocumentFilesTable;
  linkedin_connections: LinkedInConnectionsTable;
  linkedin_oauth_states: LinkedInOauthStatesTable;
  linkedin_posts: LinkedInPostsTable;
  linkedin_post_attempts: LinkedInPostAttemptsTable;
  linkedin_dry_run_feed: LinkedInDryRunFeedTable;
  linkedin_refused_env_tokens: LinkedInRefusedEnvTokensTable;
  imports: ImportsTable;
  import_files: ImportFilesTable;
  import_errors: ImportErrorsTable;
  editions: EditionsTable;
  edition_topics: EditionTopicsTable;
  edition_events: EditionEventsTable;
  edition_renders: EditionRendersTable;
  deliveries: DeliveriesTable;
  delivery_batches: DeliveryBatchesTable;
  provider_events: ProviderEventsTable;
  link_clicks: LinkClicksTable;
  settings: SettingsTable;
  organisations: OrganisationsTable;
  topics: TopicsTable;
  subscribers: SubscribersTable;
  subscriptions: SubscriptionsTable;
  consent_texts: ConsentTextsTable;
  consent_events: ConsentEventsTable;
  suppressions: SuppressionsTable;
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  setup_tokens: SetupTokensTable;
  outbox: OutboxTable;
  emails: EmailsTable;
  dev_mailbox: DevMailboxTable;
  rate_limits: RateLimitsTable;
  login_throttles: LoginThrottlesTable;
  login_known_addresses: LoginKnownAddressesTable;
  audit_log: AuditLogTable;
}

export type User = Selectable<UsersTable>;
export type Subscriber = Selectable<SubscribersTable>;
export type Topic = Selectable<TopicsTable>;
export type Organisation = Selectable<OrganisationsTable>;
export type Edition = Selectable<EditionsTable>;
export type NewOutboxRow = Insertable<OutboxTable>;
export type Import = Selectable<ImportsTable>;
