import { type BatchEmail, type GappedText, gapValue, type SharedEmailContent } from './mailer.js';

/** Strings JSON.stringify leaves as they are: no quote, backslash, control character or surrogate. */
const PLAIN_JSON_STRING = /^[\u0020\u0021\u0023-\u005b\u005d-\ud7ff\ue000-\uffff]*$/;

/** The inside of a JSON string literal, as JSON.stringify writes it (most values need no escape). */
const jsonStringContent = (value: string) =>
  PLAIN_JSON_STRING.test(value) ? value : JSON.stringify(value).slice(1, -1);

/** A shared text's parts, JSON-escaped and UTF-8 encoded, to be written where they are. */
interface EncodedGappedText {
  parts: Buffer[];
  slots: readonly string[];
}

interface EncodedContent {
  from: string;
  subject: string;
  html: EncodedGappedText;
  text: EncodedGappedText;
}

function encodeGappedText(text: GappedText): EncodedGappedText {
  return { parts: text.parts.map((part) => Buffer.from(jsonStringContent(part))), slots: text.slots };
}

function encodeContent(content: SharedEmailContent): EncodedContent {
  return {
    from: JSON.stringify(content.from),
    subject: JSON.stringify(content.subject),
    html: encodeGappedText(content.html),
    text: encodeGappedText(content.text),
  };
}

/**
 * Encoded once per content object: a worker reuses an edition's content for all its batches, and
 * the encoding goes when the content does.
 */
const encodedContents = new WeakMap<SharedEmailContent, EncodedContent>();

/** A request body as the pieces to write one after the other. */
export interface PiecedBody {
  pieces: (string | Buffer)[];
  byteLength: number;
}

/**
 * The body of `POST /emails/batch`, byte for byte what the Resend SDK's `batch.send` would post
 * for the same emails filled in (its keys, in its order: from, headers, html, subject, text, to),
 * but assembled instead of serialised: the large shared parts of each language are JSON-escaped
 * and encoded once (per content object) and every email refers to the same Buffers; per recipient only the
 * small gap values are escaped. Written with one writev (see http-post.ts), the body is never
 * copied into one piece. The SDK would build ~100 personalised 30 KB strings per batch, then one
 * string of all of them, then its UTF-8 copy: that garbage, not the network, limited a send.
 *
 * JSON.stringify escapes character by character, so escaping the pieces separately gives the
 * bytes of escaping their concatenation, except where a piece would end in the first half of a
 * surrogate pair and the next begin with the second: the parts end and begin with the ASCII of
 * the markup around a marker, and a greeting's name sits between ASCII words, so that never
 * happens (test/providers/resend-batch-body.test.ts checks both, lone surrogates included).
 */
export function resendBatchBody(emails: readonly BatchEmail[]): PiecedBody {
  const pieces: (string | Buffer)[] = [];
  let byteLength = 0;
  // Small strings between the shared parts are joined: fewer, larger pieces to write.
  let pending = '[';
  const flush = () => {
    if (!pending) return;
    pieces.push(pending);
    byteLength += Buffer.byteLength(pending);
    pending = '';
  };
  const appendGapped = (text: EncodedGappedText, values: Readonly<Record<string, string>>) => {
    text.parts.forEach((part, index) => {
      if (part.length > 0) {
        flush();
        pieces.push(part);
        byteLength += part.length;
      }
      const slot = text.slots[index];
      if (slot !== undefined) pending += jsonStringContent(gapValue(values, slot));
    });
  };
  emails.forEach((email, index) => {
    let content = encodedContents.get(email.content);
    if (!content) {
      content = encodeContent(email.content);
      encodedContents.set(email.content, content);
    }
    pending += `${index === 0 ? '' : ','}{"from":${content.from},`;
    if (email.headers) pending += `"headers":${JSON.stringify(email.headers)},`;
    pending += '"html":"';
    appendGapped(content.html, email.htmlValues);
    pending += `","subject":${content.subject},"text":"`;
    appendGapped(content.text, email.textValues);
    pending += `","to":${JSON.stringify(email.to)}}`;
  });
  pending += ']';
  flush();
  return { pieces, byteLength };
}
