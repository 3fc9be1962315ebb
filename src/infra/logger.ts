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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const paths = REDACTED_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);
  return pino(
    {
      level,
      base: { service: 'thuispost' },
      redact: { paths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
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
