import { sql } from 'kysely';
import { expect } from 'vitest';
import type { Db } from '../../src/db/connection.js';
import { json, type TestContext } from './context.js';

let counter = 0;

export function editionInput(overrides: Record<string, unknown> = {}) {
  counter++;
  return {
    title: `Nieuwsbrief ${counter}`,
    subject: `Nieuws uit het lab ${counter}`,
    preheader: 'Housing First in de regio',
    slug: `nieuwsbrief-${Date.now().toString(36)}-${counter}`,
    locale: 'nl',
    topics: ['nieuwsbrief'],
    blocks: [
      { type: 'heading', text: 'Welkom' },
      { type: 'paragraph', text: 'Lees **alles** over [het lab](https://voorbeeld.test/lab).' },
    ],
    ...overrides,
  };
}

/** What the edition helpers need: the API (in process, or a real server over HTTP) and users. */
export interface ApiCaller {
  app: { request(path: string, init?: RequestInit): Response | Promise<Response> };
  userWithToken: TestContext['userWithToken'];
}

/** An edition written by one editor and approved by another, through the API; returns its id. */
export async function approvedEdition(
  ctx: ApiCaller,
  overrides: Record<string, unknown> = {},
): Promise<string> {
  const author = (await ctx.userWithToken('editor')).headers;
  const approver = (await ctx.userWithToken('editor')).headers;
  const created = await ctx.app.request('/api/v1/editions', json(editionInput(overrides), author));
  expect(created.status, await created.clone().text()).toBe(201);
  const { id } = await created.json();
  expect((await ctx.app.request(`/api/v1/editions/${id}/submit`, json({}, author))).status).toBe(200);
  expect((await ctx.app.request(`/api/v1/editions/${id}/approve`, json({}, approver))).status).toBe(200);
  return id;
}

/**
 * Inserts `count` active subscribers of a topic with one statement (fictitious addresses
 * `<prefix>-<n>@voorbeeld.test`), half of them English-speaking.
 */
export async function seedSubscribers(
  db: Db,
  count: number,
  options: { prefix?: string; topic?: string; organisationId?: string } = {},
) {
  const prefix = options.prefix ?? 'lid';
  const topic = options.topic ?? 'nieuwsbrief';
  await sql`
    with inserted as (
      insert into subscribers (email, name, locale, status, source, organisation_id, confirmed_at)
      select ${prefix} || '-' || n || '@voorbeeld.test', 'Lid ' || n, case when n % 2 = 0 then 'en' else 'nl' end,
             'active', 'import', ${options.organisationId ?? null}::bigint, now()
        from generate_series(1, ${count}) as n
      returning id)
    insert into subscriptions (subscriber_id, topic_id)
    select inserted.id, topics.id from inserted, topics where topics.slug = ${topic}`.execute(db);
}

export async function waitForEditionStatus(
  db: Db,
  id: string,
  statuses: string[],
  timeoutMs = 60_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await db
      .selectFrom('editions')
      .select('status')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    if (statuses.includes(row.status)) return row.status;
    if (Date.now() > deadline)
      throw new Error(`edition ${id} is ${row.status}, not ${statuses.join('/')} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
