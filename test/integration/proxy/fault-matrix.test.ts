// The upstream fault matrix not covered elsewhere: what the caller receives (asserted exactly),
// and that no socket or timer is left behind once proxy and upstream are shut down.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startProxy, type ProxyServer } from '../../../src/proxy/server.js';
import { completed, frame, reset, startFakeUpstream, type FakeUpstream, type Handler } from '../../helpers/fake-upstream.js';
import { startFakeWsUpstream } from '../../helpers/fake-ws-upstream.js';

/** Open sockets and timers of this process (the test hosts caller, proxy and upstream). */
function handles(): { sockets: number; timers: number } {
  const info = process.getActiveResourcesInfo();
  return { sockets: info.filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length, timers: info.filter((r) => r === 'Timeout').length };
}

let baseline = handles();
let stop: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of stop.reverse()) await fn();
  stop = [];
  // Nothing is left behind: sockets and timers return to where they were (bounded wait).
  for (let i = 0; i < 100 && (handles().sockets > baseline.sockets || handles().timers > baseline.timers); i++) await new Promise((r) => setTimeout(r, 20));
  expect(handles().sockets).toBeLessThanOrEqual(baseline.sockets);
  expect(handles().timers).toBeLessThanOrEqual(baseline.timers);
});

async function through(handlers: Handler | Handler[], extra: Partial<Parameters<typeof startProxy>[0]> = {}): Promise<{ proxy: ProxyServer; upstream: FakeUpstream }> {
  baseline = handles();
  const upstream = await startFakeUpstream(handlers);
  const proxy = await startProxy({ upstream: `${upstream.url}/v1`, port: 0, requestMaxRetries: 2, streamIdleTimeoutMs: 2000, ...extra });
  stop.push(() => upstream.close(), () => proxy.shutdown(0));
  return { proxy, upstream };
}

async function post(proxy: ProxyServer, body: unknown = { model: 'm', input: 'x', stream: true }): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const res = await fetch(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

describe('upstream fault matrix', () => {
  it('429 with retry-after: passed through as is, with its headers, not retried', async () => {
    const body = JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limit_exceeded' } });
    const { proxy, upstream } = await through((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7', 'x-ratelimit-remaining-requests': '0' });
      res.end(body);
    });
    const reply = await post(proxy);
    expect(reply.status).toBe(429);
    expect(reply.headers.get('retry-after')).toBe('7');
    expect(reply.bytes.toString()).toBe(body);
    expect(upstream.calls).toHaveLength(1);
  });

  it('a burst of 5xx beyond the retries: the last 5xx, passed through', async () => {
    const { proxy, upstream } = await through((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"busy","type":"server_error","code":null}}');
    });
    const reply = await post(proxy);
    expect(reply.status).toBe(503);
    expect(upstream.calls).toHaveLength(3);
  });

  it('reset before the head: 502 upstream_unreachable after the retries', async () => {
    const { proxy, upstream } = await through(reset);
    const reply = await post(proxy);
    expect(reply.status).toBe(502);
    expect(JSON.parse(reply.bytes.toString()).error.code).toBe('upstream_unreachable');
    expect(upstream.calls).toHaveLength(3);
  });

  it('a single 8 MiB event is relayed intact', async () => {
    const big = frame({ type: 'response.output_text.delta', delta: 'x'.repeat(8 * 1024 * 1024) });
    const stream = big + completed('r');
    const { proxy } = await through((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(stream);
    });
    const reply = await post(proxy);
    expect(reply.bytes.equals(Buffer.from(stream))).toBe(true);
  });

  it('a multi-byte character split across chunks is relayed byte for byte', async () => {
    const stream = Buffer.from(frame({ type: 'response.output_text.delta', delta: '🎉 日本語 ünï' }) + completed('r'));
    const split = stream.indexOf(0xf0) + 2;
    const { proxy } = await through(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(stream.subarray(0, split));
      await new Promise((r) => setTimeout(r, 20));
      res.end(stream.subarray(split));
    });
    expect((await post(proxy)).bytes.equals(stream)).toBe(true);
  });

  it('a truncated SSE frame at EOF: relayed as sent, then the error event', async () => {
    const cut = `${frame({ type: 'response.created', response: { id: 'r' } })}data: {"type":"response.output_te`;
    const { proxy } = await through((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(cut);
    });
    const text = (await post(proxy)).bytes.toString();
    expect(text.startsWith(cut)).toBe(true);
    expect(text.slice(cut.length)).toMatch(/^event: error\ndata: \{"type":"error","code":"upstream_disconnected","message":"stream disconnected before completion: stream closed before response.completed","param":null\}\n\n$/);
  });

  it('a WebSocket upstream that closes abnormally: the caller gets 1011', async () => {
    baseline = handles();
    const upstream = await startFakeWsUpstream((_r, send, conn) => {
      send({ type: 'response.created', response: { id: 'r' } });
      conn.socket.terminate();
    });
    const proxy = await startProxy({ upstream: `${upstream.url}/v1`, port: 0 });
    stop.push(() => upstream.close(), () => proxy.shutdown(0));
    const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`);
    const frames: string[] = [];
    ws.on('message', (d) => frames.push(d.toString()));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'response.create', model: 'm', input: 'x' }));
    const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    expect(code).toBe(1011);
    expect(frames.map((f) => JSON.parse(f).type)).toEqual(['response.created']);
  });
});

describe('caller faults', () => {
  it('a caller that aborts before the head: the upstream request is aborted within a second', async () => {
    const { proxy, upstream } = await through(async (_req, res) => {
      await new Promise((r) => setTimeout(r, 3000));
      if (!res.destroyed) res.end();
    });
    const controller = new AbortController();
    const pending = fetch(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m","input":"x","stream":true}', signal: controller.signal }).catch((e: unknown) => e);
    for (let i = 0; i < 100 && upstream.calls.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const abortedAt = performance.now();
    controller.abort();
    await pending;
    await upstream.calls[0]?.closed;
    expect(performance.now() - abortedAt).toBeLessThan(1000);
  });

  it('a WebSocket caller that goes away mid-turn: the upstream socket is closed within a second', async () => {
    baseline = handles();
    const upstream = await startFakeWsUpstream((_r, send) => send({ type: 'response.created', response: { id: 'r' } }));
    const proxy = await startProxy({ upstream: `${upstream.url}/v1`, port: 0 });
    stop.push(() => upstream.close(), () => proxy.shutdown(0));
    const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`);
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'response.create', model: 'm', input: 'x' }));
    await new Promise((r) => ws.once('message', r));
    const goneAt = performance.now();
    ws.terminate();
    await upstream.connections[0]?.closed;
    expect(performance.now() - goneAt).toBeLessThan(1000);
  });
});
