import type { DbOrTx } from '../db/connection.js';
import type { Logger } from '../infra/logger.js';
import { type DnsRecord, type SenderDomains, SenderDomainsError } from '../providers/sender-domains.js';

/**
 * Can we send, and are we still welcome? The sending domain of EMAIL_FROM must be verified at
 * Resend (SPF and DKIM records in place), and the hard-bounce and complaint rates of recent
 * editions must stay clear of the Gmail/Yahoo bulk-sender limits (complaints below 0.1 %).
 */

/** Warning and critical levels as fractions: complaints 0.08 % / 0.1 %, hard bounces 2 % / 4 %. */
export const RATE_LIMITS = {
  complaint: { warning: 0.0008, critical: 0.001 },
  bounce: { warning: 0.02, critical: 0.04 },
} as const;

/** The rates are taken over this many most recently sent editions together. */
export const RECENT_EDITIONS = 5;

export type HealthLevel = 'warning' | 'critical';

export interface HealthWarning {
  level: HealthLevel;
  message: string;
  /** The same for the Dutch admin pages. */
  messageNl: string;
}

export interface RecentEditionRates {
  id: string;
  title: string;
  sentAt: Date | null;
  sent: number;
  bounced: number;
  complained: number;
}

export interface SenderHealth {
  /** Nothing to warn about. */
  ok: boolean;
  mode: 'resend' | 'mailbox';
  /** One sentence for people. */
  message: string;
  messageNl: string;
  domain: {
    name: string;
    /** Resend's status, or `not_found` / `unknown` (could not be checked). */
    status: string;
    verified: boolean;
    id: string | null;
    region: string | null;
    /** The DNS records still to be put in place or that fail. */
    unverifiedRecords: DnsRecord[];
  } | null;
  recent: {
    editions: RecentEditionRates[];
    sent: number;
    bounced: number;
    complained: number;
    bounceRate: number | null;
    complaintRate: number | null;
  };
  warnings: HealthWarning[];
  checkedAt: Date;
}

export interface SenderHealthOptions {
  mailerKind: 'resend' | 'mailbox';
  emailFrom: string | undefined;
  senderDomains: SenderDomains | undefined;
  now: Date;
}

/** The domain of "Name <user@domain>" or "user@domain", lower-cased; null when there is none. */
export function domainOfAddress(from: string): string | null {
  const address = /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from;
  const at = address.lastIndexOf('@');
  const domain =
    at >= 0
      ? address
          .slice(at + 1)
          .trim()
          .toLowerCase()
      : '';
  return domain === '' ? null : domain;
}

const percent = (rate: number) => `${(rate * 100).toFixed(rate < 0.01 ? 2 : 1)} %`;
const percentNl = (rate: number) => percent(rate).replace('.', ',');

export async function recentEditionRates(
  db: DbOrTx,
  limit = RECENT_EDITIONS,
): Promise<SenderHealth['recent']> {
  const editions = await db
    .selectFrom('editions')
    .leftJoin('deliveries', 'deliveries.edition_id', 'editions.id')
    .select((eb) => [
      'editions.id',
      'editions.title',
      'editions.sent_at',
      eb.fn.count<string>('deliveries.provider_message_id').as('sent'),
      eb.fn.countAll<string>().filterWhere('deliveries.status', '=', 'bounced').as('bounced'),
      eb.fn.countAll<string>().filterWhere('deliveries.status', '=', 'complained').as('complained'),
    ])
    .where('editions.id', 'in', (eb) =>
      eb
        .selectFrom('editions')
        .select('id')
        .where('status', '=', 'sent')
        .orderBy('sent_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit),
    )
    .groupBy(['editions.id', 'editions.title', 'editions.sent_at'])
    .orderBy('editions.sent_at', 'desc')
    .orderBy('editions.id', 'desc')
    .execute();
  const rows = editions.map((e) => ({
    id: e.id,
    title: e.title,
    sentAt: e.sent_at,
    sent: Number(e.sent),
    bounced: Number(e.bounced),
    complained: Number(e.complained),
  }));
  const sent = rows.reduce((sum, e) => sum + e.sent, 0);
  const bounced = rows.reduce((sum, e) => sum + e.bounced, 0);
  const complained = rows.reduce((sum, e) => sum + e.complained, 0);
  return {
    editions: rows,
    sent,
    bounced,
    complained,
    bounceRate: sent > 0 ? bounced / sent : null,
    complaintRate: sent > 0 ? complained / sent : null,
  };
}

function rateWarnings(recent: SenderHealth['recent']): HealthWarning[] {
  const warnings: HealthWarning[] = [];
  const scope = `the last ${recent.editions.length === 1 ? 'sent edition' : `${recent.editions.length} sent editions`}`;
  const scopeNl = `${recent.editions.length === 1 ? 'de laatst verzonden editie' : `de laatste ${recent.editions.length} verzonden edities`}`;
  const check = (
    rate: number | null,
    count: number,
    limits: { warning: number; critical: number },
    what: string,
    advice: string,
    nl: { what: string; advice: string },
  ) => {
    if (rate === null) return;
    const level: HealthLevel | null =
      rate >= limits.critical ? 'critical' : rate >= limits.warning ? 'warning' : null;
    if (!level) return;
    warnings.push({
      level,
      message:
        `The ${what} rate of ${scope} is ${percent(rate)} (${count} of ${recent.sent}); ` +
        `${level === 'critical' ? 'at or above' : 'approaching'} the limit of ${percent(limits.critical)}. ${advice}`,
      messageNl:
        `${nl.what} van ${scopeNl} is ${percentNl(rate)} (${count} van ${recent.sent}); ` +
        `${level === 'critical' ? 'dat is de grens' : 'dat nadert de grens'} van ${percentNl(limits.critical)} of meer. ${nl.advice}`,
    });
  };
  check(
    recent.complaintRate,
    recent.complained,
    RATE_LIMITS.complaint,
    'spam complaint',
    'Gmail and Yahoo filter or refuse bulk mail from senders above 0.1 % (and never allow 0.3 %): send only to people who asked for it, and keep the unsubscribe link visible.',
    {
      what: 'Het aandeel spamklachten',
      advice:
        'Gmail en Yahoo filteren of weigeren bulkmail van afzenders boven 0,1 % (en nooit boven 0,3 %): stuur alleen aan wie erom vroeg, en houd de afmeldlink zichtbaar.',
    },
  );
  check(
    recent.bounceRate,
    recent.bounced,
    RATE_LIMITS.bounce,
    'hard bounce',
    'Many bounces harm the domain’s reputation: check imported address lists for old or mistyped addresses.',
    {
      what: 'Het aandeel harde bounces',
      advice:
        'Veel bounces schaden de reputatie van het domein: controleer geïmporteerde adressenlijsten op oude of verkeerd getypte adressen.',
    },
  );
  return warnings;
}

async function domainCheck(options: SenderHealthOptions): Promise<{
  domain: SenderHealth['domain'];
  warnings: HealthWarning[];
  message: string;
  messageNl: string;
}> {
  const name = options.emailFrom ? domainOfAddress(options.emailFrom) : null;
  if (!name) {
    return {
      domain: null,
      warnings: [
        {
          level: 'warning',
          message: 'EMAIL_FROM is not known here, so the sending domain cannot be checked.',
          messageNl: 'EMAIL_FROM is hier niet bekend, dus het verzenddomein kan niet worden gecontroleerd.',
        },
      ],
      message: 'The sending domain could not be checked.',
      messageNl: 'Het verzenddomein kon niet worden gecontroleerd.',
    };
  }
  const unknown = (status: string) => ({
    name,
    status,
    verified: false,
    id: null,
    region: null,
    unverifiedRecords: [],
  });
  if (!options.senderDomains) {
    return {
      domain: unknown('unknown'),
      warnings: [
        {
          level: 'warning',
          message: `The domain check is not available in this process; check ${name} in the Resend dashboard.`,
          messageNl: `De domeincontrole is in dit proces niet beschikbaar; controleer ${name} in het Resend-dashboard.`,
        },
      ],
      message: `The sending domain ${name} could not be checked.`,
      messageNl: `Het verzenddomein ${name} kon niet worden gecontroleerd.`,
    };
  }
  try {
    const lookup = await options.senderDomains.find(name);
    if (!lookup.found) {
      const known =
        lookup.known.length > 0 ? ` Domains in this Resend account: ${lookup.known.join(', ')}.` : '';
      const knownNl =
        lookup.known.length > 0 ? ` Domeinen in dit Resend-account: ${lookup.known.join(', ')}.` : '';
      return {
        domain: unknown('not_found'),
        warnings: [
          {
            level: 'critical',
            message: `The sending domain ${name} (from EMAIL_FROM) is not added in Resend, so Resend refuses mail from it. Add and verify it under Domains in the Resend dashboard, or change EMAIL_FROM.${known}`,
            messageNl: `Het verzenddomein ${name} (uit EMAIL_FROM) staat niet in Resend, dus Resend weigert mail ervan. Voeg het toe en verifieer het onder Domains in het Resend-dashboard, of pas EMAIL_FROM aan.${knownNl}`,
          },
        ],
        message: `The sending domain ${name} is not set up in Resend.`,
        messageNl: `Het verzenddomein ${name} is niet ingesteld in Resend.`,
      };
    }
    const found = lookup.domain;
    const unverifiedRecords = found.records.filter(
      (r) => r.status !== 'verified' && !(r.record === 'Receiving' && !found.receiving),
    );
    const verified = found.status === 'verified';
    const domain = {
      name: found.name,
      status: found.status,
      verified,
      id: found.id,
      region: found.region,
      unverifiedRecords,
    };
    const list = unverifiedRecords.map((r) => `${r.record} ${r.type} ${r.name} (${r.status})`).join('; ');
    if (!verified) {
      return {
        domain,
        warnings: [
          {
            level: 'critical',
            message: `The sending domain ${found.name} is not verified in Resend (status ${found.status}); mail from it is refused or lands in spam.${list ? ` Add these DNS records: ${list}.` : ''}`,
            messageNl: `Het verzenddomein ${found.name} is niet geverifieerd in Resend (status ${found.status}); mail ervan wordt geweigerd of komt in de spam.${list ? ` Voeg deze DNS-records toe: ${list}.` : ''}`,
          },
        ],
        message: `The sending domain ${found.name} is not verified.`,
        messageNl: `Het verzenddomein ${found.name} is niet geverifieerd.`,
      };
    }
    if (unverifiedRecords.length > 0) {
      return {
        domain,
        warnings: [
          {
            level: 'warning',
            message: `The sending domain ${found.name} is verified, but these DNS records are not: ${list}.`,
            messageNl: `Het verzenddomein ${found.name} is geverifieerd, maar deze DNS-records niet: ${list}.`,
          },
        ],
        message: `The sending domain ${found.name} is verified; some DNS records are not.`,
        messageNl: `Het verzenddomein ${found.name} is geverifieerd; sommige DNS-records niet.`,
      };
    }
    return {
      domain,
      warnings: [],
      message: `The sending domain ${found.name} is verified.`,
      messageNl: `Het verzenddomein ${found.name} is geverifieerd.`,
    };
  } catch (error) {
    if (!(error instanceof SenderDomainsError)) throw error;
    const message =
      error.kind === 'unauthorized'
        ? `Resend did not let this API key read the domains (a sending-only key cannot), so ${name} could not be checked: ${error.message} Check it in the Resend dashboard, or use a key with full access.`
        : `The sending domain ${name} could not be checked: ${error.message} Sending may fail as well; check the network and Resend's status page.`;
    // Resend's own explanation stays as it came (English); the Dutch sentence says what it means here.
    const messageNl =
      error.kind === 'unauthorized'
        ? `Resend liet deze API-sleutel de domeinen niet lezen (een sleutel die alleen mag versturen kan dat niet), dus ${name} kon niet worden gecontroleerd: ${error.message} Controleer het in het Resend-dashboard, of gebruik een sleutel met volledige toegang.`
        : `Het verzenddomein ${name} kon niet worden gecontroleerd: ${error.message} Versturen kan ook mislukken; controleer het netwerk en de statuspagina van Resend.`;
    return {
      domain: unknown('unknown'),
      warnings: [{ level: 'warning', message, messageNl }],
      message: `The sending domain ${name} could not be checked.`,
      messageNl: `Het verzenddomein ${name} kon niet worden gecontroleerd.`,
    };
  }
}

export async function checkSenderHealth(db: DbOrTx, options: SenderHealthOptions): Promise<SenderHealth> {
  const recent = await recentEditionRates(db);
  const rates = rateWarnings(recent);
  if (options.mailerKind === 'mailbox') {
    return {
      ok: rates.length === 0,
      mode: 'mailbox',
      message:
        'No RESEND_API_KEY is set: mail goes to the dev mailbox (/dev/mailbox) and is not sent, so no sending domain is needed.',
      messageNl:
        'Er is geen RESEND_API_KEY ingesteld: e-mail gaat naar de mailbox (/dev/mailbox) en wordt niet verstuurd, dus er is geen verzenddomein nodig.',
      domain: null,
      recent,
      warnings: rates,
      checkedAt: options.now,
    };
  }
  const check = await domainCheck(options);
  const warnings = [...check.warnings, ...rates];
  return {
    ok: warnings.length === 0,
    mode: 'resend',
    message: check.message,
    messageNl: check.messageNl,
    domain: check.domain,
    recent,
    warnings,
    checkedAt: options.now,
  };
}

/**
 * Once at process start: logs at warn level when something is wrong (info when all is well).
 * Never throws and never delays start-up: the caller does not await it.
 */
export async function logSenderHealth(
  db: DbOrTx,
  options: SenderHealthOptions,
  logger: Logger,
): Promise<void> {
  try {
    const health = await checkSenderHealth(db, options);
    const summary = {
      mode: health.mode,
      domain: health.domain ? { name: health.domain.name, status: health.domain.status } : null,
      warnings: health.warnings,
    };
    if (health.ok) logger.info({ senderHealth: summary }, `sender health: ${health.message}`);
    else
      logger.warn(
        { senderHealth: summary },
        `sender health: ${health.warnings.map((w) => w.message).join(' | ')}`,
      );
  } catch (error) {
    logger.warn(
      { err: error instanceof Error ? error.message : String(error) },
      'sender health could not be checked',
    );
  }
}
