import { serve } from '@hono/node-server';
import { createApp } from './api/app.js';
import { issueSetupToken } from './domain/auth.js';
import { linkedinReadiness } from './domain/linkedin.js';
import { logSenderHealth } from './domain/sender-health.js';
import { groupCommittedSignups } from './domain/subscribers.js';
import { nodeClientIp } from './infra/client-ip.js';
import { Pseudonyms } from './infra/crypto.js';
import { linkedinAppConfig } from './infra/linkedin-config.js';
import { exitOnStartupError, handleSignals } from './infra/process.js';
import { redisObservers, startRuntime } from './infra/runtime.js';
import { runBackground } from './jobs/run-workers.js';
import { resendSenderDomains } from './providers/sender-domains.js';

/**
 * Node entry. `npm start`: API + outbox relay + workers + schedules in one process.
 * `npm run start:api` (--role=api): the API only; run workers with `npm run start:worker`.
 */
const apiOnly = process.argv.includes('--role=api');

try {
  const runtime = await startRuntime({
    env: process.env,
    needsRedis: true,
    migrate: true,
    process: 'server',
  });
  const { config, database, logger } = runtime;
  const senderDomains = resendSenderDomains(config.resend);
  const observers = redisObservers(runtime);
  const app = createApp({
    db: database.db,
    clock: runtime.clock,
    logger,
    metrics: runtime.metrics,
    linkTokens: runtime.linkTokens,
    config: {
      nodeEnv: config.nodeEnv,
      publicBaseUrl: config.publicBaseUrl,
      mailerKind: runtime.mailer.kind,
      siteOrigins: config.siteOrigins,
      webhookSecret: config.resend.webhookSecret,
      emailFrom: config.emailFrom,
      metricsToken: config.metricsToken,
    },
    senderDomains,
    queues: runtime.redis?.queues,
    clientIp: nodeClientIp(config.trustedProxies),
    pseudonyms: new Pseudonyms(runtime.config.appSecret),
    signups: groupCommittedSignups(database.db, runtime.clock),
    ...observers,
    readinessChecks: {
      ...observers.readinessChecks,
      linkedin: () => linkedinReadiness(database.db, config.linkedin, runtime.clock.now()),
    },
    linkedin: linkedinAppConfig(config),
  });
  if (!apiOnly) await runBackground(runtime);

  const server = serve({ fetch: app.fetch, port: config.port, hostname: '0.0.0.0' });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const stopAccepting = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Keep-alive connections would hold close() open; in-flight requests still finish.
      (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
    });
  handleSignals(runtime, stopAccepting);
  logger.info(
    { port: config.port, url: config.publicBaseUrl, mode: apiOnly ? 'api' : 'all' },
    'thuispost is running',
  );

  const setup = await issueSetupToken(database.db, runtime.clock);
  if (setup) {
    process.stdout.write(
      `\n  No admin account exists yet. Create the first one here (valid until ${setup.expiresAt.toISOString()}):\n` +
        `  ${config.publicBaseUrl}/admin/setup/${setup.token}\n` +
        '  Or headless: npm run cli -- user create --email you@example.org --role admin\n\n',
    );
  }
  // Not awaited: a slow or unreachable Resend never delays start-up; problems are logged at warn.
  void logSenderHealth(
    database.db,
    { mailerKind: runtime.mailer.kind, emailFrom: config.emailFrom, senderDomains, now: runtime.clock.now() },
    logger,
  );
} catch (error) {
  exitOnStartupError(error);
}
