import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { inject } from 'vitest';
import { createApp } from '../../src/api/app.js';
import type { AppDeps } from '../../src/api/deps.js';
import { createDb, type Db } from '../../src/db/connection.js';
import type { Role } from '../../src/db/schema.js';
import { createApiToken } from '../../src/domain/auth.js';
import { groupCommittedSignups } from '../../src/domain/subscribers.js';
import { createUser } from '../../src/domain/users.js';
import { Pseudonyms } from '../../src/infra/crypto.js';
import { createLogger } from '../../src/infra/logger.js';
import { createMetricsRegistry } from '../../src/infra/metrics.js';
import { type Clock, systemClock } from '../../src/providers/clock.js';
import { LinkTokens } from '../../src/providers/link-tokens.js';
import { withDatabase } from './global-setup.js';

export const TEST_PASSWORD = 'correct horse battery staple';
export const TEST_APP_SECRET = 'test-secret-'.padEnd(48, 'x');
/** METRICS_TOKEN in tests, and the header Prometheus sends with it. */
export const TEST_METRICS_TOKEN = 'test-metrics-token-'.padEnd(48, 'm');
export const METRICS_AUTH = { authorization: `Bearer ${TEST_METRICS_TOKEN}` };
/** Svix signing secret of the Resend webhook in tests: whsec_ + base64 of 32 bytes. */
export const TEST_WEBHOOK_SECRET = `whsec_${Buffer.from('thuispost-test-webhook-secret-32').toString('base64')}`;

/** A settable clock for tests of expiry and windows. */
export class TestClock implements Clock {
  constructor(private current = new Date('2026-03-01T09:00:00Z')) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export interface TestContext {
  db: Db;
  databaseUrl: string;
  redisUrl: string;
  /** A Redis key prefix of this test file's own. */
  redisPrefix: string;
  deps: AppDeps;
  app: ReturnType<typeof createApp>;
  /** Every log line written during the test file, as parsed JSON. */
  logs: Record<string, unknown>[];
  rawLogs: string[];
  /** Creates a user with the role and an API token; returns headers for authenticated requests. */
  userWithToken(
    role: Role,
    email?: string,
  ): Promise<{ userId: string; token: string; headers: Record<string, string> }>;
  close(): Promise<void>;
}

let counter = 0;

/**
 * A fresh database cloned from the migrated template, the app built on it, and captured logs.
 * Real Postgres and Redis; nothing of our own code is mocked.
 */
export async function createTestContext(
  options: { clock?: Clock; mailerKind?: 'resend' | 'mailbox' } = {},
): Promise<TestContext> {
  const serverUrl = inject('databaseUrl');
  const runId = inject('runId');
  const name = `${runId}_${process.pid}_${counter++}_${randomBytes(3).toString('hex')}`;
  const admin = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: serverUrl, max: 1 }) }),
  });
  await sql`create database ${sql.id(name)} template ${sql.id(inject('templateDatabase'))}`.execute(admin);
  await admin.destroy();

  const rawLogs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      rawLogs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  const logger = createLogger('debug', sink);
  const databaseUrl = withDatabase(serverUrl, name);
  const database = createDb(databaseUrl, logger);
  const clock = options.clock ?? systemClock;
  const deps: AppDeps = {
    db: database.db,
    clock,
    logger,
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    linkTokens: new LinkTokens([TEST_APP_SECRET], clock),
    config: {
      nodeEnv: 'test',
      publicBaseUrl: 'http://localhost:3000',
      mailerKind: options.mailerKind ?? 'mailbox',
      siteOrigins: ['https://www.voorbeeld.test'],
      webhookSecret: TEST_WEBHOOK_SECRET,
      metricsToken: TEST_METRICS_TOKEN,
    },
    clientIp: (c) => c.req.header('x-test-client-ip') ?? '127.0.0.1',
    pseudonyms: new Pseudonyms(TEST_APP_SECRET),
    // As src/server.ts: the signup route's production path.
    signups: groupCommittedSignups(database.db, clock),
  };
  const app = createApp(deps);

  return {
    db: database.db,
    databaseUrl,
    redisUrl: inject('redisUrl'),
    redisPrefix: `${name}`,
    deps,
    app,
    get logs() {
      return rawLogs.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    rawLogs,
    userWithToken: (role, email) => userWithToken(database.db, role, email),
    close: () => database.close(),
  };
}

/** Creates a user with the role and an API token; returns headers for authenticated requests. */
export async function userWithToken(db: Db, role: Role, email?: string) {
  const user = await createUser(db, {
    email: email ?? `${role}-${randomBytes(4).toString('hex')}@voorbeeld.test`,
    role,
    password: TEST_PASSWORD,
  });
  const { token } = await createApiToken(db, user, { name: `${role} test token` });
  return { userId: user.id, token, headers: { authorization: `Bearer ${token}` } };
}

/** JSON request options for `app.request`. */
export function json(body: unknown, headers: Record<string, string> = {}, method = 'POST'): RequestInit {
  return { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}
