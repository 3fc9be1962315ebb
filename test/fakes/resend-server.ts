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
}
