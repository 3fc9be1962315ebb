import type { Registry } from 'prom-client';
import type { Db } from '../db/connection.js';
import type { Pseudonyms } from '../infra/crypto.js';
import type { Logger } from '../infra/logger.js';
import type { Clock } from '../providers/clock.js';
import type { LinkTokens } from '../providers/link-tokens.js';

export interface HealthCheck {
  ok: boolean;
  detail?: string;
  [key: string]: unknown;
}

/** Everything the HTTP app needs; entry points build it, tests build their own. */
export interface AppDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  metrics: Registry;
  /** Signs and verifies personal links (confirm, unsubscribe, preferences) and form tokens. */
  linkTokens: LinkTokens;
  config: {
    nodeEnv: 'development' | 'production' | 'test';
    publicBaseUrl: string;
    mailerKind: 'resend' | 'mailbox';
    /** Origins allowed to post the public signup form from the browser. */
    siteOrigins: string[];
    /** Largest accepted request body in bytes for JSON and form posts. */
    bodyLimitBytes?: number;
    /** Svix signing secret (whsec_…) of the Resend webhook; unset: POST /webhooks/resend answers 503. */
    webhookSecret?: string;
    /** EMAIL_FROM, for the sender-health check of its domain. */
    emailFrom?: string;
    /**
     * METRICS_TOKEN: the Bearer token that opens /metrics and the details of /readyz (Prometheus).
     * Unset: only an admin (API token or session) sees them.
     */
    metricsToken?: string;
  };
  /** Named readiness checks besides Postgres and migrations (e.g. Redis). */
  readinessChecks?: Record<string, () => Promise<HealthCheck>>;
  /**
   * Stores public signups. Node passes groupCommittedSignups (concurrent signups share a commit);
   * absent (Workers, where a request's connections serve only that request): one statement each.
   */
  signups?: import('../domain/subscribers.js').SignupWriter;
  /** The caller's IP address (stored only as `pseudonyms.ip`); depends on the runtime and proxy. */
  clientIp: (c: import('hono').Context) => string;
  /** Keyed hashes (from APP_SECRET) of IP addresses and login names: the only form they are stored in. */
  pseudonyms: Pseudonyms;
  /** The sending domains at Resend (sender health); absent in mailbox mode. */
  senderDomains?: import('../providers/sender-domains.js').SenderDomains;
  /** The job queues (absent where there is no Redis, e.g. on Workers): the admin shows their health. */
  queues?: import('../jobs/queues.js').Queues;
  /** Called by GET /metrics before collecting, e.g. to refresh queue depth gauges. */
  beforeMetrics?: () => Promise<void>;
  /** LinkedIn connect flow, health and dry-run feed (see src/infra/linkedin-config.ts); absent: LinkedIn pages say it is not set up. */
  linkedin?: import('../infra/linkedin-config.js').LinkedInAppConfig;
}

export type AppEnv = {
  Variables: {
    deps: AppDeps;
    principal: import('../domain/auth.js').Principal | null;
    requestId: string;
    logger: Logger;
  };
};
