import { brotliDecompressSync, constants, gunzipSync, inflateSync, zstdDecompressSync } from 'node:zlib';

/** Largest decoded body we inspect: a guard against decompression bombs. Default 64 MiB. */
export const MAX_DECODED_BYTES = 64 * 1024 * 1024;

/**
 * Decodes a body by its `content-encoding` (identity, gzip, deflate, br, zstd) with `node:zlib`
 * so that its JSON can be read; the original bytes are what gets forwarded. Throws a `RangeError`
 * when the decoded body would exceed `maxBytes` (without producing more than that), and another
 * error on an unknown or broken encoding.
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
    case 'zstd':
      return zstdDecode(body, maxBytes);
    default:
      throw new TypeError(`unsupported content-encoding: ${enc}`);
  }
}

function tooLarge(maxBytes: number): RangeError {
  return new RangeError(`decoded body larger than ${maxBytes} bytes`);
}

/**
 * zstd with an output limit, one frame at a time. node:zlib's decoder alone is not enough on Node
 * 22 (22.23 tested): it stops after the first frame, and returns what it has of a truncated frame
 * without an error. So the frames are found first from their headers (which also refuses, before
 * any decoding, windows and declared sizes beyond the limit), then each is decoded by node:zlib
 * with `maxOutputLength` set to what is left of the limit and its window capped near the limit
 * (`ZSTD_d_windowLogMax`), so that neither the output nor the decoder's window grows past it.
 */
function zstdDecode(data: Uint8Array, maxBytes: number): Uint8Array {
  const frames = zstdFrames(data, maxBytes);
  const windowLogMax = Math.min(31, Math.max(10, Math.ceil(Math.log2(maxBytes))));
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (const frame of frames) {
    let chunk: Buffer;
    try {
      chunk = zstdDecompressSync(data.subarray(frame.start, frame.end), {
        maxOutputLength: Math.max(1, maxBytes - size),
        params: { [constants.ZSTD_d_windowLogMax]: windowLogMax },
      });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ERR_BUFFER_TOO_LARGE' || code === 'ZSTD_error_frameParameter_windowTooLarge') throw tooLarge(maxBytes);
      throw error;
    }
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    if (chunk.length > 0) chunks.push(chunk);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  return Buffer.concat(chunks, size);
}

const ZSTD_MAGIC = 0xfd2fb528;

function invalidZstd(why: string): TypeError {
  return new TypeError(`invalid zstd data: ${why}`);
}

interface ZstdFrame {
  readonly start: number;
  readonly end: number;
}

/**
 * The [start, end) of every zstd frame in `data` (RFC 8878 §3.1; skippable frames left out),
 * refusing with a `RangeError` a frame whose window or whose declared content (summed over the
 * frames) exceeds `maxBytes`. Reads only frame and block headers.
 */
function zstdFrames(data: Uint8Array, maxBytes: number): ZstdFrame[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const frames: ZstdFrame[] = [];
  let declared = 0;
  let pos = 0;
  while (pos < data.length) {
    if (data.length - pos < 8) throw invalidZstd('truncated frame header');
    const magic = view.getUint32(pos, true);
    if (magic >>> 4 === 0x184d2a5) {
      pos += 8 + view.getUint32(pos + 4, true);
      if (pos > data.length) throw invalidZstd('truncated skippable frame');
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw invalidZstd('bad magic number');
    const descriptor = data[pos + 4] as number;
    if (descriptor & 0x08) throw invalidZstd('reserved bit set');
    const singleSegment = (descriptor >> 5) & 1;
    const sizeFlag = descriptor >> 6;
    let p = pos + 5;
    let window = 0;
    if (!singleSegment) {
      const wd = data[p++] as number;
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    p += [0, 1, 2, 4][descriptor & 3] as number;
    const sizeBytes = [singleSegment, 2, 4, 8][sizeFlag] as number;
    if (p + sizeBytes > data.length) throw invalidZstd('truncated frame header');
    let contentSize: number | undefined;
    if (sizeBytes === 1) contentSize = data[p] as number;
    else if (sizeBytes === 2) contentSize = view.getUint16(p, true) + 256;
    else if (sizeBytes === 4) contentSize = view.getUint32(p, true);
    else if (sizeBytes === 8) contentSize = view.getUint32(p, true) + view.getUint32(p + 4, true) * 2 ** 32;
    p += sizeBytes;
    // A single-segment frame's window is its whole content, which the decoder allocates up front.
    if (singleSegment) window = contentSize ?? 0;
    if (window > maxBytes) throw tooLarge(maxBytes);
    if (contentSize !== undefined) {
      declared += contentSize;
      if (declared > maxBytes) throw tooLarge(maxBytes);
    }
    for (let last = 0; !last; ) {
      if (p + 3 > data.length) throw invalidZstd('truncated block');
      const header = (data[p] as number) | ((data[p + 1] as number) << 8) | ((data[p + 2] as number) << 16);
      last = header & 1;
      const type = (header >> 1) & 3;
      if (type === 3) throw invalidZstd('reserved block type');
      // An RLE block carries one byte, whatever size it decodes to.
      p += 3 + (type === 1 ? 1 : header >>> 3);
    }
    if (descriptor & 0x04) p += 4;
    if (p > data.length) throw invalidZstd('truncated frame');
    frames.push({ start: pos, end: p });
    pos = p;
  }
  return frames;
}
