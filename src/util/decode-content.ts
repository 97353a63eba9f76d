import { gunzipSync, inflateSync, brotliDecompressSync } from 'node:zlib';
import { decompress, Decompress } from 'fzstd';

/** Largest decoded body we inspect: a guard against decompression bombs. Default 64 MiB. */
export const MAX_DECODED_BYTES = 64 * 1024 * 1024;

/**
 * Decodes a body by its `content-encoding` (identity, gzip, deflate, br, zstd) so that its JSON can
 * be read; the original bytes are what gets forwarded. Throws a `RangeError` when the decoded body
 * would exceed `maxBytes` (without producing more than that), and another error on an unknown or
 * broken encoding. zstd uses fzstd (pure JS) because Node 20 has no zstd.
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
 * zstd with an output limit. fzstd's one-shot `decompress` inflates everything before its size can
 * be checked, and allocates a frame's whole window (up to 2 GiB, as its header declares) before
 * the first block; so every frame header is checked first (window and declared sizes within the
 * limit), then frames without a declared size are decoded one block at a time, stopping as soon as
 * the output passes the limit. Nothing larger than `maxBytes` is ever allocated.
 */
function zstdDecode(data: Uint8Array, maxBytes: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const onChunk = (chunk: Uint8Array): void => {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    if (chunk.length > 0) chunks.push(chunk);
  };
  for (const frame of zstdFrames(data, maxBytes)) {
    const bytes = data.subarray(frame.start, frame.end);
    // A frame that declares its size (as Codex's do) decodes into exactly that much, at once: two
    // to three times faster than block by block. The declared sizes were checked against the limit.
    if (frame.contentSize !== undefined && frame.contentSize > 0) onChunk(decompress(bytes));
    else new Decompress(onChunk).push(bytes, true);
  }
  return chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks, size);
}

const ZSTD_MAGIC = 0xfd2fb528;

function invalidZstd(why: string): TypeError {
  return new TypeError(`invalid zstd data: ${why}`);
}

interface ZstdFrame {
  readonly start: number;
  readonly end: number;
  /** The size its header declares, if it does. */
  readonly contentSize: number | undefined;
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
    frames.push({ start: pos, end: p, contentSize });
    pos = p;
  }
  return frames;
}
