// @hono/node-server must write a streamed response body as it is produced. Some 1.x releases read a
// text or JSON body whole before writing its head (this test fails on 1.14.3, 1.14.4 and 1.17.0 and
// passes on 1.18.2, 1.19.x and 2.1.x). Each chunk here is produced only after the client has
// received the one before, so a server that buffers never gets past the first chunk and the test
// fails by its timeout instead of passing by luck.
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHUNKS = 4;

/** A promise with its resolver outside, released by an event. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

let received: Array<{ promise: Promise<void>; open: () => void }> = [];
let log: string[] = [];

/** Waits until the client holds chunk `i - 1` (chunk 0 goes at once), then logs chunk `i` as produced. */
async function produce(i: number): Promise<string> {
  if (i > 0) await (received[i - 1] as { promise: Promise<void> }).promise;
  log.push(`produced ${i}`);
  return `chunk ${i};`;
}

const app = new Hono();
app.get('/readable-stream', () => {
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (next === CHUNKS) return controller.close();
      controller.enqueue(new TextEncoder().encode(await produce(next++)));
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/plain' } });
});
app.get('/hono-stream', (c) =>
  stream(c, async (s) => {
    for (let i = 0; i < CHUNKS; i++) await s.write(await produce(i));
  }),
);

let server: Server;
let base: string;

beforeAll(async () => {
  // Served the way modeltap serves its Hono app (src/proxy/app.ts).
  server = createServer(getRequestListener(app.fetch, { overrideGlobalObjects: false }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** GETs `path` and opens `received[i]` once the body's bytes include chunk `i`; resolves with the whole body. */
function fetchChunked(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(`${base}${path}`, (res) => {
      let text = '';
      let seen = 0;
      res.setEncoding('utf8');
      res.on('data', (data: string) => {
        text += data;
        const complete = text.split(';').length - 1;
        for (; seen < complete && seen < CHUNKS; seen++) {
          log.push(`received ${seen}`);
          (received[seen] as { open: () => void }).open();
        }
      });
      res.on('end', () => resolve(text));
      res.on('error', reject);
    }).on('error', reject);
  });
}

describe('@hono/node-server streams response bodies', () => {
  it.each(['/readable-stream', '/hono-stream'])('%s: the client has the first chunk before the last is produced', async (path) => {
    received = Array.from({ length: CHUNKS }, gate);
    log = [];
    const body = await fetchChunked(path);
    expect(body).toBe(Array.from({ length: CHUNKS }, (_, i) => `chunk ${i};`).join(''));
    expect(log.indexOf('received 0')).toBeGreaterThan(-1);
    expect(log.indexOf('received 0')).toBeLessThan(log.indexOf(`produced ${CHUNKS - 1}`));
    expect(log).toEqual(Array.from({ length: CHUNKS }, (_, i) => [`produced ${i}`, `received ${i}`]).flat());
  }, 10_000);
});
