import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/**
 * Keys whose values never reach a log line: secrets, credentials and personal data.
 * Email addresses are personal data; log ids instead.
 */
const REDACTED_KEYS = new Set([
  'password',
  'newPassword',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'secret',
  'appSecret',
  'authorization',
  'cookie',
  'set-cookie',
  'email',
  'to',
  'databaseUrl',
  'redisUrl',
]);

const CENSOR = '[redacted]';
const MAX_DEPTH = 4;

/**
 * Copies a log object with every sensitive key censored, at any depth up to MAX_DEPTH. A plain
 * walk of the (small) object: pino's path-based `redact` with wildcards cost ~50 µs per line.
 */
export function redactSensitive(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => redactSensitive(item, depth + 1));
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    copy[key] = REDACTED_KEYS.has(key) ? CENSOR : redactSensitive(inner, depth + 1);
  }
  return copy;
}

const redactLogObject = (object: Record<string, unknown>) =>
  redactSensitive(object) as Record<string, unknown>;

const BASE = { service: 'thuispost' };

const isErrorLike = (value: unknown): value is Error =>
  typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: BASE,
      formatters: { log: redactLogObject },
      timestamp: pino.stdTimeFunctions.isoTime,
      // pino's default `err` serializer, named so that the browser build uses it too; the guard
      // keeps strings (`{ err: error.message }`) as they are there, as pino's Node build does.
      serializers: { err: (value: unknown) => (isErrorLike(value) ? pino.stdSerializers.err(value) : value) },
      // Read only by pino's browser build, which bundlers for Cloudflare Workers resolve `pino` to
      // (src/worker.ts). It takes its own `formatters` and ignores `base` and `destination`:
      // one JSON line per entry through console.log, which Workers Logs collects.
      browser: {
        formatters: { log: redactLogObject },
        asObject: true,
        serialize: true,
        write: (entry: object) => console.log(JSON.stringify({ ...BASE, ...entry })),
      },
    },
    destination,
  );
}

/** Removes credentials from a connection URL before it is shown to a person or a log. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}
