import { DelayedError, type Job } from 'bullmq';
import { sql } from 'kysely';
import { z } from 'zod';
import { DEFAULT_LINKEDIN_VERSION } from '../../config.js';
import type { Db, DbOrTx } from '../../db/connection.js';
import {
  announceDocument,
  announceEdition,
  type Credentials,
  currentConnection,
  dryRunUrn,
  effectiveImageUrl,
  getPost,
  LINKEDIN_QUEUE,
  markConnectionBroken,
  markEnvTokenRefused,
  type PostRow,
  publishJobId,
  resolveCredentials,
  resumeWithNewEnvToken,
  STUCK_AFTER_MS,
  storeRefreshedTokens,
  TOKEN_CONTEXT,
  warnAdminsAboutLinkedIn,
} from '../../domain/linkedin.js';
import { enqueue } from '../../domain/outbox.js';
import type { Logger } from '../../infra/logger.js';
import type { SecretBox } from '../../infra/secret-box.js';
import type { Clock } from '../../providers/clock.js';
import { fetchImage, ImageFetchError } from '../../providers/image-fetch.js';
import {
  type ArticlePost,
  createPostRequest,
  HttpLinkedInApi,
  initializeUploadRequest,
  type LinkedInApi,
  type LinkedInCredentials,
  LinkedInError,
  type LinkedInSettings,
  type OAuthApp,
  refreshAccessToken,
} from '../../providers/linkedin.js';
import { composeCommentary } from '../../providers/linkedin-text.js';
import { QUEUES } from '../queues.js';

/** What the LinkedIn worker needs besides the database; built by the entry point from the config. */
export interface LinkedInWorkerConfig {
  settings: LinkedInSettings;
  /** LINKEDIN_ACCESS_TOKEN + LINKEDIN_ORGANIZATION_ID (headless); they win over an admin connection. */
  envAccessToken?: string | undefined;
  envOrganizationId?: string | undefined;
  /** LINKEDIN_CLIENT_ID/SECRET, for refreshing tokens. */
  oauthApp?: OAuthApp | undefined;
  /** Opens the stored tokens (key from APP_SECRET). */
  secretBox: SecretBox | null;
  /** Tests only: thumbnails may come from 127.0.0.1. */
  allowPrivateImageHosts?: boolean;
  api?: LinkedInApi;
  imagePollIntervalMs?: number;
  imagePollAttempts?: number;
  /** How many of the organisation's latest posts are searched after an ambiguous failure. */
  lookupCount?: number;
}

export interface LinkedInProcessorDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  publicBaseUrl: string;
  linkedin?: LinkedInWorkerConfig;
}

const announcePayload = QUEUES.linkedin['announce-edition'];
const announceDocumentPayload = QUEUES.linkedin['announce-document'];
const publishPayload = z.object({ postId: z.string().regex(/^\d+$/), version: z.number().int() });
const EARLY_TOLERANCE_MS = 5_000;
/** Another job id (a sweep's) waits this long for a job that holds the post; the same job id takes over at once. */
const LEASE_MS = 5 * 60 * 1000;
/** Refresh a refreshable access token when it has less than this left. */
const REFRESH_BEFORE_MS = 14 * 24 * 60 * 60 * 1000;
/** A post created before its first attempt (minus clock skew) is not ours. */
const LOOKUP_SKEW_MS = 10 * 60 * 1000;

/** The next midnight UTC: LinkedIn's daily quotas reset then, and a 429 carries no Retry-After. */
export function nextMidnightUtc(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}

/**
 * Queue `linkedin`:
 * - `announce-edition` ({ editionId }): creates the edition's announcement (once; see domain).
 * - `publish-post` ({ postId, version }, job id `linkedin-post-<id>-v<version>`): publishes a post
 *   if status and version still match when it runs.
 * - `refresh-token` and `sweep` (recurring): refresh a refreshable token that expires within 14
 *   days; give scheduled posts whose job was lost (Redis) a job again.
 */
export function linkedinProcessor(deps: LinkedInProcessorDeps) {
  const config: LinkedInWorkerConfig = deps.linkedin ?? {
    settings: {
      apiBaseUrl: 'https://api.linkedin.com',
      oauthBaseUrl: 'https://www.linkedin.com',
      version: DEFAULT_LINKEDIN_VERSION,
    },
    secretBox: null,
  };
  const api = config.api ?? new HttpLinkedInApi(config.settings);
  return async (job: Job, token?: string): Promise<string> => {
    switch (job.name) {
      case 'announce-edition': {
        const { editionId } = announcePayload.parse(job.data);
        return deps.db
          .transaction()
          .execute((tx) => announceEdition(tx, editionId, deps.publicBaseUrl, deps.clock.now()));
      }
      case 'announce-document': {
        const { documentId } = announceDocumentPayload.parse(job.data);
        return deps.db
          .transaction()
          .execute((tx) => announceDocument(tx, documentId, deps.publicBaseUrl, deps.clock.now()));
      }
      case 'publish-post':
        return publish(deps, config, api, job, token);
      case 'refresh-token': {
        const refreshed = await refreshToken(deps, config);
        const warned = await deps.db
          .transaction()
          .execute((tx) => warnAdminsAboutLinkedIn(tx, deps.publicBaseUrl, deps.clock.now()));
        return `${refreshed}; ${warned} admin warning(s)`;
      }
      case 'sweep':
        return sweep(deps, config);
      default:
        return `unknown job ${job.name}: ignored`;
    }
  };
}

async function attempt(
  db: Db,
  postId: string,
  step: string,
  status: number | null,
  outcome: string,
  detail: string | null = null,
  dryRun = false,
) {
  await db
    .insertInto('linkedin_post_attempts')
    .values({
      post_id: postId,
      step,
      response_status: status,
      outcome,
      detail: detail?.slice(0, 2000) ?? null,
      dry_run: dryRun,
    })
    .execute();
}

type Claim = { kind: 'go'; post: PostRow } | { kind: 'stop'; reason: string } | { kind: 'wait'; until: Date };

async function claim(db: Db, postId: string, version: number, jobId: string, now: Date): Promise<Claim> {
  return db.transaction().execute(async (tx) => {
    const post = await getPost(tx, postId, { forUpdate: true }).catch(() => null);
    if (!post || post.schedule_version !== version || !['scheduled', 'publishing'].includes(post.status)) {
      return { kind: 'stop', reason: `stale: post is ${post?.status ?? 'gone'}` };
    }
    if (post.lease_until && post.lease_job_id !== jobId && post.lease_until.getTime() > now.getTime()) {
      return { kind: 'wait', until: post.lease_until };
    }
    await tx
      .updateTable('linkedin_posts')
      .set({
        status: 'publishing',
        attempts: post.attempts + 1,
        first_attempt_at: post.first_attempt_at ?? now,
        lease_job_id: jobId,
        lease_until: new Date(now.getTime() + LEASE_MS),
        retry_at: null,
        updated_at: now,
      })
      .where('id', '=', postId)
      .execute();
    return { kind: 'go', post: { ...post, first_attempt_at: post.first_attempt_at ?? now } };
  });
}

async function finish(
  db: DbOrTx,
  postId: string,
  set: Record<string, unknown>,
  now: Date,
  keepLease = false,
) {
  await db
    .updateTable('linkedin_posts')
    .set({ ...set, ...(keepLease ? {} : { lease_job_id: null, lease_until: null }), updated_at: now })
    .where('id', '=', postId)
    .execute();
}

async function publish(
  deps: LinkedInProcessorDeps,
  config: LinkedInWorkerConfig,
  api: LinkedInApi,
  job: Job,
  token?: string,
): Promise<string> {
  const { postId, version } = publishPayload.parse(job.data);
  const { db, clock } = deps;
  const first = await db.selectFrom('linkedin_posts').selectAll().where('id', '=', postId).executeTakeFirst();
  if (!first || first.schedule_version !== version || !['scheduled', 'publishing'].includes(first.status)) {
    return `stale: post is ${first?.status ?? 'gone'}`;
  }
  const wakeAt = Math.max(
    first.status === 'scheduled' ? (first.scheduled_at?.getTime() ?? 0) : 0,
    first.retry_at?.getTime() ?? 0,
  );
  if (wakeAt - clock.now().getTime() > EARLY_TOLERANCE_MS) {
    await job.moveToDelayed(wakeAt, token);
    throw new DelayedError();
  }

  const claimed = await claim(db, postId, version, String(job.id), clock.now());
  if (claimed.kind === 'stop') return claimed.reason;
  if (claimed.kind === 'wait') {
    await job.moveToDelayed(claimed.until.getTime(), token);
    throw new DelayedError();
  }
  const post = claimed.post;
  const credentials = await resolveCredentials(
    db,
    { accessToken: config.envAccessToken, organizationId: config.envOrganizationId },
    config.secretBox,
    clock.now(),
  );
  if (credentials.mode === 'held') {
    await finish(db, postId, { status: 'held', last_error: credentials.reason }, clock.now());
    await attempt(db, postId, 'credentials', null, 'held', credentials.reason);
    return 'held';
  }
  if (credentials.mode === 'dry-run') return dryRun(deps, config, post);
  return live(deps, config, api, job, token, post, credentials);
}

/** No credentials: record exactly what would have been sent, and count the post as published (marked). */
async function dryRun(
  deps: LinkedInProcessorDeps,
  config: LinkedInWorkerConfig,
  post: PostRow,
): Promise<string> {
  const { db, clock } = deps;
  const organizationId = '0';
  const imageUrl = await effectiveImageUrl(db, post);
  const thumbnailUrn = imageUrl ? `urn:li:image:dryrun-${post.id}` : null;
  const article: ArticlePost = {
    commentary: composeCommentary(post.commentary),
    link: post.link,
    title: post.title,
    description: post.description,
    thumbnailUrn,
  };
  const requests = [
    ...(imageUrl
      ? [
          {
            ...initializeUploadRequest(config.settings, organizationId),
            note: `then PUT the image from ${imageUrl} to the uploadUrl, and wait until it is AVAILABLE`,
          },
        ]
      : []),
    createPostRequest(config.settings, organizationId, article),
  ];
  const urn = dryRunUrn(post.id);
  await db.transaction().execute(async (tx) => {
    await tx
      .insertInto('linkedin_dry_run_feed')
      .values({ post_id: post.id, post_urn: urn, requests: JSON.stringify(requests) })
      .execute();
    await tx
      .updateTable('linkedin_posts')
      .set({
        status: 'published',
        dry_run: true,
        post_urn: urn,
        sent_commentary: article.commentary,
        published_at: clock.now(),
        last_error: null,
        lease_job_id: null,
        lease_until: null,
        updated_at: clock.now(),
      })
      .where('id', '=', post.id)
      .execute();
    await tx
      .insertInto('linkedin_post_attempts')
      .values({
        post_id: post.id,
        step: 'dry-run',
        response_status: null,
        outcome: 'published (dry run)',
        detail: 'no LinkedIn credentials: see /dev/linkedin',
        dry_run: true,
      })
      .execute();
  });
  return `dry run: ${urn}`;
}

async function live(
  deps: LinkedInProcessorDeps,
  config: LinkedInWorkerConfig,
  api: LinkedInApi,
  job: Job,
  token: string | undefined,
  post: PostRow,
  credentials: Extract<Credentials, { mode: 'live' }>,
): Promise<string> {
  const { db, clock, logger } = deps;
  const creds: LinkedInCredentials = {
    accessToken: credentials.accessToken,
    organizationId: credentials.organizationId,
  };
  let step = 'start';
  try {
    let urn = post.post_urn;
    if (!urn) {
      let alreadyOnLinkedIn = false;
      step = 'image';
      const thumbnailUrn = post.thumbnail_urn ?? (await uploadThumbnail(deps, config, api, creds, post));
      const commentary = composeCommentary(post.commentary);
      if (post.create_sent_at) {
        // An earlier create may have reached LinkedIn (timeout, 5xx, dropped connection, crash).
        step = 'lookup';
        urn = await lookUp(db, api, creds, post, config.lookupCount ?? 50);
      }
      if (!urn) {
        step = 'create';
        // Recorded before the request leaves: from now on the outcome is unknown until we know better.
        await db
          .updateTable('linkedin_posts')
          .set({ create_sent_at: clock.now(), sent_commentary: commentary })
          .where('id', '=', post.id)
          .execute();
        try {
          const created = await api.createPost(creds, {
            commentary,
            link: post.link,
            title: post.title,
            description: post.description,
            thumbnailUrn,
          });
          urn = created.urn;
          await attempt(db, post.id, 'create', created.status, 'created', urn);
        } catch (error) {
          if (!(error instanceof LinkedInError) || error.kind !== 'duplicate' || !error.duplicateOf)
            throw error;
          // The same text and link are on LinkedIn already (an earlier post of ours, or one made
          // there by hand): that post is this one's, and the editor is told so.
          urn = error.duplicateOf;
          alreadyOnLinkedIn = true;
          await attempt(db, post.id, 'create', error.status, 'duplicate: counts as published', error.message);
        }
      }
      // A URN LinkedIn gave out as new (created, or found by the lookup, which skips URNs of other
      // posts) that another post of ours holds would mean two rows for one post: refuse it.
      const owner = alreadyOnLinkedIn
        ? undefined
        : await db
            .selectFrom('linkedin_posts')
            .select('id')
            .where('post_urn', '=', urn)
            .where('id', '!=', post.id)
            .executeTakeFirst();
      if (owner) {
        await finish(
          db,
          post.id,
          {
            status: 'failed',
            last_error: `LinkedIn says this is the same post as post ${owner.id} (${urn})`,
          },
          clock.now(),
        );
        return 'failed: duplicate of another post';
      }
      await db
        .updateTable('linkedin_posts')
        .set({ post_urn: urn, already_on_linkedin: alreadyOnLinkedIn })
        .where('id', '=', post.id)
        .execute();
    }
    step = 'read-back';
    const read = await api.getPost(creds, urn);
    await attempt(db, post.id, 'read-back', read.status, 'ok', urn);
    await finish(
      db,
      post.id,
      { status: 'published', published_at: clock.now(), last_error: null, dry_run: false },
      clock.now(),
    );
    logger.info({ postId: post.id, urn }, 'linkedin post published');
    return `published ${urn}`;
  } catch (error) {
    if (error instanceof ImageFetchError) {
      await attempt(db, post.id, 'image-fetch', null, 'failed', error.message);
      await finish(
        db,
        post.id,
        { status: 'failed', last_error: `Afbeelding: ${error.message}` },
        clock.now(),
      );
      return 'failed: image';
    }
    if (!(error instanceof LinkedInError)) throw error;
    await attempt(db, post.id, step, error.status, error.kind, error.message);
    const now = clock.now();
    switch (error.kind) {
      case 'unauthorized': {
        await db.transaction().execute(async (tx) => {
          if (credentials.connectionId)
            await markConnectionBroken(tx, credentials.connectionId, error.message, now);
          else await markEnvTokenRefused(tx, credentials.accessToken, error.message, now);
          // A refused request created nothing: no lookup needed when it goes again.
          await finish(
            tx,
            post.id,
            {
              status: 'held',
              last_error: `LinkedIn refused the token (401): ${
                credentials.connectionId ? 'reconnect' : 'set a new LINKEDIN_ACCESS_TOKEN and restart'
              }. ${error.message}`,
              ...(step === 'create' ? { create_sent_at: null } : {}),
            },
            now,
          );
        });
        logger.warn(
          { postId: post.id, source: credentials.source },
          'linkedin: token refused; post held until the token is replaced',
        );
        return 'held: 401';
      }
      case 'rate-limited': {
        const until = nextMidnightUtc(now);
        await finish(
          db,
          post.id,
          {
            status: 'scheduled',
            retry_at: until,
            last_error: `LinkedIn quota reached (429); tries again at ${until.toISOString()}`,
            ...(step === 'create' ? { create_sent_at: null } : {}),
          },
          now,
        );
        logger.warn({ postId: post.id, until }, 'linkedin: quota reached; waiting until midnight UTC');
        await job.moveToDelayed(until.getTime(), token);
        throw new DelayedError();
      }
      case 'ambiguous':
      case 'not-found': {
        const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        // The lease stays with this job id until its retry (a sweep's job would wait for it).
        await finish(
          db,
          post.id,
          { status: last ? 'failed' : 'publishing', last_error: error.message },
          now,
          !last,
        );
        throw error;
      }
      default: {
        await finish(db, post.id, { status: 'failed', last_error: error.message }, now);
        return `failed: ${error.message}`;
      }
    }
  }
}

/**
 * Looks for a post an earlier, unanswered attempt may have created. Matching rule: among the
 * organisation's latest posts (the finder only returns the organisation's own), one whose
 * commentary is exactly the escaped commentary that attempt sent, whose article source is this
 * post's link, and that was created no earlier than 10 minutes before this post's first attempt.
 */
async function lookUp(
  db: Db,
  api: LinkedInApi,
  creds: LinkedInCredentials,
  post: PostRow,
  count: number,
): Promise<string | null> {
  const { status, posts } = await api.listRecentPosts(creds, count);
  const since = (post.first_attempt_at?.getTime() ?? 0) - LOOKUP_SKEW_MS;
  // A post another row of ours already owns is not this one (two posts may share text and link).
  const candidates = posts.map((remote) => remote.id).filter(Boolean);
  const owned = new Set(
    candidates.length === 0
      ? []
      : (
          await db
            .selectFrom('linkedin_posts')
            .select('post_urn')
            .where('post_urn', 'in', candidates)
            .where('id', '!=', post.id)
            .execute()
        ).map((row) => row.post_urn),
  );
  const match = posts.find(
    (remote) =>
      !owned.has(remote.id) &&
      remote.commentary === post.sent_commentary &&
      remote.articleSource === post.link &&
      (remote.createdAt === null || remote.createdAt >= since),
  );
  await attempt(db, post.id, 'lookup', status, match ? 'found' : 'not found', match?.id ?? null);
  return match?.id ?? null;
}

/** Uploads the post's image (or the default image); none: null, and the post goes without a thumbnail. */
async function uploadThumbnail(
  deps: LinkedInProcessorDeps,
  config: LinkedInWorkerConfig,
  api: LinkedInApi,
  creds: LinkedInCredentials,
  post: PostRow,
): Promise<string | null> {
  const { db } = deps;
  const url = await effectiveImageUrl(db, post);
  if (!url) {
    await attempt(
      db,
      post.id,
      'image',
      null,
      'none',
      'no image and no default image: posted without a thumbnail',
    );
    return null;
  }
  const image = await fetchImage(url, { allowPrivateAddresses: config.allowPrivateImageHosts === true });
  const init = await api.initializeImageUpload(creds);
  await attempt(db, post.id, 'image-init', init.status, 'ok', init.image);
  const put = await api.uploadImage(creds, init.uploadUrl, image.bytes, image.contentType);
  await attempt(
    db,
    post.id,
    'image-upload',
    put.status,
    'ok',
    `${image.bytes.length} bytes ${image.contentType}`,
  );
  const tries = config.imagePollAttempts ?? 10;
  for (let i = 0; i < tries; i++) {
    const state = await api.getImageStatus(creds, init.image);
    if (state.imageStatus === 'AVAILABLE') {
      await attempt(db, post.id, 'image-status', state.status, 'AVAILABLE', init.image);
      await db
        .updateTable('linkedin_posts')
        .set({ thumbnail_urn: init.image })
        .where('id', '=', post.id)
        .execute();
      return init.image;
    }
    if (state.imageStatus === 'PROCESSING_FAILED')
      throw new LinkedInError('permanent', state.status, `image ${init.image}: processing failed`);
    await new Promise((resolve) => setTimeout(resolve, config.imagePollIntervalMs ?? 1_000));
  }
  await attempt(db, post.id, 'image-status', null, 'not available in time', init.image);
  throw new LinkedInError('ambiguous', null, `image ${init.image} not AVAILABLE after ${tries} checks`);
}

async function refreshToken(deps: LinkedInProcessorDeps, config: LinkedInWorkerConfig): Promise<string> {
  const connection = await currentConnection(deps.db);
  if (connection?.status !== 'active' || !connection.refresh_token_enc) return 'nothing to refresh';
  const now = deps.clock.now();
  if ((connection.access_token_expires_at?.getTime() ?? 0) - now.getTime() > REFRESH_BEFORE_MS)
    return 'not due';
  if (!config.oauthApp || !config.secretBox) return 'cannot refresh: LINKEDIN_CLIENT_ID/SECRET not set';
  const refresh = config.secretBox.open(connection.refresh_token_enc, TOKEN_CONTEXT.refresh);
  try {
    const tokens = await refreshAccessToken(config.settings, config.oauthApp, refresh, now);
    await storeRefreshedTokens(deps.db, config.secretBox, connection.id, tokens, now);
    deps.logger.info({ expiresAt: tokens.accessTokenExpiresAt }, 'linkedin access token refreshed');
    return 'refreshed';
  } catch (error) {
    if (error instanceof LinkedInError && error.kind === 'unauthorized') {
      await markConnectionBroken(deps.db, connection.id, `refresh refused: ${error.message}`, now);
      return 'refresh refused: connection broken';
    }
    throw error;
  }
}

/**
 * Held posts go out once LINKEDIN_ACCESS_TOKEN is no longer the token LinkedIn refused (see
 * resumeWithNewEnvToken): called when a worker starts (the admin replaced the token and restarted)
 * and by every sweep (a worker with the new token picks up what one with the old token held).
 */
export async function resumeHeldPosts(
  deps: Pick<LinkedInProcessorDeps, 'db' | 'clock' | 'logger'>,
  config: Pick<LinkedInWorkerConfig, 'envAccessToken' | 'envOrganizationId'> | undefined,
): Promise<string> {
  const env = { accessToken: config?.envAccessToken, organizationId: config?.envOrganizationId };
  const requeued = await deps.db
    .transaction()
    .execute((tx) => resumeWithNewEnvToken(tx, env, deps.clock.now()));
  if (requeued > 0)
    deps.logger.info(
      { requeued },
      'linkedin: LINKEDIN_ACCESS_TOKEN is not the refused one; held posts requeued',
    );
  return `${requeued} held posts requeued`;
}

/**
 * Postgres is the truth: scheduled posts past their time (and stuck publishing ones) get a job
 * again; held posts go out when the token that held them has been replaced.
 */
async function sweep(deps: LinkedInProcessorDeps, config: LinkedInWorkerConfig): Promise<string> {
  const resumed = await resumeHeldPosts(deps, config);
  const now = deps.clock.now();
  const before = new Date(now.getTime() - STUCK_AFTER_MS);
  const round = `s${Math.floor(now.getTime() / 60_000).toString(36)}`;
  return deps.db.transaction().execute(async (tx) => {
    const overdue = await tx
      .selectFrom('linkedin_posts')
      .select(['id', 'schedule_version'])
      .where((eb) =>
        eb.or([
          eb.and([
            eb('status', '=', 'scheduled'),
            eb('scheduled_at', '<', before),
            eb.or([eb('retry_at', 'is', null), eb('retry_at', '<', before)]),
          ]),
          eb.and([
            eb('status', '=', 'publishing'),
            eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', before)]),
          ]),
        ]),
      )
      .where(sql<boolean>`updated_at < ${before}`)
      .execute();
    for (const post of overdue) {
      await enqueue(tx, {
        queue: LINKEDIN_QUEUE,
        jobName: 'publish-post',
        jobId: `${publishJobId(post.id, post.schedule_version)}-${round}`,
        payload: { postId: post.id, version: post.schedule_version },
      });
    }
    // Connection attempts the admin never finished hold tokens: keep them a day at most.
    await tx
      .deleteFrom('linkedin_connections')
      .where('status', '=', 'pending')
      .where('created_at', '<', new Date(now.getTime() - 24 * 60 * 60 * 1000))
      .execute();
    return `${overdue.length} posts requeued; ${resumed}`;
  });
}
