/**
 * Headers as Node and undici hand them over: lower-case names, a string or (for repeated headers)
 * an array of strings. The core keeps them in this shape end to end so that relaying them costs no
 * conversion.
 */
export type HeaderMap = Record<string, string | string[] | undefined>;

/** The first value of header `name` (which must be lower-case), or undefined. */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Headers that belong to one hop (RFC 9110 §7.6.1) and never cross a proxy, in either direction:
 * the one list the core and the proxy share.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

// Request headers not forwarded: the hop-by-hop ones plus those the HTTP client computes itself
// for the new hop.
const NOT_FORWARDED: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'host', 'content-length', 'expect', 'http2-settings']);

/** Whether a header belongs to one hop only (see {@link HOP_BY_HOP}). */
export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name);
}

/** Whether a caller's request header may be forwarded to the next hop unchanged. */
export function isForwardableHeader(name: string): boolean {
  return !NOT_FORWARDED.has(name);
}
