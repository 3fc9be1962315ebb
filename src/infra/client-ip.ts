import { BlockList, isIP } from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

/** TRUSTED_PROXIES (checked by isProxyEntry when the configuration was read) as a BlockList. */
export function trustedProxyList(entries: string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

/** ::ffff:192.0.2.1 (how a dual-stack socket shows an IPv4 peer) is 192.0.2.1. */
function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

function isTrusted(address: string, trusted: BlockList): boolean {
  const family = isIP(address);
  return family !== 0 && trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * The visitor's address behind reverse proxies. Only a trusted peer's X-Forwarded-For counts, read
 * from the right (each proxy appends the address it got the request from), up to the first address
 * that is not a trusted proxy: whatever a visitor writes into the header themselves stays on the
 * left of that and is never used. With no trusted proxies the peer's own address is the answer.
 */
export function clientAddress(peer: string, forwardedFor: string | undefined, trusted: BlockList): string {
  let address = plainAddress(peer);
  if (!forwardedFor || !isTrusted(address, trusted)) return address;
  const hops = forwardedFor.split(',').map((hop) => plainAddress(hop.trim()));
  while (hops.length > 0 && isTrusted(address, trusted)) {
    const hop = hops.pop()!;
    // A malformed entry is not an address a trusted proxy wrote: stop at the proxy before it.
    if (isIP(hop) === 0) break;
    address = hop;
  }
  return address;
}

/** AppDeps.clientIp for Node: the socket's peer, or the visitor's address through trusted proxies. */
export function nodeClientIp(trustedProxies: string[]): (c: Context) => string {
  const trusted = trustedProxyList(trustedProxies);
  return (c) =>
    clientAddress(getConnInfo(c).remote.address ?? 'unknown', c.req.header('x-forwarded-for'), trusted);
}
