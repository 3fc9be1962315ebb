import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateSettings } from '../../src/domain/settings.js';
import { startTestBackground, type TestBackground } from '../helpers/background.js';
import { createTestContext, json, type TestContext } from '../helpers/context.js';
import { waitUntil } from '../helpers/process.js';

let ctx: TestContext;
let background: TestBackground;

beforeAll(async () => {
  ctx = await createTestContext();
  // No LinkedIn credentials: the dry-run feed stands in for LinkedIn (an image is still required).
  await updateSettings(ctx.db, { linkedinDefaultImageUrl: 'https://www.voorbeeld.test/logo.png' });
  background = await startTestBackground(ctx);
});
afterAll(async () => {
  await background.stop();
  await ctx.close();
});

describe('announcing a document on LinkedIn', () => {
  it('turns "announce on LinkedIn" into exactly one post linking to the document', async () => {
    const editor = (await ctx.userWithToken('editor')).headers;
    const created = await ctx.app.request(
      '/api/v1/documents',
      json(
        {
          url: 'https://www.voorbeeld.test/rapport-2026',
          title: 'Evaluatie Housing First 2026',
          summary: 'De resultaten van het eerste jaar.',
          category: 'artikelen',
          announceOnLinkedIn: true,
        },
        editor,
      ),
    );
    expect(created.status).toBe(201);
    const { id } = await created.json();
    const post = () =>
      ctx.db
        .selectFrom('linkedin_posts')
        .selectAll()
        .where('kind', '=', 'document')
        .where('document_id', '=', id)
        .execute();
    await waitUntil(
      async () => (await post()).some((p) => p.status === 'published'),
      'the document post to be published',
      30_000,
    );
    const posts = await post();
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({
      link: 'https://www.voorbeeld.test/rapport-2026',
      title: 'Evaluatie Housing First 2026',
      description: 'De resultaten van het eerste jaar.',
      dry_run: true,
    });
    expect(posts[0]!.commentary).toContain('Evaluatie Housing First 2026');
    // Announcing again (a repeated job) changes nothing.
    await ctx.app.request(`/api/v1/documents/${id}`, json({ announceOnLinkedIn: true }, editor, 'PATCH'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await post()).toHaveLength(1);
  });
});
