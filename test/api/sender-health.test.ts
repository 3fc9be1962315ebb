import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { domainOfAddress, logSenderHealth } from '../../src/domain/sender-health.js';
import { ResendSenderDomains, type SenderDomains } from '../../src/providers/sender-domains.js';
import { type FakeDomain, FakeResend } from '../fakes/resend-server.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

let ctx: TestContext;
let fake: FakeResend;
let admin: Record<string, string>;
beforeAll(async () => {
  ctx = await createTestContext();
  fake = await new FakeResend().start();
  admin = (await ctx.userWithToken('admin')).headers;
});
afterAll(async () => {
  await fake.stop();
  await ctx.close();
});
beforeEach(() => {
  fake.domains.length = 0;
});

const FROM = 'Thuispost <nieuwsbrief@voorbeeld.nl>';

/** The app as a Resend-mode process builds it, with the sender domains behind `senderDomains`. */
function resendApp(senderDomains: SenderDomains | undefined, emailFrom = FROM) {
  return createApp({
    ...ctx.deps,
    senderDomains,
    config: { ...ctx.deps.config, mailerKind: 'resend', emailFrom },
  });
}

async function health(app = resendApp(new ResendSenderDomains('re_test_key', fake.url))) {
  const res = await app.request('/api/v1/system/sender-health', { headers: admin });
  expect(res.status).toBe(200);
  return res.json();
}

const record = (kind: string, type: string, name: string, status: string, value = 'v=…') => ({
  record: kind,
  type,
  name,
  value,
  status,
});

function verifiedDomain(overrides: Partial<FakeDomain> = {}): FakeDomain {
  return {
    id: 'dom_voorbeeld',
    name: 'voorbeeld.nl',
    status: 'verified',
    records: [
      record('SPF', 'MX', 'send', 'verified', 'feedback-smtp.eu-west-1.amazonses.com'),
      record('SPF', 'TXT', 'send', 'verified', 'v=spf1 include:amazonses.com ~all'),
      record('DKIM', 'TXT', 'resend._domainkey', 'verified', 'p=MIGfMA0GCSq…'),
      // Receiving is off: its MX record does not matter.
      {
        ...record('Receiving', 'MX', '@', 'not_started', 'inbound-smtp.eu-west-1.amazonaws.com'),
        priority: 10,
      },
    ],
    ...overrides,
  };
}

describe('GET /api/v1/system/sender-health', () => {
  it('in mailbox mode: mail goes to the dev mailbox, no domain is needed', async () => {
    const body = await health(ctx.app);
    expect(body).toMatchObject({ ok: true, mode: 'mailbox', domain: null, warnings: [] });
    expect(body.message).toMatch(/dev mailbox/);
  });

  it('with a verified domain: ok, nothing to fix', async () => {
    fake.domains.push(
      { id: 'dom_other', name: 'ander.nl', status: 'pending', records: [] },
      verifiedDomain(),
    );
    const body = await health();
    expect(body).toMatchObject({
      ok: true,
      mode: 'resend',
      domain: {
        name: 'voorbeeld.nl',
        status: 'verified',
        verified: true,
        id: 'dom_voorbeeld',
        unverifiedRecords: [],
      },
      warnings: [],
    });
    expect(body.message).toMatch(/verified/);
    expect(fake.requests.some((r) => r.path === '/domains/dom_voorbeeld')).toBe(true);
  });

  it('lists the DNS records that are missing when the domain is not verified', async () => {
    fake.domains.push(
      verifiedDomain({
        status: 'pending',
        records: [
          record('SPF', 'TXT', 'send', 'verified', 'v=spf1 include:amazonses.com ~all'),
          record('DKIM', 'TXT', 'resend._domainkey', 'pending', 'p=MIGfMA0GCSqGSIb3DQEB'),
          record('SPF', 'MX', 'send', 'failed', 'feedback-smtp.eu-west-1.amazonses.com'),
        ],
      }),
    );
    const body = await health();
    expect(body.ok).toBe(false);
    expect(body.domain).toMatchObject({ name: 'voorbeeld.nl', status: 'pending', verified: false });
    expect(body.domain.unverifiedRecords).toEqual([
      {
        record: 'DKIM',
        type: 'TXT',
        name: 'resend._domainkey',
        value: 'p=MIGfMA0GCSqGSIb3DQEB',
        status: 'pending',
        priority: null,
      },
      {
        record: 'SPF',
        type: 'MX',
        name: 'send',
        value: 'feedback-smtp.eu-west-1.amazonses.com',
        status: 'failed',
        priority: null,
      },
    ]);
    expect(body.warnings).toHaveLength(1);
    expect(body.warnings[0].level).toBe('critical');
    expect(body.warnings[0].message).toMatch(/not verified.*DKIM TXT resend\._domainkey/);
  });

  it('warns when the domain is verified but a record is not', async () => {
    fake.domains.push(
      verifiedDomain({
        receiving: true,
        records: [
          record('DKIM', 'TXT', 'resend._domainkey', 'verified'),
          {
            ...record('Receiving', 'MX', '@', 'pending', 'inbound-smtp.eu-west-1.amazonaws.com'),
            priority: 10,
          },
        ],
      }),
    );
    const body = await health();
    expect(body.ok).toBe(false);
    expect(body.domain.verified).toBe(true);
    expect(body.domain.unverifiedRecords).toEqual([
      {
        record: 'Receiving',
        type: 'MX',
        name: '@',
        value: 'inbound-smtp.eu-west-1.amazonaws.com',
        status: 'pending',
        priority: 10,
      },
    ]);
    expect(body.warnings.map((w: { level: string }) => w.level)).toEqual(['warning']);
  });

  it('says so when the domain of EMAIL_FROM is not in the Resend account (also past the first page)', async () => {
    for (let i = 0; i < 120; i++)
      fake.domains.push({ id: `dom_${i}`, name: `domein${i}.nl`, status: 'verified', records: [] });
    const body = await health();
    expect(body.domain).toMatchObject({ name: 'voorbeeld.nl', status: 'not_found', verified: false });
    expect(body.warnings[0]).toMatchObject({ level: 'critical' });
    expect(body.warnings[0].message).toMatch(/voorbeeld\.nl.*not added in Resend/);
    // And found when it is the 121st.
    fake.domains.push(verifiedDomain());
    expect((await health()).domain.verified).toBe(true);
  });

  it('answers with a clear message, not a 500, when Resend is unreachable', async () => {
    // Nothing listens on port 9 here (discard): the connection is refused.
    const unreachable = await health(resendApp(new ResendSenderDomains('re_test_key', 'http://127.0.0.1:9')));
    expect(unreachable).toMatchObject({
      ok: false,
      mode: 'resend',
      domain: { name: 'voorbeeld.nl', status: 'unknown' },
    });
    expect(unreachable.warnings[0]).toMatchObject({ level: 'warning' });
    expect(unreachable.warnings[0].message).toMatch(/could not be reached/);

    // A dropped connection and a server error read the same way.
    fake.failNext({ status: 0, drop: true });
    const dropped = await health();
    expect(dropped.warnings[0].message).toMatch(/could not be (reached|checked)/);
    fake.failNext({ status: 500, body: { name: 'internal_server_error', message: 'boom', statusCode: 500 } });
    const failing = await health();
    expect(failing.domain.status).toBe('unknown');
    expect(failing.warnings[0].message).toMatch(/500/);
  });

  it('explains a refused API key (e.g. a sending-only key)', async () => {
    const body = await health(resendApp(new ResendSenderDomains('re_sending_only', fake.url)));
    expect(body.domain.status).toBe('unknown');
    expect(body.warnings[0].message).toMatch(/API key/);
  });

  it('times out a Resend that does not answer', async () => {
    // Accepts connections and never answers.
    const hang = createServer(() => {});
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
    try {
      const port = (hang.address() as AddressInfo).port;
      const started = Date.now();
      const body = await health(
        resendApp(new ResendSenderDomains('re_test_key', `http://127.0.0.1:${port}`, 300)),
      );
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(body.warnings[0].message).toMatch(/did not answer in time/);
    } finally {
      hang.closeAllConnections();
      hang.close();
    }
  });

  it('is for admins only', async () => {
    const editor = (await ctx.userWithToken('editor')).headers;
    expect((await ctx.app.request('/api/v1/system/sender-health', { headers: editor })).status).toBe(403);
    expect((await ctx.app.request('/api/v1/system/sender-health')).status).toBe(401);
  });
});

describe('bounce and complaint rates of the last 5 sent editions', () => {
  let rates: TestContext;
  let ratesAdmin: Record<string, string>;
  beforeAll(async () => {
    rates = await createTestContext();
    ratesAdmin = (await rates.userWithToken('admin')).headers;
  });
  afterAll(() => rates.close());

  let sentDay = 0;
  /** A sent edition with `n` accepted deliveries, of which some bounced or complained. */
  async function sentEdition(n: number, outcome: { bounced?: number; complained?: number } = {}) {
    sentDay++;
    const { id } = await rates.db
      .insertInto('editions')
      .values({
        title: `Editie ${sentDay}`,
        subject: 'Nieuws',
        slug: `editie-${randomBytes(4).toString('hex')}`,
        blocks: '[]',
        status: 'sent',
        sending_started_at: new Date(Date.UTC(2026, 0, sentDay)),
        sent_at: new Date(Date.UTC(2026, 0, sentDay)),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const complained = outcome.complained ?? 0;
    const bounced = outcome.bounced ?? 0;
    await sql`
      insert into deliveries (edition_id, locale, batch_no, status, provider_message_id)
      select ${id}, 'nl', 0,
             case when g <= ${complained} then 'complained' when g <= ${complained + bounced} then 'bounced' else 'delivered' end,
             ${`re-${id}-`} || g
        from generate_series(1, ${n}) g`.execute(rates.db);
    return id;
  }

  const rateHealth = async () => {
    const res = await rates.app.request('/api/v1/system/sender-health', { headers: ratesAdmin });
    expect(res.status).toBe(200);
    return res.json();
  };

  it('has no rates before anything was sent', async () => {
    const body = await rateHealth();
    expect(body.recent).toMatchObject({ editions: [], sent: 0, bounceRate: null, complaintRate: null });
    expect(body.warnings).toEqual([]);
  });

  it('warns as the rates approach the limits and turns critical past them, over the last 5 editions only', async () => {
    // An old disaster that no longer counts (6th most recent).
    await sentEdition(100, { bounced: 50, complained: 10 });
    for (let i = 0; i < 5; i++) await sentEdition(2000);
    let body = await rateHealth();
    expect(body.recent.editions).toHaveLength(5);
    expect(body.recent).toMatchObject({
      sent: 10_000,
      bounced: 0,
      complained: 0,
      bounceRate: 0,
      complaintRate: 0,
    });
    expect(body.ok).toBe(true);

    // 9 complaints in 10,000 = 0.09 %: warning. 250 hard bounces = 2.5 %: warning.
    await sentEdition(2000, { complained: 9, bounced: 250 });
    body = await rateHealth();
    expect(body.recent.sent).toBe(10_000);
    expect(body.warnings.map((w: { level: string }) => w.level)).toEqual(['warning', 'warning']);
    expect(body.warnings[0].message).toMatch(/spam complaint rate .* 0\.09 %/);
    expect(body.warnings[1].message).toMatch(/hard bounce rate .* 2\.5 %/);

    // 10 more complaints and 200 more bounces: 0.19 % and 4.5 %: critical.
    await sentEdition(2000, { complained: 10, bounced: 200 });
    body = await rateHealth();
    expect(body.ok).toBe(false);
    expect(body.warnings.map((w: { level: string }) => w.level)).toEqual(['critical', 'critical']);
    expect(body.recent.complaintRate).toBeCloseTo(19 / 10_000);
    expect(body.recent.bounceRate).toBeCloseTo(450 / 10_000);
  });
});

describe('sender health at start-up', () => {
  it('logs at warn level when something is wrong, and never throws', async () => {
    const lines = () => ctx.logs.filter((l) => String(l.msg).startsWith('sender health'));
    const before = lines().length;
    await logSenderHealth(
      ctx.db,
      {
        mailerKind: 'resend',
        emailFrom: FROM,
        senderDomains: new ResendSenderDomains('re_test_key', 'http://127.0.0.1:9'),
        now: new Date(),
      },
      ctx.deps.logger,
    );
    const broken: SenderDomains = {
      find: async () => {
        throw new Error('unexpected');
      },
    };
    await logSenderHealth(
      ctx.db,
      { mailerKind: 'resend', emailFrom: FROM, senderDomains: broken, now: new Date() },
      ctx.deps.logger,
    );
    fake.domains.push(verifiedDomain());
    await logSenderHealth(
      ctx.db,
      {
        mailerKind: 'resend',
        emailFrom: FROM,
        senderDomains: new ResendSenderDomains('re_test_key', fake.url),
        now: new Date(),
      },
      ctx.deps.logger,
    );
    const logged = lines().slice(before);
    expect(logged.map((l) => l.level)).toEqual([40, 40, 30]);
    expect(String(logged[0]!.msg)).toMatch(/could not be reached/);
    expect(String(logged[1]!.msg)).toMatch(/could not be checked/);
  });
});

describe('domainOfAddress', () => {
  it('reads the domain of EMAIL_FROM in both forms', () => {
    expect(domainOfAddress('Thuispost <Nieuwsbrief@Voorbeeld.NL>')).toBe('voorbeeld.nl');
    expect(domainOfAddress('nieuws@mail.voorbeeld.nl')).toBe('mail.voorbeeld.nl');
    expect(domainOfAddress('geen adres')).toBeNull();
  });
});
