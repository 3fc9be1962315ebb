import { lookup as dnsLookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Fetches an image an editor named by URL (a post thumbnail), guarding against server-side request
 * forgery: only http(s); the host is resolved and every address checked against private, loopback,
 * link-local, CGNAT, multicast and reserved ranges, and the connection goes to the address that
 * was checked (no second lookup, so DNS rebinding cannot swap it); redirects are followed (at most
 * 3) under the same checks; at most `maxBytes`; the answer must say image/*.
 */
export interface ImageFetchOptions {
  /** Tests only: allow loopback and private addresses (the fake servers run on 127.0.0.1). */
  allowPrivateAddresses?: boolean;
  /** Tests only: which addresses count as reachable instead (default: the public ones). */
  isAllowedAddress?: (address: string) => boolean;
  maxBytes?: number;
  timeoutMs?: number;
}

export interface FetchedImage {
  bytes: Buffer;
  contentType: string;
}

export class ImageFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageFetchError';
  }
}

export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

// Two lists: a single BlockList with ::ffff:0:0/96 would also match every IPv4 address.
const blocked4 = new BlockList();
const blocked6 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked4.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  // Unspecified, loopback and the deprecated IPv4-compatible ::a.b.c.d.
  ['::', 96],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  // Teredo and 6to4 carry an IPv4 address inside; both are obsolete for serving images.
  ['2001::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  blocked6.addSubnet(net, prefix, 'ipv6');
}

export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (family === 4) return !blocked4.check(address, 'ipv4');
  // IPv4-mapped (::ffff:a.b.c.d): judged as the IPv4 address it is; other forms of it are refused.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return !blocked4.check(mapped[1]!, 'ipv4');
  if (/^::ffff:/i.test(address)) return false;
  return !blocked6.check(address, 'ipv6');
}

/** A lookup that refuses non-public addresses; the socket connects to the address it returns. */
function guardedLookup(allowed: (address: string) => boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const list = addresses as unknown as { address: string; family: number }[];
      const bad = list.find((a) => !allowed(a.address));
      if (bad || list.length === 0) {
        return callback(
          new ImageFetchError(`the image host resolves to a non-public address (${bad?.address ?? 'none'})`),
          '',
          0,
        );
      }
      if ((options as { all?: boolean }).all)
        return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

export async function fetchImage(url: string, options: ImageFetchOptions = {}): Promise<FetchedImage> {
  const maxBytes = options.maxBytes ?? MAX_IMAGE_BYTES;
  const allowed =
    options.isAllowedAddress ?? (options.allowPrivateAddresses === true ? () => true : isPublicAddress);
  let current = url;
  for (let redirects = 0; redirects <= 3; redirects++) {
    const result = await fetchOnce(current, allowed, maxBytes, options.timeoutMs ?? 10_000);
    if ('redirect' in result) {
      current = new URL(result.redirect, current).toString();
      continue;
    }
    return result;
  }
  throw new ImageFetchError('too many redirects');
}

function fetchOnce(
  url: string,
  allowed: (address: string) => boolean,
  maxBytes: number,
  timeoutMs: number,
): Promise<FetchedImage | { redirect: string }> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.reject(new ImageFetchError('the image address is not a valid URL'));
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return Promise.reject(new ImageFetchError('only http and https image addresses are allowed'));
  }
  if (parsed.username || parsed.password)
    return Promise.reject(new ImageFetchError('image addresses may not carry credentials'));
  const literal = parsed.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) && !allowed(literal)) {
    return Promise.reject(new ImageFetchError(`the image address is not public (${literal})`));
  }
  const transport = parsed.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.get(
      parsed,
      {
        lookup: guardedLookup(allowed),
        timeout: timeoutMs,
        headers: { accept: 'image/*', 'user-agent': 'thuispost' },
      },
      (response) => {
        const status = response.statusCode ?? 0;
        if (status >= 300 && status < 400 && response.headers.location) {
          response.resume();
          return resolve({ redirect: response.headers.location });
        }
        if (status !== 200) {
          response.resume();
          return reject(new ImageFetchError(`the image address answered ${status}`));
        }
        const contentType = String(response.headers['content-type'] ?? '')
          .split(';')[0]!
          .trim()
          .toLowerCase();
        if (!contentType.startsWith('image/')) {
          response.resume();
          return reject(
            new ImageFetchError(`the address is not an image (content type "${contentType || 'none'}")`),
          );
        }
        const declared = Number(response.headers['content-length'] ?? 0);
        if (declared > maxBytes) {
          response.destroy();
          return reject(new ImageFetchError(`the image is larger than ${maxBytes} bytes`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            response.destroy();
            reject(new ImageFetchError(`the image is larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => resolve({ bytes: Buffer.concat(chunks), contentType }));
        response.on('error', (error) =>
          reject(new ImageFetchError(`reading the image failed: ${error.message}`)),
        );
      },
    );
    request.on('timeout', () =>
      request.destroy(new ImageFetchError('the image address did not answer in time')),
    );
    request.on('error', (error) =>
      reject(
        error instanceof ImageFetchError
          ? error
          : new ImageFetchError(`fetching the image failed: ${error.message}`),
      ),
    );
  });
}
