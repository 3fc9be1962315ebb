import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.js';
import { migrateToLatest, pendingMigrations } from '../../src/db/migrate.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

let ctx: TestContext;
let empty: string;
const open = (url: string) =>
  new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 2 }) }),
  });

beforeAll(async () => {
  ctx = await createTestContext();
  // An empty database beside the test's own, to migrate from scratch.
  empty = `${new URL(ctx.databaseUrl).pathname.slice(1)}_empty`;
  await sql`create database ${sql.id(empty)}`.execute(ctx.db);
});
afterAll(async () => {
  await sql`drop database if exists ${sql.id(empty)} with (force)`.execute(ctx.db);
  await ctx.close();
});

describe('migrations', () => {
  it('are safe to run from several processes at once', async () => {
    const url = new URL(ctx.databaseUrl);
    url.pathname = `/${empty}`;
    const handles = Array.from({ length: 4 }, () => open(url.toString()));
    try {
      expect(await pendingMigrations(handles[0]!)).toEqual(Object.keys(migrations));
      const results = await Promise.all(handles.map((db) => migrateToLatest(db)));
      const applied = results.flatMap((r) => r.results ?? []).filter((r) => r.status === 'Success');
      // Every migration ran exactly once, whichever process ran it.
      expect(applied.map((r) => r.migrationName).sort()).toEqual(Object.keys(migrations).sort());
      expect(await pendingMigrations(handles[0]!)).toEqual([]);
    } finally {
      await Promise.all(handles.map((db) => db.destroy()));
    }
  });

  it('are numbered, in order, and never import from src/', async () => {
    const names = Object.keys(migrations);
    expect(names).toEqual([...names].sort());
    for (const [index, name] of names.entries())
      expect(name.startsWith(String(index + 1).padStart(4, '0'))).toBe(true);
    const { readdir, readFile } = await import('node:fs/promises');
    const files = (await readdir('migrations')).filter((f) => /^\d{4}_.*\.ts$/.test(f));
    expect(files.map((f) => f.replace(/\.ts$/, '')).sort()).toEqual(names);
    for (const file of files)
      expect(await readFile(`migrations/${file}`, 'utf8')).not.toMatch(/from '\.\.\/src/);
  });
});
