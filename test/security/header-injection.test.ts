import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { getSettings, updateSettings } from '../../src/domain/settings.js';
import { startTestBackground, type TestBackground } from '../helpers/background.js';
import { createTestContext, json, type TestContext } from '../helpers/context.js';
import { editionInput } from '../helpers/editions.js';
import { waitUntil } from '../helpers/process.js';

/**
 * Header injection: a line break in anything that becomes part of an email header (subject,
 * sender, recipient, or a name inside one of them) would let input add headers such as Bcc.
 * Such input is refused at the edge, and every email that goes out has single-line headers and
 * exactly the one recipient it was meant for.
 */
const INJECTED = 'buiten@voorbeeld.test';
const BREAKS = ['\r\nBcc: ', '\nBcc: ', '\rBcc: ', '\r\n\r\n'];

let ctx: TestContext;
let background: TestBackground;
let editor: { headers: Record<string, string> };
beforeAll(async () => {
  ctx = await createTestContext();
  background = await startTestBackground(ctx);
  editor = await ctx.userWithToken('editor');
});
afterAll(async () => {
  await background?.stop();
  await ctx?.close();
});

const editionCount = async () =>
  Number(
    (
      await ctx.db
        .selectFrom('editions')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('header injection', () => {
  it('refuses an edition subject with a line break (create and change) with 422', async () => {
    const before = await editionCount();
    for (const line of BREAKS) {
      const subject = `Nieuws${line}${INJECTED}`;
      const res = await ctx.app.request('/api/v1/editions', json(editionInput({ subject }), editor.headers));
      expect(res.status, JSON.stringify(line)).toBe(422);
      expect((await res.json()).errors.map((e: { field: string }) => e.field)).toContain('subject');
    }
    expect(await editionCount()).toBe(before);
    const created = await ctx.app.request('/api/v1/editions', json(editionInput(), editor.headers));
    const { id } = await created.json();
    const patch = await ctx.app.request(
      `/api/v1/editions/${id}`,
      json({ subject: `Nieuws\r\nBcc: ${INJECTED}` }, editor.headers, 'PATCH'),
    );
    expect(patch.status).toBe(422);
  });

  it('refuses addresses with line breaks: test sends, subscribers, signup, test email', async () => {
    const { id } = await (
      await ctx.app.request('/api/v1/editions', json(editionInput(), editor.headers))
    ).json();
    for (const line of BREAKS) {
      const address = `lezer@voorbeeld.test${line}${INJECTED}`;
      const testSend = await ctx.app.request(
        `/api/v1/editions/${id}/test-send`,
        json({ to: [address] }, editor.headers),
      );
      expect(testSend.status, 'test send').toBe(422);
      const subscriber = await ctx.app.request(
        '/api/v1/subscribers',
        json({ email: address, topics: ['nieuwsbrief'], lawfulBasis: 'consent' }, editor.headers),
      );
      expect(subscriber.status, 'subscriber').toBe(422);
      const admin = await ctx.userWithToken('admin');
      const testEmail = await ctx.app.request(
        '/api/v1/system/test-email',
        json({ to: address }, admin.headers),
      );
      expect(testEmail.status, 'test email').toBe(422);
    }
    const queued = await ctx.db.selectFrom('emails').select('to_address').execute();
    expect(queued.filter((row) => /[\r\n]/.test(row.to_address))).toEqual([]);
  });

  it('keeps the programme name, which is part of subjects, on one line (and ignores a stored one that is not)', async () => {
    await expect(updateSettings(ctx.db, { programmeName: `Lab\r\nBcc: ${INJECTED}` })).rejects.toThrow();
    // A value stored by other means (an older version, by hand) falls back to the default.
    await sql`insert into settings (key, value) values ('programmeName', ${JSON.stringify(`Lab\nBcc: ${INJECTED}`)})
      on conflict (key) do update set value = excluded.value`.execute(ctx.db);
    expect((await getSettings(ctx.db)).programmeName).not.toMatch(/[\r\n]/);
  });

  it('refuses an EMAIL_FROM with a line break when the service starts', () => {
    for (const line of BREAKS) {
      expect(() => loadConfig({ EMAIL_FROM: `Thuispost${line}${INJECTED} <nieuws@voorbeeld.test>` })).toThrow(
        /EMAIL_FROM/,
      );
    }
  });

  it('sends every email with one-line headers to exactly its one recipient, whatever names and texts hold', async () => {
    // A signup whose name tries to add a header, confirmed: a confirmation and a welcome email.
    const page = await (await ctx.app.request('/subscribe')).text();
    const consentVersion = /name="consentVersion" value="([^"]+)"/.exec(page)![1]!;
    // A form shown a minute ago (the time trap refuses posts within 2 s of showing it).
    const formToken = ctx.deps.linkTokens.issue({ p: 'form' }, 3600, new Date(Date.now() - 60_000));
    const signup = await ctx.app.request(
      '/subscribe',
      json({
        email: 'kopregel@voorbeeld.test',
        name: `Anna\r\nBcc: ${INJECTED}\r\nSubject: gekaapt`,
        topics: ['nieuwsbrief'],
        consent: true,
        consentVersion,
        formToken,
      }),
    );
    expect(signup.status).toBe(202);
    const subscriber = await ctx.db
      .selectFrom('subscribers')
      .select(['id', 'name'])
      .where('email', '=', 'kopregel@voorbeeld.test')
      .executeTakeFirstOrThrow();
    expect(subscriber.name).not.toMatch(/[\r\n]/);
    const mailboxSize = async () => (await ctx.db.selectFrom('dev_mailbox').select('id').execute()).length;
    // Confirmed only once the confirmation went out (it is not sent to an address confirmed already).
    await waitUntil(async () => (await mailboxSize()) === 1, 'the confirmation email');
    const confirm = ctx.deps.linkTokens.issue({ p: 'confirm', s: subscriber.id });
    expect(
      (
        await ctx.app.request(`/confirm/${confirm}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: '',
        })
      ).status,
    ).toBe(200);
    // A test send of an edition whose texts carry line breaks where they are allowed (body text).
    const { id } = await (
      await ctx.app.request(
        '/api/v1/editions',
        json(
          editionInput({
            title: `Titel\r\nBcc: ${INJECTED}`,
            preheader: `Voortekst\r\nBcc: ${INJECTED}`,
            blocks: [{ type: 'paragraph', text: `Regel\r\nBcc: ${INJECTED}` }],
          }),
          editor.headers,
        ),
      )
    ).json();
    expect(
      (
        await ctx.app.request(
          `/api/v1/editions/${id}/test-send`,
          json({ to: ['proef@voorbeeld.test'] }, editor.headers),
        )
      ).status,
    ).toBe(202);

    await waitUntil(async () => (await mailboxSize()) === 3, 'the welcome and the test email');
    const mails = await ctx.db.selectFrom('dev_mailbox').selectAll().execute();
    expect(mails.map((mail) => mail.to_addresses).sort()).toEqual([
      ['kopregel@voorbeeld.test'],
      ['kopregel@voorbeeld.test'],
      ['proef@voorbeeld.test'],
    ]);
    for (const mail of mails) {
      const headerValues = [
        mail.subject,
        mail.from_address,
        ...mail.to_addresses,
        ...Object.values(mail.headers),
      ];
      expect(
        headerValues.filter((value) => /[\r\n]/.test(value)),
        mail.subject,
      ).toEqual([]);
      expect(Object.keys(mail.headers).map((name) => name.toLowerCase())).not.toContain('bcc');
      expect(JSON.stringify([mail.to_addresses, mail.headers, mail.subject])).not.toContain(INJECTED);
    }
  }, 90_000);
});
