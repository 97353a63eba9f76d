// The proxy in-process against the real simulator: relay, headers, errors and faults.
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyServer } from '../../../src/proxy/server.js';
import { createProxy } from '../../../src/cli/create-proxy.js';
import { startSim, type Sim } from '../../../src/sim/sim-server.js';
import { zstdCompress } from '../../../src/client/zstd.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

let sim: Sim;
let proxy: ProxyServer;

beforeAll(async () => {
  sim = await startSim({ events: 5 });
  proxy = await createProxy({ upstream: `${sim.url}/v1`, port: 0, streamIdleTimeoutMs: 500, maxBodyBytes: 1024 * 1024, requestMaxRetries: 2 });
});
afterAll(async () => {
  await proxy.shutdown(0);
  await sim.close();
});

interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
}

async function call(base: string, path: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(`${base}${path}`, init);
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

/** Proxied and direct answers to the same request, for a byte-for-byte comparison. */
async function both(path: string, init: () => RequestInit): Promise<[Reply, Reply]> {
  return [await call(proxy.url, path, init()), await call(sim.url, path, init())];
}

async function stillServing(): Promise<void> {
  const reply = await call(proxy.url, '/v1/responses', post({ model: 'm', input: 'ok?', stream: false }));
  expect(reply.status).toBe(200);
}

describe('relay', () => {
  it.each([
    ['/v1/responses', { model: 'gpt-5.1', input: 'hi', stream: true }],
    ['/v1/responses', { model: 'gpt-5.1', input: 'hi' }],
    ['/v1/chat/completions', { model: 'gpt-5.1', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } }],
    ['/v1/chat/completions', { model: 'gpt-5.1', messages: [{ role: 'user', content: 'hi' }] }],
    ['/v1/responses/compact', { model: 'gpt-5.1', input: [{ type: 'message', role: 'user', content: 'hi' }], instructions: '' }],
  ])('%s %j: the same status, headers and bytes as the upstream, plus Server-Timing', async (path, body) => {
    const [proxied, direct] = await both(path, () => post(body));
    expect(proxied.status).toBe(200);
    expect(proxied.body.equals(direct.body)).toBe(true);
    expect(proxied.headers.get('content-type')).toBe(direct.headers.get('content-type'));
    expect(proxied.headers.get('x-request-id')).toBe('req_sim');
    expect(proxied.headers.get('server-timing')).toMatch(/^modeltap;dur=\d+\.\d{3}, upstream;dur=\d+\.\d{3}$/);
  });

  it('passes GET /v1/models and other /v1 paths through with method, status and body', async () => {
    const [models, directModels] = await both('/v1/models', () => ({ method: 'GET' }));
    expect(models.status).toBe(200);
    expect(models.body.equals(directModels.body)).toBe(true);
    const [missing, directMissing] = await both('/v1/files?limit=2', () => ({ method: 'DELETE' }));
    expect(missing.status).toBe(404);
    expect(missing.body.equals(directMissing.body)).toBe(true);
  });

  it('relays the request target exactly as it arrived: percent-encoding and query untouched', async () => {
    const before = sim.log.length;
    const reply = await call(proxy.url, '/v1/files/file%2Fabc%20x?purpose=a%26b&limit=2', { method: 'GET' });
    expect(reply.status).toBe(404);
    expect(sim.log[before]?.path).toBe('/v1/files/file%2Fabc%20x?purpose=a%26b&limit=2');
  });

  it('forwards Codex headers and a zstd body unchanged, and keeps the access key to itself', async () => {
    const body = Buffer.from(JSON.stringify({ model: 'gpt-5.1-codex', input: 'zstd please', stream: true }));
    const encoded = Buffer.from(zstdCompress(body));
    const headers = {
      'content-type': 'application/json',
      'content-encoding': 'zstd',
      'session-id': 'sess-z',
      'thread-id': 'sess-z',
      'x-client-request-id': 'req-z',
      'x-codex-turn-metadata': '{"request_kind":"turn","turn_id":"t1"}',
      'x-codex-window-id': 'sess-z:0',
      'x-codex-beta-features': 'remote_compaction_v2',
      originator: 'codex_exec',
      'openai-beta': 'responses=experimental',
      authorization: 'Bearer sk-caller',
    };
    const before = sim.log.length;
    const reply = await call(proxy.url, '/v1/responses', { method: 'POST', headers, body: encoded });
    expect(reply.status).toBe(200);
    const seen = sim.log[before];
    expect(seen?.bodyBytes).toBe(encoded.length);
    expect(seen?.model).toBe('gpt-5.1-codex'); // the sim decoded what arrived
    expect(seen?.headers).toMatchObject(Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'content-type')));
  });

  it('applies back-pressure: a caller that does not read holds the upstream, not modeltap memory', async () => {
    // 200,000 events of ~250 bytes (50 MB): far more than the kernel's loopback socket buffers on
    // the two hops can hold (a few MB each), so an unbounded relay would show.
    const before = sim.log.length;
    const res = await new Promise<import('node:http').IncomingMessage>((resolve) => {
      const req = httpRequest(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sim-events': '200000' } }, resolve);
      req.end(JSON.stringify({ model: 'm', input: 'big', stream: true }));
    });
    res.pause();
    await new Promise((r) => setTimeout(r, 300));
    const sentWhilePaused = sim.log[before]?.framesSent ?? 0;
    expect(sentWhilePaused).toBeLessThan(150_000);
    let bytes = 0;
    res.on('data', (c: Buffer) => (bytes += c.length));
    res.resume();
    await new Promise((r) => res.on('end', r));
    expect(sim.log[before]?.framesSent).toBe(200_008);
    expect(bytes).toBeGreaterThan(200_000 * 150);
  });
});

describe('when the head goes out', () => {
  /** The first bytes a raw socket receives from the proxy, for a request whose upstream sends its head 150 ms before its body. */
  async function firstRead(contentType: string): Promise<string> {
    const upstream = await startFakeUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': contentType });
      res.flushHeaders();
      setTimeout(() => res.end(contentType === 'application/json' ? '{"id":"resp_1","object":"response","output":[]}' : completedFrame), 150);
    });
    const slow = await createProxy({ upstream: `${upstream.url}/v1`, port: 0 });
    try {
      const { port } = new URL(slow.url);
      const socket = connect(Number(port), '127.0.0.1');
      const body = JSON.stringify({ model: 'm', input: 'hi', stream: contentType !== 'application/json' });
      socket.write(`POST /v1/responses HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      const [chunk] = (await once(socket, 'data')) as [Buffer];
      socket.destroy();
      return chunk.toString();
    } finally {
      await slow.shutdown(0);
      await upstream.close();
    }
  }
  const completedFrame = 'event: response.completed\ndata: {"type":"response.completed","response":{"id":"resp_1"}}\n\n';

  it('a JSON head leaves with the first bytes of its body, in one write', async () => {
    // The body left the upstream 150 ms after the head: the first read holds both.
    expect(await firstRead('application/json')).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n(?:[0-9a-f]+\r\n)?\{"id":"resp_1"/);
  });

  it('a stream head leaves as soon as the upstream sends it, before any event', async () => {
    // The first read ends with the head: the event, 150 ms later, came in a read of its own.
    expect(await firstRead('text/event-stream')).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n$/);
  });
});

describe('errors before the first byte', () => {
  it('400 for malformed JSON, OpenAI-shaped, and keeps serving', async () => {
    const reply = await call(proxy.url, '/v1/responses', post('{"model": '));
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body.toString())).toEqual({
      error: { message: 'We could not parse the JSON body of your request.', type: 'invalid_request_error', param: null, code: 'invalid_json' },
    });
    expect(reply.headers.get('server-timing')).toMatch(/^modeltap;dur=/);
    await stillServing();
  });

  it('400 for a body whose content-encoding cannot be decoded', async () => {
    const reply = await call(proxy.url, '/v1/responses', { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'zstd' }, body: 'not zstd' });
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body.toString()).error.code).toBe('unsupported_content_encoding');
  });

  it('413 for a body over the limit, and keeps serving', async () => {
    const big = JSON.stringify({ model: 'm', input: 'x'.repeat(2 * 1024 * 1024) });
    const reply = await call(proxy.url, '/v1/responses', post(big));
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body.toString()).error).toMatchObject({ code: 'body_too_large', type: 'invalid_request_error' });
    await stillServing();
  });

  it('passes an upstream 4xx through as it is, without retrying', async () => {
    const before = sim.log.length;
    const [proxied, direct] = await both('/v1/responses', () => post({ model: 'm', input: 'x' }, { 'x-sim-fault': 'status:429' }));
    expect(proxied.status).toBe(429);
    expect(proxied.body.equals(direct.body)).toBe(true);
    expect(sim.log.length - before).toBe(2); // one through the proxy, one direct
  });

  it('500 then 200: the caller sees 200', async () => {
    const before = sim.log.length;
    const reply = await call(proxy.url, '/v1/responses', post({ model: 'm', input: 'x', stream: true }, { 'x-sim-fault': 'status:500;times=1' }));
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toContain('response.completed');
    expect(sim.log.slice(before).map((e) => e.fault ?? 'ok')).toEqual(['status', 'ok']);
  });

  it('502 when the upstream refuses connections, and keeps serving', async () => {
    const dead = await startFakeUpstream(() => undefined);
    const url = dead.url;
    await dead.close();
    const lonely = await createProxy({ upstream: `${url}/v1`, port: 0, requestMaxRetries: 1 });
    try {
      const reply = await call(lonely.url, '/v1/responses', post({ model: 'm', input: 'x', stream: true }));
      expect(reply.status).toBe(502);
      expect(JSON.parse(reply.body.toString()).error).toMatchObject({ code: 'upstream_unreachable', type: 'server_error' });
      expect((await call(lonely.url, '/healthz')).status).toBe(200);
    } finally {
      await lonely.shutdown(0);
    }
  });

  it('504 when the upstream sends no head within the idle timeout', async () => {
    const reply = await call(proxy.url, '/v1/responses', post({ model: 'm', input: 'x' }, { 'x-sim-fault': 'slow-head:2500' }));
    expect(reply.status).toBe(504);
    expect(JSON.parse(reply.body.toString()).error.code).toBe('upstream_timeout');
    await stillServing();
  });

  it('404 OpenAI-shaped for paths outside /v1', async () => {
    const reply = await call(proxy.url, '/nope');
    expect(reply.status).toBe(404);
    expect(JSON.parse(reply.body.toString()).error.type).toBe('not_found_error');
  });
});

describe('errors after the first byte', () => {
  it('a reset mid-stream ends with an SSE error event in the Responses shape, then a clean close', async () => {
    const reply = await call(proxy.url, '/v1/responses', post({ model: 'm', input: 'x', stream: true }, { 'x-sim-fault': 'reset:6' }));
    expect(reply.status).toBe(200);
    const text = reply.body.toString();
    expect(text).toContain('response.output_text.delta');
    const last = text.trimEnd().split('\n\n').at(-1) ?? '';
    expect(last.startsWith('event: error\ndata: ')).toBe(true);
    expect(JSON.parse(last.split('data: ')[1] ?? '')).toMatchObject({ type: 'error', code: 'upstream_disconnected', param: null });
    await stillServing();
  });

  it('a stall beyond the idle timeout ends with an upstream_timeout error event', async () => {
    const reply = await call(proxy.url, '/v1/responses', post({ model: 'm', input: 'x', stream: true }, { 'x-sim-fault': 'stall:5' }));
    const last = reply.body.toString().trimEnd().split('\n\n').at(-1) ?? '';
    expect(JSON.parse(last.split('data: ')[1] ?? '')).toMatchObject({ type: 'error', code: 'upstream_timeout' });
    await stillServing();
  });

  it('a Chat stream error uses the Chat error shape', async () => {
    const reply = await call(proxy.url, '/v1/chat/completions', post({ model: 'm', messages: [], stream: true }, { 'x-sim-fault': 'reset:3' }));
    const last = reply.body.toString().trimEnd().split('\n\n').at(-1) ?? '';
    expect(JSON.parse(last.replace(/^data: /, ''))).toMatchObject({ error: { code: 'upstream_disconnected', type: 'server_error' } });
  });

  it('malformed upstream SSE is relayed as sent', async () => {
    const [proxied, direct] = await both('/v1/responses', () => post({ model: 'm', input: 'x', stream: true }, { 'x-sim-fault': 'malformed:6' }));
    expect(proxied.body.equals(direct.body)).toBe(true);
  });

  it('a caller that aborts mid-stream aborts the upstream request within a second', async () => {
    const before = sim.log.length;
    const controller = new AbortController();
    const res = await fetch(`${proxy.url}/v1/responses`, { ...post({ model: 'm', input: 'x', stream: true }, { 'x-sim-events': '1000', 'x-sim-gap-ms': '20' }), signal: controller.signal });
    const reader = res.body?.getReader();
    await reader?.read();
    const abortedAt = performance.now();
    controller.abort();
    const entry = sim.log[before];
    for (let i = 0; i < 100 && entry?.endedAt === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    expect(entry?.abortedByCaller).toBe(true);
    expect(performance.now() - abortedAt).toBeLessThan(1000);
    await stillServing();
  });
});

describe('listening safely', () => {
  it('refuses a non-loopback address without an access key', async () => {
    await expect(createProxy({ upstream: `${sim.url}/v1`, host: '0.0.0.0', port: 0 })).rejects.toThrow(/access key/);
  });

  it('enforces the access key when one is set, and never forwards it', async () => {
    const guarded = await createProxy({ upstream: `${sim.url}/v1`, port: 0, accessKey: 'k-123' });
    try {
      const denied = await call(guarded.url, '/v1/responses', post({ model: 'm', input: 'x' }));
      expect(denied.status).toBe(401);
      expect(JSON.parse(denied.body.toString()).error.code).toBe('missing_access_key');
      // Probes need no key (kubelets and load balancers send none); nothing else is open.
      expect((await call(guarded.url, '/healthz')).status).toBe(200);
      expect((await call(guarded.url, '/modeltap/summary')).status).toBe(401);
      const before = sim.log.length;
      const allowed = await call(guarded.url, '/v1/responses', post({ model: 'm', input: 'x' }, { 'x-modeltap-key': 'k-123' }));
      expect(allowed.status).toBe(200);
      expect(sim.log[before]?.headers['x-modeltap-key']).toBeUndefined();
    } finally {
      await guarded.shutdown(0);
    }
  });
});

describe('the access key on modeltap routes', () => {
  it('guards /modeltap/summary and /metrics, and never echoes a credential in an error body', async () => {
    const guarded = await createProxy({ upstream: `${sim.url}/v1`, port: 0, accessKey: 'k-xyz', metricsHandler: (_req, res) => res.end('ok') });
    try {
      for (const path of ['/modeltap/summary', '/metrics']) {
        expect((await call(guarded.url, path)).status, path).toBe(401);
        expect((await call(guarded.url, path, { headers: { 'x-modeltap-key': 'k-xyz' } })).status, path).toBe(200);
      }
      const secret = 'sk-never-echo-this-9f8e7d';
      const denied = await call(guarded.url, '/v1/responses', { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'x-modeltap-key': 'wrong' }, body: '{}' });
      expect(denied.status).toBe(401);
      expect(denied.body.toString()).not.toContain(secret);
      const failed = await call(guarded.url, '/v1/responses', { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'x-modeltap-key': 'k-xyz', 'content-type': 'application/json', 'x-sim-fault': 'status:500' }, body: JSON.stringify({ model: 'm', input: secret }) });
      expect(failed.body.toString()).not.toContain(secret);
    } finally {
      await guarded.shutdown(0);
    }
  });
});
