/**
 * The LinkedIn REST API (Posts, Images, organisation ACLs) and OAuth 2.0, behind small interfaces.
 * Every API request carries `LinkedIn-Version` and `X-Restli-Protocol-Version: 2.0.0`. Failures
 * are `LinkedInError`s whose `kind` says what the caller may conclude:
 * - `unauthorized` (401): the token is no good; hold the work until someone reconnects.
 * - `rate-limited` (429): LinkedIn sends no Retry-After; daily quotas reset at midnight UTC.
 * - `duplicate` (422 "Content is a duplicate of urn:li:share:…"): the post exists; `duplicateOf`.
 * - `ambiguous` (timeout, dropped connection, 5xx): the request may or may not have taken effect.
 * - `not-found` (404), `permanent` (any other 4xx): retrying the same request will not help.
 */
export interface LinkedInSettings {
  /** LINKEDIN_API_BASE_URL, e.g. https://api.linkedin.com */
  apiBaseUrl: string;
  /** LINKEDIN_OAUTH_BASE_URL, e.g. https://www.linkedin.com */
  oauthBaseUrl: string;
  /** LINKEDIN_VERSION, YYYYMM */
  version: string;
  /** Per request; a request that takes longer counts as ambiguous. */
  timeoutMs?: number;
}

export interface LinkedInCredentials {
  accessToken: string;
  organizationId: string;
}

export type LinkedInErrorKind =
  | 'unauthorized'
  | 'rate-limited'
  | 'duplicate'
  | 'ambiguous'
  | 'not-found'
  | 'permanent';

export class LinkedInError extends Error {
  constructor(
    readonly kind: LinkedInErrorKind,
    /** HTTP status of the answer; null when none came. */
    readonly status: number | null,
    message: string,
    readonly duplicateOf: string | null = null,
  ) {
    super(message);
    this.name = 'LinkedInError';
  }
}

/** A request as it goes (or, in a dry run, would go) over the wire; headers never hold the token. */
export interface RequestRecord {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: unknown;
}

export interface ArticlePost {
  /** Already escaped for "little text" (see linkedin-text.ts). */
  commentary: string;
  link: string;
  title: string;
  description: string;
  /** An uploaded image; null: an article without a thumbnail (the link card shows no picture). */
  thumbnailUrn: string | null;
}

export interface RemotePost {
  id: string;
  commentary: string | null;
  articleSource: string | null;
  createdAt: number | null;
  lifecycleState: string | null;
}

export const organizationUrn = (id: string) => `urn:li:organization:${id}`;
export const TOKEN_PLACEHOLDER = 'Bearer <access token>';

function apiHeaders(settings: LinkedInSettings, json: boolean): Record<string, string> {
  return {
    Authorization: TOKEN_PLACEHOLDER,
    'LinkedIn-Version': settings.version,
    'X-Restli-Protocol-Version': '2.0.0',
    ...(json ? { 'Content-Type': 'application/json' } : {}),
  };
}

export function postBody(organizationId: string, post: ArticlePost) {
  return {
    author: organizationUrn(organizationId),
    commentary: post.commentary,
    visibility: 'PUBLIC',
    distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] },
    content: {
      article: {
        source: post.link,
        title: post.title,
        description: post.description,
        ...(post.thumbnailUrn ? { thumbnail: post.thumbnailUrn } : {}),
      },
    },
    lifecycleState: 'PUBLISHED',
    isReshareDisabledByAuthor: false,
  };
}

export function createPostRequest(
  settings: LinkedInSettings,
  organizationId: string,
  post: ArticlePost,
): RequestRecord {
  return {
    method: 'POST',
    url: `${settings.apiBaseUrl}/rest/posts`,
    headers: apiHeaders(settings, true),
    body: postBody(organizationId, post),
  };
}

export function initializeUploadRequest(settings: LinkedInSettings, organizationId: string): RequestRecord {
  return {
    method: 'POST',
    url: `${settings.apiBaseUrl}/rest/images?action=initializeUpload`,
    headers: apiHeaders(settings, true),
    body: { initializeUploadRequest: { owner: organizationUrn(organizationId) } },
  };
}

const DUPLICATE = /duplicate of (urn:li:(?:share|ugcPost|post):[A-Za-z0-9:_-]+)/i;

async function readBody(response: Response): Promise<{ text: string; json: unknown }> {
  const text = await response.text().catch(() => '');
  try {
    return { text, json: text ? JSON.parse(text) : null };
  } catch {
    return { text, json: null };
  }
}

function errorFor(status: number, body: { text: string; json: unknown }, what: string): LinkedInError {
  const message =
    (body.json &&
    typeof body.json === 'object' &&
    'message' in body.json &&
    typeof body.json.message === 'string'
      ? body.json.message
      : body.text.slice(0, 300)) || `HTTP ${status}`;
  const text = `${what}: ${status} ${message}`;
  if (status === 401) return new LinkedInError('unauthorized', status, text);
  if (status === 429) return new LinkedInError('rate-limited', status, text);
  if (status === 422) {
    const duplicate = DUPLICATE.exec(message) ?? DUPLICATE.exec(body.text);
    if (duplicate) return new LinkedInError('duplicate', status, text, duplicate[1]!);
  }
  if (status === 404) return new LinkedInError('not-found', status, text);
  if (status >= 500 || status === 408) return new LinkedInError('ambiguous', status, text);
  return new LinkedInError('permanent', status, text);
}

function transportError(error: unknown, what: string): LinkedInError {
  const name = error instanceof Error ? error.name : '';
  const reason =
    name === 'TimeoutError' || name === 'AbortError'
      ? 'no answer in time'
      : `connection failed (${error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error)})`;
  return new LinkedInError('ambiguous', null, `${what}: ${reason}`);
}

/** The calls publishing needs; `HttpLinkedInApi` is the real one, tests use it against a fake server. */
export interface LinkedInApi {
  createPost(credentials: LinkedInCredentials, post: ArticlePost): Promise<{ urn: string; status: number }>;
  getPost(credentials: LinkedInCredentials, urn: string): Promise<{ status: number; post: RemotePost }>;
  listRecentPosts(
    credentials: LinkedInCredentials,
    count: number,
  ): Promise<{ status: number; posts: RemotePost[] }>;
  initializeImageUpload(
    credentials: LinkedInCredentials,
  ): Promise<{ status: number; uploadUrl: string; image: string }>;
  uploadImage(
    credentials: LinkedInCredentials,
    uploadUrl: string,
    bytes: Buffer,
    contentType: string,
  ): Promise<{ status: number }>;
  getImageStatus(
    credentials: LinkedInCredentials,
    urn: string,
  ): Promise<{ status: number; imageStatus: string }>;
}

export class HttpLinkedInApi implements LinkedInApi {
  constructor(private readonly settings: LinkedInSettings) {}

  /** One API request with the token and version headers; non-2xx answers throw a LinkedInError. */
  async request(
    credentials: LinkedInCredentials,
    what: string,
    request: { method: string; url: string; body?: unknown; headers?: Record<string, string>; raw?: Buffer },
  ): Promise<{ response: Response; body: { text: string; json: unknown } }> {
    const headers: Record<string, string> = {
      ...apiHeaders(this.settings, request.body !== undefined),
      ...request.headers,
      Authorization: `Bearer ${credentials.accessToken}`,
    };
    let response: Response;
    try {
      response = await fetch(request.url, {
        method: request.method,
        headers,
        body: request.raw
          ? new Uint8Array(request.raw)
          : request.body === undefined
            ? undefined
            : JSON.stringify(request.body),
        signal: AbortSignal.timeout(this.settings.timeoutMs ?? 15_000),
        redirect: 'error',
      });
    } catch (error) {
      throw transportError(error, what);
    }
    let body: { text: string; json: unknown };
    try {
      body = await readBody(response);
    } catch (error) {
      throw transportError(error, what);
    }
    if (!response.ok) throw errorFor(response.status, body, what);
    return { response, body };
  }

  async createPost(credentials: LinkedInCredentials, post: ArticlePost) {
    const request = createPostRequest(this.settings, credentials.organizationId, post);
    const { response } = await this.request(credentials, 'create post', request);
    const urn = response.headers.get('x-restli-id') ?? response.headers.get('x-linkedin-id');
    // Created, but we cannot tell which post it is: looking it up is the only safe next step.
    if (!urn)
      throw new LinkedInError('ambiguous', response.status, 'create post: answered without x-restli-id');
    return { urn, status: response.status };
  }

  async getPost(credentials: LinkedInCredentials, urn: string) {
    const { response, body } = await this.request(credentials, 'read post', {
      method: 'GET',
      url: `${this.settings.apiBaseUrl}/rest/posts/${encodeURIComponent(urn)}`,
    });
    return { status: response.status, post: toRemotePost(body.json, urn) };
  }

  async listRecentPosts(credentials: LinkedInCredentials, count: number) {
    const author = encodeURIComponent(organizationUrn(credentials.organizationId));
    const { response, body } = await this.request(credentials, 'list posts', {
      method: 'GET',
      url: `${this.settings.apiBaseUrl}/rest/posts?author=${author}&q=author&count=${count}&sortBy=LAST_MODIFIED`,
      headers: { 'X-RestLi-Method': 'FINDER' },
    });
    const elements = (body.json as { elements?: unknown[] } | null)?.elements ?? [];
    return { status: response.status, posts: elements.map((element) => toRemotePost(element, null)) };
  }

  async initializeImageUpload(credentials: LinkedInCredentials) {
    const request = initializeUploadRequest(this.settings, credentials.organizationId);
    const { response, body } = await this.request(credentials, 'initialize image upload', request);
    const value = (body.json as { value?: { uploadUrl?: string; image?: string } } | null)?.value;
    if (!value?.uploadUrl || !value.image) {
      throw new LinkedInError(
        'ambiguous',
        response.status,
        'initialize image upload: no uploadUrl or image in the answer',
      );
    }
    return { status: response.status, uploadUrl: value.uploadUrl, image: value.image };
  }

  async uploadImage(credentials: LinkedInCredentials, uploadUrl: string, bytes: Buffer, contentType: string) {
    const { response } = await this.request(credentials, 'upload image', {
      method: 'PUT',
      url: uploadUrl,
      raw: bytes,
      headers: { 'Content-Type': contentType },
    });
    return { status: response.status };
  }

  async getImageStatus(credentials: LinkedInCredentials, urn: string) {
    const { response, body } = await this.request(credentials, 'image status', {
      method: 'GET',
      url: `${this.settings.apiBaseUrl}/rest/images/${encodeURIComponent(urn)}`,
    });
    return {
      status: response.status,
      imageStatus: String((body.json as { status?: string } | null)?.status ?? 'UNKNOWN'),
    };
  }
}

function toRemotePost(value: unknown, fallbackId: string | null): RemotePost {
  const v = (value ?? {}) as {
    id?: string;
    commentary?: string;
    content?: { article?: { source?: string } };
    createdAt?: number;
    lifecycleState?: string;
  };
  return {
    id: v.id ?? fallbackId ?? '',
    commentary: v.commentary ?? null,
    articleSource: v.content?.article?.source ?? null,
    createdAt: typeof v.createdAt === 'number' ? v.createdAt : null,
    lifecycleState: v.lifecycleState ?? null,
  };
}

/* ---------------------------------------------------------------- OAuth 2.0 (authorization code) */

export const OAUTH_SCOPES = ['w_organization_social', 'r_organization_social', 'rw_organization_admin'];

export interface OAuthApp {
  clientId: string;
  clientSecret: string;
}

export interface TokenSet {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string | null;
  refreshTokenExpiresAt: Date | null;
  scopes: string;
}

export function authorizationUrl(
  settings: LinkedInSettings,
  app: OAuthApp,
  redirectUri: string,
  state: string,
): string {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: app.clientId,
    redirect_uri: redirectUri,
    state,
    scope: OAUTH_SCOPES.join(' '),
  });
  return `${settings.oauthBaseUrl}/oauth/v2/authorization?${params.toString()}`;
}

async function tokenRequest(
  settings: LinkedInSettings,
  form: Record<string, string>,
  now: Date,
): Promise<TokenSet> {
  let response: Response;
  try {
    response = await fetch(`${settings.oauthBaseUrl}/oauth/v2/accessToken`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(settings.timeoutMs ?? 15_000),
    });
  } catch (error) {
    throw transportError(error, 'token request');
  }
  const body = await readBody(response);
  if (!response.ok) {
    const description = (body.json as { error_description?: string } | null)?.error_description;
    throw errorFor(
      response.status === 400 || response.status === 401 ? 401 : response.status,
      { ...body, text: description ?? body.text },
      'token request',
    );
  }
  const json = body.json as {
    access_token?: string;
    expires_in?: number;
    refresh_token?: string;
    refresh_token_expires_in?: number;
    scope?: string;
  } | null;
  if (!json?.access_token || typeof json.expires_in !== 'number') {
    throw new LinkedInError(
      'permanent',
      response.status,
      'token request: no access_token/expires_in in the answer',
    );
  }
  return {
    accessToken: json.access_token,
    accessTokenExpiresAt: new Date(now.getTime() + json.expires_in * 1000),
    refreshToken: json.refresh_token ?? null,
    refreshTokenExpiresAt:
      json.refresh_token && typeof json.refresh_token_expires_in === 'number'
        ? new Date(now.getTime() + json.refresh_token_expires_in * 1000)
        : null,
    scopes: json.scope ?? '',
  };
}

export function exchangeCode(
  settings: LinkedInSettings,
  app: OAuthApp,
  code: string,
  redirectUri: string,
  now: Date,
): Promise<TokenSet> {
  return tokenRequest(
    settings,
    {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: app.clientId,
      client_secret: app.clientSecret,
    },
    now,
  );
}

export function refreshAccessToken(
  settings: LinkedInSettings,
  app: OAuthApp,
  refreshToken: string,
  now: Date,
): Promise<TokenSet> {
  return tokenRequest(
    settings,
    {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: app.clientId,
      client_secret: app.clientSecret,
    },
    now,
  );
}

/** The organisations the token's member administers (approved ACLs), with their names where readable. */
export async function listAdministeredOrganizations(
  settings: LinkedInSettings,
  accessToken: string,
): Promise<{ id: string; name: string }[]> {
  const api = new HttpLinkedInApi(settings);
  const credentials = { accessToken, organizationId: '' };
  const { body } = await api.request(credentials, 'organisation ACLs', {
    method: 'GET',
    url: `${settings.apiBaseUrl}/rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED`,
  });
  const elements =
    (body.json as { elements?: { organization?: string; organizationTarget?: string }[] } | null)?.elements ??
    [];
  const ids = [
    ...new Set(
      elements
        .map((e) => /^urn:li:organization:(\d+)$/.exec(e.organization ?? e.organizationTarget ?? '')?.[1])
        .filter((id): id is string => Boolean(id)),
    ),
  ];
  const organisations: { id: string; name: string }[] = [];
  for (const id of ids.slice(0, 50)) {
    let name = `Organisatie ${id}`;
    try {
      const { body: org } = await api.request(credentials, 'organisation', {
        method: 'GET',
        url: `${settings.apiBaseUrl}/rest/organizations/${id}`,
      });
      const localized = (org.json as { localizedName?: string } | null)?.localizedName;
      if (localized) name = localized;
    } catch {
      // The name is a convenience; the id is what counts.
    }
    organisations.push({ id, name });
  }
  return organisations;
}
