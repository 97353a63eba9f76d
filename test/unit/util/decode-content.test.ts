import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { zstdCompress } from '../../../src/client/zstd.js';
import { decodeContent, MAX_DECODED_BYTES } from '../../../src/util/decode-content.js';

const MiB = 1024 * 1024;

/** A zstd frame header with no declared size and a 1 MiB window (RFC 8878 §3.1.1.1), no checksum. */
const UNSIZED_HEADER = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x50]);

/** An RLE block: `size` copies of `byte` (at most 128 KiB), from four bytes. */
function rleBlock(size: number, byte: number, last: boolean): Buffer {
  const header = (size << 3) | (1 << 1) | (last ? 1 : 0);
  return Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, byte]);
}

/** One zstd frame that declares no size and decodes to `blocks` × 128 KiB of `byte`. */
function unsizedFrame(blocks: number, byte = 0x20): Buffer {
  const parts: Buffer[] = [UNSIZED_HEADER];
  for (let i = 0; i < blocks; i++) parts.push(rleBlock(128 * 1024, byte, i === blocks - 1));
  return Buffer.concat(parts);
}

/** The zstd frame header of a single-segment frame declaring `size` bytes (4-byte size field), then one empty raw block. */
function singleSegmentClaiming(size: number): Buffer {
  const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0, 0, 0, 0, 0x01, 0x00, 0x00]);
  header.writeUInt32LE(size, 5);
  return header;
}

describe('decodeContent', () => {
  it('zstd: several frames and a skippable one decode to their concatenation', async () => {
    const a = Buffer.from('{"model":"m",');
    const b = Buffer.from('"input":"hi"}');
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const data = Buffer.concat([Buffer.from(zstdCompress(a)), skippable, Buffer.from(zstdCompress(b))]);
    expect(Buffer.from(decodeContent(data, 'zstd')).toString()).toBe('{"model":"m","input":"hi"}');
  });

  it('zstd: a frame without a declared size decodes', () => {
    const out = decodeContent(unsizedFrame(3, 0x7b), 'zstd');
    expect(out.length).toBe(3 * 128 * 1024);
    expect(out.every((x) => x === 0x7b)).toBe(true);
  });

  it('zstd: an unsized 1 GiB frame (32 KiB on the wire) is refused as soon as the output passes the limit', () => {
    const bomb = unsizedFrame(8192);
    expect(bomb.length).toBeLessThan(40 * 1024);
    const peakBefore = process.resourceUsage().maxRSS * 1024;
    expect(() => decodeContent(bomb, 'zstd', 4 * MiB)).toThrow(RangeError);
    expect(() => decodeContent(bomb, 'zstd')).toThrow(RangeError);
    // The process never held anything near the gibibyte (maxRSS is the high-water mark).
    expect(process.resourceUsage().maxRSS * 1024 - peakBefore).toBeLessThan(512 * MiB);
  });

  it('zstd: frames whose declared sizes add up past the limit are refused before decoding', async () => {
    const frame = Buffer.from(zstdCompress(Buffer.alloc(MiB)));
    const bomb = Buffer.concat(Array.from({ length: 65 }, () => frame));
    expect(() => decodeContent(bomb, 'zstd')).toThrow(RangeError);
    expect(decodeContent(Buffer.concat([frame, frame]), 'zstd').length).toBe(2 * MiB);
  });

  it('zstd: a header that claims a 1.5 GiB single segment is refused before its window is allocated', () => {
    const before = process.memoryUsage().arrayBuffers;
    expect(() => decodeContent(singleSegmentClaiming(1536 * MiB), 'zstd')).toThrow(RangeError);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * MiB);
  });

  it('zstd: a frame cut short is an error, not its first part (Node 22 decodes what it has)', () => {
    const frame = Buffer.from(zstdCompress(Buffer.from('{"model":"m","input":"'.padEnd(4096, 'x') + '"}')));
    expect(() => decodeContent(frame.subarray(0, frame.length - 3), 'zstd')).toThrow(TypeError);
  });

  it.each([
    ['not zstd at all'],
    ['\x28\xb5\x2f\xfd\x00\x50\x07'],
  ])('zstd: broken data %j is an error, not a size refusal', (text) => {
    let error: unknown;
    try {
      decodeContent(Buffer.from(text, 'latin1'), 'zstd');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(RangeError);
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const)('%s keeps its output limit (maxOutputLength)', (encoding, compress) => {
    const data = compress(Buffer.alloc(64 * 1024, 0x20));
    expect(decodeContent(data, encoding).length).toBe(64 * 1024);
    expect(() => decodeContent(data, encoding, 16 * 1024)).toThrow(RangeError);
  });

  it('the default limit is 64 MiB', () => {
    expect(MAX_DECODED_BYTES).toBe(64 * MiB);
  });
});
