import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishJobId } from '../../src/domain/linkedin.js';
import { enqueue } from '../../src/domain/outbox.js';
import { SecretBox } from '../../src/infra/secret-box.js';
import { nextMidnightUtc } from '../../src/jobs/processors/linkedin.js';
import { escapeLittleText } from '../../src/providers/linkedin-text.js';
import { FakeLinkedIn } from '../fakes/linkedin-server.js';
import { logInAs } from '../helpers/admin.js';
import { startTestBackground, type TestBackground } from '../helpers/background.js';
import { createTestContext, json, TEST_APP_SECRET, type TestContext } from '../helpers/context.js';
import { approvedEdition, seedSubscribers, waitForEditionStatus } from '../helpers/editions.js';
import { freePort, waitUntil } from '../helpers/process.js';

/**
 * Publishing against the local fake LinkedIn, with the headless credentials
 * (LINKEDIN_ACCESS_TOKEN + LINKEDIN_ORGANIZATION_ID), through the real relay, queue and worker.
 */
const ORG = '424242';
let ctx: TestContext;
let fake: FakeLinkedIn;
let background: TestBackground;
let editor: Record<string, string>;
let admin: Record<string, string>;
let counter = 0;

beforeAll(async () => {
  ctx = await createTestContext();
  fake = await new FakeLinkedIn().start();
  fake.issueToken('env-token', [ORG]);
  background = await startTestBackground(ctx, {
    linkedin: {
      settings: { apiBaseUrl: fake.url, oauthBaseUrl: fake.url, version: '202510', timeoutMs: 1_000 },
      envAccessToken: 'env-token',
      envOrganizationId: ORG,
      secretBox: new SecretBox([TEST_APP_SECRET]),
      allowPrivateImageHosts: true,
      imagePollIntervalMs: 20,
    },
  });
  editor = (await ctx.userWithToken('editor')).headers;
  admin = (await ctx.userWithToken('admin')).headers;
});
afterAll(async () => {
  await background.stop();
  await fake.stop();
  await ctx.close();
});

function postInput(overrides: Record<string, unknown> = {}) {
  counter++;
  return {
    kind: 'article',
    commentary: `Nieuw artikel ${counter}: wat #HousingFirst (in de regio) betekent voor @huurders — lees *alles* hier_`,
    link: `https://voorbeeld.test/artikelen/${counter}-${Date.now()}`,
    title: `Artikel ${counter}`,
    description: 'Een verhaal uit het lab.',
    imageUrl: `${fake.url}/image.png`,
    ...overrides,
  };
}

async function createPost(
  overrides: Record<string, unknown> = {},
): Promise<{ id: string; link: string; commentary: string }> {
  const input = postInput(overrides);
  const res = await ctx.app.request('/api/v1/linkedin/posts', json(input, editor));
  expect(res.status, await res.clone().text()).toBe(201);
  const body = await res.json();
  expect(body.status).toBe('draft');
  return { id: body.id, link: input.link as string, commentary: input.commentary as string };
}

async function schedule(id: string, scheduledAt?: string) {
  const res = await ctx.app.request(
    `/api/v1/linkedin/posts/${id}/schedule`,
    json(scheduledAt ? { scheduledAt } : {}, editor),
  );
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json();
}

async function waitForPost(id: string, statuses: string[], timeoutMs = 20_000) {
  await waitUntil(
    async () =>
      statuses.includes(
        (
          await ctx.db
            .selectFrom('linkedin_posts')
            .select('status')
            .where('id', '=', id)
            .executeTakeFirstOrThrow()
        ).status,
      ),
    `post ${id} to be ${statuses.join('/')}`,
    timeoutMs,
  );
  return ctx.db.selectFrom('linkedin_posts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

const postsFor = (link: string) => [...fake.posts.values()].filter((p) => p.content.article.source === link);
const attemptsOf = (id: string) =>
  ctx.db
    .selectFrom('linkedin_post_attempts')
    .select(['step', 'response_status', 'outcome'])
    .where('post_id', '=', id)
    .orderBy('id')
    .execute();

describe('publishing a post', () => {
  it('posts as the organisation with the required headers, an escaped commentary and an uploaded thumbnail, then reads it back', async () => {
    const { id, link, commentary } = await createPost();
    await schedule(id);
    const post = await waitForPost(id, ['published', 'failed']);
    expect(post.status, post.last_error ?? '').toBe('published');
    expect(post.dry_run).toBe(false);

    const [remote] = postsFor(link);
    expect(remote).toBeDefined();
    expect(post.post_urn).toBe(remote!.id);
    expect(remote!.commentary).toBe(escapeLittleText(commentary));
    expect(remote!.author).toBe(`urn:li:organization:${ORG}`);
    expect(remote!.content.article).toMatchObject({
      source: link,
      title: expect.stringMatching(/^Artikel/),
      description: 'Een verhaal uit het lab.',
    });
    expect(fake.images.get(remote!.content.article.thumbnail!)?.status).toBe('AVAILABLE');

    const create = fake
      .createRequests()
      .find((r) => (r.body as { content: { article: { source: string } } }).content.article.source === link)!;
    expect(create.headers['linkedin-version']).toBe('202510');
    expect(create.headers['x-restli-protocol-version']).toBe('2.0.0');
    expect(create.headers.authorization).toBe('Bearer env-token');
    expect(create.status).toBe(201);

    const steps = await attemptsOf(id);
    expect(steps.map((s) => [s.step, s.response_status])).toEqual([
      ['image-init', 200],
      ['image-upload', 201],
      ['image-status', 200],
      ['create', 201],
      ['read-back', 200],
    ]);
    const view = await (await ctx.app.request(`/api/v1/linkedin/posts/${id}`, { headers: editor })).json();
    expect(view.postUrl).toBe(`https://www.linkedin.com/feed/update/${remote!.id}`);
    expect(view.attemptLog).toHaveLength(5);
  });

  it('counts a 422 "duplicate of urn:li:share:…" as published, with the URN LinkedIn names', async () => {
    const { id, link, commentary } = await createPost();
    const existing = fake.seedPost({
      author: `urn:li:organization:${ORG}`,
      commentary: escapeLittleText(commentary),
      visibility: 'PUBLIC',
      distribution: {},
      content: { article: { source: link, title: 'x', description: 'x', thumbnail: 'urn:li:image:x' } },
      lifecycleState: 'PUBLISHED',
      isReshareDisabledByAuthor: false,
    });
    await schedule(id);
    const post = await waitForPost(id, ['published', 'failed']);
    expect(post.status).toBe('published');
    expect(post.post_urn).toBe(existing);
    expect(postsFor(link)).toHaveLength(1);
    expect((await attemptsOf(id)).find((a) => a.step === 'create')).toMatchObject({
      response_status: 422,
      outcome: 'duplicate: counts as published',
    });
    expect(post.already_on_linkedin).toBe(true);
  });

  it('publishes the same text and link posted twice from here as the post already on LinkedIn, and says so', async () => {
    const first = await createPost();
    await schedule(first.id);
    const published = await waitForPost(first.id, ['published', 'failed']);
    expect(published.status).toBe('published');
    expect(published.already_on_linkedin).toBe(false);

    const health = async () => (await ctx.app.request('/api/v1/linkedin/health', { headers: editor })).json();
    const failedBefore = (await health()).failedPosts;
    const again = await createPost({ commentary: first.commentary, link: first.link, title: 'Nog eens' });
    await schedule(again.id);
    const post = await waitForPost(again.id, ['published', 'failed']);
    expect(post.status, post.last_error ?? '').toBe('published');
    expect(post.post_urn).toBe(published.post_urn);
    expect(post.last_error).toBeNull();
    // LinkedIn answered the second create with its 422, and the post was read back.
    const creates = fake
      .createRequests()
      .filter((r) => (r.body as CreateBody).content.article.source === first.link);
    expect(creates.map((r) => r.status)).toEqual([201, 422]);
    expect(postsFor(first.link)).toHaveLength(1);
    expect((await attemptsOf(again.id)).map((a) => `${a.step}:${a.response_status}:${a.outcome}`)).toEqual([
      'image-init:200:ok',
      'image-upload:201:ok',
      'image-status:200:AVAILABLE',
      'create:422:duplicate: counts as published',
      'read-back:200:ok',
    ]);

    const view = await (
      await ctx.app.request(`/api/v1/linkedin/posts/${again.id}`, { headers: editor })
    ).json();
    expect(view).toMatchObject({
      status: 'published',
      alreadyOnLinkedIn: true,
      postUrn: published.post_urn,
      postUrl: `https://www.linkedin.com/feed/update/${published.post_urn}`,
    });
    const viewer = await logInAs(ctx, 'viewer');
    const page = await (await viewer.page(`/admin/posts/${again.id}`)).text();
    expect(page).toContain(
      'Stond al op LinkedIn: LinkedIn herkende deze tekst met deze link als een bestaand bericht',
    );
    expect(page).toContain(`href="https://www.linkedin.com/feed/update/${published.post_urn}"`);
    expect((await health()).failedPosts).toBe(failedBefore);
  });

  it('after a 500 from a LinkedIn that did create the post, finds it instead of posting twice', async () => {
    const { id, link } = await createPost();
    fake.inject('POST /rest/posts', { status: 500, afterEffect: true });
    await schedule(id);
    const post = await waitForPost(id, ['published', 'failed']);
    expect(post.status).toBe('published');
    expect(postsFor(link)).toHaveLength(1);
    expect(post.post_urn).toBe(postsFor(link)[0]!.id);
    const steps = await attemptsOf(id);
    expect(steps.filter((s) => s.step === 'create').map((s) => s.response_status)).toEqual([500]);
    expect(steps.find((s) => s.step === 'lookup')).toMatchObject({ response_status: 200, outcome: 'found' });
  });

  it('after a timeout on a create that went through, finds it instead of posting twice', async () => {
    const { id, link } = await createPost();
    fake.inject('POST /rest/posts', { hang: true, afterEffect: true });
    await schedule(id);
    const post = await waitForPost(id, ['published', 'failed']);
    expect(post.status).toBe('published');
    expect(postsFor(link)).toHaveLength(1);
    const steps = await attemptsOf(id);
    expect(steps.find((s) => s.step === 'create')).toMatchObject({
      response_status: null,
      outcome: 'ambiguous',
    });
  });

  it('after a dropped connection that created nothing, looks, finds nothing, and posts once', async () => {
    const { id, link } = await createPost();
    fake.inject('POST /rest/posts', { drop: true });
    await schedule(id);
    const post = await waitForPost(id, ['published', 'failed']);
    expect(post.status).toBe('published');
    expect(postsFor(link)).toHaveLength(1);
    const steps = (await attemptsOf(id)).map((s) => `${s.step}:${s.response_status}:${s.outcome}`);
    expect(steps).toContain('lookup:200:not found');
    expect(steps.filter((s) => s.startsWith('create:'))).toEqual([
      'create:null:ambiguous',
      'create:201:created',
    ]);
  });

  it('on a 429 waits (delayed job, not failed) until midnight UTC, when daily quotas reset', async () => {
    const { id, link } = await createPost();
    fake.inject('POST /rest/posts', {
      status: 429,
      body: {
        status: 429,
        message: 'Resource level throttle APPLICATION DAY limit for calls to this resource is reached.',
      },
    });
    const before = new Date();
    const scheduled = await schedule(id);
    await waitUntil(
      async () =>
        (
          await ctx.db
            .selectFrom('linkedin_posts')
            .select('retry_at')
            .where('id', '=', id)
            .executeTakeFirstOrThrow()
        ).retry_at !== null,
      'the 429',
    );
    const post = await ctx.db
      .selectFrom('linkedin_posts')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(post.status).toBe('scheduled');
    expect(post.retry_at!.toISOString()).toBe(nextMidnightUtc(before).toISOString());
    expect(post.create_sent_at).toBeNull();
    const job = await background.queues.linkedin.getJob(publishJobId(id, scheduled.version));
    await waitUntil(async () => (await job!.getState()) === 'delayed', 'the job to be delayed');
    const delayed = await background.queues.linkedin.getJob(publishJobId(id, scheduled.version));
    expect(delayed!.failedReason).toBeFalsy();
    expect(Math.abs(delayed!.timestamp + delayed!.delay - nextMidnightUtc(before).getTime())).toBeLessThan(
      5_000,
    );
    expect(postsFor(link)).toHaveLength(0);
    expect(await nextMidnightUtc(new Date('2026-03-01T23:59:59Z')).toISOString()).toBe(
      '2026-03-02T00:00:00.000Z',
    );
    // Tidy: the post stays scheduled; cancel it so the job does nothing at midnight.
    expect((await ctx.app.request(`/api/v1/linkedin/posts/${id}/cancel`, json({}, editor))).status).toBe(200);
  });

  it('holds posts on a 401 (not lost, not failed) and sends them once the token works again', async () => {
    fake.tokens.delete('env-token');
    const { id, link } = await createPost();
    await schedule(id);
    const held = await waitForPost(id, ['held', 'failed', 'published']);
    expect(held.status).toBe('held');
    expect(held.last_error).toMatch(/401/);
    const health = await (await ctx.app.request('/api/v1/linkedin/health', { headers: editor })).json();
    expect(health.heldPosts).toBe(1);

    fake.issueToken('env-token', [ORG]);
    const requeue = await ctx.app.request('/api/v1/linkedin/posts/requeue-held', json({}, admin));
    expect(await requeue.json()).toEqual({ requeued: 1 });
    const post = await waitForPost(id, ['published', 'failed']);
    expect(post.status).toBe('published');
    expect(postsFor(link)).toHaveLength(1);
  });

  it('fails a post whose image address is not an image, with the reason', async () => {
    const { id, link } = await createPost({ imageUrl: `${fake.url}/not-an-image` });
    await schedule(id);
    const post = await waitForPost(id, ['failed', 'published']);
    expect(post.status).toBe('failed');
    expect(post.last_error).toMatch(/not an image/);
    expect(postsFor(link)).toHaveLength(0);
  });
});

describe('life cycle', () => {
  it('publishes a rescheduled post once, at the new time; the old job finds a stale version', async () => {
    const { id, link } = await createPost();
    const first = await schedule(id, new Date(Date.now() + 3_600_000).toISOString());
    const second = await schedule(id);
    expect(second.version).toBe(first.version + 1);
    const post = await waitForPost(id, ['published', 'failed']);
    expect(post.status).toBe('published');
    expect(postsFor(link)).toHaveLength(1);
    const edit = await ctx.app.request(
      `/api/v1/linkedin/posts/${id}`,
      json({ title: 'Te laat' }, editor, 'PATCH'),
    );
    expect(edit.status).toBe(409);
  });

  it('never publishes a cancelled post', async () => {
    const { id, link } = await createPost();
    await schedule(id, new Date(Date.now() + 1_000).toISOString());
    expect((await ctx.app.request(`/api/v1/linkedin/posts/${id}/cancel`, json({}, editor))).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(postsFor(link)).toHaveLength(0);
    expect(
      (
        await ctx.db
          .selectFrom('linkedin_posts')
          .select('status')
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
      ).status,
    ).toBe('cancelled');
  });

  it('validates input in Dutch', async () => {
    const bad = await ctx.app.request(
      '/api/v1/linkedin/posts',
      json({ commentary: '', link: 'javascript:alert(1)', title: 't', description: 'd' }, editor),
    );
    expect(bad.status).toBe(422);
    const fields = (await bad.json()).errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['commentary', 'link']));
  });

  it('shows every post that waits for a person in the health warnings and on the dashboard', async () => {
    const health = async () => (await ctx.app.request('/api/v1/linkedin/health', { headers: editor })).json();
    const before = await health();
    const draft = await createPost({ title: 'Concept dat op iemand wacht' });
    const failed = await createPost({
      title: 'Bericht met een kapotte afbeelding',
      imageUrl: `${fake.url}/not-an-image`,
    });
    await schedule(failed.id);
    expect((await waitForPost(failed.id, ['failed', 'published'])).status).toBe('failed');

    const after = await health();
    expect(after.draftPosts).toBe(before.draftPosts + 1);
    expect(after.failedPosts).toBe(before.failedPosts + 1);
    expect(after.warnings).toEqual(
      expect.arrayContaining([
        `${after.draftPosts} LinkedIn-bericht(en) wachten als concept op goedkeuring: ze gaan niet vanzelf.`,
        `${after.failedPosts} LinkedIn-bericht(en) mislukt: bekijk de reden en verstuur opnieuw of annuleer.`,
      ]),
    );

    const viewer = await logInAs(ctx, 'viewer');
    const html = await (await viewer.page('/admin')).text();
    const section = /<section aria-labelledby="gezondheid-linkedin">.*?<\/section>/s.exec(html)![0];
    expect(section).toContain('Let op');
    expect(section).toContain('Berichten die op iemand wachten');
    expect(section).toContain(
      `<a href="/admin/posts/${draft.id}">Concept dat op iemand wacht</a> (artikel): Concept (wacht op goedkeuring)`,
    );
    expect(section).toMatch(
      new RegExp(
        `<a href="/admin/posts/${failed.id}">Bericht met een kapotte afbeelding</a> \\(artikel\\): Mislukt\\. Afbeelding: .*not an image`,
      ),
    );
    expect(html).toContain('wachten als concept op goedkeuring: ze gaan niet vanzelf.');

    // Cancelled, they wait for nobody.
    for (const id of [draft.id, failed.id])
      expect((await ctx.app.request(`/api/v1/linkedin/posts/${id}/cancel`, json({}, editor))).status).toBe(
        200,
      );
    const done = await health();
    expect([done.draftPosts, done.failedPosts]).toEqual([before.draftPosts, before.failedPosts]);
    expect(await (await viewer.page('/admin')).text()).not.toContain('Concept dat op iemand wacht');
  });
});

/** Sends an edition through the API and waits for its announcement; returns the post once it settled. */
async function sendAndAnnounce(overrides: Record<string, unknown>, settled = ['published', 'failed']) {
  const editionId = await approvedEdition(ctx, overrides);
  expect((await ctx.app.request(`/api/v1/editions/${editionId}/send`, json({}, editor))).status).toBe(200);
  await waitForEditionStatus(ctx.db, editionId, ['sent']);
  await waitUntil(
    async () =>
      (await ctx.db.selectFrom('linkedin_posts').select('id').where('edition_id', '=', editionId).execute())
        .length > 0,
    'the announcement',
  );
  const { id } = await ctx.db
    .selectFrom('linkedin_posts')
    .select('id')
    .where('edition_id', '=', editionId)
    .executeTakeFirstOrThrow();
  return { editionId, post: await waitForPost(id, settled) };
}

type CreateBody = { content: { article: Record<string, unknown> } };
const createBodyFor = (link: string) =>
  fake.createRequests().find((r) => (r.body as CreateBody).content.article.source === link)!
    .body as CreateBody;

describe('announcing a sent edition', () => {
  it('announces an edition without any image (and no default image) as an article without a thumbnail', async () => {
    await seedSubscribers(ctx.db, 1, { prefix: 'zonder-beeld' });
    const { post } = await sendAndAnnounce({ imageUrl: null });
    expect(post.status, post.last_error ?? '').toBe('published');
    expect(post.image_url).toBeNull();
    expect(post.last_error).toBeNull();
    const article = createBodyFor(post.link).content.article;
    expect(article).toEqual({ source: post.link, title: post.title, description: post.description });
    expect(postsFor(post.link)).toHaveLength(1);
    expect((await attemptsOf(post.id)).map((a) => `${a.step}:${a.outcome}`)).toEqual([
      'image:none',
      'create:created',
      'read-back:ok',
    ]);
  });

  it("uses the edition's first image block when it has no share image", async () => {
    await seedSubscribers(ctx.db, 1, { prefix: 'blokbeeld' });
    // Image blocks are https only (the public pages' CSP shows no other), and no https server
    // runs here: the blocks point at a closed loopback port, so the announcement shows which
    // image it chose, and that it fails on it visibly instead of going out without it.
    const closed = await freePort();
    const blockImage = `https://127.0.0.1:${closed}/beeld.png?blok=1`;
    const { post } = await sendAndAnnounce({
      imageUrl: null,
      blocks: [
        { type: 'paragraph', text: 'Eerst tekst.' },
        { type: 'image', url: blockImage, alt: 'Het lab van binnen' },
        { type: 'image', url: `https://127.0.0.1:${closed}/beeld.png?blok=2`, alt: 'Tweede beeld' },
      ],
    });
    expect(post.image_url).toBe(blockImage);
    expect(post.status).toBe('failed');
    expect(post.last_error).toMatch(/^Afbeelding: /);
    expect(postsFor(post.link)).toHaveLength(0);
  });

  it('creates exactly one announcement per edition from the Dutch template and publishes it', async () => {
    await seedSubscribers(ctx.db, 3, { prefix: 'aankondiging' });
    const { editionId, post } = await sendAndAnnounce({ imageUrl: `${fake.url}/image.png` });
    expect(post.status).toBe('published');
    const edition = await ctx.db
      .selectFrom('editions')
      .select(['slug', 'title'])
      .where('id', '=', editionId)
      .executeTakeFirstOrThrow();
    expect(post.link).toBe(`http://localhost:3000/nieuwsbrieven/${edition.slug}`);
    expect(post.commentary).toContain(`Nieuwe nieuwsbrief: ${edition.title}`);
    expect(post.commentary).toContain(post.link);

    // The job again (a second relay of the row, a retry): still one post here and on LinkedIn.
    await ctx.db.transaction().execute((tx) =>
      enqueue(tx, {
        queue: 'linkedin',
        jobName: 'announce-edition',
        jobId: `announce-edition-${editionId}-again`,
        payload: { editionId },
      }),
    );
    await waitUntil(
      async () =>
        (await background.queues.linkedin.getJob(`announce-edition-${editionId}-again`))?.returnvalue ===
        'already announced',
      'the second announce job',
    );
    expect(
      await ctx.db.selectFrom('linkedin_posts').select('id').where('edition_id', '=', editionId).execute(),
    ).toHaveLength(1);
    expect(postsFor(post.link)).toHaveLength(1);
  });

  it('creates the announcement as a draft when the settings ask for approval, and publishes it once approved', async () => {
    const patch = await ctx.app.request(
      '/api/v1/linkedin/settings',
      json({ announcementNeedsApproval: true, announcementTemplate: 'Lees {titel}: {link}' }, admin, 'PATCH'),
    );
    expect(patch.status).toBe(200);
    expect(
      (
        await ctx.app.request(
          '/api/v1/linkedin/settings',
          json({ announcementNeedsApproval: false }, editor, 'PATCH'),
        )
      ).status,
    ).toBe(403);
    try {
      await seedSubscribers(ctx.db, 2, { prefix: 'goedkeuring' });
      const editionId = await approvedEdition(ctx, { imageUrl: `${fake.url}/image.png` });
      await ctx.app.request(`/api/v1/editions/${editionId}/send`, json({}, editor));
      await waitForEditionStatus(ctx.db, editionId, ['sent']);
      await waitUntil(
        async () =>
          (
            await ctx.db
              .selectFrom('linkedin_posts')
              .select('id')
              .where('edition_id', '=', editionId)
              .execute()
          ).length > 0,
        'the announcement',
      );
      const [row] = await ctx.db
        .selectFrom('linkedin_posts')
        .selectAll()
        .where('edition_id', '=', editionId)
        .execute();
      expect(row!.status).toBe('draft');
      expect(row!.commentary).toMatch(/^Lees .+: http:\/\/localhost:3000\/nieuwsbrieven\//);
      const approve = await ctx.app.request(`/api/v1/linkedin/posts/${row!.id}/approve`, json({}, editor));
      expect(approve.status).toBe(200);
      expect((await waitForPost(row!.id, ['published', 'failed'])).status).toBe('published');
    } finally {
      await ctx.app.request(
        '/api/v1/linkedin/settings',
        json({ announcementNeedsApproval: false }, admin, 'PATCH'),
      );
    }
  });
});
