import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import type { Logger } from '../infra/logger.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Functions in domain/ accept either, so callers can compose them inside one transaction. */
export type DbOrTx = Db | Tx;

// Postgres bigint (int8) and numeric come back as strings; counts are small enough for numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value);

export interface DbHandle {
  db: Db;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function createDb(connectionString: string, logger: Logger, options: { max?: number } = {}): DbHandle {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client whose server went away emits 'error'; unhandled, it would crash the process.
  pool.on('error', (error) =>
    logger.warn({ err: error.message }, 'postgres connection lost; the pool reconnects'),
  );
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    pool,
    close: () => db.destroy(),
  };
}
