import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Chaos } from './chaos.js';

export interface RecordedEmail {
  from: string;
  to: string[];
  subject: string;
  html?: string;
  text?: string;
  headers?: Record<string, string>;
  tags?: { name: string; value: string }[];
  id: string;
  idempotencyKey: string | null;
}

/** A domain as the fake's domains API answers it (GET /domains, GET /domains/:id). */
export interface FakeDomain {
  id: string;
  name: string;
  status: 'pending' | 'verified' | 'failed' | 'not_started' | 'partially_verified' | 'partially_failed';
  region?: string;
  receiving?: boolean;
  records: {
    record: string;
    type: string;
    name: string;
    value: string;
    status: string;
    ttl?: string;
    priority?: number;
  }[];
}

const INTERNAL_ERROR = { name: 'internal_server_error', message: 'Injected failure', statusCode: 500 };

export interface Injected {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Destroy the socket without answering (a dropped connection). */
  drop?: boolean;
}

/**
 * A local stand-in for the Resend HTTP API, reached through the real SDK via its base URL.
 * It keeps every accepted email, honours Idempotency-Key like Resend (same key and body: the
 * first answer again; same key, other body: 409 `invalid_idempotent_request`; same key while the
 * first request is still being handled: 409 `concurrent_idempotent_requests`), and can be told to
 * fail the next requests, or (with `chaos`) to fail and slow down random ones.
 */
export class FakeResend {
  readonly emails: RecordedEmail[] = [];
  readonly requests: {
    method: string;
    path: string;
    headers: IncomingMessage['headers'];
    status: number;
    /** The raw request body, when `keepBodies` is on. */
    body?: Buffer;
  }[] = [];
  /** Keep each request's raw body in `requests` (off by default: a send's bodies are large). */
  keepBodies = false;
  private readonly idempotency = new Map<string, { bodyHash: string; status: number; response: unknown }>();
  private readonly injected: Injected[] = [];
  /** Addresses the fake refuses as invalid (422): a batch containing one fails as a whole, like Resend's strict mode. */
  readonly rejectedRecipients = new Set<string>();
  /** Answer slowly (ms), e.g. to widen a crash window. */
  latencyMs = 0;
  /** Fault-injection mode for the email endpoints: random latency spikes, 429s, 500s, dropped connections. */
  chaos: Chaos | null = null;
  /** False: emails accepted through the batch endpoint are kept without html and text (large sends). */
  keepBatchBodies = true;
  private readonly inFlight = new Set<string>();
  /** What GET /domains lists (in pages of `?limit=`, with `?after=<id>`) and GET /domains/:id shows. */
  readonly domains: FakeDomain[] = [];
  private server: Server | null = null;
  url = '';

  /** The next requests answer with these, in order, before normal service resumes. */
  failNext(...responses: Injected[]): void {
    this.injected.push(...responses);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ name: 'internal_server_error', message: String(error), statusCode: 500 }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    const raw = bytes.toString('utf8');
    const path = (req.url ?? '/').split('?')[0]!;
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      this.requests.push({
        method: req.method ?? '',
        path,
        headers: req.headers,
        status,
        ...(this.keepBodies ? { body: bytes } : {}),
      });
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };

    if (req.headers.authorization !== 'Bearer re_test_key') {
      return reply(401, { name: 'invalid_api_key', message: 'API key is invalid', statusCode: 401 });
    }
    const injected = this.injected.shift();
    if (injected?.drop) {
      this.requests.push({ method: req.method ?? '', path, headers: req.headers, status: 0 });
      req.socket.destroy();
      return;
    }
    if (injected) return reply(injected.status, injected.body ?? {}, injected.headers);

    if (req.method === 'GET' && (path === '/domains' || path.startsWith('/domains/'))) {
      return this.domainsApi(req, path, reply);
    }

    const isBatch = req.method === 'POST' && path === '/emails/batch';
    const isSingle = req.method === 'POST' && path === '/emails';
    if (!isBatch && !isSingle)
      return reply(404, { name: 'not_found', message: 'not found', statusCode: 404 });

    const drop = () => {
      this.requests.push({ method: req.method ?? '', path, headers: req.headers, status: 0 });
      req.socket.destroy();
    };
    const { spikeMs, fault } = this.chaos?.draw() ?? { spikeMs: 0, fault: null };
    await Chaos.wait(spikeMs);
    if (fault === 'rate-limited') {
      return reply(
        429,
        { name: 'rate_limit_exceeded', message: 'Too many requests.', statusCode: 429 },
        { 'retry-after': '1', 'ratelimit-limit': '2', 'ratelimit-remaining': '0', 'ratelimit-reset': '1' },
      );
    }
    if (fault === 'server-error') return reply(500, INTERNAL_ERROR);
    if (fault === 'dropped') return drop();
    // The work below is done; the client may still never hear about it.
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      if (fault === 'dropped-after-work') return drop();
      if (fault === 'server-error-after-work') return reply(500, INTERNAL_ERROR);
      return reply(status, body, headers);
    };

    const key = (req.headers['idempotency-key'] as string | undefined) ?? null;
    const bodyHash = createHash('sha256').update(raw).digest('hex');
    const cacheKey = `${path}:${key}`;
    if (key) {
      const previous = this.idempotency.get(cacheKey);
      if (previous && previous.bodyHash !== bodyHash) {
        return reply(409, {
          name: 'invalid_idempotent_request',
          message: 'same key, other body',
          statusCode: 409,
        });
      }
      if (previous) return answer(previous.status, previous.response);
      if (this.inFlight.has(cacheKey)) {
        return reply(409, {
          name: 'concurrent_idempotent_requests',
          message: 'a request with this key is still in progress',
          statusCode: 409,
        });
      }
      this.inFlight.add(cacheKey);
    }
    try {
      const payload = JSON.parse(raw);
      const messages: Omit<RecordedEmail, 'id' | 'idempotencyKey'>[] = isBatch ? payload : [payload];
      if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
      const rejected = messages
        .flatMap((m) => (Array.isArray(m.to) ? m.to : [m.to]))
        .find((to) => this.rejectedRecipients.has(to));
      if (rejected) {
        return reply(422, {
          name: 'validation_error',
          message: `Invalid \`to\` field: ${rejected}`,
          statusCode: 422,
        });
      }
      if (isBatch && messages.length > 100) {
        return reply(422, { name: 'validation_error', message: 'at most 100 emails', statusCode: 422 });
      }
      const ids = messages.map((message) => {
        const id = randomUUID();
        const { html, text, ...rest } = message;
        this.emails.push({
          ...rest,
          ...(isBatch && !this.keepBatchBodies ? {} : { html, text }),
          to: Array.isArray(message.to) ? message.to : [message.to],
          id,
          idempotencyKey: key,
        });
        return id;
      });
      const response = isBatch ? { data: ids.map((id) => ({ id })) } : { id: ids[0] };
      if (key) this.idempotency.set(cacheKey, { bodyHash, status: 200, response });
      return answer(200, response, {
        'ratelimit-limit': '2',
        'ratelimit-remaining': '1',
        'ratelimit-reset': '1',
      });
    } finally {
      if (key) this.inFlight.delete(cacheKey);
    }
  }

  private domainsApi(
    req: IncomingMessage,
    path: string,
    reply: (status: number, body: unknown) => void,
  ): void {
    const summary = (d: FakeDomain) => ({
      id: d.id,
      name: d.name,
      status: d.status,
      created_at: '2026-01-01T00:00:00.000Z',
      region: d.region ?? 'eu-west-1',
      capabilities: { sending: 'enabled', receiving: d.receiving ? 'enabled' : 'disabled' },
    });
    if (path === '/domains') {
      const query = new URL(req.url ?? '/', 'http://fake').searchParams;
      const limit = Number(query.get('limit') ?? 20);
      const after = query.get('after');
      const start = after ? this.domains.findIndex((d) => d.id === after) + 1 : 0;
      const page = this.domains.slice(start, start + limit);
      reply(200, { object: 'list', has_more: start + limit < this.domains.length, data: page.map(summary) });
      return;
    }
    const domain = this.domains.find((d) => d.id === decodeURIComponent(path.slice('/domains/'.length)));
    if (!domain) {
      reply(404, { name: 'not_found', message: 'Domain not found', statusCode: 404 });
      return;
    }
    reply(200, {
      object: 'domain',
      ...summary(domain),
      records: domain.records.map((r) => ({ ttl: 'Auto', ...r })),
    });
  }
}
