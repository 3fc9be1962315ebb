import { Resend } from 'resend';

/**
 * The sending domains registered at the provider, and the DNS records each needs. One small
 * interface so that sender health can be checked against Resend or a fake.
 */
export interface DnsRecord {
  /** What the record is for: SPF, DKIM, Receiving, Tracking, … */
  record: string;
  /** DNS type: TXT, MX, CNAME, … */
  type: string;
  name: string;
  value: string;
  /** verified, pending, failed, temporary_failure, not_started */
  status: string;
  priority: number | null;
}

export interface SendingDomain {
  id: string;
  name: string;
  /** verified, pending, failed, not_started, partially_verified, partially_failed */
  status: string;
  region: string | null;
  /** Whether receiving is enabled (its MX record matters only then). */
  receiving: boolean;
  records: DnsRecord[];
}

export type DomainLookup = { found: true; domain: SendingDomain } | { found: false; known: string[] };

export interface SenderDomains {
  /** Looks up one domain by name (case-insensitive); throws SenderDomainsError when the provider cannot answer. */
  find(name: string): Promise<DomainLookup>;
}

export type SenderDomainsErrorKind = 'unreachable' | 'unauthorized' | 'failed';

export class SenderDomainsError extends Error {
  constructor(
    message: string,
    readonly kind: SenderDomainsErrorKind,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'SenderDomainsError';
  }
}

type ResendError = { name?: string; message?: string; statusCode?: number | null };

const MAX_PAGES = 10;
const PAGE_SIZE = 100;

function toError(error: ResendError | null, timedOut: boolean): SenderDomainsError {
  const status = typeof error?.statusCode === 'number' ? error.statusCode : null;
  const name = error?.name ?? 'unknown';
  const detail = error?.message ?? 'no answer';
  if (timedOut) return new SenderDomainsError('Resend did not answer in time.', 'unreachable', null);
  if (status === null)
    return new SenderDomainsError(`Resend could not be reached: ${detail}`, 'unreachable', null);
  if (status === 401 || status === 403 || /api_key/.test(name)) {
    return new SenderDomainsError(
      `Resend refused the API key (${status} ${name}): ${detail}`,
      'unauthorized',
      status,
    );
  }
  return new SenderDomainsError(`Resend answered ${status} ${name}: ${detail}`, 'failed', status);
}

/** Resend's domains API through its SDK (`baseUrl` undefined: the SDK reads RESEND_BASE_URL itself). */
export class ResendSenderDomains implements SenderDomains {
  private readonly client: Resend;

  constructor(
    apiKey: string,
    baseUrl?: string,
    private readonly timeoutMs = 10_000,
  ) {
    this.client = new Resend(apiKey, baseUrl ? { baseUrl } : undefined);
  }

  /** The SDK never throws; a request past the timeout is aborted and reported as unreachable. */
  private async call<T>(
    request: (signal: AbortSignal) => Promise<{ data: T | null; error: ResendError | null }>,
  ): Promise<T> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    let answer: { data: T | null; error: ResendError | null };
    try {
      answer = await request(signal);
    } catch (error) {
      throw toError({ message: error instanceof Error ? error.message : String(error) }, signal.aborted);
    }
    if (answer.error || answer.data === null) throw toError(answer.error, signal.aborted);
    return answer.data;
  }

  async find(name: string): Promise<DomainLookup> {
    const wanted = name.toLowerCase();
    const known: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const cursor = after;
      const list = await this.call((signal) =>
        this.client.domains.list(cursor ? { limit: PAGE_SIZE, after: cursor } : { limit: PAGE_SIZE }, {
          signal,
        }),
      );
      const match = list.data.find((domain) => domain.name.toLowerCase() === wanted);
      if (match) return { found: true, domain: await this.get(match.id) };
      known.push(...list.data.map((domain) => domain.name));
      if (!list.has_more || list.data.length === 0) break;
      after = list.data[list.data.length - 1]!.id;
    }
    return { found: false, known };
  }

  private async get(id: string): Promise<SendingDomain> {
    const domain = await this.call((signal) => this.client.domains.get(id, { signal }));
    return {
      id: domain.id,
      name: domain.name,
      status: domain.status,
      region: domain.region ?? null,
      receiving: domain.capabilities?.receiving === 'enabled',
      records: (domain.records ?? []).map((record) => ({
        record: record.record,
        type: record.type,
        name: record.name,
        value: record.value,
        status: record.status,
        priority: 'priority' in record && typeof record.priority === 'number' ? record.priority : null,
      })),
    };
  }
}

/** The real implementation when a Resend API key is configured; none in mailbox mode. */
export function resendSenderDomains(resend: {
  apiKey: string | undefined;
  baseUrl: string | undefined;
}): SenderDomains | undefined {
  return resend.apiKey ? new ResendSenderDomains(resend.apiKey, resend.baseUrl) : undefined;
}

/**
 * Remembers each successful lookup for `ttlMs`, so a page shown often (the admin overview) asks
 * the provider at most once in that time; failures are not remembered.
 */
export function cachedSenderDomains(
  inner: SenderDomains,
  ttlMs: number,
  now: () => number = Date.now,
): SenderDomains {
  const remembered = new Map<string, { until: number; lookup: DomainLookup }>();
  return {
    async find(name) {
      const key = name.toLowerCase();
      const hit = remembered.get(key);
      if (hit && hit.until > now()) return hit.lookup;
      const lookup = await inner.find(name);
      remembered.set(key, { until: now() + ttlMs, lookup });
      return lookup;
    },
  };
}
