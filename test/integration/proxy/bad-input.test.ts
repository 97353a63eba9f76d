// Bad input: 10,000 generated and mutated requests never crash modeltap, always get a 4xx with an
// OpenAI-shaped body (or a WebSocket close with a proper code), and modeltap answers normally after.
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import WebSocket from 'ws';
import type { ProxyServer } from '../../../src/proxy/server.js';
import { createProxy } from '../../../src/cli/create-proxy.js';
import { startSim, type Sim } from '../../../src/sim/sim-server.js';
import { otelKit, waitForServerSpans } from '../../helpers/otel-kit.js';

let sim: Sim;
let proxy: ProxyServer;
const agent = new Agent({ connections: 16 });
const MAX_BODY = 1024 * 1024;

beforeAll(async () => {
  sim = await startSim();
  proxy = await createProxy({ upstream: `${sim.url}/v1`, port: 0, maxBodyBytes: MAX_BODY, requestMaxRetries: 0 });
});
afterAll(async () => {
  await agent.close();
  await proxy.shutdown(0);
  await sim.close();
});

/** A small seeded PRNG (mulberry32), so every run generates the same 10,000 requests. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface BadRequest {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  readonly kind: string;
}

const valid = (r: () => number) => ({ model: 'gpt-5.1-codex', input: [{ type: 'message', role: 'user', content: `hello ${Math.floor(r() * 1e6)}` }], stream: r() < 0.5 });
const WRONG_VALUES: unknown[] = [42, -1.5, true, false, null, [], [1, 2], {}, { a: 1 }];

function generate(i: number, r: () => number): BadRequest {
  const json = { 'content-type': 'application/json' };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const path = pick(['/v1/responses', '/v1/chat/completions', '/v1/responses/compact']);
  switch (i % 7) {
    case 0: {
      // Truncated JSON: an object cut before its end is never valid.
      const text = JSON.stringify(valid(r));
      return { path, headers: json, body: Buffer.from(text.slice(0, Math.floor(r() * (text.length - 1)))), kind: 'truncated' };
    }
    case 1: {
      // Fields of the wrong type.
      const body: Record<string, unknown> = valid(r);
      const field = pick(['model', 'stream', 'input', 'messages']);
      body[field] = field === 'input' || field === 'messages' ? pick([42, true, { a: 1 }, 'x'].filter((v) => field === 'input' ? typeof v !== 'string' : true)) : pick(WRONG_VALUES.filter((v) => field === 'stream' ? typeof v !== 'boolean' : typeof v !== 'string'));
      if (body[field] === undefined) body[field] = 42;
      return { path: path === '/v1/chat/completions' && field === 'input' ? '/v1/responses' : path, headers: json, body: Buffer.from(JSON.stringify(body)), kind: `wrong type ${field}` };
    }
    case 2:
      // JSON that is not an object.
      return { path, headers: json, body: Buffer.from(JSON.stringify(pick(['text', 12, null, [1, 2, 3], true]))), kind: 'not an object' };
    case 3: {
      // Deeply nested input.
      const depth = 1000 + Math.floor(r() * 50_000);
      return { path: '/v1/responses', headers: json, body: Buffer.from(`{"model":"m","input":${'['.repeat(depth)}${']'.repeat(depth)}}`), kind: 'deeply nested' };
    }
    case 4: {
      // A declared encoding the bytes are not in, or one modeltap does not know.
      const encoding = pick(['zstd', 'gzip', 'br', 'deflate', 'compress', 'x-rot13']);
      const body = r() < 0.5 ? Buffer.from(JSON.stringify(valid(r))) : Buffer.from(Array.from({ length: 64 }, () => Math.floor(r() * 256)));
      return { path, headers: { ...json, 'content-encoding': encoding }, body, kind: `bad encoding ${encoding}` };
    }
    case 5: {
      // gzip of something that is not a JSON object.
      return { path, headers: { ...json, 'content-encoding': 'gzip' }, body: gzipSync(Buffer.from(pick(['{"model": ', '[]', 'null', 'plain text']))), kind: 'gzip of junk' };
    }
    default: {
      // Random bytes.
      return { path, headers: json, body: Buffer.from(Array.from({ length: 1 + Math.floor(r() * 512) }, () => Math.floor(r() * 256))), kind: 'random bytes' };
    }
  }
}

function expectOpenAIError(status: number, text: string, kind: string): void {
  expect(status, `${kind}: ${text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
  expect(status, kind).toBeLessThan(500);
  const body = JSON.parse(text) as { error?: { message?: unknown; type?: unknown; code?: unknown } };
  expect(typeof body.error?.message, kind).toBe('string');
  expect(typeof body.error?.type, kind).toBe('string');
  expect(body.error && 'code' in body.error, kind).toBe(true);
}

async function healthy(): Promise<void> {
  const res = await request(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', input: 'ok' }), dispatcher: agent });
  expect(res.statusCode).toBe(200);
  await res.body.text();
}

/** Sends raw bytes on a new connection and returns what came back. */
function raw(bytes: string | Buffer, halfClose = true): Promise<string> {
  return new Promise((resolve) => {
    const url = new URL(proxy.url);
    const socket = connect(Number(url.port), url.hostname, () => (halfClose ? socket.end(bytes) : socket.write(bytes)));
    let out = '';
    socket.on('data', (c: Buffer) => (out += c.toString('latin1')));
    socket.on('close', () => resolve(out));
    socket.on('error', () => resolve(out));
    socket.setTimeout(5000, () => socket.destroy());
  });
}

describe('bad input', () => {
  it('9,700 generated bad bodies: each a 4xx with an OpenAI-shaped error', async () => {
    const r = rng(20261124);
    const requests = Array.from({ length: 9700 }, (_, i) => generate(i, r));
    let next = 0;
    const kinds = new Map<string, number>();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < requests.length; i = next++) {
          const req = requests[i] as BadRequest;
          const res = await request(`${proxy.url}${req.path}`, { method: 'POST', headers: req.headers, body: req.body, dispatcher: agent });
          expectOpenAIError(res.statusCode, await res.body.text(), req.kind);
          kinds.set(req.kind.split(' ')[0] as string, (kinds.get(req.kind.split(' ')[0] as string) ?? 0) + 1);
        }
      }),
    );
    expect([...kinds.keys()].sort()).toEqual(['bad', 'deeply', 'gzip', 'not', 'random', 'truncated', 'wrong']);
    await healthy();
  }, 120_000);

  it('200 oversize bodies, declared and not: 413', async () => {
    const big = Buffer.alloc(MAX_BODY + 10, 'a');
    for (let i = 0; i < 100; i++) {
      const res = await request(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big, dispatcher: agent });
      expectOpenAIError(res.statusCode, await res.body.text(), 'oversize');
    }
    for (let i = 0; i < 100; i++) {
      // Chunked, so the size is found while reading.
      const res = await request(`${proxy.url}/v1/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Readable.from(
          (async function* () {
            for (let k = 0; k < 5; k++) yield Buffer.alloc(MAX_BODY / 4, 'b');
          })(),
        ),
        dispatcher: agent,
      });
      expect(res.statusCode).toBe(413);
      await res.body.text().catch(() => undefined);
    }
    await healthy();
  }, 60_000);

  it('50 malformed HTTP requests and header injections: an OpenAI-shaped 4xx, no crash', async () => {
    const attacks = [
      'POST /v1/responses HTTP/1.1\r\nHost: x\r\nBad Header: y\r\ncontent-length: 2\r\n\r\n{}',
      'POST /v1/responses HTTP/1.1\r\nHost: x\r\nx-a: b\rInjected: 1\r\ncontent-length: 2\r\n\r\n{}',
      'POST /v1/responses HTTP/1.1\r\nHost: x\r\nx-a: \u0001\u0002\r\ncontent-length: 2\r\n\r\n{}',
      `GET /v1/models HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
      'POST /v1/responses HTTP/1.1\r\nHost: x\r\ncontent-length: abc\r\n\r\n{}',
      'POST /v1/responses HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n{}',
      'BREW /v1/responses HTCPCP/1.0\r\n\r\n',
      'POST /v1/responses\r\n\r\n',
      '\u0000\u0001\u0002 garbage\r\n\r\n',
      'POST /v1/responses HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
    ];
    for (let round = 0; round < 5; round++) {
      for (const attack of attacks) {
        const answer = await raw(attack);
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
        expect(status, JSON.stringify(attack.slice(0, 60))).toBeGreaterThanOrEqual(400);
        expect(status).toBeLessThan(500);
        const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
        expect(JSON.parse(body).error.type, attack.slice(0, 40)).toBeTypeOf('string');
      }
    }
    await healthy();
  }, 60_000);

  it('50 malformed and oversize WebSocket frames: closed with a proper code', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 50; i++) {
      const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`);
      await new Promise((resolve) => ws.once('open', resolve));
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      ws.on('error', () => undefined);
      if (i % 2 === 0) {
        ws.send(Buffer.alloc(MAX_BODY + 1, 1)); // oversize: 1009
      } else {
        // A frame with a reserved opcode (0x3), written straight to the socket: 1002.
        (ws as unknown as { _socket: import('node:net').Socket })._socket.write(Buffer.from([0x83, 0x82, 1, 2, 3, 4, 5, 6]));
      }
      codes.push(await closed);
    }
    expect(new Set(codes)).toEqual(new Set([1009, 1002]));
    await healthy();
  }, 60_000);
});

describe('the upstream cannot be changed by a caller', () => {
  it('Host, X-Forwarded-Host, an absolute request target and body fields all still reach the configured upstream', async () => {
    const before = sim.log.length;
    const attempts = [
      { headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', forwarded: 'host=evil.example' }, body: { model: 'm', input: 'a' } },
      { headers: {}, body: { model: 'm', input: 'b', base_url: 'http://evil.example/v1', url: 'http://evil.example', upstream: 'http://evil.example' } },
    ];
    for (const a of attempts) {
      const res = await request(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json', ...a.headers }, body: JSON.stringify(a.body), dispatcher: agent });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    }
    const absolute = await raw(`POST http://evil.example/v1/responses HTTP/1.1\r\nHost: evil.example\r\ncontent-type: application/json\r\ncontent-length: 28\r\nconnection: close\r\n\r\n{"model":"m","input":"abs"} `, false);
    expect(absolute).toMatch(/^HTTP\/1\.1 200/);
    expect(sim.log.length - before).toBe(3); // all three reached the sim, the only upstream
  });
});

describe('caller faults', () => {
  it('a caller that sends half a body and stalls is timed out with 408, counted, and modeltap keeps serving', async () => {
    const kit = otelKit();
    const stalling = await createProxy({ upstream: `${sim.url}/v1`, port: 0, bodyTimeoutMs: 300, ...(kit.runtime.telemetry ? { telemetry: kit.runtime.telemetry } : {}) });
    try {
      const url = new URL(stalling.url);
      const answer = await new Promise<string>((resolve) => {
        const socket = connect(Number(url.port), url.hostname, () => socket.write('POST /v1/responses HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"model":"m",'));
        let out = '';
        socket.on('data', (c: Buffer) => (out += c.toString()));
        socket.on('close', () => resolve(out));
        socket.setTimeout(5000, () => socket.destroy());
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error.code).toBe('body_timeout');
      const server = (await waitForServerSpans(kit, 1)).find((span) => span.kind === 1);
      expect(server?.attributes).toMatchObject({ 'http.response.status_code': 408, 'error.type': 'body_timeout' });
      const points = (await kit.metrics()).get('http.server.request.duration')?.points ?? [];
      expect(points.map((p) => p.attributes)).toEqual([expect.objectContaining({ 'http.route': '/v1/responses', 'http.response.status_code': 408, 'error.type': 'body_timeout' })]);
      const res = await fetch(`${stalling.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', input: 'ok' }) });
      expect(res.status).toBe(200);
      await res.text();
    } finally {
      await stalling.shutdown(0);
      await kit.runtime.shutdown();
    }
  });
});
