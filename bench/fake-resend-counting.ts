/**
 * A counting stand-in for the Resend HTTP API, for benchmarks. Run it as its own process:
 *
 *   node --import tsx bench/fake-resend-counting.ts [--rate N]      (or FAKE_RESEND_RATE=N)
 *
 * It listens on 127.0.0.1, port 0, and prints `{"port":…}` as the first line on stdout. Unlike the
 * test fake it keeps counts, not bodies, but it reads and JSON-parses every body (the cost of a
 * real receiver) and checks the batch shape. Like Resend it honours `Idempotency-Key`: the same key
 * with the same body gets the first answer again (counted as a replay, never as new emails), the
 * same key with another body gets 409 `invalid_idempotent_request`.
 *
 * With a rate of N requests/s, a token bucket (N tokens, refilled at N per second, full at the
 * start) decides: a request without a token gets 429 `rate_limit_exceeded` with `retry-after`
 * (whole seconds) and `ratelimit-*` headers. Every POST needs a token, replays too.
 *
 * `GET /stats` answers the counts; `POST /reset` clears them (and the idempotency cache). The
 * process exits when its parent goes away (IPC disconnect, or the parent pid changes).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  if (index >= 0) return process.argv[index + 1];
  return process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
}

const rate = Number(argument('rate') ?? process.env.FAKE_RESEND_RATE ?? 0);
if (!Number.isFinite(rate) || rate < 0) {
  process.stderr.write(
    'fake-resend-counting: --rate must be a number of requests per second ≥ 0 (0: unlimited)\n',
  );
  process.exit(2);
}

interface Stats {
  /** Emails accepted for the first time (replays not counted). */
  emails: number;
  /** Every HTTP request, whatever the answer. */
  requests: number;
  /** Requests that were accepted as new work (200, not from the idempotency cache). */
  accepted: number;
  /** Requests answered from the idempotency cache (a retry of work already accepted). */
  replays: number;
  /** Idempotency keys answered from the cache at least once. */
  replayedKeys: number;
  /** Keys of accepted requests (distinct). */
  keys: number;
  /** Accepted requests that carried no Idempotency-Key. */
  withoutKey: number;
  /** 409 answers: same key with another body, or the key still in flight. */
  conflicts: number;
  rateLimited: number;
  /** 422 answers (bad body). */
  invalid: number;
  /** Distinct recipient addresses among the accepted emails; emails − this = addresses sent twice. */
  uniqueRecipients: number;
  duplicateRecipients: number;
  bodyBytes: number;
  /** Date.now() of the first and the last accepted request (ms), null before the first. */
  firstAcceptedAt: number | null;
  lastAcceptedAt: number | null;
  /** The fake's own CPU time (µs) since start or reset: is the fake the bottleneck? */
  cpuUserMicros: number;
  cpuSystemMicros: number;
  rate: number;
}

let stats: Stats;
let cpuAtReset = process.cpuUsage();
const recipients = new Set<string>();
const cache = new Map<string, { bodyHash: string; response: string }>();
const replayed = new Set<string>();
let tokens = rate;
let tokensAt = performance.now();

function reset(): void {
  stats = {
    emails: 0,
    requests: 0,
    accepted: 0,
    replays: 0,
    replayedKeys: 0,
    keys: 0,
    withoutKey: 0,
    conflicts: 0,
    rateLimited: 0,
    invalid: 0,
    uniqueRecipients: 0,
    duplicateRecipients: 0,
    bodyBytes: 0,
    firstAcceptedAt: null,
    lastAcceptedAt: null,
    cpuUserMicros: 0,
    cpuSystemMicros: 0,
    rate,
  };
  recipients.clear();
  cache.clear();
  replayed.clear();
  tokens = rate;
  tokensAt = performance.now();
  cpuAtReset = process.cpuUsage();
}
reset();

/** Takes a token if there is one; otherwise the seconds until the next one. */
function takeToken(): { ok: true } | { ok: false; waitSeconds: number } {
  if (rate === 0) return { ok: true };
  const now = performance.now();
  tokens = Math.min(rate, tokens + ((now - tokensAt) / 1000) * rate);
  tokensAt = now;
  if (tokens >= 1) {
    tokens -= 1;
    return { ok: true };
  }
  return { ok: false, waitSeconds: (1 - tokens) / rate };
}

function rateHeaders(): Record<string, string> {
  if (rate === 0) return {};
  return {
    'ratelimit-limit': String(rate),
    'ratelimit-remaining': String(Math.floor(tokens)),
    'ratelimit-reset': String(Math.max(1, Math.ceil((rate - tokens) / rate))),
  };
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

const error = (status: number, name: string, message: string) =>
  JSON.stringify({ name, message, statusCode: status });

interface Message {
  from?: unknown;
  to?: unknown;
  subject?: unknown;
  html?: unknown;
  text?: unknown;
}

function validate(messages: unknown[]): string | null {
  if (messages.length === 0 || messages.length > 100) return 'a batch holds 1 to 100 emails';
  for (const message of messages as Message[]) {
    if (typeof message !== 'object' || message === null) return 'an email must be an object';
    if (typeof message.from !== 'string' || typeof message.subject !== 'string')
      return 'from and subject are required';
    const to = Array.isArray(message.to) ? message.to : [message.to];
    if (
      to.length === 0 ||
      to.length > 50 ||
      !to.every((address) => typeof address === 'string' && address.includes('@'))
    ) {
      return 'Invalid `to` field';
    }
    if (typeof message.html !== 'string' && typeof message.text !== 'string')
      return 'html or text is required';
  }
  return null;
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const path = (req.url ?? '/').split('?')[0]!;
  stats.requests++;

  if (req.method === 'GET' && path === '/stats') {
    const cpu = process.cpuUsage(cpuAtReset);
    stats.cpuUserMicros = cpu.user;
    stats.cpuSystemMicros = cpu.system;
    stats.requests--; // stats calls are not traffic
    return send(res, 200, JSON.stringify(stats));
  }
  if (req.method === 'POST' && path === '/reset') {
    reset();
    return send(res, 200, '{}');
  }
  const isBatch = req.method === 'POST' && path === '/emails/batch';
  const isSingle = req.method === 'POST' && path === '/emails';
  if (!isBatch && !isSingle) return send(res, 404, error(404, 'not_found', 'not found'));
  if (!req.headers.authorization?.startsWith('Bearer re_')) {
    return send(res, 401, error(401, 'invalid_api_key', 'API key is invalid'));
  }

  const token = takeToken();
  if (!token.ok) {
    stats.rateLimited++;
    return send(
      res,
      429,
      error(429, 'rate_limit_exceeded', 'Too many requests. You can only make so many requests per second.'),
      {
        'retry-after': String(Math.max(1, Math.ceil(token.waitSeconds))),
        'ratelimit-limit': String(rate),
        'ratelimit-remaining': '0',
        'ratelimit-reset': String(Math.max(1, Math.ceil(token.waitSeconds))),
      },
    );
  }

  stats.bodyBytes += raw.length;
  const header = req.headers['idempotency-key'];
  const key = typeof header === 'string' && header.length > 0 ? `${path}:${header}` : null;
  const bodyHash = key ? createHash('sha256').update(raw).digest('base64') : '';
  if (key) {
    const previous = cache.get(key);
    if (previous) {
      if (previous.bodyHash !== bodyHash) {
        stats.conflicts++;
        return send(
          res,
          409,
          error(
            409,
            'invalid_idempotent_request',
            'Same idempotency key used with a different request body.',
          ),
        );
      }
      stats.replays++;
      if (!replayed.has(key)) {
        replayed.add(key);
        stats.replayedKeys++;
      }
      return send(res, 200, previous.response, rateHeaders());
    }
    // No await from here to cache.set: two requests with one key are handled one after the
    // other, so the second is always a replay (Resend's "still in flight" 409 cannot occur here).
  }

  let payload: unknown;
  try {
    payload = JSON.parse(raw.toString('utf8'));
  } catch {
    stats.invalid++;
    return send(res, 422, error(422, 'validation_error', 'The body is not valid JSON.'));
  }
  const messages = isBatch ? payload : [payload];
  const problem = Array.isArray(messages) ? validate(messages) : 'a batch must be an array';
  if (problem) {
    stats.invalid++;
    return send(res, 422, error(422, 'validation_error', problem));
  }

  const ids: string[] = [];
  for (const message of messages as Message[]) {
    ids.push(randomUUID());
    for (const address of Array.isArray(message.to) ? message.to : [message.to]) {
      const lower = String(address).toLowerCase();
      if (recipients.has(lower)) stats.duplicateRecipients++;
      else recipients.add(lower);
    }
  }
  const response = JSON.stringify(isBatch ? { data: ids.map((id) => ({ id })) } : { id: ids[0] });
  stats.emails += ids.length;
  stats.accepted++;
  stats.uniqueRecipients = recipients.size;
  const now = Date.now();
  stats.firstAcceptedAt ??= now;
  stats.lastAcceptedAt = now;
  if (key) {
    cache.set(key, { bodyHash, response });
    stats.keys++;
  } else {
    stats.withoutKey++;
  }
  return send(res, 200, response, rateHeaders());
}

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  handle(req, res).catch((failure: unknown) => {
    if (!res.headersSent) send(res, 500, error(500, 'internal_server_error', String(failure)));
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});

// Never outlive the bench: stop when the IPC channel closes or the parent is gone.
const parent = process.ppid;
process.on('disconnect', () => process.exit(0));
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 500).unref();
process.on('SIGTERM', () => process.exit(0));
