import { gunzipSync, inflateSync, brotliDecompressSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';

/** Largest decoded body we inspect: a guard against decompression bombs. Default 64 MiB. */
export const MAX_DECODED_BYTES = 64 * 1024 * 1024;

/**
 * Decodes a body by its `content-encoding` (identity, gzip, deflate, br, zstd) so that its JSON can
 * be read; the original bytes are what gets forwarded. Throws on an unknown or broken encoding.
 * zstd uses fzstd (pure JS) because Node 20 has no zstd.
 */
export function decodeContent(body: Uint8Array, encoding: string | undefined, maxBytes = MAX_DECODED_BYTES): Uint8Array {
  const enc = encoding?.trim().toLowerCase() ?? '';
  if (enc === '' || enc === 'identity') return body;
  const options = { maxOutputLength: maxBytes };
  switch (enc) {
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(body, options);
    case 'deflate':
      return inflateSync(body, options);
    case 'br':
      return brotliDecompressSync(body, options);
    case 'zstd': {
      const out = zstdDecompress(body);
      if (out.length > maxBytes) throw new RangeError('decoded body too large');
      return out;
    }
    default:
      throw new TypeError(`unsupported content-encoding: ${enc}`);
  }
}
