import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

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
 * first answer again; same key, other body: 409), and can be told to fail the next requests.
 */
export class FakeResend {
  readonly emails: RecordedEmail[] = [];
  readonly requests: { method: string; path: string; headers: IncomingMessage['headers']; status: number }[] =
    [];
  private readonly idempotency = new Map<string, { bodyHash: string; status: number; response: unknown }>();
  private readonly injected: Injected[] = [];
  /** Addresses the fake refuses as invalid (422): a batch containing one fails as a whole, like Resend's strict mode. */
  readonly rejectedRecipients = new Set<string>();
  /** Answer slowly (ms), e.g. to widen a crash window. */
  latencyMs = 0;
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
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '/').split('?')[0]!;
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      this.requests.push({ method: req.method ?? '', path, headers: req.headers, status });
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

    const key = (req.headers['idempotency-key'] as string | undefined) ?? null;
    const bodyHash = createHash('sha256').update(raw).digest('hex');
    if (key) {
      const previous = this.idempotency.get(`${path}:${key}`);
      if (previous && previous.bodyHash !== bodyHash) {
        return reply(409, {
          name: 'invalid_idempotent_request',
          message: 'same key, other body',
          statusCode: 409,
        });
      }
      if (previous) return reply(previous.status, previous.response);
    }
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
      this.emails.push({
        ...message,
        to: Array.isArray(message.to) ? message.to : [message.to],
        id,
        idempotencyKey: key,
      });
      return id;
    });
    const response = isBatch ? { data: ids.map((id) => ({ id })) } : { id: ids[0] };
    if (key) this.idempotency.set(`${path}:${key}`, { bodyHash, status: 200, response });
    return reply(200, response, {
      'ratelimit-limit': '2',
      'ratelimit-remaining': '1',
      'ratelimit-reset': '1',
    });
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
