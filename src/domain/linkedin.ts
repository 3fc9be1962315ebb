import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection.js';
import type { LinkedInPostKind, LinkedInPostStatus } from '../db/schema.js';
import { randomToken, sha256 } from '../infra/crypto.js';
import type { SecretBox } from '../infra/secret-box.js';
import { editionImage } from './archive.js';
import { audit } from './audit.js';
import type { Principal } from './auth.js';
import { documentFilePath } from './documents.js';
import { renderableBlocks } from './edition-content.js';
import { webVersionUrl } from './edition-render.js';
import { queueEmail } from './emails.js';
import { Conflict, Invalid, NotFound } from './errors.js';
import { enqueue } from './outbox.js';
import { getSettings } from './settings.js';

/**
 * LinkedIn: the connection (OAuth tokens, encrypted at rest), posts and their life cycle, the
 * announcement of a sent edition, and health. Publishing itself happens in
 * jobs/processors/linkedin.ts; this module only changes rows and records outbox entries.
 *
 *   draft ──approve/schedule──▶ scheduled ──job──▶ publishing ──read back──▶ published
 *     │                            │  ▲                │
 *     └──────cancel──────▶ cancelled  └── 429: waits ──┤ 401: held ──reconnect──▶ scheduled
 *                                                      └ permanent error: failed ──schedule──▶ scheduled
 */
export const LINKEDIN_QUEUE = 'linkedin';
/** A scheduled post this long past its time without a change is assumed to have lost its job. */
export const STUCK_AFTER_MS = 2 * 60 * 1000;
/** Which statuses allow which change (the admin shows only the buttons that apply). */
export const EDITABLE: LinkedInPostStatus[] = ['draft', 'scheduled'];
export const SCHEDULABLE: LinkedInPostStatus[] = ['draft', 'scheduled', 'failed', 'held'];
export const CANCELLABLE: LinkedInPostStatus[] = ['draft', 'scheduled', 'failed', 'held'];
/**
 * Posts that wait for a person: a draft goes nowhere until someone approves or schedules it (an
 * announcement that needs approval, too), a failed post until someone sends it again or cancels
 * it, a held one until someone fixes the connection. Health warns and the dashboard lists them.
 */
export const NEEDS_ACTION: LinkedInPostStatus[] = ['draft', 'failed', 'held'];

export const publishJobId = (postId: string, version: number) => `linkedin-post-${postId}-v${version}`;
export const dryRunUrn = (postId: string) => `urn:li:share:dryrun-${postId}`;
export const postUrl = (urn: string) => `https://www.linkedin.com/feed/update/${urn}`;

/* ------------------------------------------------------------------------------------------ posts */

export interface PostInput {
  kind: Exclude<LinkedInPostKind, 'edition'>;
  commentary: string;
  link: string;
  title: string;
  description: string;
  imageUrl?: string | null;
  scheduledAt?: Date | null;
}

export async function getPost(db: DbOrTx, id: string, options: { forUpdate?: boolean } = {}) {
  const post = await db
    .selectFrom('linkedin_posts')
    .selectAll()
    .where('id', '=', id)
    .$if(options.forUpdate === true, (q) => q.forUpdate())
    .executeTakeFirst();
  if (!post) throw new NotFound('No such LinkedIn post.');
  return post;
}
export type PostRow = Awaited<ReturnType<typeof getPost>>;

export function listPosts(
  db: DbOrTx,
  filter: { status?: LinkedInPostStatus; kind?: LinkedInPostKind; before?: string; limit: number },
) {
  return db
    .selectFrom('linkedin_posts')
    .selectAll()
    .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status!))
    .$if(filter.kind !== undefined, (q) => q.where('kind', '=', filter.kind!))
    .$if(filter.before !== undefined, (q) => q.where('id', '<', filter.before!))
    .orderBy('id', 'desc')
    .limit(filter.limit)
    .execute();
}

/** The posts that wait for a person (NEEDS_ACTION), the longest waiting first. */
export function postsNeedingAction(db: DbOrTx, limit: number) {
  return db
    .selectFrom('linkedin_posts')
    .select(['id', 'kind', 'title', 'status', 'last_error', 'updated_at'])
    .where('status', 'in', NEEDS_ACTION)
    .orderBy('updated_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

export function postAttempts(db: DbOrTx, postId: string) {
  return db
    .selectFrom('linkedin_post_attempts')
    .selectAll()
    .where('post_id', '=', postId)
    .orderBy('id')
    .execute();
}

export async function createPost(tx: DbOrTx, actor: Principal, input: PostInput) {
  const row = await tx
    .insertInto('linkedin_posts')
    .values({
      kind: input.kind,
      commentary: input.commentary,
      link: input.link,
      title: input.title,
      description: input.description,
      image_url: input.imageUrl ?? null,
      scheduled_at: input.scheduledAt ?? null,
      status: 'draft',
      created_by: actor.user.id,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await audit(tx, actor, 'linkedin.post.create', `linkedin-post:${row.id}`, { kind: input.kind });
  return getPost(tx, row.id);
}

/** Draft and scheduled posts only; a new time for a scheduled post moves its job (new version). */
export async function updatePost(
  tx: DbOrTx,
  actor: Principal,
  id: string,
  changes: Partial<PostInput>,
  now: Date,
) {
  const post = await getPost(tx, id, { forUpdate: true });
  if (!EDITABLE.includes(post.status))
    throw new Conflict(`A post that is ${post.status} can no longer be edited.`);
  if (post.create_sent_at && (changes.commentary !== undefined || changes.link !== undefined)) {
    // An earlier attempt may have reached LinkedIn with the old text; it is found by that text.
    throw new Conflict(
      'An earlier attempt may already have reached LinkedIn with this text; cancel this post and create a new one.',
    );
  }
  if (post.kind === 'edition' && changes.kind !== undefined)
    throw new Invalid('An announcement stays an announcement.', [
      { field: 'kind', message: 'De soort van een aankondiging kan niet veranderen.' },
    ]);
  await tx
    .updateTable('linkedin_posts')
    .set({
      ...(changes.kind !== undefined ? { kind: changes.kind } : {}),
      ...(changes.commentary !== undefined ? { commentary: changes.commentary } : {}),
      ...(changes.link !== undefined ? { link: changes.link } : {}),
      ...(changes.title !== undefined ? { title: changes.title } : {}),
      ...(changes.description !== undefined ? { description: changes.description } : {}),
      ...(changes.imageUrl !== undefined ? { image_url: changes.imageUrl, thumbnail_urn: null } : {}),
      ...(changes.scheduledAt !== undefined ? { scheduled_at: changes.scheduledAt } : {}),
      updated_at: now,
    })
    .where('id', '=', id)
    .execute();
  if (post.status === 'scheduled' && changes.scheduledAt !== undefined) {
    await schedule(tx, id, changes.scheduledAt ?? now, now);
  }
  await audit(tx, actor, 'linkedin.post.update', `linkedin-post:${id}`, { fields: Object.keys(changes) });
  return getPost(tx, id);
}

/**
 * The thumbnail a post will use: its own image, or the programme's default; none: the post goes
 * out as an article without a thumbnail (LinkedIn allows that; the link card shows no picture).
 */
export async function effectiveImageUrl(
  db: DbOrTx,
  post: { image_url: string | null },
): Promise<string | null> {
  return post.image_url ?? (await getSettings(db)).linkedinDefaultImageUrl;
}

async function schedule(tx: DbOrTx, id: string, at: Date, now: Date) {
  const updated = await tx
    .updateTable('linkedin_posts')
    .set((eb) => ({
      status: 'scheduled',
      scheduled_at: at,
      schedule_version: eb('schedule_version', '+', 1),
      retry_at: null,
      lease_job_id: null,
      lease_until: null,
      updated_at: now,
    }))
    .where('id', '=', id)
    .returning(['schedule_version'])
    .executeTakeFirstOrThrow();
  await enqueue(tx, {
    queue: LINKEDIN_QUEUE,
    jobName: 'publish-post',
    jobId: publishJobId(id, updated.schedule_version),
    payload: { postId: id, version: updated.schedule_version },
    runAt: at,
  });
}

/** Schedules (or reschedules) a post; `at` absent or past: now. A failed or held post goes again. */
export async function schedulePost(
  tx: DbOrTx,
  actor: Principal | null,
  id: string,
  at: Date | null,
  now: Date,
) {
  const post = await getPost(tx, id, { forUpdate: true });
  if (!SCHEDULABLE.includes(post.status))
    throw new Conflict(`A post that is ${post.status} cannot be scheduled.`);
  const when = at && at.getTime() > now.getTime() ? at : now;
  await schedule(tx, id, when, now);
  await audit(tx, actor, 'linkedin.post.schedule', `linkedin-post:${id}`, { at: when.toISOString() });
  return getPost(tx, id);
}

/** Approves a draft (e.g. an announcement that needs approval): it goes out at its time, or now. */
export async function approvePost(tx: DbOrTx, actor: Principal, id: string, now: Date) {
  const post = await getPost(tx, id, { forUpdate: true });
  if (post.status !== 'draft')
    throw new Conflict(`Only a draft can be approved (this post is ${post.status}).`);
  await tx
    .updateTable('linkedin_posts')
    .set({ approved_by: actor.user.id, approved_at: now })
    .where('id', '=', id)
    .execute();
  const when = post.scheduled_at && post.scheduled_at.getTime() > now.getTime() ? post.scheduled_at : now;
  await schedule(tx, id, when, now);
  await audit(tx, actor, 'linkedin.post.approve', `linkedin-post:${id}`);
  return getPost(tx, id);
}

export async function cancelPost(tx: DbOrTx, actor: Principal, id: string, now: Date) {
  const post = await getPost(tx, id, { forUpdate: true });
  if (!CANCELLABLE.includes(post.status))
    throw new Conflict(`A post that is ${post.status} cannot be cancelled.`);
  await tx
    .updateTable('linkedin_posts')
    .set((eb) => ({
      status: 'cancelled',
      schedule_version: eb('schedule_version', '+', 1),
      retry_at: null,
      updated_at: now,
    }))
    .where('id', '=', id)
    .execute();
  await audit(tx, actor, 'linkedin.post.cancel', `linkedin-post:${id}`);
  return getPost(tx, id);
}

/**
 * Held posts (401: token refused) go out again, now; called on reconnect, by admins, and when
 * LINKEDIN_ACCESS_TOKEN was replaced. Whatever held them counts as fixed: a refused
 * LINKEDIN_ACCESS_TOKEN is tried again too (and held again if LinkedIn still refuses it).
 */
export async function requeueHeldPosts(tx: DbOrTx, now: Date): Promise<number> {
  await lockEnvTokenState(tx);
  await tx.deleteFrom('linkedin_refused_env_tokens').execute();
  const held = await tx
    .selectFrom('linkedin_posts')
    .select('id')
    .where('status', '=', 'held')
    .orderBy('id')
    .forUpdate()
    .execute();
  for (const post of held) await schedule(tx, post.id, now, now);
  return held.length;
}

/* ------------------------------------------------------------------------------- announcements */

export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(
    /\{(titel|onderwerp|samenvatting|link)\}/g,
    (_, name: string) => values[name] ?? '',
  );
}

/**
 * The announcement of a sent edition: one per edition (unique index), from the template in the
 * settings; `draft` when announcements need approval, else scheduled now. Its image: the edition's
 * share image, else its first image block (else, when published, the default image; else none).
 */
export async function announceEdition(
  tx: DbOrTx,
  editionId: string,
  publicBaseUrl: string,
  now: Date,
): Promise<string> {
  const edition = await tx
    .selectFrom('editions')
    .select(['id', 'title', 'subject', 'preheader', 'slug', 'image_url', 'blocks', 'status'])
    .where('id', '=', editionId)
    .executeTakeFirst();
  if (!edition) return 'edition gone';
  if (edition.status !== 'sent') return `edition is ${edition.status}`;
  return announce(
    tx,
    { kind: 'edition', editionId },
    {
      title: edition.title,
      subject: edition.subject,
      description: edition.preheader.trim() || edition.subject,
      link: webVersionUrl(publicBaseUrl, edition.slug),
      imageUrl:
        editionImage({ imageUrl: edition.image_url, blocks: renderableBlocks(edition.blocks) })?.url ?? null,
    },
    now,
  );
}

/** The announcement of a published document: one per document, the same way as for editions. */
export async function announceDocument(
  tx: DbOrTx,
  documentId: string,
  publicBaseUrl: string,
  now: Date,
): Promise<string> {
  const document = await tx
    .selectFrom('documents')
    .select(['id', 'title', 'slug', 'summary', 'url', 'file_format', 'published_at'])
    .where('id', '=', documentId)
    .executeTakeFirst();
  if (!document) return 'document gone';
  if (!document.published_at) return 'document is not published';
  const link = document.url ?? `${publicBaseUrl}${documentFilePath(document)}`;
  return announce(
    tx,
    { kind: 'document', documentId },
    {
      title: document.title,
      subject: document.title,
      description: document.summary.trim() || document.title,
      link,
      imageUrl: null,
    },
    now,
  );
}

type AnnouncementOf = { kind: 'edition'; editionId: string } | { kind: 'document'; documentId: string };

/**
 * Creates the announcement from the template in the settings, once per edition or document
 * (unique indexes); `draft` when announcements need approval, else scheduled now.
 */
async function announce(
  tx: DbOrTx,
  of: AnnouncementOf,
  content: { title: string; subject: string; description: string; link: string; imageUrl: string | null },
  now: Date,
): Promise<string> {
  const settings = await getSettings(tx);
  const inserted = await tx
    .insertInto('linkedin_posts')
    .values({
      kind: of.kind,
      edition_id: of.kind === 'edition' ? of.editionId : null,
      document_id: of.kind === 'document' ? of.documentId : null,
      commentary: fillTemplate(settings.linkedinAnnouncementTemplate, {
        titel: content.title,
        onderwerp: content.subject,
        samenvatting: content.description,
        link: content.link,
      }),
      link: content.link,
      title: content.title,
      description: content.description,
      image_url: content.imageUrl,
      status: 'draft',
    })
    .onConflict((oc) =>
      of.kind === 'edition'
        ? oc
            .column('edition_id')
            .where('kind', '=', 'edition')
            .where('edition_id', 'is not', null)
            .doNothing()
        : oc
            .column('document_id')
            .where('kind', '=', 'document')
            .where('document_id', 'is not', null)
            .doNothing(),
    )
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return 'already announced';
  if (!settings.linkedinAnnouncementNeedsApproval) {
    await schedule(tx, inserted.id, now, now);
    return `announcement ${inserted.id} scheduled`;
  }
  return `announcement ${inserted.id} waits for approval`;
}

/* --------------------------------------------------------------------------------- connection */

export const TOKEN_CONTEXT = { access: 'linkedin-access-token', refresh: 'linkedin-refresh-token' } as const;
const STATE_CONTEXT = 'linkedin-oauth-state';
const STATE_TTL_MS = 10 * 60 * 1000;

/** The connection in use (active or broken), if any. */
export function currentConnection(db: DbOrTx) {
  return db
    .selectFrom('linkedin_connections')
    .selectAll()
    .where('status', 'in', ['active', 'broken'])
    .executeTakeFirst();
}

/** A signed, single-use OAuth `state`, bound to the admin who started the flow. */
export async function createOAuthState(
  db: DbOrTx,
  box: SecretBox,
  userId: string,
  now: Date,
): Promise<string> {
  const nonce = randomToken(24);
  await db
    .insertInto('linkedin_oauth_states')
    .values({
      nonce_hash: sha256(nonce),
      user_id: userId,
      expires_at: new Date(now.getTime() + STATE_TTL_MS),
    })
    .execute();
  await db.deleteFrom('linkedin_oauth_states').where('expires_at', '<', now).execute();
  return box.sign(nonce, STATE_CONTEXT);
}

/** Checks the signature, then uses the state up (once, by the same admin, before it expires). */
export async function consumeOAuthState(
  db: DbOrTx,
  box: SecretBox,
  state: string,
  userId: string,
  now: Date,
): Promise<boolean> {
  const nonce = box.verify(state, STATE_CONTEXT);
  if (!nonce) return false;
  const used = await db
    .updateTable('linkedin_oauth_states')
    .set({ used_at: now })
    .where('nonce_hash', '=', sha256(nonce))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('nonce_hash')
    .executeTakeFirst();
  return used !== undefined;
}

export interface StoredTokens {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string | null;
  refreshTokenExpiresAt: Date | null;
  scopes: string;
}

/** After the code exchange: the tokens (encrypted) wait in a pending row for the admin's choice. */
export async function storePendingConnection(
  db: DbOrTx,
  box: SecretBox,
  userId: string,
  tokens: StoredTokens,
  organizations: { id: string; name: string }[],
): Promise<string> {
  const row = await db
    .insertInto('linkedin_connections')
    .values({
      status: 'pending',
      organizations: JSON.stringify(organizations),
      access_token_enc: box.seal(tokens.accessToken, TOKEN_CONTEXT.access),
      access_token_expires_at: tokens.accessTokenExpiresAt,
      refresh_token_enc: tokens.refreshToken ? box.seal(tokens.refreshToken, TOKEN_CONTEXT.refresh) : null,
      refresh_token_expires_at: tokens.refreshTokenExpiresAt,
      scopes: tokens.scopes,
      connected_by: userId,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function pendingConnection(db: DbOrTx, id: string, userId: string) {
  const missing = new NotFound('This connection attempt is no longer open; connect again.');
  // The id comes from a form field: anything but a bigint is no attempt of ours.
  if (!/^\d{1,18}$/.test(id)) throw missing;
  const row = await db
    .selectFrom('linkedin_connections')
    .select(['id', 'organizations', 'created_at'])
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where('connected_by', '=', userId)
    .executeTakeFirst();
  if (!row) throw missing;
  return row;
}

/**
 * The admin chose the organisation: the pending row becomes the connection in use, the previous
 * one is disconnected (its tokens wiped), and posts held for a broken connection go out.
 */
export async function activateConnection(
  tx: DbOrTx,
  actor: Principal,
  pendingId: string,
  organizationId: string,
  now: Date,
) {
  const pending = await pendingConnection(tx, pendingId, actor.user.id);
  const chosen = pending.organizations.find((o) => o.id === organizationId);
  if (!chosen)
    throw new Invalid('Choose one of the organisations you administer.', [
      { field: 'organizationId', message: 'Kies een van de organisaties.' },
    ]);
  await disconnectCurrent(tx, now);
  await tx
    .updateTable('linkedin_connections')
    .set({
      status: 'active',
      organization_id: chosen.id,
      organization_name: chosen.name,
      organizations: '[]',
      updated_at: now,
    })
    .where('id', '=', pendingId)
    .execute();
  const requeued = await requeueHeldPosts(tx, now);
  await audit(tx, actor, 'linkedin.connect', `linkedin-connection:${pendingId}`, {
    organizationId: chosen.id,
    requeued,
  });
  return { organizationId: chosen.id, organizationName: chosen.name, requeued };
}

async function disconnectCurrent(tx: DbOrTx, now: Date) {
  await tx
    .updateTable('linkedin_connections')
    .set({ status: 'disconnected', access_token_enc: null, refresh_token_enc: null, updated_at: now })
    .where('status', 'in', ['active', 'broken'])
    .execute();
}

export async function disconnect(tx: DbOrTx, actor: Principal, now: Date) {
  await disconnectCurrent(tx, now);
  await audit(tx, actor, 'linkedin.disconnect', null);
}

/** A 401: the connection is broken until someone reconnects; posts are held meanwhile. */
export async function markConnectionBroken(db: DbOrTx, connectionId: string, reason: string, now: Date) {
  await db
    .updateTable('linkedin_connections')
    .set({ status: 'broken', broken_reason: reason.slice(0, 500), broken_at: now, updated_at: now })
    .where('id', '=', connectionId)
    .where('status', '=', 'active')
    .execute();
}

export async function storeRefreshedTokens(
  db: DbOrTx,
  box: SecretBox,
  connectionId: string,
  tokens: StoredTokens,
  now: Date,
) {
  await db
    .updateTable('linkedin_connections')
    .set({
      access_token_enc: box.seal(tokens.accessToken, TOKEN_CONTEXT.access),
      access_token_expires_at: tokens.accessTokenExpiresAt,
      ...(tokens.refreshToken
        ? {
            refresh_token_enc: box.seal(tokens.refreshToken, TOKEN_CONTEXT.refresh),
            refresh_token_expires_at: tokens.refreshTokenExpiresAt,
          }
        : {}),
      last_refreshed_at: now,
      updated_at: now,
    })
    .where('id', '=', connectionId)
    .execute();
}

/* ------------------------------------------------------- headless token (LINKEDIN_ACCESS_TOKEN) */

/** How a LINKEDIN_ACCESS_TOKEN is known in the database: its SHA-256, never the token. */
export const envTokenFingerprint = (token: string) => sha256(`linkedin-env-token:${token}`);

/** Refusal and resumption take turns, so that a post held by one is seen by the other. */
const lockEnvTokenState = (tx: DbOrTx) =>
  sql`select pg_advisory_xact_lock(hashtext('thuispost-linkedin-env-token'))`.execute(tx);

/** A 401 on LINKEDIN_ACCESS_TOKEN: posts are held without asking LinkedIn until another token is set. */
export async function markEnvTokenRefused(tx: DbOrTx, token: string, reason: string, now: Date) {
  await lockEnvTokenState(tx);
  const refusal = { reason: reason.slice(0, 500), refused_at: now };
  await tx
    .insertInto('linkedin_refused_env_tokens')
    .values({ fingerprint: envTokenFingerprint(token), ...refusal })
    .onConflict((oc) => oc.column('fingerprint').doUpdateSet(refusal))
    .execute();
}

function envTokenRefusal(db: DbOrTx, token: string) {
  return db
    .selectFrom('linkedin_refused_env_tokens')
    .select(['reason', 'refused_at'])
    .where('fingerprint', '=', envTokenFingerprint(token))
    .executeTakeFirst();
}

/**
 * At worker start and in every LinkedIn sweep: LINKEDIN_ACCESS_TOKEN and LINKEDIN_ORGANIZATION_ID
 * are set and the token is not one LinkedIn refused, so whatever held posts (a refused earlier
 * token, a broken admin connection) no longer applies and they go out now; returns how many.
 * Nothing happens without headless credentials, or while the token is still the refused one.
 */
export async function resumeWithNewEnvToken(
  tx: DbOrTx,
  env: { accessToken?: string | undefined; organizationId?: string | undefined },
  now: Date,
): Promise<number> {
  if (!env.accessToken || !env.organizationId) return 0;
  await lockEnvTokenState(tx);
  if (await envTokenRefusal(tx, env.accessToken)) return 0;
  const requeued = await requeueHeldPosts(tx, now);
  if (requeued > 0) await audit(tx, null, 'linkedin.env-token.resume', null, { requeued });
  return requeued;
}

export type Credentials =
  | { mode: 'dry-run' }
  | { mode: 'held'; reason: string }
  | {
      mode: 'live';
      source: 'environment' | 'connection';
      connectionId: string | null;
      accessToken: string;
      organizationId: string;
    };

/**
 * What to post with: LINKEDIN_ACCESS_TOKEN + LINKEDIN_ORGANIZATION_ID when set (headless), else the
 * connection made in the admin; neither: a dry run. A refused token or a broken or expired
 * connection holds posts.
 */
export async function resolveCredentials(
  db: DbOrTx,
  env: { accessToken?: string | undefined; organizationId?: string | undefined },
  box: SecretBox | null,
  now: Date,
): Promise<Credentials> {
  if (env.accessToken && env.organizationId) {
    const refusal = await envTokenRefusal(db, env.accessToken);
    if (refusal) {
      return {
        mode: 'held',
        reason: `LinkedIn refused LINKEDIN_ACCESS_TOKEN on ${refusal.refused_at.toISOString()} (${refusal.reason}): set a new token and restart.`,
      };
    }
    return {
      mode: 'live',
      source: 'environment',
      connectionId: null,
      accessToken: env.accessToken,
      organizationId: env.organizationId,
    };
  }
  const connection = await currentConnection(db);
  if (!connection) return { mode: 'dry-run' };
  if (connection.status === 'broken')
    return { mode: 'held', reason: `LinkedIn connection broken: ${connection.broken_reason ?? 'reconnect'}` };
  if (connection.access_token_expires_at && connection.access_token_expires_at.getTime() <= now.getTime()) {
    await markConnectionBroken(db, connection.id, 'access token expired', now);
    return { mode: 'held', reason: 'LinkedIn access token expired: reconnect' };
  }
  if (!box || !connection.access_token_enc || !connection.organization_id) {
    throw new Error(
      'a LinkedIn connection exists, but this process cannot read its token (APP_SECRET missing?)',
    );
  }
  return {
    mode: 'live',
    source: 'connection',
    connectionId: connection.id,
    accessToken: box.open(connection.access_token_enc, TOKEN_CONTEXT.access),
    organizationId: connection.organization_id,
  };
}

/* ------------------------------------------------------------------------------------- health */

const DAY_MS = 24 * 60 * 60 * 1000;
export const EXPIRY_WARNING_DAYS = [14, 7, 1] as const;
export const VERSION_WARNING_MONTHS = 10;

export interface LinkedInHealth {
  mode: 'dry-run' | 'environment' | 'connected' | 'broken';
  organizationId: string | null;
  organizationName: string | null;
  accessTokenExpiresAt: string | null;
  daysLeft: number | null;
  refreshable: boolean;
  version: string;
  versionAgeMonths: number;
  heldPosts: number;
  failedPosts: number;
  draftPosts: number;
  warnings: string[];
}

/** Whole months between a YYYYMM version and `now` (UTC). */
export function versionAgeMonths(version: string, now: Date): number {
  const year = Number(version.slice(0, 4));
  const month = Number(version.slice(4, 6));
  return (now.getUTCFullYear() - year) * 12 + (now.getUTCMonth() + 1 - month);
}

export async function linkedinHealth(
  db: DbOrTx,
  config: { version: string; envAccessToken?: string | undefined; envOrganizationId?: string | undefined },
  now: Date,
): Promise<LinkedInHealth> {
  const connection = await currentConnection(db);
  const counts = await db
    .selectFrom('linkedin_posts')
    .select([
      sql<string>`count(*) filter (where status = 'held')`.as('held'),
      sql<string>`count(*) filter (where status = 'failed')`.as('failed'),
      sql<string>`count(*) filter (where status = 'draft')`.as('draft'),
    ])
    .executeTakeFirstOrThrow();
  const warnings: string[] = [];
  const env = Boolean(config.envAccessToken && config.envOrganizationId);
  let mode: LinkedInHealth['mode'] = 'dry-run';
  let daysLeft: number | null = null;
  if (env) {
    const refusal = await envTokenRefusal(db, config.envAccessToken!);
    mode = refusal ? 'broken' : 'environment';
    if (refusal)
      warnings.push(
        `LinkedIn weigert LINKEDIN_ACCESS_TOKEN (${refusal.reason}): zet een nieuw token in de omgeving en herstart; wachtende berichten gaan dan vanzelf.`,
      );
  } else if (connection) {
    mode = connection.status === 'broken' ? 'broken' : 'connected';
    if (connection.status === 'broken')
      warnings.push(
        `De LinkedIn-koppeling werkt niet meer (${connection.broken_reason ?? 'onbekend'}): koppel opnieuw.`,
      );
    if (connection.access_token_expires_at) {
      const ms = connection.access_token_expires_at.getTime() - now.getTime();
      daysLeft = Math.max(0, Math.floor(ms / DAY_MS));
      const threshold = EXPIRY_WARNING_DAYS.slice()
        .reverse()
        .find((days) => ms <= days * DAY_MS);
      if (ms <= 0) warnings.push('Het LinkedIn-toegangstoken is verlopen: koppel opnieuw.');
      else if (threshold !== undefined) {
        warnings.push(
          `Het LinkedIn-toegangstoken verloopt over minder dan ${threshold} ${threshold === 1 ? 'dag' : 'dagen'}${
            connection.refresh_token_enc ? ' (het wordt automatisch vernieuwd)' : ': koppel opnieuw'
          }.`,
        );
      }
    }
  }
  const age = versionAgeMonths(config.version, now);
  if (age > VERSION_WARNING_MONTHS) {
    warnings.push(
      `LINKEDIN_VERSION ${config.version} is ${age} maanden oud; LinkedIn stopt versies na ongeveer een jaar: kies een nieuwere.`,
    );
  }
  const held = Number(counts.held);
  const failed = Number(counts.failed);
  const drafts = Number(counts.draft);
  if (held > 0) warnings.push(`${held} LinkedIn-bericht(en) wachten op een werkende koppeling.`);
  if (failed > 0)
    warnings.push(`${failed} LinkedIn-bericht(en) mislukt: bekijk de reden en verstuur opnieuw of annuleer.`);
  if (drafts > 0)
    warnings.push(`${drafts} LinkedIn-bericht(en) wachten als concept op goedkeuring: ze gaan niet vanzelf.`);
  return {
    mode,
    organizationId: env ? (config.envOrganizationId ?? null) : (connection?.organization_id ?? null),
    organizationName: env ? null : (connection?.organization_name ?? null),
    accessTokenExpiresAt: env ? null : (connection?.access_token_expires_at?.toISOString() ?? null),
    daysLeft,
    refreshable: !env && Boolean(connection?.refresh_token_enc),
    version: config.version,
    versionAgeMonths: age,
    heldPosts: held,
    failedPosts: failed,
    draftPosts: drafts,
    warnings,
  };
}

/** For GET /readyz: always ok (LinkedIn trouble never makes the service unready), with a `warning`. */
export async function linkedinReadiness(
  db: DbOrTx,
  config: { version: string; accessToken?: string | undefined; organizationId?: string | undefined },
  now: Date,
): Promise<{ ok: true; mode: LinkedInHealth['mode']; warning?: string }> {
  const health = await linkedinHealth(
    db,
    { version: config.version, envAccessToken: config.accessToken, envOrganizationId: config.organizationId },
    now,
  );
  return {
    ok: true,
    mode: health.mode,
    ...(health.warnings.length > 0 ? { warning: health.warnings.join(' ') } : {}),
  };
}

/**
 * Emails every active admin once per warning: the access token of the connection is within 14, 7
 * or 1 days of expiry (or broken), so someone reconnects before posts start waiting. Each warning
 * is recorded in the audit log, which is also what keeps it from being sent twice.
 */
export async function warnAdminsAboutLinkedIn(tx: DbOrTx, publicBaseUrl: string, now: Date): Promise<number> {
  const connection = await currentConnection(tx);
  if (!connection) return 0;
  let warning: { key: string; subject: string; text: string } | null = null;
  if (connection.status === 'broken') {
    warning = {
      key: `broken-${connection.broken_at?.getTime() ?? 0}`,
      subject: 'De LinkedIn-koppeling werkt niet meer',
      text: `De koppeling met LinkedIn werkt niet meer (${connection.broken_reason ?? 'onbekende reden'}). Berichten wachten tot iemand opnieuw koppelt.`,
    };
  } else if (connection.access_token_expires_at && !connection.refresh_token_enc) {
    const ms = connection.access_token_expires_at.getTime() - now.getTime();
    const threshold = [...EXPIRY_WARNING_DAYS].reverse().find((days) => ms <= days * DAY_MS);
    if (threshold !== undefined) {
      const expires = connection.access_token_expires_at.getTime();
      warning = {
        key: `expiry-${threshold}-${expires}`,
        subject: `De LinkedIn-koppeling verloopt binnen ${threshold} ${threshold === 1 ? 'dag' : 'dagen'}`,
        text: `Het LinkedIn-toegangstoken verloopt op ${connection.access_token_expires_at.toISOString().slice(0, 10)}. Koppel opnieuw om te voorkomen dat berichten blijven wachten.`,
      };
    }
  }
  if (!warning) return 0;
  const target = `linkedin-connection:${connection.id}:${warning.key}`;
  const sent = await tx
    .selectFrom('audit_log')
    .select('id')
    .where('action', '=', 'linkedin.warning')
    .where('target', '=', target)
    .executeTakeFirst();
  if (sent) return 0;
  const admins = await tx
    .selectFrom('users')
    .select('email')
    .where('role', '=', 'admin')
    .where('disabled_at', 'is', null)
    .execute();
  const link = `${publicBaseUrl}/admin/linkedin`;
  for (const admin of admins) {
    await queueEmail(tx, {
      kind: 'linkedin-warning',
      to: admin.email,
      subject: warning.subject,
      text: `${warning.text}\n\n${link}`,
      html: `<!doctype html><html lang="nl"><body><p>${escapeHtml(warning.text)}</p><p><a href="${escapeHtml(link)}">Naar de LinkedIn-koppeling</a></p></body></html>`,
    });
  }
  await audit(tx, null, 'linkedin.warning', target, { admins: admins.length });
  return admins.length;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
