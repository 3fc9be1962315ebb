import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Chaos, type ChaosFault } from './chaos.js';

/** The characters LinkedIn's "little text" reserves (written out here independently of src/). */
const RESERVED = '\\|{}@[]()<>#*_~';

/** Finds the first reserved character that is not escaped with a backslash, or -1. */
export function firstUnescaped(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\') {
      if (i + 1 < text.length && RESERVED.includes(text[i + 1]!)) {
        i++;
        continue;
      }
      return i;
    }
    if (RESERVED.includes(ch)) return i;
  }
  return -1;
}

export interface FakePost {
  id: string;
  author: string;
  commentary: string;
  visibility: string;
  distribution: unknown;
  /** `thumbnail` is optional, as on LinkedIn: without one the link card shows no picture. */
  content: { article: { source: string; title: string; description: string; thumbnail?: string } };
  lifecycleState: string;
  isReshareDisabledByAuthor: boolean;
  createdAt: number;
}

export interface Fault {
  status?: number;
  body?: unknown;
  /** Destroy the socket without answering. */
  drop?: boolean;
  /** Never answer (the client times out); the socket is closed when the server stops. */
  hang?: boolean;
  /** Do the real work first (e.g. create the post), then answer with the fault. */
  afterEffect?: boolean;
}

/** How LinkedIn shows each kind of random trouble. */
const CHAOS_FAULTS: Record<ChaosFault, Fault> = {
  'rate-limited': { status: 429, body: { status: 429, message: 'Resource level throttle limit reached' } },
  'server-error': { status: 500 },
  'server-error-after-work': { status: 500, afterEffect: true },
  dropped: { drop: true },
  'dropped-after-work': { drop: true, afterEffect: true },
};

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
  status: number;
}

/**
 * A local stand-in for LinkedIn: the versioned REST API (posts, images, organisation ACLs) and
 * OAuth token endpoint. It checks what LinkedIn checks (token, LinkedIn-Version,
 * X-Restli-Protocol-Version, author, body shape) and more strictly than LinkedIn (unescaped
 * reserved characters in the commentary are refused instead of silently cutting the post), and
 * answers a repeated post with 422 "Content is a duplicate of urn:li:share:…", as LinkedIn does.
 */
export class FakeLinkedIn {
  readonly requests: RecordedRequest[] = [];
  readonly posts = new Map<string, FakePost>();
  readonly images = new Map<
    string,
    { status: 'WAITING_UPLOAD' | 'PROCESSING' | 'AVAILABLE'; bytes?: Buffer; polls: number }
  >();
  /** Access tokens the API accepts, and the organisation each may post for. */
  readonly tokens = new Map<string, string[]>();
  /** Organisations (id → name) an OAuth-issued token administers. */
  readonly organisations = new Map<string, string>([['424242', 'Voorbeeldlab Wonen']]);
  /** Authorization codes the token endpoint accepts. */
  readonly codes = new Set<string>();
  readonly refreshTokens = new Set<string>();
  clientId = 'fake-client';
  clientSecret = 'fake-secret';
  /** Slow answers (ms) on POST /rest/posts, after the post was created. */
  createLatencyMs = 0;
  /** Fault-injection mode for the REST API and uploads: random latency spikes and faults. */
  chaos: Chaos | null = null;
  private readonly faults: { route: string; fault: Fault }[] = [];
  private readonly hanging = new Set<ServerResponse>();
  private server: Server | null = null;
  private counter = 7_100_000_000_000_000_000n;
  url = '';

  /** The next requests whose "METHOD /path" starts with `route` answer with these faults, in order. */
  inject(route: string, ...faults: Fault[]): void {
    for (const fault of faults) this.faults.push({ route, fault });
  }

  issueToken(token: string, organisationIds: string[] = [...this.organisations.keys()]): void {
    this.tokens.set(token, organisationIds);
  }

  /** A post that exists on LinkedIn already (e.g. published by an earlier, forgotten attempt). */
  seedPost(post: Omit<FakePost, 'id' | 'createdAt'> & { createdAt?: number }): string {
    const id = this.nextUrn();
    this.posts.set(id, { ...post, id, createdAt: post.createdAt ?? Date.now() });
    return id;
  }

  createRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'POST' && r.path === '/rest/posts');
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: String(error), status: 500 }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }

  private nextUrn(): string {
    this.counter += 1n;
    return `urn:li:share:${this.counter}`;
  }

  private takeFault(method: string, path: string): Fault | undefined {
    const key = `${method} ${path}`;
    const index = this.faults.findIndex((f) => key.startsWith(f.route));
    if (index < 0) return undefined;
    return this.faults.splice(index, 1)[0]!.fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    let body: unknown = null;
    const type = String(req.headers['content-type'] ?? '');
    if (type.startsWith('application/json') && raw.length > 0) body = JSON.parse(raw.toString('utf8'));
    else if (type.startsWith('application/x-www-form-urlencoded'))
      body = Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
    const record = (status: number) =>
      this.requests.push({ method, path, query: url.searchParams, headers: req.headers, body, status });

    const fault = this.takeFault(method, path) ?? (await this.chaosFault(path));
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      if (fault?.afterEffect) return this.answerFault(fault, res, record);
      record(status);
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(payload === undefined ? '' : JSON.stringify(payload));
    };
    if (fault && !fault.afterEffect) return this.answerFault(fault, res, record);

    if (method === 'GET' && path === '/image.png') {
      record(200);
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'));
      return;
    }
    if (method === 'GET' && path === '/not-an-image') {
      record(200);
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<p>hallo</p>');
      return;
    }
    if (method === 'POST' && path === '/oauth/v2/accessToken')
      return this.tokenEndpoint(body as Record<string, string>, send);

    // Everything below is the versioned REST API.
    const auth = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''));
    const orgs = auth ? this.tokens.get(auth[1]!) : undefined;
    if (!orgs)
      return send(401, {
        status: 401,
        serviceErrorCode: 65600,
        code: 'INVALID_ACCESS_TOKEN',
        message: 'Invalid access token',
      });
    if (path.startsWith('/upload/') && method === 'PUT')
      return this.upload(path.slice('/upload/'.length), raw, send);
    if (!/^20\d{4}$/.test(String(req.headers['linkedin-version'] ?? ''))) {
      return send(426, {
        status: 426,
        code: 'NONEXISTENT_VERSION',
        message: 'Requested version  is not active',
      });
    }
    if (req.headers['x-restli-protocol-version'] !== '2.0.0') {
      return send(400, { status: 400, message: 'X-Restli-Protocol-Version 2.0.0 is required' });
    }

    if (method === 'GET' && path === '/rest/organizationAcls') {
      if (url.searchParams.get('q') !== 'roleAssignee')
        return send(400, { status: 400, message: 'q=roleAssignee expected' });
      return send(200, {
        elements: orgs.map((id) => ({
          organization: `urn:li:organization:${id}`,
          role: 'ADMINISTRATOR',
          state: 'APPROVED',
          roleAssignee: 'urn:li:person:abc',
        })),
      });
    }
    const orgMatch = /^\/rest\/organizations\/(\d+)$/.exec(path);
    if (method === 'GET' && orgMatch) {
      const name = this.organisations.get(orgMatch[1]!);
      return name
        ? send(200, { id: Number(orgMatch[1]), localizedName: name })
        : send(404, { status: 404, message: 'Not found' });
    }
    if (
      method === 'POST' &&
      path === '/rest/images' &&
      url.searchParams.get('action') === 'initializeUpload'
    ) {
      const owner =
        (body as { initializeUploadRequest?: { owner?: string } } | null)?.initializeUploadRequest?.owner ??
        '';
      if (!orgs.some((id) => owner === `urn:li:organization:${id}`))
        return send(403, { status: 403, message: `Not allowed to act as ${owner}` });
      const id = `D4E10AQ${(this.images.size + 1).toString().padStart(6, '0')}`;
      this.images.set(`urn:li:image:${id}`, { status: 'WAITING_UPLOAD', polls: 0 });
      return send(200, {
        value: {
          uploadUrlExpiresAt: Date.now() + 3_600_000,
          uploadUrl: `${this.url}/upload/${id}`,
          image: `urn:li:image:${id}`,
        },
      });
    }
    const imageMatch = /^\/rest\/images\/(.+)$/.exec(path);
    if (method === 'GET' && imageMatch) {
      const image = this.images.get(decodeURIComponent(imageMatch[1]!));
      if (!image) return send(404, { status: 404, message: 'Not found' });
      image.polls++;
      // Processing takes one look before the image is available, as it often does.
      if (image.status === 'PROCESSING' && image.polls > 1) image.status = 'AVAILABLE';
      return send(200, { id: decodeURIComponent(imageMatch[1]!), status: image.status });
    }
    if (method === 'POST' && path === '/rest/posts') return this.createPost(body, orgs, send);
    if (method === 'GET' && path === '/rest/posts') {
      if (url.searchParams.get('q') !== 'author')
        return send(400, { status: 400, message: 'q=author expected' });
      const author = url.searchParams.get('author');
      const count = Number(url.searchParams.get('count') ?? 10);
      const elements = [...this.posts.values()]
        .filter((p) => p.author === author)
        .sort((a, b) => b.createdAt - a.createdAt)
        .slice(0, count);
      return send(200, { elements, paging: { start: 0, count, links: [] } });
    }
    const postMatch = /^\/rest\/posts\/(.+)$/.exec(path);
    if (method === 'GET' && postMatch) {
      const post = this.posts.get(decodeURIComponent(postMatch[1]!));
      return post ? send(200, post) : send(404, { status: 404, message: 'Not found' });
    }
    return send(404, { status: 404, message: `no route ${method} ${path}` });
  }

  private async chaosFault(path: string): Promise<Fault | undefined> {
    if (!this.chaos || !(path.startsWith('/rest/') || path.startsWith('/upload/'))) return undefined;
    const { spikeMs, fault } = this.chaos.draw();
    await Chaos.wait(spikeMs);
    return fault ? CHAOS_FAULTS[fault] : undefined;
  }

  private answerFault(fault: Fault, res: ServerResponse, record: (status: number) => void) {
    if (fault.drop) {
      record(0);
      res.socket?.destroy();
      return;
    }
    if (fault.hang) {
      record(0);
      this.hanging.add(res);
      return;
    }
    const status = fault.status ?? 500;
    record(status);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(fault.body ?? { status, message: 'Injected failure' }));
  }

  private async createPost(
    body: unknown,
    orgs: string[],
    send: (status: number, payload: unknown, headers?: Record<string, string>) => void,
  ) {
    const b = (body ?? {}) as Partial<FakePost>;
    const problems: string[] = [];
    if (!orgs.some((id) => b.author === `urn:li:organization:${id}`))
      problems.push(`author ${String(b.author)} is not an organisation this token may post for`);
    if (typeof b.commentary !== 'string') problems.push('commentary missing');
    else {
      if (b.commentary.length > 3000) problems.push('commentary longer than 3000');
      const at = firstUnescaped(b.commentary);
      if (at >= 0) problems.push(`commentary has an unescaped reserved character at ${at}`);
    }
    if (b.visibility !== 'PUBLIC') problems.push('visibility must be PUBLIC');
    if (
      JSON.stringify(b.distribution) !==
      JSON.stringify({
        feedDistribution: 'MAIN_FEED',
        targetEntities: [],
        thirdPartyDistributionChannels: [],
      })
    ) {
      problems.push('distribution has the wrong shape');
    }
    if (b.lifecycleState !== 'PUBLISHED') problems.push('lifecycleState must be PUBLISHED');
    if (b.isReshareDisabledByAuthor !== false) problems.push('isReshareDisabledByAuthor must be false');
    const article = b.content?.article;
    if (!article?.source || !article.title || !article.description)
      problems.push('content.article needs source, title and description');
    else if (article.thumbnail !== undefined && this.images.get(article.thumbnail)?.status !== 'AVAILABLE')
      problems.push(`thumbnail ${article.thumbnail} is not an available image`);
    if (problems.length > 0) return send(422, { status: 422, message: problems.join('; ') });

    const duplicate = [...this.posts.values()].find(
      (p) =>
        p.author === b.author &&
        p.commentary === b.commentary &&
        p.content.article.source === article!.source,
    );
    if (duplicate)
      return send(422, {
        status: 422,
        message: `Content is a duplicate of ${duplicate.id}`,
        code: 'DUPLICATE_POST',
      });
    const id = this.nextUrn();
    this.posts.set(id, { ...(b as FakePost), id, createdAt: Date.now() });
    if (this.createLatencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.createLatencyMs));
    return send(201, undefined, { 'x-restli-id': id });
  }

  private upload(id: string, bytes: Buffer, send: (status: number, payload: unknown) => void) {
    const image = this.images.get(`urn:li:image:${id}`);
    if (!image) return send(404, { status: 404, message: 'unknown upload' });
    if (bytes.length === 0) return send(400, { status: 400, message: 'empty upload' });
    image.bytes = bytes;
    image.status = 'PROCESSING';
    return send(201, undefined);
  }

  private tokenEndpoint(
    form: Record<string, string> | null,
    send: (status: number, payload: unknown) => void,
  ) {
    const f = form ?? {};
    if (f.client_id !== this.clientId || f.client_secret !== this.clientSecret) {
      return send(401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    }
    if (f.grant_type === 'authorization_code') {
      if (!f.code || !this.codes.has(f.code) || !f.redirect_uri)
        return send(400, {
          error: 'invalid_request',
          error_description: 'Unable to retrieve access token: authorization code not found',
        });
      this.codes.delete(f.code);
      const token = `fake-access-${f.code}`;
      const refresh = `fake-refresh-${f.code}`;
      this.issueToken(token);
      this.refreshTokens.add(refresh);
      return send(200, {
        access_token: token,
        expires_in: 5_184_000,
        refresh_token: refresh,
        refresh_token_expires_in: 31_536_000,
        scope: 'r_organization_social,rw_organization_admin,w_organization_social',
      });
    }
    if (f.grant_type === 'refresh_token') {
      if (!f.refresh_token || !this.refreshTokens.has(f.refresh_token))
        return send(400, { error: 'invalid_request', error_description: 'refresh token not found' });
      const token = `${f.refresh_token}-access-${Date.now()}`;
      this.issueToken(token);
      return send(200, {
        access_token: token,
        expires_in: 5_184_000,
        refresh_token: f.refresh_token,
        refresh_token_expires_in: 30_000_000,
      });
    }
    return send(400, { error: 'unsupported_grant_type' });
  }
}
