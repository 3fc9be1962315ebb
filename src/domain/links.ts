import type { LinkTokens } from '../providers/link-tokens.js';
import { CONFIRM_TOKEN_TTL_SECONDS } from './subscribers.js';

/**
 * The personal links every subscriber email carries, and the RFC 8058 headers. Unsubscribe and
 * preferences links never expire; a confirmation link is valid for CONFIRM_TOKEN_TTL_SECONDS.
 * Editions pass `topicId`: that email's unsubscribe link then leaves that one topic.
 */
export function personalLinks(
  tokens: LinkTokens,
  publicBaseUrl: string,
  subscriberId: string,
  options: { topicId?: string | null } = {},
): { preferencesUrl: string; unsubscribeUrl: string } {
  const base = publicBaseUrl.replace(/\/+$/, '');
  const topic = options.topicId ? { t: options.topicId } : {};
  return {
    preferencesUrl: `${base}/preferences/${tokens.issue({ p: 'preferences', s: subscriberId })}`,
    unsubscribeUrl: `${base}/unsubscribe/${tokens.issue({ p: 'unsubscribe', s: subscriberId, ...topic })}`,
  };
}

export function confirmUrl(
  tokens: LinkTokens,
  publicBaseUrl: string,
  subscriberId: string,
  generation: number,
): string {
  const token = tokens.issue({ p: 'confirm', s: subscriberId, n: generation }, CONFIRM_TOKEN_TTL_SECONDS);
  return `${publicBaseUrl.replace(/\/+$/, '')}/confirm/${token}`;
}

/** One-click unsubscribe (RFC 8058): mail clients POST `List-Unsubscribe=One-Click` to the URL. */
export function listUnsubscribeHeaders(unsubscribeUrl: string): Record<string, string> {
  return {
    'List-Unsubscribe': `<${unsubscribeUrl}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  };
}
