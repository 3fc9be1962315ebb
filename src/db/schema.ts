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

export interface Database {
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
  audit_log: AuditLogTable;
}

export type User = Selectable<UsersTable>;
export type Subscriber = Selectable<SubscribersTable>;
export type Topic = Selectable<TopicsTable>;
export type Organisation = Selectable<OrganisationsTable>;
export type NewOutboxRow = Insertable<OutboxTable>;
