import type { Migration } from 'kysely';
import * as m0001 from './0001_users.js';
import * as m0002 from './0002_sessions.js';
import * as m0003 from './0003_api_tokens.js';
import * as m0004 from './0004_setup_tokens.js';
import * as m0005 from './0005_outbox.js';
import * as m0006 from './0006_emails.js';
import * as m0007 from './0007_dev_mailbox.js';
import * as m0008 from './0008_rate_limits.js';
import * as m0009 from './0009_audit_log.js';
import * as m0010 from './0010_organisations.js';
import * as m0011 from './0011_topics.js';
import * as m0012 from './0012_subscribers.js';
import * as m0013 from './0013_consent.js';
import * as m0014 from './0014_suppressions.js';
import * as m0015 from './0015_settings.js';
import * as m0016 from './0016_imports.js';
import * as m0017 from './0017_email_dedupe_key.js';
import * as m0018 from './0018_subscribers_email_ci.js';
import * as m0019 from './0019_editions.js';
import * as m0020 from './0020_deliveries.js';
import * as m0021 from './0021_provider_events.js';
import * as m0022 from './0022_delivery_tracking.js';
import * as m0023 from './0023_delivery_batch_attempts.js';
import * as m0024 from './0024_linkedin_connections.js';
import * as m0025 from './0025_linkedin_posts.js';
import * as m0026 from './0026_linkedin_dry_run_feed.js';
import * as m0027 from './0027_document_categories.js';
import * as m0028 from './0028_documents.js';
import * as m0029 from './0029_editions_archive_idx.js';
import * as m0030 from './0030_linkedin_document_posts.js';
import * as m0031 from './0031_rate_limits_unlogged.js';
import * as m0032 from './0032_outbox_notify_once.js';
import * as m0033 from './0033_linkedin_refused_env_tokens.js';
import * as m0034 from './0034_subscribers_email_key_dropped.js';
import * as m0035 from './0035_delivery_batch_one_by_one.js';
import * as m0036 from './0036_consent_ip_hash_scheme.js';
import * as m0037 from './0037_deliveries_subscriber_idx.js';
import * as m0038 from './0038_linkedin_already_on_linkedin.js';
import * as m0039 from './0039_login_throttles.js';

/**
 * Every migration, in order. A static list (rather than reading the folder) so that the Workers
 * bundle can check that the database is current. Add new files here; never edit or remove one.
 */
export const migrations: Record<string, Migration> = {
  '0001_users': m0001,
  '0002_sessions': m0002,
  '0003_api_tokens': m0003,
  '0004_setup_tokens': m0004,
  '0005_outbox': m0005,
  '0006_emails': m0006,
  '0007_dev_mailbox': m0007,
  '0008_rate_limits': m0008,
  '0009_audit_log': m0009,
  '0010_organisations': m0010,
  '0011_topics': m0011,
  '0012_subscribers': m0012,
  '0013_consent': m0013,
  '0014_suppressions': m0014,
  '0015_settings': m0015,
  '0016_imports': m0016,
  '0017_email_dedupe_key': m0017,
  '0018_subscribers_email_ci': m0018,
  '0019_editions': m0019,
  '0020_deliveries': m0020,
  '0021_provider_events': m0021,
  '0022_delivery_tracking': m0022,
  '0023_delivery_batch_attempts': m0023,
  '0024_linkedin_connections': m0024,
  '0025_linkedin_posts': m0025,
  '0026_linkedin_dry_run_feed': m0026,
  '0027_document_categories': m0027,
  '0028_documents': m0028,
  '0029_editions_archive_idx': m0029,
  '0030_linkedin_document_posts': m0030,
  '0031_rate_limits_unlogged': m0031,
  '0032_outbox_notify_once': m0032,
  '0033_linkedin_refused_env_tokens': m0033,
  '0034_subscribers_email_key_dropped': m0034,
  '0035_delivery_batch_one_by_one': m0035,
  '0036_consent_ip_hash_scheme': m0036,
  '0037_deliveries_subscriber_idx': m0037,
  '0038_linkedin_already_on_linkedin': m0038,
  '0039_login_throttles': m0039,
};
