import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { Logger } from '../infra/logger.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Functions in domain/ accept either, so callers can compose them inside one transaction. */
export type DbOrTx = Db | Tx;

// Postgres bigint (int8) and numeric come back as strings; counts are small enough for numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value);

const PREPARED_TAG = /^\/\* prepared:([\w-]+) \*\//;

/**
 * Marks a hot statement as a named prepared statement: `sql\`${prepared('signup')} with …\``.
 * Postgres then parses and plans it once per connection instead of on every call (for a
 * statement of several CTEs, planning costs more than running it). The text after the tag must
 * be the same on every call; Kysely's `sql` template keeps it so (values are parameters).
 */
export function prepared(name: string) {
  return sql.raw(`/* prepared:${name} */`);
}

/**
 * Kysely sends every query unnamed; a pooled connection that sees a tagged statement sends it
 * under the tag's name instead, so that pg prepares it once on that connection.
 */
function prepareTaggedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((config: unknown, ...rest: unknown[]) => {
    const name = typeof config === 'string' ? PREPARED_TAG.exec(config)?.[1] : undefined;
    if (name) return query({ name, text: config, values: rest[0] }, ...rest.slice(1));
    return query(config, ...rest);
  }) as typeof client.query;
}

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
  // So does a checked-out one between two queries (a transaction waiting for Redis or an HTTP
  // answer when Postgres restarts): its next query fails instead, and the pool drops it on release.
  pool.on('connect', (client) =>
    client.on('error', (error) => logger.debug({ err: error.message }, 'postgres connection lost in use')),
  );
  pool.on('connect', prepareTaggedStatements);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    pool,
    close: () => db.destroy(),
  };
}

/** SQLSTATE classes and socket errors that mean "Postgres is not there right now", not a bad query. */
const UNAVAILABLE_CODES = /^(08|57P0[123]$|E(CONNREFUSED|CONNRESET|TIMEDOUT|PIPE|HOSTUNREACH)$)/;
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|not queryable|the database system is (starting up|shutting down|in recovery mode)/;

/**
 * Postgres stores no NUL character, neither in text (SQLSTATE 22021) nor as `\u0000` in jsonb
 * (22P05): input holding one can be stored by no route, so it is refused as the client's mistake.
 */
export function isUnstorableText(error: unknown): boolean {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return code === '22021' || code === '22P05';
}

/**
 * Postgres is down, restarting or unreachable: the request was fine and may be tried again in a
 * moment (the API answers 503 with Retry-After instead of a 500).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (
    (typeof code === 'string' && UNAVAILABLE_CODES.test(code)) || UNAVAILABLE_MESSAGES.test(error.message)
  );
}
