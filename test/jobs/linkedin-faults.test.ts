import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeLinkedIn } from '../fakes/linkedin-server.js';
import { createTestContext, json, type TestContext } from '../helpers/context.js';
import { type RunningProcess, waitUntil } from '../helpers/process.js';
import { startTestWorker } from '../helpers/worker-process.js';

/**
 * Kill the real worker process (`node --import tsx src/jobs/main.ts`, headless LinkedIn
 * credentials pointing at the fake) with SIGKILL while it publishes — right after LinkedIn has
 * created a post and before the worker could record it — restart it, and check that every post
 * exists exactly once on LinkedIn and is recorded as published with that post's URN.
 */
const POSTS = 6;
const KILLS = 3;
const ORG = '515151';
let ctx: TestContext;
let fake: FakeLinkedIn;

beforeAll(async () => {
  ctx = await createTestContext();
  fake = await new FakeLinkedIn().start();
  fake.issueToken('fault-token', [ORG]);
  // LinkedIn creates the post, then answers slowly: the kill lands in that window.
  fake.createLatencyMs = 1_500;
});
afterAll(async () => {
  await fake.stop();
  await ctx.close();
});

function startWorker(): RunningProcess {
  return startTestWorker(ctx, {
    LINKEDIN_ACCESS_TOKEN: 'fault-token',
    LINKEDIN_ORGANIZATION_ID: ORG,
    LINKEDIN_API_BASE_URL: fake.url,
    WORKER_CONCURRENCY: '2',
    LOG_LEVEL: 'error',
  });
}

describe('exactly once under worker crashes (LinkedIn)', () => {
  it(`publishes ${POSTS} posts exactly once across ${KILLS} SIGKILLs of the worker mid-request`, async () => {
    const editor = (await ctx.userWithToken('editor')).headers;
    const links: string[] = [];
    const ids: string[] = [];
    for (let i = 0; i < POSTS; i++) {
      const link = `https://voorbeeld.test/storing/${i}-${Date.now()}`;
      const created = await ctx.app.request(
        '/api/v1/linkedin/posts',
        json(
          {
            kind: 'article',
            commentary: `Bericht ${i} (#storingstest)`,
            link,
            title: `Bericht ${i}`,
            description: 'Storingstest',
            imageUrl: `${fake.url}/image.png`,
          },
          editor,
        ),
      );
      expect(created.status).toBe(201);
      const { id } = await created.json();
      expect((await ctx.app.request(`/api/v1/linkedin/posts/${id}/schedule`, json({}, editor))).status).toBe(
        200,
      );
      links.push(link);
      ids.push(id);
    }

    let worker = startWorker();
    let kills = 0;
    try {
      while (kills < KILLS) {
        // A post LinkedIn has just created (its answer takes 1.5 s more).
        const before = fake.posts.size;
        if (before === POSTS) break;
        await waitUntil(() => fake.posts.size > before, 'LinkedIn to create a post', 60_000);
        // Kill before the worker hears back.
        await new Promise((resolve) => setTimeout(resolve, 200));
        worker.child.kill('SIGKILL');
        await worker.exited;
        kills++;
        worker = startWorker();
      }
      await waitUntil(
        async () =>
          (await ctx.db.selectFrom('linkedin_posts').select('status').where('id', 'in', ids).execute()).every(
            (p) => ['published', 'failed'].includes(p.status),
          ),
        'every post to be published',
        180_000,
      );
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }

    const rows = await ctx.db
      .selectFrom('linkedin_posts')
      .selectAll()
      .where('id', 'in', ids)
      .orderBy('id')
      .execute();
    const lookups = await ctx.db
      .selectFrom('linkedin_post_attempts')
      .select(['post_id', 'outcome'])
      .where('step', '=', 'lookup')
      .execute();
    process.stdout.write(
      `linkedin fault test: ${kills} kills, ${fake.createRequests().length} create requests (some never answered), ${fake.posts.size} posts on LinkedIn for ${POSTS}, ` +
        `${lookups.filter((l) => l.outcome === 'found').length} found by lookup after a crash\n`,
    );
    expect(kills).toBe(KILLS);
    expect(rows.map((r) => r.status)).toEqual(Array(POSTS).fill('published'));
    for (const [index, link] of links.entries()) {
      const remote = [...fake.posts.values()].filter((p) => p.content.article.source === link);
      expect(remote, link).toHaveLength(1);
      expect(rows[index]!.post_urn).toBe(remote[0]!.id);
    }
    expect(fake.posts.size).toBe(POSTS);
    // The crashes really hit the window between "LinkedIn created it" and "we recorded it".
    expect(lookups.some((l) => l.outcome === 'found')).toBe(true);
  }, 300_000);
});
