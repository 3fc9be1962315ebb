import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LINKEDIN_VERSION } from '../../src/config.js';
import { envTokenFingerprint, linkedinHealth, markEnvTokenRefused } from '../../src/domain/linkedin.js';
import { SecretBox } from '../../src/infra/secret-box.js';
import { FakeLinkedIn } from '../fakes/linkedin-server.js';
import { startTestBackground } from '../helpers/background.js';
import { createTestContext, json, TEST_APP_SECRET, type TestContext } from '../helpers/context.js';
import { type RunningProcess, waitUntil } from '../helpers/process.js';
import { startTestWorker } from '../helpers/worker-process.js';

/**
 * Headless LinkedIn (LINKEDIN_ACCESS_TOKEN): a 401 holds posts and remembers the refused token by
 * fingerprint; with that token nothing more is asked of LinkedIn; once the environment holds another
 * token, the held posts go out by themselves — when the worker starts, or in a sweep — and an admin
 * can send them again by hand.
 */
const ORG = '626262';
const OLD_TOKEN = 'verlopen-token-van-de-omgeving';
const NEW_TOKEN = 'nieuw-token-van-de-omgeving';
let ctx: TestContext;
let fake: FakeLinkedIn;
let editor: Record<string, string>;
let admin: Record<string, string>;
let counter = 0;

beforeAll(async () => {
  ctx = await createTestContext();
  fake = await new FakeLinkedIn().start();
  editor = (await ctx.userWithToken('editor')).headers;
  admin = (await ctx.userWithToken('admin')).headers;
});
afterAll(async () => {
  await fake.stop();
  await ctx.close();
});

/** `npm run start:worker` with the headless credentials, pointed at the fake. */
function startWorker(token: string): RunningProcess {
  return startTestWorker(ctx, {
    LINKEDIN_ACCESS_TOKEN: token,
    LINKEDIN_ORGANIZATION_ID: ORG,
    LINKEDIN_API_BASE_URL: fake.url,
    LOG_LEVEL: 'info',
  });
}

async function untilRunning(worker: RunningProcess) {
  await waitUntil(
    () => worker.stdout().includes('thuispost worker is running'),
    'the worker to start',
    60_000,
  );
}

async function stop(worker: RunningProcess) {
  worker.child.kill('SIGTERM');
  await worker.exited;
}

async function draftPost(): Promise<{ id: string; link: string }> {
  counter++;
  const link = `https://voorbeeld.test/tokenwissel/${counter}-${Date.now()}`;
  const created = await ctx.app.request(
    '/api/v1/linkedin/posts',
    json(
      {
        kind: 'article',
        commentary: `Bericht ${counter} over de tokenwissel`,
        link,
        title: `Bericht ${counter}`,
        description: 'Tokenwissel',
        imageUrl: `${fake.url}/image.png`,
      },
      editor,
    ),
  );
  expect(created.status, await created.clone().text()).toBe(201);
  const { id } = await created.json();
  return { id, link };
}

async function scheduledPost(): Promise<{ id: string; link: string }> {
  const post = await draftPost();
  const scheduled = await ctx.app.request(`/api/v1/linkedin/posts/${post.id}/schedule`, json({}, editor));
  expect(scheduled.status, await scheduled.clone().text()).toBe(200);
  return post;
}

const posts = (ids: string[]) =>
  ctx.db.selectFrom('linkedin_posts').selectAll().where('id', 'in', ids).orderBy('id').execute();

async function waitForStatus(ids: string[], status: string, timeoutMs = 60_000) {
  await waitUntil(
    async () => (await posts(ids)).every((post) => post.status === status),
    `posts ${ids.join(', ')} to be ${status}`,
    timeoutMs,
  );
}

const refusals = () => ctx.db.selectFrom('linkedin_refused_env_tokens').selectAll().execute();
const remotePosts = (link: string) =>
  [...fake.posts.values()].filter((post) => post.content.article.source === link);

describe('a refused LINKEDIN_ACCESS_TOKEN, replaced in the environment', () => {
  it('holds posts without asking LinkedIn again, and sends them when a worker starts with a new token', async () => {
    let worker = startWorker(OLD_TOKEN);
    try {
      const first = await scheduledPost();
      await waitForStatus([first.id], 'held');
      const [stored, ...others] = await refusals();
      expect(others).toHaveLength(0);
      expect(stored!.fingerprint).toBe(envTokenFingerprint(OLD_TOKEN));
      expect(JSON.stringify(stored)).not.toContain(OLD_TOKEN);
      const health = await linkedinHealth(
        ctx.db,
        { version: DEFAULT_LINKEDIN_VERSION, envAccessToken: OLD_TOKEN, envOrganizationId: ORG },
        new Date(),
      );
      expect(health.mode).toBe('broken');
      expect(health.heldPosts).toBe(1);
      expect(health.warnings.join(' ')).toContain('LINKEDIN_ACCESS_TOKEN');

      // The refused token is not tried again: the next post is held without a request.
      const requestsBefore = fake.requests.length;
      const second = await scheduledPost();
      await waitForStatus([second.id], 'held');
      expect(fake.requests.length).toBe(requestsBefore);
      const ids = [first.id, second.id];

      // A restart with the same token changes nothing.
      await stop(worker);
      const versions = (await posts(ids)).map((post) => post.schedule_version);
      worker = startWorker(OLD_TOKEN);
      await untilRunning(worker);
      expect((await posts(ids)).map((post) => [post.status, post.schedule_version])).toEqual(
        versions.map((version) => ['held', version]),
      );

      // The admin sets a new token and restarts: by the time the worker runs, the posts are on their way.
      await stop(worker);
      fake.issueToken(NEW_TOKEN, [ORG]);
      worker = startWorker(NEW_TOKEN);
      await untilRunning(worker);
      expect((await posts(ids)).some((post) => post.status === 'held')).toBe(false);
      await waitForStatus(ids, 'published');
      expect(await refusals()).toEqual([]);
      for (const { link } of [first, second]) expect(remotePosts(link)).toHaveLength(1);
      const creates = fake.createRequests().filter((r) => r.status === 201);
      expect(creates.map((r) => r.headers.authorization)).toEqual([
        `Bearer ${NEW_TOKEN}`,
        `Bearer ${NEW_TOKEN}`,
      ]);
      const resumed = await ctx.db
        .selectFrom('audit_log')
        .select(['actor_user_id', 'details'])
        .where('action', '=', 'linkedin.env-token.resume')
        .execute();
      expect(resumed).toEqual([{ actor_user_id: null, details: { requeued: 2 } }]);
    } finally {
      await stop(worker);
    }
  }, 240_000);
});

describe('held posts with the new token in place', () => {
  const background = () =>
    startTestBackground(ctx, {
      linkedin: {
        settings: { apiBaseUrl: fake.url, oauthBaseUrl: fake.url, version: '202510', timeoutMs: 2_000 },
        envAccessToken: NEW_TOKEN,
        envOrganizationId: ORG,
        secretBox: new SecretBox([TEST_APP_SECRET]),
        allowPrivateImageHosts: true,
        imagePollIntervalMs: 20,
      },
    });

  async function sweep(jobs: Awaited<ReturnType<typeof background>>, id: string) {
    const job = await jobs.queues.linkedin.add('sweep', {}, { jobId: id });
    await waitUntil(async () => (await job.getState()) === 'completed', 'the sweep');
    return (await jobs.queues.linkedin.getJob(id))!.returnvalue as string;
  }

  it('go out in the next sweep when a worker with the old token held them (rolling restart)', async () => {
    const jobs = await background();
    try {
      // As a worker still running with the old token leaves it: the token refused, the post held.
      const { id, link } = await draftPost();
      await ctx.db.transaction().execute(async (tx) => {
        await markEnvTokenRefused(tx, OLD_TOKEN, 'Unauthorized', new Date());
        await tx
          .updateTable('linkedin_posts')
          .set({ status: 'held', last_error: 'LinkedIn refused the token (401)' })
          .where('id', '=', id)
          .execute();
      });

      expect(await sweep(jobs, 'sweep-rolling-restart')).toContain('1 held posts requeued');
      await waitForStatus([id], 'published');
      expect(remotePosts(link)).toHaveLength(1);
      expect(await refusals()).toEqual([]);
    } finally {
      await jobs.stop();
    }
  });

  it('stay held while the current token is the refused one, until an admin sends them again', async () => {
    const jobs = await background();
    try {
      fake.tokens.delete(NEW_TOKEN);
      const { id, link } = await scheduledPost();
      await waitForStatus([id], 'held');
      fake.issueToken(NEW_TOKEN, [ORG]);
      expect(await sweep(jobs, 'sweep-still-refused')).toContain('0 held posts requeued');
      expect((await posts([id]))[0]!.status).toBe('held');

      const asEditor = await ctx.app.request('/api/v1/linkedin/posts/requeue-held', json({}, editor));
      expect(asEditor.status).toBe(403);
      expect((await posts([id]))[0]!.status).toBe('held');

      const asAdmin = await ctx.app.request('/api/v1/linkedin/posts/requeue-held', json({}, admin));
      expect(asAdmin.status).toBe(200);
      expect(await asAdmin.json()).toEqual({ requeued: 1 });
      expect(await refusals()).toEqual([]);
      await waitForStatus([id], 'published');
      expect(remotePosts(link)).toHaveLength(1);
      const audited = await ctx.db
        .selectFrom('audit_log')
        .select(['action', 'details'])
        .where('action', '=', 'linkedin.requeue-held')
        .execute();
      expect(audited).toEqual([{ action: 'linkedin.requeue-held', details: { count: 1 } }]);
    } finally {
      await jobs.stop();
    }
  });
});
