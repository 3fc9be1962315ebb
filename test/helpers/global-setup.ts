import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import type { TestProject } from 'vitest/node';
import { migrateToLatest } from '../../src/db/migrate.js';
import { startEmbeddedPostgres } from '../../src/infra/embedded-postgres.js';
import { startEmbeddedRedis } from '../../src/infra/embedded-redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    templateDatabase: string;
    redisUrl: string;
    runId: string;
  }
}

/**
 * Starts real Postgres and Redis the same way `npm start` does (embedded, under a temp dir),
 * unless DATABASE_URL / REDIS_URL point at running ones. Migrates a template database once;
 * each test file then clones it (see test/helpers/context.ts).
 */
export default async function setup(project: TestProject) {
  const logger = pino({ level: 'warn' });
  const stops: (() => Promise<void>)[] = [];
  let dataDir: string | null = null;
  const runId = `t${Date.now().toString(36)}${process.pid}`;

  let databaseUrl = process.env.DATABASE_URL;
  let redisUrl = process.env.REDIS_URL;
  if (!databaseUrl || !redisUrl) {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'thuispost-test-'));
    // Traversable, so that Postgres can run as its own user when the tests run as root.
    await chmod(dataDir, 0o711);
  }
  if (!databaseUrl) {
    const postgres = await startEmbeddedPostgres({ dataDir: dataDir!, logger });
    stops.push(() => postgres.stop());
    databaseUrl = postgres.url;
  }
  if (!redisUrl) {
    const redis = await startEmbeddedRedis({ dataDir: dataDir!, logger });
    stops.push(() => redis.stop());
    redisUrl = redis.url;
  }

  const templateDatabase = `${runId}_template`;
  const admin = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 1 }) }),
  });
  await sql`create database ${sql.id(templateDatabase)}`.execute(admin);
  const templateUrl = withDatabase(databaseUrl, templateDatabase);
  const template = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: templateUrl, max: 1 }) }),
  });
  await migrateToLatest(template);
  await template.destroy();

  project.provide('databaseUrl', databaseUrl);
  project.provide('templateDatabase', templateDatabase);
  project.provide('redisUrl', redisUrl);
  project.provide('runId', runId);

  return async () => {
    // Databases made by this run (template and per-file clones) go; a shared server stays clean.
    const rows = await sql<{
      datname: string;
    }>`select datname from pg_database where datname like ${`${runId}%`}`.execute(admin);
    for (const { datname } of rows.rows) {
      await sql`drop database if exists ${sql.id(datname)} with (force)`.execute(admin);
    }
    await admin.destroy();
    for (const stop of stops.reverse()) await stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
