/**
 * `TRUSTED_PROXIES` entries: an IPv4 or IPv6 address, or a network in CIDR notation. Plain code
 * (no node:net): the configuration is also read on Workers.
 */
export function isProxyEntry(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = ipFamily(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

function ipFamily(address: string): 0 | 4 | 6 {
  if (/^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(address))
    return 4;
  // The WHATWG URL parser knows every IPv6 form (::, embedded IPv4); a zone id (%eth0) is no use here.
  if (!address.includes(':') || /[^0-9a-f:.]/i.test(address)) return 0;
  try {
    new URL(`http://[${address}]/`);
    return 6;
  } catch {
    return 0;
  }
}
