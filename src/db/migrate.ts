import { type Kysely, type MigrationResultSet, Migrator, sql } from 'kysely';
import { migrations } from '../../migrations/index.js';

const provider = { getMigrations: async () => migrations };

/**
 * Runs pending migrations. Kysely's Postgres adapter takes an advisory lock for the duration,
 * so concurrent starts (several API and worker processes) are safe: one migrates, the others wait.
 */
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  const result = await new Migrator({ db, provider }).migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    const message = result.error instanceof Error ? result.error.message : String(result.error);
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${message}`);
  }
  return result;
}

/** Names of migrations known to the code but not yet applied to the database. */
export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  const tableExists = await sql<{
    exists: boolean;
  }>`select to_regclass('kysely_migration') is not null as exists`.execute(db);
  const known = Object.keys(migrations);
  if (!tableExists.rows[0]?.exists) return known;
  const applied = await db.selectFrom('kysely_migration').select('name').execute();
  const appliedNames = new Set(applied.map((row: { name: string }) => row.name));
  return known.filter((name) => !appliedNames.has(name));
}
