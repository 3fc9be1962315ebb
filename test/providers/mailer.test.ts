import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailboxMailer } from '../../src/providers/mailbox-mailer.js';
import {
  type BatchEmail,
  MailerError,
  type OutgoingEmail,
  type SharedEmailContent,
} from '../../src/providers/mailer.js';
import { ResendMailer } from '../../src/providers/resend-mailer.js';
import { FakeResend } from '../fakes/resend-server.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

const email = (to: string, subject = 'Nieuwsbrief maart'): OutgoingEmail => ({
  from: 'Thuispost <nieuws@voorbeeld.test>',
  to: [to],
  subject,
  html: '<p>Hallo</p>',
  text: 'Hallo',
  headers: { 'List-Unsubscribe': '<https://voorbeeld.test/u/abc>' },
});

const batchContent: SharedEmailContent = {
  from: 'Thuispost <nieuws@voorbeeld.test>',
  subject: 'Nieuwsbrief maart',
  html: { parts: ['<p>', '</p>'], slots: ['greeting'] },
  text: { parts: ['', ''], slots: ['greeting'] },
};
const batchEmail = (to: string, name: string): BatchEmail => ({
  content: batchContent,
  to: [to],
  headers: { 'List-Unsubscribe': '<https://voorbeeld.test/u/abc>' },
  htmlValues: { greeting: `Hallo ${name.replaceAll('&', '&amp;')}` },
  textValues: { greeting: `Hallo ${name}` },
});

describe('ResendMailer against a local fake Resend, through the real SDK', () => {
  let fake: FakeResend;
  let mailer: ResendMailer;
  beforeAll(async () => {
    fake = await new FakeResend().start();
    mailer = new ResendMailer('re_test_key', fake.url);
  });
  afterAll(() => fake.stop());

  it('sends one email with its headers and idempotency key', async () => {
    const { id } = await mailer.send(email('lid@voorbeeld.test'), { idempotencyKey: 'email-1' });
    const stored = fake.emails.find((e) => e.id === id)!;
    expect(stored.to).toEqual(['lid@voorbeeld.test']);
    expect(stored.headers).toEqual({ 'List-Unsubscribe': '<https://voorbeeld.test/u/abc>' });
    expect(stored.idempotencyKey).toBe('email-1');
  });

  it('sends a batch and returns ids in order; a retry with the same key sends nothing new', async () => {
    const batch = [
      batchEmail('a@voorbeeld.test', 'A'),
      batchEmail('b@voorbeeld.test', 'B & Co'),
      batchEmail('c@voorbeeld.test', 'C'),
    ];
    const before = fake.emails.length;
    const first = await mailer.sendBatch(batch, { idempotencyKey: 'edition-1-batch-0' });
    const again = await mailer.sendBatch(batch, { idempotencyKey: 'edition-1-batch-0' });
    expect(again.ids).toEqual(first.ids);
    expect(fake.emails.length - before).toBe(3);
    expect(first.ids.map((id) => fake.emails.find((e) => e.id === id)!.to[0])).toEqual([
      'a@voorbeeld.test',
      'b@voorbeeld.test',
      'c@voorbeeld.test',
    ]);
    const second = fake.emails.find((e) => e.id === first.ids[1])!;
    expect([second.html, second.text, second.subject]).toEqual([
      '<p>Hallo B &amp; Co</p>',
      'Hallo B & Co',
      'Nieuwsbrief maart',
    ]);
    expect(second.headers).toEqual({ 'List-Unsubscribe': '<https://voorbeeld.test/u/abc>' });
  });

  it('classifies a refused batch like a refused single email', async () => {
    fake.failNext(
      { status: 429, body: { name: 'monthly_quota_exceeded', message: 'quota', statusCode: 429 } },
      { status: 422, body: { name: 'validation_error', message: 'bad to', statusCode: 422 } },
      { status: 0, drop: true },
    );
    const attempt = () =>
      mailer.sendBatch([batchEmail('x@voorbeeld.test', 'X')], { idempotencyKey: `b-${Math.random()}` }).then(
        () => null,
        (error: MailerError) => [error.kind, error.status],
      );
    expect(await attempt()).toEqual(['quota', 429]);
    expect(await attempt()).toEqual(['permanent', 422]);
    expect(await attempt()).toEqual(['retryable', null]);
  });

  it('classifies errors: rate limit and 5xx retryable, quota stops, validation permanent', async () => {
    fake.failNext(
      {
        status: 429,
        body: { name: 'rate_limit_exceeded', message: 'slow down', statusCode: 429 },
        headers: { 'retry-after': '2' },
      },
      { status: 503, body: { name: 'internal_server_error', message: 'down', statusCode: 503 } },
      { status: 429, body: { name: 'daily_quota_exceeded', message: 'quota', statusCode: 429 } },
      { status: 422, body: { name: 'validation_error', message: 'bad to', statusCode: 422 } },
      { status: 0, drop: true },
    );
    const attempt = async () => {
      try {
        await mailer.send(email('x@voorbeeld.test'), { idempotencyKey: `k-${Math.random()}` });
        return null;
      } catch (error) {
        return error as MailerError;
      }
    };
    const rate = await attempt();
    expect(rate).toBeInstanceOf(MailerError);
    expect([rate!.kind, rate!.status, rate!.retryAfterMs]).toEqual(['retryable', 429, 2000]);
    expect((await attempt())!.kind).toBe('retryable');
    expect((await attempt())!.kind).toBe('quota');
    expect((await attempt())!.kind).toBe('permanent');
    const dropped = await attempt();
    expect([dropped!.kind, dropped!.status]).toEqual(['retryable', null]);
  });

  it('refuses header injection before anything is sent', async () => {
    const before = fake.requests.length;
    await expect(
      mailer.send(email('x@voorbeeld.test', 'Hoi\r\nBcc: iedereen@voorbeeld.test'), {
        idempotencyKey: 'inj',
      }),
    ).rejects.toMatchObject({ kind: 'permanent' });
    expect(fake.requests.length).toBe(before);
  });
});

describe('MailboxMailer (dev mailbox in Postgres)', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx.close());

  it('stores messages once per idempotency key, with HTML, text and headers', async () => {
    const mailer = new MailboxMailer(ctx.db);
    const first = await mailer.send(email('lid@voorbeeld.test'), { idempotencyKey: 'email-7' });
    const again = await mailer.send(email('lid@voorbeeld.test'), { idempotencyKey: 'email-7' });
    expect(again.id).toBe(first.id);
    const rows = await ctx.db.selectFrom('dev_mailbox').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ subject: 'Nieuwsbrief maart', text: 'Hallo', html: '<p>Hallo</p>' });
    expect(rows[0]!.headers).toEqual({ 'List-Unsubscribe': '<https://voorbeeld.test/u/abc>' });
  });

  it('is shown to admins only, with the HTML sandboxed', async () => {
    const admin = await ctx.userWithToken('admin');
    const editor = await ctx.userWithToken('editor');
    const list = await (await ctx.app.request('/api/v1/system/mailbox', { headers: admin.headers })).json();
    expect(list.messages[0].subject).toBe('Nieuwsbrief maart');
    expect((await ctx.app.request('/api/v1/system/mailbox', { headers: editor.headers })).status).toBe(403);
    const id = list.messages[0].id;
    const detail = await (
      await ctx.app.request(`/api/v1/system/mailbox/${id}`, { headers: admin.headers })
    ).json();
    expect(detail.headers['List-Unsubscribe']).toContain('voorbeeld.test');
    expect((await ctx.app.request('/dev/mailbox')).status).toBe(303);
    const page = await ctx.app.request(`/dev/mailbox/${id}`, { headers: admin.headers });
    expect(await page.text()).toContain('sandbox=""');
    const raw = await ctx.app.request(`/dev/mailbox/${id}/html`, { headers: admin.headers });
    expect(raw.headers.get('content-security-policy')).toMatch(/^sandbox;/);
    expect(await raw.text()).toBe('<p>Hallo</p>');
  });
});
