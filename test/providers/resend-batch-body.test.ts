import fc from 'fast-check';
import { Resend } from 'resend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLACEHOLDERS } from '../../src/emails/Edition.js';
import { personalisable, recipientGapValues } from '../../src/emails/personalise.js';
import { type BatchEmail, fillBatchEmail } from '../../src/providers/mailer.js';
import { type PiecedBody, resendBatchBody } from '../../src/providers/resend-batch-body.js';
import { ResendMailer } from '../../src/providers/resend-mailer.js';
import { FakeResend } from '../fakes/resend-server.js';

/**
 * The hot path assembles the batch body from pre-escaped pieces instead of letting the SDK
 * serialise whole messages. These properties check that what goes on the wire is what the SDK
 * would have sent for the same messages filled in: the same bytes, and the same JSON.
 */

const awkward = fc.constantFrom(
  '"',
  '\\',
  '<',
  '>',
  '&',
  "'",
  '\n',
  '\u2028',
  '\u0000',
  'é',
  '😀',
  '中',
  '/',
);
/** Well-formed Unicode, rich in characters JSON or HTML must escape. */
const wellFormed = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc
    .array(fc.oneof(awkward, fc.string({ unit: 'grapheme-ascii', maxLength: 3 })), { maxLength: 12 })
    .map((pieces) => pieces.join('')),
);
/** Any UTF-16, including lone surrogates. */
const anyUtf16 = fc.oneof(wellFormed, fc.string({ unit: 'binary', maxLength: 20 }));

/** Header fields (from, subject, to, List-Unsubscribe) never hold line breaks: the mailers refuse them. */
const singleLine = (text: fc.Arbitrary<string>) => text.map((value) => value.replace(/[\r\n]/g, ' '));

/** A rendered edition: text with the per-recipient markers somewhere in it, any number of times. */
const rendered = (text: fc.Arbitrary<string>) =>
  fc
    .array(fc.tuple(text, fc.constantFrom(...Object.values(PLACEHOLDERS))), { maxLength: 5 })
    .chain((pieces) => text.map((tail) => pieces.map(([part, marker]) => part + marker).join('') + tail));

const edition = (text: fc.Arbitrary<string>) =>
  fc.record({
    subject: singleLine(text),
    html: rendered(text),
    text: rendered(text),
    from: singleLine(text),
  });

const recipient = (text: fc.Arbitrary<string>, name: fc.Arbitrary<string>) =>
  fc.record({
    language: fc.constantFrom(0, 1),
    locale: fc.constantFrom('nl' as const, 'en' as const),
    name: fc.option(name),
    to: fc.array(singleLine(text), { minLength: 1, maxLength: 2 }),
    preferencesUrl: text,
    unsubscribeUrl: singleLine(text),
    withHeaders: fc.boolean(),
  });

/** A batch of one or two languages, built the way the send builds it. */
const batch = (text: fc.Arbitrary<string>, name: fc.Arbitrary<string>) =>
  fc
    .tuple(edition(text), edition(text), fc.array(recipient(text, name), { minLength: 1, maxLength: 6 }))
    .map(([first, second, recipients]): BatchEmail[] => {
      const contents = [first, second].map((e) => personalisable(e, e.from));
      return recipients.map((r) => {
        const values = recipientGapValues(r);
        return {
          content: contents[r.language]!,
          to: r.to,
          ...(r.withHeaders
            ? {
                headers: {
                  'List-Unsubscribe': `<${r.unsubscribeUrl}>`,
                  'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
                },
              }
            : {}),
          htmlValues: values.html,
          textValues: values.text,
        };
      });
    });

/** The body as it goes on the wire; its announced length must match. */
function bytes(body: PiecedBody): Buffer {
  const joined = Buffer.concat(
    body.pieces.map((piece) => (typeof piece === 'string' ? Buffer.from(piece) : piece)),
  );
  expect(joined.length).toBe(body.byteLength);
  return joined;
}

/** What the object-built version looks like as JSON: the SDK's field names, nothing undefined. */
const asSent = (emails: BatchEmail[]) =>
  emails.map(fillBatchEmail).map((email) => ({
    from: email.from,
    ...(email.headers ? { headers: email.headers } : {}),
    html: email.html,
    subject: email.subject,
    text: email.text,
    to: email.to,
  }));

describe('the assembled Resend batch body', () => {
  let fake: FakeResend;
  let sdk: Resend;
  let mailer: ResendMailer;
  beforeAll(async () => {
    fake = await new FakeResend().start();
    fake.keepBodies = true;
    sdk = new Resend('re_test_key', { baseUrl: fake.url });
    mailer = new ResendMailer('re_test_key', fake.url);
  });
  afterAll(() => fake.stop());

  it('is byte for byte what the Resend SDK posts for the same messages, with the same headers', async () => {
    // Names may hold lone surrogates: a greeting puts them between ASCII words.
    let run = 0;
    await fc.assert(
      fc.asyncProperty(batch(wellFormed, anyUtf16), async (emails) => {
        run++;
        const key = `eigenschap-${run}`;
        await mailer.sendBatch(emails, { idempotencyKey: key });
        const ours = fake.requests.at(-1)!;
        const { error } = await sdk.batch.send(emails.map(fillBatchEmail), { idempotencyKey: `sdk-${key}` });
        expect(error).toBeNull();
        const theirs = fake.requests.at(-1)!;
        expect([ours.path, ours.status, theirs.path, theirs.status]).toEqual([
          '/emails/batch',
          200,
          '/emails/batch',
          200,
        ]);
        expect(ours.body!.equals(theirs.body!)).toBe(true);
        expect(ours.body!.equals(bytes(resendBatchBody(emails)))).toBe(true);
        for (const header of ['authorization', 'user-agent', 'content-type', 'x-batch-validation']) {
          expect(ours.headers[header]).toBe(theirs.headers[header]);
        }
        expect([ours.headers['idempotency-key'], ours.headers['content-length']]).toEqual([
          key,
          String(theirs.body!.length),
        ]);
      }),
      { numRuns: 150 },
    );
  });

  it('parses to the object-built messages, whatever UTF-16 they hold', async () => {
    await fc.assert(
      fc.asyncProperty(batch(anyUtf16, anyUtf16), async (emails) => {
        const parsed = JSON.parse(bytes(resendBatchBody(emails)).toString('utf8'));
        expect(parsed).toEqual(JSON.parse(JSON.stringify(asSent(emails))));
      }),
      { numRuns: 300 },
    );
  });

  it('escapes the personal values for HTML, and leaves them as they are in the text', async () => {
    const content = personalisable(
      {
        subject: 'Nieuws',
        html: `<p>${PLACEHOLDERS.greeting}</p><a href="${PLACEHOLDERS.unsubscribeUrl}">afmelden</a>`,
        text: `${PLACEHOLDERS.greeting}\nAfmelden: ${PLACEHOLDERS.unsubscribeUrl}`,
      },
      'Thuispost <nieuws@voorbeeld.test>',
    );
    const values = recipientGapValues({
      locale: 'nl',
      name: 'Jan "de Bouwer" <&>',
      preferencesUrl: 'https://voorbeeld.test/p',
      unsubscribeUrl: 'https://voorbeeld.test/u?a=1&b=2',
    });
    const [sent] = JSON.parse(
      bytes(
        resendBatchBody([
          { content, to: ['jan@voorbeeld.test'], htmlValues: values.html, textValues: values.text },
        ]),
      ).toString('utf8'),
    );
    expect(sent.html).toBe(
      '<p>Beste Jan &quot;de Bouwer&quot; &lt;&amp;&gt;,</p><a href="https://voorbeeld.test/u?a=1&amp;b=2">afmelden</a>',
    );
    expect(sent.text).toBe('Beste Jan "de Bouwer" <&>,\nAfmelden: https://voorbeeld.test/u?a=1&b=2');
  });
});
