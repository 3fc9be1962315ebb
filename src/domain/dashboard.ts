import type { DbOrTx } from '../db/connection.js';
import { type SendSummary, sendSummaries } from './edition-stats.js';

/** What the admin overview lists: sends and posts to come, sends under way, and the last sends. */

export function upcomingEditions(db: DbOrTx, limit: number) {
  return db
    .selectFrom('editions')
    .select(['id', 'title', 'status', 'send_at'])
    .where('status', '=', 'scheduled')
    .orderBy('send_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

export function upcomingPosts(db: DbOrTx, limit: number) {
  return db
    .selectFrom('linkedin_posts')
    .select(['id', 'kind', 'title', 'status', 'scheduled_at'])
    .where('status', '=', 'scheduled')
    .orderBy('scheduled_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

export interface RecentSend {
  id: string;
  title: string;
  status: 'sending' | 'paused' | 'sent' | 'failed' | 'cancelled';
  startedAt: Date | null;
  sentAt: Date | null;
  pausedReason: string | null;
  summary: SendSummary;
}

/** Editions that started sending, newest first (those still under way among them), with their figures. */
export async function recentSends(db: DbOrTx, limit: number): Promise<RecentSend[]> {
  const editions = await db
    .selectFrom('editions')
    .select(['id', 'title', 'status', 'sending_started_at', 'sent_at', 'paused_reason'])
    .where('sending_started_at', 'is not', null)
    .orderBy('sending_started_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  const summaries = await sendSummaries(
    db,
    editions.map((e) => e.id),
  );
  return editions.map((e) => ({
    id: e.id,
    title: e.title,
    status: e.status as RecentSend['status'],
    startedAt: e.sending_started_at,
    sentAt: e.sent_at,
    pausedReason: e.paused_reason,
    summary: summaries.get(e.id)!,
  }));
}
