import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/api/app.js';
import type { AppDeps } from '../../../src/api/deps.js';
import type { DeliveryStatus } from '../../../src/db/schema.js';
import { transitionEdition } from '../../../src/domain/editions.js';
import { SecretBox } from '../../../src/infra/secret-box.js';
import { closeQueues, connectRedis, createQueues } from '../../../src/jobs/queues.js';
import { ResendSenderDomains } from '../../../src/providers/sender-domains.js';
import { type FakeDomain, FakeResend } from '../../fakes/resend-server.js';
import { type AdminBrowser, logInAs } from '../../helpers/admin.js';
import { createTestContext, TEST_APP_SECRET, TestClock, type TestContext } from '../../helpers/context.js';
import { approvedEdition } from '../../helpers/editions.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

describe('admin shell', () => {
  it('shows a viewer only the sections a viewer may open, and refuses the admin-only ones', async () => {
    const viewer = await logInAs(ctx, 'viewer');
    const html = await (await viewer.page('/admin')).text();
    expect(html).toContain('href="/admin/editions"');
    expect(html).not.toContain('href="/admin/users"');
    const mailbox = await viewer.page('/dev/mailbox');
    expect(mailbox.status).toBe(403);
    expect(await mailbox.text()).toContain('Geen toegang');
  });

  it('logs out only with the session CSRF token', async () => {
    const editor = await logInAs(ctx, 'editor');
    const forged = await editor.submit('/admin/logout', {}, { csrf: 'vervalst' });
    expect(forged.status).toBe(403);
    expect((await editor.page('/admin')).status).toBe(200);
    const out = await editor.submit('/admin/logout');
    expect(out.status).toBe(303);
    expect((await editor.page('/admin')).headers.get('location')).toBe('/admin/login');
  });
});

describe('the overview', () => {
  const clock = new TestClock(new Date('2026-03-01T09:00:00Z'));
  let octx: TestContext;
  let viewer: AdminBrowser;
  let fake: FakeResend;
  beforeAll(async () => {
    octx = await createTestContext({ clock });
    viewer = await logInAs(octx, 'viewer');
    fake = await new FakeResend().start();
  });
  afterAll(async () => {
    await fake.stop();
    await octx.close();
  });

  /** The overview as the viewer sees it from an app built on other dependencies (same database). */
  const overviewWith = async (deps: Partial<AppDeps>) => {
    const res = await createApp({ ...octx.deps, ...deps }).request('/admin', {
      headers: { cookie: viewer.cookie },
    });
    expect(res.status).toBe(200);
    return res.text();
  };

  it('lists scheduled editions and posts, sends under way and the last sends with their figures', async () => {
    const scheduled = await approvedEdition(octx, { title: 'Zomereditie <b>nieuw</b>' });
    await transitionEdition(octx.db, clock, null, scheduled, 'schedule', {
      sendAt: new Date('2026-03-10T08:00:00Z'),
    });
    await octx.db
      .insertInto('linkedin_posts')
      .values({
        kind: 'custom',
        commentary: 'Kom naar de open dag',
        link: 'https://voorbeeld.test/open-dag',
        title: 'Open dag in het lab',
        description: 'Iedereen welkom',
        status: 'scheduled',
        scheduled_at: new Date('2026-03-05T10:00:00Z'),
      })
      .execute();
    const sent = await sentEdition('Februari-editie', [
      'delivered',
      'delivered',
      'bounced',
      'complained',
      'failed',
    ]);
    await sentEdition('Maart-editie (bezig)', ['delivered', 'queued', 'queued', 'queued'], 'sending');

    const res = await viewer.page('/admin');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Zomereditie &lt;b&gt;nieuw&lt;/b&gt;');
    expect(html).toContain('10 mrt 2026, 09:00'); // Amsterdam time
    expect(html).toContain('Open dag in het lab');
    expect(html).toContain('href="/admin/posts"');
    expect(html).toContain('href="/admin/subscribers"');
    // The finished send: 5 recipients, 4 accepted, 2 delivered, 1 bounce, 1 complaint, 1 failed.
    const row = new RegExp(`href="/admin/editions/${sent}/stats">Februari-editie</a>.*?</tr>`, 's').exec(
      html,
    )?.[0];
    expect(row?.match(/<td>(\d+)<\/td>/g)).toEqual([
      '<td>5</td>',
      '<td>4</td>',
      '<td>2</td>',
      '<td>1</td>',
      '<td>1</td>',
      '<td>1</td>',
    ]);
    // The send under way, with its progress in words and as a bar.
    expect(html).toContain('Wordt nu verzonden');
    expect(html).toContain('1 van 4 verwerkt (25 %)');
    // Viewers get no change links.
    expect(html).not.toContain('href="/admin/editions/new"');
  });

  it('shows LinkedIn health: token expiry and an old API version', async () => {
    await octx.db
      .insertInto('linkedin_connections')
      .values({
        status: 'active',
        organization_id: '4242',
        organization_name: 'Proeftuin Wonen',
        organizations: JSON.stringify([{ id: '4242', name: 'Proeftuin Wonen' }]),
        access_token_enc: 'versleuteld',
        access_token_expires_at: new Date(clock.now().getTime() + 5 * 24 * 3600 * 1000),
      })
      .execute();
    const html = await overviewWith({
      linkedin: {
        settings: { apiBaseUrl: 'http://127.0.0.1:9', oauthBaseUrl: 'http://127.0.0.1:9', version: '202401' },
        clientId: undefined,
        clientSecret: undefined,
        envAccessToken: undefined,
        envOrganizationId: undefined,
        secretBox: new SecretBox([TEST_APP_SECRET]),
      },
    });
    expect(html).toContain('Proeftuin Wonen');
    expect(html).toContain('verloopt over minder dan 7 dagen');
    expect(html).toContain('LINKEDIN_VERSION 202401 is 26 maanden oud');
  });

  it('shows sender health in Dutch: mailbox mode, or an unverified domain with its missing records', async () => {
    expect(await overviewWith({})).toContain('Er is geen RESEND_API_KEY ingesteld');
    const pending: FakeDomain = {
      id: 'dom_overzicht',
      name: 'overzicht.voorbeeld',
      status: 'pending',
      records: [{ record: 'DKIM', type: 'TXT', name: 'resend._domainkey', value: 'p=…', status: 'pending' }],
    };
    fake.domains.push(pending);
    const html = await overviewWith({
      senderDomains: new ResendSenderDomains('re_test_key', fake.url),
      config: { ...octx.deps.config, mailerKind: 'resend', emailFrom: 'Lab <post@overzicht.voorbeeld>' },
    });
    expect(html).toContain('Het verzenddomein overzicht.voorbeeld is niet geverifieerd');
    expect(html).toContain('DKIM TXT resend._domainkey: pending');
  });

  it('shows queue health per queue, and says so when Redis does not answer', async () => {
    const connection = new Redis(octx.redisUrl, { maxRetriesPerRequest: null });
    const queues = createQueues(connection, octx.redisPrefix);
    try {
      await queues.imports.add('run-import', { importId: '1' }, { jobId: 'wachtend' });
      await queues.imports.add('run-import', { importId: '2' }, { jobId: 'later', delay: 3_600_000 });
      const html = await overviewWith({ queues });
      const row = /<th scope="row">imports<\/th>(.*?)<\/tr>/s.exec(html)?.[1];
      // waiting, active, failed, delayed
      expect(row?.match(/<td>(\d+)<\/td>/g)).toEqual([
        '<td>1</td>',
        '<td>0</td>',
        '<td>0</td>',
        '<td>1</td>',
      ]);
    } finally {
      await closeQueues(queues);
      connection.disconnect();
    }

    const down = connectRedis('redis://127.0.0.1:9', () => {});
    const unreachable = createQueues(down.producer, octx.redisPrefix);
    for (const queue of Object.values(unreachable)) queue.on('error', () => {});
    try {
      expect(await overviewWith({ queues: unreachable })).toContain('Redis antwoordt niet');
    } finally {
      await down.close();
    }
  });

  /** An edition that started sending, with deliveries in the given states; returns its id. */
  async function sentEdition(title: string, statuses: DeliveryStatus[], status: 'sent' | 'sending' = 'sent') {
    const { id } = await octx.db
      .insertInto('editions')
      .values({
        title,
        subject: title,
        slug: `editie-${Math.random().toString(36).slice(2)}`,
        blocks: JSON.stringify([]),
        status,
        sending_started_at: new Date('2026-02-01T09:00:00Z'),
        sent_at: status === 'sent' ? new Date('2026-02-01T09:05:00Z') : null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await octx.db
      .insertInto('deliveries')
      .values(
        statuses.map((s, n) => ({
          edition_id: id,
          subscriber_id: null,
          email: `lid-${id}-${n}@voorbeeld.test`,
          locale: 'nl' as const,
          batch_no: 0,
          status: s,
          provider_message_id: s === 'queued' || s === 'failed' ? null : `msg-${id}-${n}`,
        })),
      )
      .execute();
    return id;
  }
});
