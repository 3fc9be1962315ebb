import path from 'node:path';
import { z } from 'zod';
import { isProxyEntry } from './infra/proxy-entry.js';

/**
 * The only place that reads the environment. Entry points call `loadConfig(process.env)`;
 * everything else receives a typed `Config`.
 */

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const port = z.coerce
  .number({ message: 'must be a whole number between 1 and 65535' })
  .int('must be a whole number between 1 and 65535')
  .min(1, 'must be a whole number between 1 and 65535')
  .max(65535, 'must be a whole number between 1 and 65535');

const url = (protocols: string[], what: string) =>
  z
    .string()
    .trim()
    .refine((value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, `must be ${what}`);

const optionalUrl = (protocols: string[], what: string) =>
  z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    url(protocols, what).optional(),
  );

const emailFrom = z
  .string()
  .trim()
  .regex(
    /^(?:[^<>\r\n"]{1,100} <[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+>|[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+)$/,
    'must be an address like "Thuispost <nieuwsbrief@example.org>" or "nieuwsbrief@example.org"',
  );

/** A recent LinkedIn API version (LinkedIn supports each for about a year; health warns after 10 months). */
export const DEFAULT_LINKEDIN_VERSION = '202607';

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: port.default(3000),
  PUBLIC_BASE_URL: optionalUrl(['http:', 'https:'], 'an http(s) URL such as https://nieuws.example.org'),
  DATABASE_URL: optionalUrl(['postgres:', 'postgresql:'], 'a postgres:// URL'),
  REDIS_URL: optionalUrl(['redis:', 'rediss:'], 'a redis:// URL'),
  REDIS_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,40}$/, 'must be 1–40 letters, digits, - or _')
    .default('thuispost'),
  APP_SECRET: optionalString.pipe(z.string().min(32, 'must be at least 32 characters long').optional()),
  APP_SECRET_PREVIOUS: optionalString,
  SITE_ORIGINS: optionalString.pipe(
    z
      .string()
      .refine(
        (value) => value.split(',').every((origin) => /^https?:\/\/[^/\s]+$/.test(origin.trim())),
        'must be a comma-separated list of origins such as https://www.example.org',
      )
      .optional(),
  ),
  TRUSTED_PROXIES: optionalString.pipe(
    z
      .string()
      .refine(
        (value) => value.split(',').every((entry) => isProxyEntry(entry.trim())),
        'must be a comma-separated list of IP addresses or networks such as 10.0.0.0/8 or ::1',
      )
      .optional(),
  ),
  DATA_DIR: z.string().trim().min(1).default('./.data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  EMAIL_FROM: emailFrom.default('Thuispost <nieuwsbrief@localhost.localdomain>'),
  RESEND_API_KEY: optionalString,
  RESEND_BASE_URL: optionalUrl(['http:', 'https:'], 'an http(s) URL'),
  RESEND_REQUESTS_PER_SECOND: z.coerce
    .number({ message: 'must be a number of requests per second, e.g. 2' })
    .positive('must be more than 0')
    .max(1000)
    .default(2),
  RESEND_WEBHOOK_SECRET: optionalString.pipe(
    z.string().startsWith('whsec_', 'must start with whsec_ (copy it from the Resend dashboard)').optional(),
  ),
  LINKEDIN_API_BASE_URL: url(['http:', 'https:'], 'an http(s) URL').default('https://api.linkedin.com'),
  LINKEDIN_OAUTH_BASE_URL: url(['http:', 'https:'], 'an http(s) URL').default('https://www.linkedin.com'),
  LINKEDIN_ACCESS_TOKEN: optionalString,
  LINKEDIN_ORGANIZATION_ID: optionalString.pipe(
    z.string().regex(/^\d+$/, 'must be the numeric organisation id').optional(),
  ),
  LINKEDIN_CLIENT_ID: optionalString,
  LINKEDIN_CLIENT_SECRET: optionalString,
  LINKEDIN_VERSION: z
    .string()
    .regex(
      /^20\d\d(0[1-9]|1[0-2])$/,
      `must be a LinkedIn API version as YYYYMM, e.g. ${DEFAULT_LINKEDIN_VERSION}`,
    )
    .default(DEFAULT_LINKEDIN_VERSION),
  METRICS_TOKEN: optionalString.pipe(
    z
      .string()
      .min(32, 'must be at least 32 characters long (generate one with: openssl rand -hex 32)')
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (it is sent as a Bearer token)')
      .optional(),
  ),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(20_000),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(10),
  PENDING_SIGNUP_RETENTION_DAYS: z.coerce
    .number({ message: 'must be a whole number of days, e.g. 30' })
    .int('must be a whole number of days, e.g. 30')
    .min(1, 'must be at least 1 day')
    .max(365, 'must be at most 365 days')
    .default(30),
});

/** Every variable thuispost reads (documented in docs/configuration.md and .env.example; a test checks). */
export const ENV_VARIABLES = Object.keys(envSchema.shape);

export type Env = Record<string, string | undefined>;

export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  publicBaseUrl: string;
  /** Undefined: start the embedded Postgres under dataDir. */
  databaseUrl: string | undefined;
  /** Undefined: start the embedded Redis under dataDir. */
  redisUrl: string | undefined;
  redisPrefix: string;
  /** Undefined only in embedded mode, where it is generated once and kept in dataDir. */
  appSecret: string | undefined;
  /** Secrets of before a rotation: links signed with them keep working. */
  previousAppSecrets: string[];
  /** Web sites allowed to post the signup form from the browser (CORS). */
  siteOrigins: string[];
  /** Reverse proxies whose X-Forwarded-For names the visitor (rate limits, consent evidence). */
  trustedProxies: string[];
  dataDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  emailFrom: string;
  resend: {
    apiKey: string | undefined;
    baseUrl: string | undefined;
    webhookSecret: string | undefined;
    /** The provider's rate limit for this account, shared by every worker. */
    requestsPerSecond: number;
  };
  linkedin: {
    apiBaseUrl: string;
    /** Host of the OAuth endpoints (/oauth/v2/authorization, /oauth/v2/accessToken). */
    oauthBaseUrl: string;
    accessToken: string | undefined;
    organizationId: string | undefined;
    clientId: string | undefined;
    clientSecret: string | undefined;
    version: string;
  };
  /** Bearer token Prometheus sends for /metrics and the details of /readyz; unset: admins only. */
  metricsToken: string | undefined;
  shutdownTimeoutMs: number;
  workerConcurrency: number;
  /** Signups never confirmed are purged this many days after their last confirmation email. */
  pendingSignupRetentionDays: number;
}

/** Config after the runtime has resolved embedded services and the secret. */
export interface ResolvedConfig extends Config {
  databaseUrl: string;
  redisUrl: string;
  appSecret: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}\n` +
        'See docs/configuration.md or .env.example.',
    );
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Env, cwd = process.cwd()): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '?'),
        message: issue.message,
      })),
    );
  }
  const e = parsed.data;
  const problems: { variable: string; message: string }[] = [];
  if (e.DATABASE_URL && !e.APP_SECRET) {
    problems.push({
      variable: 'APP_SECRET',
      message: 'is required when DATABASE_URL is set (generate one with: openssl rand -base64 48)',
    });
  }
  if (e.LINKEDIN_ACCESS_TOKEN && !e.LINKEDIN_ORGANIZATION_ID) {
    problems.push({
      variable: 'LINKEDIN_ORGANIZATION_ID',
      message: 'is required when LINKEDIN_ACCESS_TOKEN is set',
    });
  }
  if (e.NODE_ENV === 'production' && !e.PUBLIC_BASE_URL) {
    problems.push({
      variable: 'PUBLIC_BASE_URL',
      message: 'is required in production (links in emails use it)',
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    publicBaseUrl: (e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    appSecret: e.APP_SECRET,
    previousAppSecrets: e.APP_SECRET_PREVIOUS
      ? e.APP_SECRET_PREVIOUS.split(',')
          .map((v) => v.trim())
          .filter(Boolean)
      : [],
    siteOrigins: e.SITE_ORIGINS ? e.SITE_ORIGINS.split(',').map((v) => v.trim()) : [],
    trustedProxies: e.TRUSTED_PROXIES ? e.TRUSTED_PROXIES.split(',').map((v) => v.trim()) : [],
    dataDir: path.resolve(cwd, e.DATA_DIR),
    logLevel: e.LOG_LEVEL,
    emailFrom: e.EMAIL_FROM,
    resend: {
      apiKey: e.RESEND_API_KEY,
      baseUrl: e.RESEND_BASE_URL,
      webhookSecret: e.RESEND_WEBHOOK_SECRET,
      requestsPerSecond: e.RESEND_REQUESTS_PER_SECOND,
    },
    linkedin: {
      apiBaseUrl: e.LINKEDIN_API_BASE_URL.replace(/\/+$/, ''),
      oauthBaseUrl: e.LINKEDIN_OAUTH_BASE_URL.replace(/\/+$/, ''),
      accessToken: e.LINKEDIN_ACCESS_TOKEN,
      organizationId: e.LINKEDIN_ORGANIZATION_ID,
      clientId: e.LINKEDIN_CLIENT_ID,
      clientSecret: e.LINKEDIN_CLIENT_SECRET,
      version: e.LINKEDIN_VERSION,
    },
    metricsToken: e.METRICS_TOKEN,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    workerConcurrency: e.WORKER_CONCURRENCY,
    pendingSignupRetentionDays: e.PENDING_SIGNUP_RETENTION_DAYS,
  };
}
