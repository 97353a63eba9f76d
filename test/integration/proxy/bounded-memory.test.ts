// Memory per request is bounded by limits, not by what a caller or upstream sends: upstream error
// bodies are read up to MAX_ERROR_BODY_BYTES, compressed request bodies are decoded up to
// MAX_DECODED_BYTES (a zstd bomb is refused without being inflated), and a request's body is let
// go once the upstream head has arrived.
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_ERROR_BODY_BYTES } from '../../../src/client/http-transport.js';
import { zstdCompress } from '../../../src/client/zstd.js';
import { createProxy } from '../../../src/cli/create-proxy.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

let stop: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of stop.reverse()) await fn();
  stop = [];
});

/** Writes `total` bytes of `chunk`-sized pieces with back-pressure; resolves with what was written when done or closed. */
function writeHuge(res: ServerResponse, total: number, chunkSize: number): Promise<number> {
  const piece = Buffer.alloc(chunkSize, 0x61);
  return new Promise((resolve) => {
    let written = 0;
    const pump = (): void => {
      while (written < total && !res.destroyed) {
        written += piece.length;
        if (!res.write(piece)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!res.destroyed) res.end();
      resolve(written);
    };
    res.once('close', () => resolve(written));
    pump();
  });
}

describe('bounded memory', () => {
  it('an upstream 500 with a 64 MiB body: the caller gets its first MAX_ERROR_BODY_BYTES with a matching content-length, the rest is never read', async () => {
    const TOTAL = 64 * 1024 * 1024;
    let sent: Promise<number> | undefined;
    const upstream = await startFakeUpstream((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json', 'content-length': String(TOTAL) });
      sent = writeHuge(res, TOTAL, 64 * 1024);
    });
    stop.push(() => upstream.close());
    const proxy = await createProxy({ upstream: `${upstream.url}/v1`, port: 0, requestMaxRetries: 0 });
    stop.push(() => proxy.shutdown(0));
    const res = await fetch(`${proxy.url}/v1/files`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.status).toBe(500);
    expect(body.length).toBe(MAX_ERROR_BODY_BYTES);
    expect(res.headers.get('content-length')).toBe(String(body.length));
    expect(body.every((b) => b === 0x61)).toBe(true);
    // modeltap closed the upstream connection instead of reading the other 63 MiB.
    expect(await sent).toBeLessThan(TOTAL);
    expect(upstream.calls).toHaveLength(1);
  });

  it('a 1 GiB zstd bomb (1024 frames of 1 MiB of zeros, ~100 KiB on the wire) is refused with 413 without being inflated', async () => {
    const frame = Buffer.from(zstdCompress(Buffer.alloc(1024 * 1024)));
    const bomb = Buffer.concat(Array.from({ length: 1024 }, () => frame));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const upstream = await startFakeUpstream((_req, res) => {
      res.end();
    });
    stop.push(() => upstream.close());
    const proxy = await createProxy({ upstream: `${upstream.url}/v1`, port: 0, requestMaxRetries: 0 });
    stop.push(() => proxy.shutdown(0));
    // The proxy runs in this process: its high-water mark of memory is this process's.
    const peakBefore = process.resourceUsage().maxRSS * 1024;
    const res = await fetch(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'zstd' }, body: bomb });
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(res.status).toBe(413);
    expect(body.error).toMatchObject({ code: 'body_too_large', type: 'invalid_request_error', param: null });
    expect(process.resourceUsage().maxRSS * 1024 - peakBefore).toBeLessThan(256 * 1024 * 1024);
    expect(upstream.calls).toHaveLength(0);
  });
});
