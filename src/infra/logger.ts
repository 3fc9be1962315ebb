import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/**
 * Keys whose values never reach a log line: secrets, credentials and personal data.
 * Email addresses are personal data; log ids instead.
 */
const REDACTED_KEYS = [
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
];

const BASE = { service: 'thuispost' };

const isErrorLike = (value: unknown): value is Error =>
  typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const paths = REDACTED_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);
  return pino(
    {
      level,
      base: BASE,
      redact: { paths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // pino's default `err` serializer, named so that the browser build uses it too; the guard
      // keeps strings (`{ err: error.message }`) as they are there, as pino's Node build does.
      serializers: { err: (value: unknown) => (isErrorLike(value) ? pino.stdSerializers.err(value) : value) },
      // Read only by pino's browser build, which bundlers for Cloudflare Workers resolve `pino` to
      // (src/worker.ts). It applies the same `redact` rules but ignores `base` and `destination`:
      // one JSON line per entry through console.log, which Workers Logs collects.
      browser: {
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
