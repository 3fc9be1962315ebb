import { DomainError } from '../domain/errors.js';

/**
 * A streaming reader of multipart/form-data bodies (RFC 7578), for uploads too large to buffer:
 * file parts are handed on chunk by chunk as they arrive, small text fields are collected. Memory
 * stays at about one network chunk plus the boundary. Works on Node and Cloudflare Workers.
 */

export class MultipartError extends DomainError {
  constructor(message: string) {
    super(message, 400, 'Bad request');
  }
}

export interface MultipartPartInfo {
  name: string;
  filename: string | null;
  contentType: string | null;
}

export interface MultipartHandlers {
  /** A text field (a part without a filename). */
  onField(name: string, value: string): void;
  /** The start of a file part: return a sink for its bytes, or null to skip the part. */
  onFile(part: MultipartPartInfo): { write(bytes: Uint8Array): Promise<void> } | null;
}

const MAX_HEADER_BYTES = 16 * 1024;
const MAX_FIELD_BYTES = 64 * 1024;
const MAX_PARTS = 100;
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** The boundary of a multipart/form-data content type, or null for any other type. */
export function multipartBoundary(contentType: string | undefined): string | null {
  if (!contentType || !/^multipart\/form-data\s*(?:;|$)/i.test(contentType)) return null;
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return match ? (match[1] ?? match[2] ?? null) : null;
}

function headerParams(value: string): Map<string, string> {
  const params = new Map<string, string>();
  const pattern = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  for (const match of value.matchAll(pattern)) {
    const key = match[1]!.toLowerCase();
    let param = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : (match[3] ?? '').trim();
    if (key.endsWith('*')) {
      // RFC 5987: charset'language'percent-encoded
      const encoded = /^[\w-]*'[\w-]*'(.*)$/.exec(param);
      try {
        param = decodeURIComponent(encoded ? encoded[1]! : param);
      } catch {
        continue;
      }
      params.set(key.slice(0, -1), param);
    } else if (!params.has(key)) {
      params.set(key, param);
    }
  }
  return params;
}

function parsePartHeaders(block: Buffer): MultipartPartInfo {
  const text = new TextDecoder('utf-8').decode(block);
  let disposition: string | null = null;
  let contentType: string | null = null;
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-disposition') disposition = value;
    else if (name === 'content-type') contentType = value;
  }
  if (!disposition || !/^form-data\b/i.test(disposition)) {
    throw new MultipartError(
      'Every part of a multipart/form-data body needs Content-Disposition: form-data.',
    );
  }
  const params = headerParams(disposition);
  const name = params.get('name');
  if (name === undefined) throw new MultipartError('A multipart part has no name.');
  return { name, filename: params.has('filename') ? params.get('filename')! : null, contentType };
}

/** Reads the whole body, calling the handlers in order; throws MultipartError on malformed input. */
export async function readMultipart(
  body: ReadableStream<Uint8Array>,
  boundary: string,
  handlers: MultipartHandlers,
): Promise<void> {
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // The first boundary line has no CRLF before it; pretend it has, so one delimiter fits all.
  let buffer: Buffer = Buffer.from(CRLF);
  let state: 'preamble' | 'boundary' | 'headers' | 'body' | 'done' = 'preamble';
  let sink: { write(bytes: Uint8Array): Promise<void> } | null = null;
  let field: { name: string; parts: Buffer[]; size: number } | null = null;
  let parts = 0;

  const emit = async (bytes: Buffer) => {
    if (bytes.length === 0) return;
    if (field) {
      field.size += bytes.length;
      if (field.size > MAX_FIELD_BYTES)
        throw new MultipartError(`The form field "${field.name}" is too long.`);
      field.parts.push(Buffer.from(bytes));
    } else if (sink) {
      await sink.write(bytes);
    }
  };

  const reader = body.getReader();
  let failed = true;
  try {
    for (;;) {
      let progress = true;
      while (progress && state !== 'done') {
        progress = false;
        if (state === 'preamble') {
          const at = buffer.indexOf(delimiter);
          if (at === -1) {
            buffer = buffer.subarray(Math.max(0, buffer.length - delimiter.length + 1));
          } else {
            buffer = buffer.subarray(at + delimiter.length);
            state = 'boundary';
            progress = true;
          }
        } else if (state === 'boundary') {
          if (buffer.length >= 2 && buffer[0] === 0x2d && buffer[1] === 0x2d) {
            state = 'done';
          } else {
            const end = buffer.indexOf(CRLF);
            if (end === -1) {
              if (buffer.length > 256) throw new MultipartError('A multipart boundary line is malformed.');
            } else {
              if (!/^[ \t]*$/.test(buffer.subarray(0, end).toString('latin1'))) {
                throw new MultipartError('A multipart boundary line is malformed.');
              }
              buffer = buffer.subarray(end + 2);
              state = 'headers';
              progress = true;
            }
          }
        } else if (state === 'headers') {
          const end = buffer.indexOf(HEADER_END);
          if (end === -1) {
            if (buffer.length > MAX_HEADER_BYTES)
              throw new MultipartError('The headers of a multipart part are too long.');
          } else {
            if (++parts > MAX_PARTS) throw new MultipartError('The form has too many parts.');
            const info = parsePartHeaders(buffer.subarray(0, end));
            buffer = buffer.subarray(end + HEADER_END.length);
            if (info.filename === null) field = { name: info.name, parts: [], size: 0 };
            else sink = handlers.onFile(info);
            state = 'body';
            progress = true;
          }
        } else if (state === 'body') {
          const at = buffer.indexOf(delimiter);
          if (at === -1) {
            // Keep what could be the start of a delimiter split over two network chunks.
            const safe = buffer.length - delimiter.length + 1;
            if (safe > 0) {
              await emit(buffer.subarray(0, safe));
              buffer = buffer.subarray(safe);
            }
          } else {
            await emit(buffer.subarray(0, at));
            if (field) handlers.onField(field.name, Buffer.concat(field.parts).toString('utf8'));
            field = null;
            sink = null;
            buffer = buffer.subarray(at + delimiter.length);
            state = 'boundary';
            progress = true;
          }
        }
      }
      if (state === 'done') {
        // Read the epilogue to the end (a few bytes at most), rather than cancelling the body.
        while (!(await reader.read()).done) {}
        break;
      }
      const { done, value } = await reader.read();
      if (done) throw new MultipartError('The multipart/form-data body ended before its closing boundary.');
      const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    }
    failed = false;
  } finally {
    if (failed) await reader.cancel().catch(() => undefined);
  }
}
