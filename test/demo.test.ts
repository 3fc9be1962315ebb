import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/demo.js';
import { createTestContext, TEST_APP_SECRET, type TestContext } from './helpers/context.js';

let ctx: TestContext;
let dataDir: string;

beforeAll(async () => {
  ctx = await createTestContext();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'thuispost-demo-'));
});
afterAll(async () => {
  await ctx.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    {
      DATABASE_URL: ctx.databaseUrl,
      APP_SECRET: TEST_APP_SECRET,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      PUBLIC_BASE_URL: 'http://localhost:3000',
    },
    { out: (text) => out.push(text), err: (text) => err.push(text) },
  );
  return { code, out: out.join(''), err: err.join('') };
}

async function counts() {
  const count = async (
    table: 'editions' | 'subscribers' | 'documents' | 'consent_events' | 'organisations',
  ) =>
    Number(
      (
        await ctx.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    editions: await count('editions'),
    subscribers: await count('subscribers'),
    documents: await count('documents'),
    consent: await count('consent_events'),
    organisations: await count('organisations'),
  };
}

describe('npm run demo', () => {
  it('fills an empty installation with a living, fictitious site', async () => {
    const result = await run([]);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/Demo content added:/);

    const sent = await ctx.db
      .selectFrom('editions')
      .select(['slug', 'sent_at'])
      .where('status', '=', 'sent')
      .execute();
    expect(sent.length).toBeGreaterThanOrEqual(4);
    expect(new Set(sent.map((e) => e.sent_at!.getUTCFullYear())).size).toBeGreaterThanOrEqual(2);
    for (const edition of sent) expect(edition.sent_at!.getTime()).toBeLessThan(Date.now());

    const subscribers = await ctx.db.selectFrom('subscribers').select(['id', 'email', 'status']).execute();
    expect(subscribers.length).toBeGreaterThanOrEqual(45);
    expect(subscribers.every((s) => s.email.endsWith('@voorbeeld.test'))).toBe(true);
    const withConsent = await ctx.db
      .selectFrom('consent_events')
      .select('subscriber_id')
      .where('kind', '=', 'given')
      .distinct()
      .execute();
    expect(withConsent).toHaveLength(subscribers.length);

    const kinds = await ctx.db.selectFrom('organisations').select('kind').distinct().execute();
    expect(kinds.map((k) => k.kind).sort()).toEqual([
      'gemeente',
      'overig',
      'woningcorporatie',
      'zorgaanbieder',
    ]);

    const perCategory = await ctx.db
      .selectFrom('documents')
      .innerJoin('document_categories', 'document_categories.id', 'documents.category_id')
      .select(['document_categories.slug', 'documents.kind'])
      .execute();
    expect(new Set(perCategory.map((d) => d.slug))).toEqual(
      new Set(['algemeen', 'artikelen', 'folders', 'nieuwsbrieven']),
    );
    expect(perCategory.filter((d) => d.kind === 'file')).toHaveLength(1);

    // Nothing waits to be mailed or posted.
    expect(await ctx.db.selectFrom('outbox').select('id').execute()).toEqual([]);

    // The site shows it.
    const home = await (await ctx.app.request('/')).text();
    expect(home).toContain('<h1>Housing First Regio Voorbeeld</h1>');
    const archive = await (await ctx.app.request('/nieuwsbrieven')).text();
    expect(archive.match(/<h2 id="jaar-/g)!.length).toBeGreaterThanOrEqual(2);
    expect(archive).not.toContain('concept');
    const documents = await (await ctx.app.request('/documenten')).text();
    const pdf = /href="(\/documenten\/\d+\/[^"]+\.pdf)"/.exec(documents)![1]!;
    const file = await ctx.app.request(pdf);
    expect(file.status).toBe(200);
    expect(
      Buffer.from(await file.arrayBuffer())
        .subarray(0, 5)
        .toString(),
    ).toBe('%PDF-');
  });

  it('refuses politely when editions or subscribers exist, and adds nothing twice with --force', async () => {
    const before = await counts();
    const refused = await run([]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/already has content .* --force/);
    expect(await counts()).toEqual(before);

    const forced = await run(['--force']);
    expect(forced.code).toBe(0);
    expect(await counts()).toEqual(before);

    expect((await run(['--nonsense'])).code).toBe(2);
  });
});
