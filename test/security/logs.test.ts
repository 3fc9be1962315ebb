import { Webhook } from 'svix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueSetupToken } from '../../src/domain/auth.js';
import { SecretBox } from '../../src/infra/secret-box.js';
import { ResendMailer } from '../../src/providers/resend-mailer.js';
import { FakeLinkedIn } from '../fakes/linkedin-server.js';
import { FakeResend } from '../fakes/resend-server.js';
import { startTestBackground, TEST_EMAIL_FROM, type TestBackground } from '../helpers/background.js';
import {
  createTestContext,
  json,
  TEST_APP_SECRET,
  TEST_PASSWORD,
  TEST_WEBHOOK_SECRET,
  type TestContext,
} from '../helpers/context.js';
import { editionInput, waitForEditionStatus } from '../helpers/editions.js';
import { waitUntil } from '../helpers/process.js';

/**
 * Secrets and email addresses never reach a log line. A realistic run of the whole service (first
 * admin through the setup link, logins right and wrong, API tokens, a signup confirmed by its
 * emailed link, preferences, one-click unsubscribe, a CSV import, an edition sent through Resend
 * with a refused recipient, provider webhooks, a LinkedIn post, a GDPR export and erasure) writes
 * its logs into a captured stream, which is then searched for every secret and every address.
 */
const RESEND_KEY = 're_test_key';
const LINKEDIN_TOKEN = 'linkedin-omgevingstoken-dat-geheim-blijft';
const SETUP_PASSWORD = 'het wachtwoord van de eerste beheerder';
const WRONG_PASSWORD = 'een fout maar geheim wachtwoord';
const REFUSED = 'geweigerd@voorbeeld.test';

let ctx: TestContext;
let resend: FakeResend;
let linkedin: FakeLinkedIn;
let background: TestBackground;
/** Everything that must never be logged, gathered while the flow runs. */
const secrets = new Set<string>([
  TEST_APP_SECRET,
  TEST_WEBHOOK_SECRET,
  TEST_WEBHOOK_SECRET.replace('whsec_', ''),
  RESEND_KEY,
  LINKEDIN_TOKEN,
  TEST_PASSWORD,
  SETUP_PASSWORD,
  WRONG_PASSWORD,
]);

beforeAll(async () => {
  ctx = await createTestContext({ mailerKind: 'resend' });
  resend = await new FakeResend().start();
  resend.rejectedRecipients.add(REFUSED);
  linkedin = await new FakeLinkedIn().start();
  linkedin.issueToken(LINKEDIN_TOKEN, ['2414183']);
  background = await startTestBackground(ctx, {
    mailer: new ResendMailer(RESEND_KEY, resend.url),
    linkedin: {
      settings: { apiBaseUrl: linkedin.url, oauthBaseUrl: linkedin.url, version: '202510', timeoutMs: 2_000 },
      envAccessToken: LINKEDIN_TOKEN,
      envOrganizationId: '2414183',
      secretBox: new SecretBox([TEST_APP_SECRET]),
      allowPrivateImageHosts: true,
      imagePollIntervalMs: 20,
    },
  });
}, 60_000);
afterAll(async () => {
  await background?.stop();
  await resend?.stop();
  await linkedin?.stop();
  await ctx?.close();
});

const formPost = (fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(fields).toString(),
});

/** The personal link tokens in an email, which are credentials of their own. */
function linkTokensIn(html: string): string[] {
  return [...html.matchAll(/\/(?:confirm|unsubscribe|preferences)\/([\w.-]+)/g)].map((match) => match[1]!);
}

/** A personal link token of the subscriber with `email`, noted as a secret. */
async function personalLink(email: string, purpose: 'preferences' | 'unsubscribe') {
  const { id } = await ctx.db
    .selectFrom('subscribers')
    .select('id')
    .where('email', '=', email)
    .executeTakeFirstOrThrow();
  const token = ctx.deps.linkTokens.issue({ p: purpose, s: id });
  secrets.add(token);
  return { subscriberId: id, token };
}

const sessionOf = (res: Response) => /tp_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];

async function runTheService() {
  // First admin through the one-time setup link.
  const setup = (await issueSetupToken(ctx.db, ctx.deps.clock))!;
  secrets.add(setup.token);
  const created = await ctx.app.request(
    `/admin/setup/${setup.token}`,
    formPost({ email: 'eerste-beheerder@voorbeeld.test', name: 'Eerste', password: SETUP_PASSWORD }),
  );
  expect(created.status).toBe(303);
  secrets.add(sessionOf(created)!);

  // Logins: JSON right and wrong, and the form.
  const right = await ctx.app.request(
    '/api/v1/auth/login',
    json({ email: 'eerste-beheerder@voorbeeld.test', password: SETUP_PASSWORD }),
  );
  expect(right.status).toBe(200);
  secrets.add(sessionOf(right)!);
  const { csrfToken } = await right.json();
  secrets.add(csrfToken);
  await ctx.app.request(
    '/api/v1/auth/login',
    json({ email: 'eerste-beheerder@voorbeeld.test', password: WRONG_PASSWORD }),
  );
  await ctx.app.request(
    '/api/v1/auth/login',
    json({ email: 'niemand@voorbeeld.test', password: WRONG_PASSWORD }),
  );
  const loginPage = await ctx.app.request('/admin/login');
  const loginCsrf = /name="_csrf" value="([^"]+)"/.exec(await loginPage.text())![1]!;
  secrets.add(loginCsrf);
  const form = await ctx.app.request(
    '/admin/login',
    formPost(
      { email: 'eerste-beheerder@voorbeeld.test', password: SETUP_PASSWORD, _csrf: loginCsrf },
      { cookie: loginPage.headers.get('set-cookie')!.split(';')[0]! },
    ),
  );
  expect(form.status).toBe(303);
  secrets.add(sessionOf(form)!);

  // API tokens: made through the API, then used; users made by the admin.
  const admin = { cookie: `tp_session=${sessionOf(right)}`, 'x-csrf-token': csrfToken };
  const token = await (await ctx.app.request('/api/v1/tokens', json({ name: 'deploy' }, admin))).json();
  secrets.add(token.token);
  const api = { authorization: `Bearer ${token.token}` };
  expect(
    (
      await ctx.app.request(
        '/api/v1/users',
        json({ email: 'tweede-redacteur@voorbeeld.test', role: 'editor', password: TEST_PASSWORD }, api),
      )
    ).status,
  ).toBe(201);
  const editorA = await ctx.userWithToken('editor', 'redacteur-a@voorbeeld.test');
  const editorB = await ctx.userWithToken('editor', 'redacteur-b@voorbeeld.test');
  secrets.add(editorA.token).add(editorB.token);
  await ctx.app.request('/api/v1/auth/me', { headers: { authorization: 'Bearer tp_vervalst-token-0000' } });

  // A signup, confirmed through the link in its email; preferences; a one-click unsubscribe.
  const signupPage = await (await ctx.app.request('/subscribe')).text();
  const consentVersion = /name="consentVersion" value="([^"]+)"/.exec(signupPage)![1]!;
  const formToken = ctx.deps.linkTokens.issue({ p: 'form' }, 3600, new Date(Date.now() - 60_000));
  const signup = await ctx.app.request(
    '/subscribe',
    formPost({
      email: 'nieuwe.lezer@Voorbeeld.TEST',
      name: 'Nieuwe Lezer',
      topics: 'nieuwsbrief',
      consent: 'on',
      consentVersion,
      formToken,
    }),
  );
  expect(signup.status).toBe(200);
  await waitUntil(
    () => resend.emails.some((e) => e.to.includes('nieuwe.lezer@voorbeeld.test')),
    'the confirmation',
  );
  const confirmation = resend.emails.find((e) => e.to.includes('nieuwe.lezer@voorbeeld.test'))!;
  const confirmToken = linkTokensIn(confirmation.html ?? '')[0]!;
  expect((await ctx.app.request(`/confirm/${confirmToken}`, formPost({}))).status).toBe(200);
  await waitUntil(
    () => resend.emails.filter((e) => e.to.includes('nieuwe.lezer@voorbeeld.test')).length >= 2,
    'the welcome',
  );
  for (const email of resend.emails) for (const found of linkTokensIn(email.html ?? '')) secrets.add(found);
  const { subscriberId, token: preferences } = await personalLink(
    'nieuwe.lezer@voorbeeld.test',
    'preferences',
  );
  await ctx.app.request(
    `/preferences/${preferences}`,
    formPost({ topics: 'nieuwsbrief', locale: 'en', name: 'Lezer Nieuw' }),
  );

  // Subscribers by API and by CSV import.
  for (const email of ['api-lezer@voorbeeld.test', REFUSED, 'vertrekker@voorbeeld.test']) {
    await ctx.app.request(
      '/api/v1/subscribers',
      json({ email, name: 'Lezer', topics: ['nieuwsbrief'], lawfulBasis: 'consent' }, editorA.headers),
    );
  }
  const imported = await ctx.app.request('/api/v1/subscribers/imports?lawfulBasis=consent', {
    method: 'POST',
    headers: { ...editorA.headers, 'content-type': 'text/csv' },
    body: 'email;naam\nimport-een@voorbeeld.test;Import Een\nkapot-adres;Kapot\n',
  });
  expect(imported.status).toBe(202);
  const importId = (await imported.json()).id;
  await waitUntil(async () => {
    const row = await ctx.db
      .selectFrom('imports')
      .select('status')
      .where('id', '=', importId)
      .executeTakeFirst();
    return row?.status === 'done' || row?.status === 'failed';
  }, 'the import');

  // One-click unsubscribe of one of them.
  const { token: unsubscribe } = await personalLink('vertrekker@voorbeeld.test', 'unsubscribe');
  await ctx.app.request(`/unsubscribe/${unsubscribe}`, formPost({ 'List-Unsubscribe': 'One-Click' }));

  // An edition: test send, approval by a second editor, the real send (one recipient refused).
  const edition = await (
    await ctx.app.request('/api/v1/editions', json(editionInput(), editorA.headers))
  ).json();
  await ctx.app.request(
    `/api/v1/editions/${edition.id}/test-send`,
    json({ to: ['proeflezer@voorbeeld.test'] }, editorA.headers),
  );
  await ctx.app.request(`/api/v1/editions/${edition.id}/submit`, json({}, editorA.headers));
  await ctx.app.request(`/api/v1/editions/${edition.id}/approve`, json({}, editorB.headers));
  expect(
    (await ctx.app.request(`/api/v1/editions/${edition.id}/send`, json({}, editorB.headers))).status,
  ).toBe(200);
  await waitForEditionStatus(ctx.db, edition.id, ['sent']);
  // The refused recipient went down the failure path (whose provider message names the address).
  const refused = await ctx.db
    .selectFrom('deliveries')
    .select('status')
    .where('edition_id', '=', edition.id)
    .where('email', '=', REFUSED)
    .executeTakeFirstOrThrow();
  expect(refused.status).toBe('failed');

  // Provider webhooks about the deliveries (their payloads name the addresses).
  const deliveries = await ctx.db
    .selectFrom('deliveries')
    .select(['email', 'provider_message_id'])
    .where('edition_id', '=', edition.id)
    .where('provider_message_id', 'is not', null)
    .execute();
  const webhook = new Webhook(TEST_WEBHOOK_SECRET);
  for (const [index, delivery] of deliveries.entries()) {
    const type = index === 0 ? 'email.bounced' : 'email.delivered';
    const body = JSON.stringify({
      type,
      created_at: new Date().toISOString(),
      data: {
        email_id: delivery.provider_message_id,
        to: [delivery.email],
        from: TEST_EMAIL_FROM,
        subject: 'Nieuws',
        ...(type === 'email.bounced'
          ? {
              bounce: {
                type: 'Permanent',
                subType: 'General',
                message: `550 ${delivery.email} does not exist`,
              },
            }
          : {}),
      },
    });
    const id = `msg_log_${index}`;
    const at = new Date();
    await ctx.app.request('/webhooks/resend', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'svix-id': id,
        'svix-timestamp': String(Math.floor(at.getTime() / 1000)),
        'svix-signature': webhook.sign(id, at, body),
      },
      body,
    });
  }
  await ctx.app.request('/webhooks/resend', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'svix-id': 'msg_x',
      'svix-timestamp': '1',
      'svix-signature': 'v1,x',
    },
    body: JSON.stringify({ type: 'email.delivered', data: { to: ['vervalst@voorbeeld.test'] } }),
  });

  // A LinkedIn post, published with the environment token.
  const post = await (
    await ctx.app.request(
      '/api/v1/linkedin/posts',
      json(
        {
          kind: 'custom',
          commentary: 'Nieuw in het lab',
          link: 'https://www.voorbeeld.test/lab',
          title: 'Het lab',
          description: 'Wat er gebeurt',
          imageUrl: `${linkedin.url}/image.png`,
        },
        editorA.headers,
      ),
    )
  ).json();
  await ctx.app.request(`/api/v1/linkedin/posts/${post.id}/schedule`, json({}, editorA.headers));
  await waitUntil(async () => {
    const row = await ctx.db
      .selectFrom('linkedin_posts')
      .select('status')
      .where('id', '=', post.id)
      .executeTakeFirst();
    return row?.status === 'published' || row?.status === 'failed';
  }, 'the LinkedIn post');

  // GDPR: export and erasure of a subscriber.
  await ctx.app.request(`/api/v1/subscribers/${subscriberId}/export`, { headers: editorA.headers });
  await ctx.app.request(`/api/v1/subscribers/${subscriberId}`, {
    method: 'DELETE',
    headers: editorA.headers,
  });
  // Let the last jobs finish logging.
  await waitUntil(
    async () =>
      (await ctx.db.selectFrom('outbox').select('id').where('relayed_at', 'is', null).execute()).length === 0,
    'the outbox',
  );
}

describe('logs of a realistic run', () => {
  it('hold no secret, token, password or email address', async () => {
    await runTheService();
    const logs = ctx.rawLogs.join('\n');
    expect(ctx.rawLogs.length).toBeGreaterThan(30);
    for (const message of ['signup', 'unsubscribe', 'edition send started', 'linkedin post published'])
      expect(logs).toContain(`"msg":"${message}"`);
    // The flow really logged requests, jobs and the refusals.
    expect(logs).toContain('"route":"/webhooks/resend"');
    expect(logs).toMatch(/"level":(?:40|50)/);

    const found = [...secrets].filter((secret) => secret.length >= 8 && logs.includes(secret));
    expect(found).toEqual([]);
    // Every address at all (those used above and any other), except the configured sender's own.
    const sender = /<([^>]+)>/.exec(TEST_EMAIL_FROM)![1]!;
    const addresses = new Set(
      [...logs.matchAll(/[\w.+-]+@[\w-]+(?:\.[\w-]+)+/gi)].map((match) => match[0].toLowerCase()),
    );
    addresses.delete(sender);
    expect([...addresses]).toEqual([]);
  }, 180_000);
});
