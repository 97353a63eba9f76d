// The upstream fault matrix: for each fault, what the caller receives (asserted exactly), that no
// socket or timer is left behind once proxy and upstream are shut down, and what telemetry records
// (through the real OTel SDK with in-memory exporters).
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ProxyServer } from '../../../src/proxy/server.js';
import { createProxy } from '../../../src/cli/create-proxy.js';
import { completed, frame, reset, sse, startFakeUpstream, type FakeUpstream, type Handler } from '../../helpers/fake-upstream.js';
import { startFakeWsUpstream } from '../../helpers/fake-ws-upstream.js';
import { otelKit, waitForServerSpans, type OtelKit } from '../../helpers/otel-kit.js';

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

interface Setup {
  proxy: ProxyServer;
  upstream: FakeUpstream;
  kit: OtelKit;
}

async function through(handlers: Handler | Handler[], extra: Partial<Parameters<typeof createProxy>[0]> = {}): Promise<Setup> {
  baseline = handles();
  const kit = otelKit();
  const upstream = await startFakeUpstream(handlers);
  const proxy = await createProxy({ upstream: `${upstream.url}/v1`, port: 0, requestMaxRetries: 2, streamIdleTimeoutMs: 2000, ...extra, ...(kit.runtime.telemetry ? { telemetry: kit.runtime.telemetry } : {}) });
  stop.push(() => kit.runtime.shutdown(), () => upstream.close(), () => proxy.shutdown(0));
  return { proxy, upstream, kit };
}

async function post(proxy: ProxyServer, body: unknown = { model: 'm', input: 'x', stream: true }): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const res = await fetch(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

const SERVER = 1;
const CLIENT = 2;

/** What telemetry recorded for the one request of a test. */
async function recorded(kit: OtelKit): Promise<{
  server: { status: unknown; error: unknown };
  operation: { error: unknown; events: number | undefined } | undefined;
  attempts: unknown[];
  serverMetric: Record<string, unknown>[];
  retries: number;
}> {
  const spans = await waitForServerSpans(kit, 1);
  const server = spans.find((s) => s.kind === SERVER) as ReadableSpan;
  const op = spans.find((s) => s.kind === CLIENT && s.name.startsWith('chat '));
  const metrics = await kit.metrics();
  return {
    server: { status: server.attributes['http.response.status_code'], error: server.attributes['error.type'] },
    operation: op === undefined ? undefined : { error: op.attributes['error.type'], events: op.attributes['modeltap.sse.events'] as number | undefined },
    attempts: spans.filter((s) => s.kind === CLIENT && !s.name.startsWith('chat ')).map((s) => s.attributes['error.type'] ?? s.attributes['http.response.status_code']),
    serverMetric: (metrics.get('http.server.request.duration')?.points ?? []).map((p) => p.attributes),
    retries: (metrics.get('modeltap.upstream.retries')?.points ?? []).reduce((n, p) => n + (p.value as number), 0),
  };
}

/** The last SSE frame of a relayed stream, parsed. */
function lastFrame(bytes: Buffer): { event: string; data: Record<string, unknown> } {
  const last = bytes.toString().trimEnd().split('\n\n').at(-1) ?? '';
  return { event: /^event: (.*)$/m.exec(last)?.[1] ?? '', data: JSON.parse(/^data: (.*)$/m.exec(last)?.[1] ?? 'null') as Record<string, unknown> };
}

describe('upstream fault matrix', () => {
  it('connection refused: 502 upstream_unreachable after the retries', async () => {
    const { proxy, upstream, kit } = await through(() => undefined);
    const gone = await startFakeUpstream(() => undefined);
    const deadUrl = gone.url;
    await gone.close();
    await proxy.shutdown(0);
    const lonely = await createProxy({ upstream: `${deadUrl}/v1`, port: 0, requestMaxRetries: 2, ...(kit.runtime.telemetry ? { telemetry: kit.runtime.telemetry } : {}) });
    stop.push(() => lonely.shutdown(0));
    const reply = await post(lonely);
    expect(reply.status).toBe(502);
    expect(JSON.parse(reply.bytes.toString())).toEqual({ error: { message: expect.stringMatching(/^upstream unreachable/) as unknown, type: 'server_error', param: null, code: 'upstream_unreachable' } });
    expect(upstream.calls).toHaveLength(0);
    const t = await recorded(kit);
    expect(t.server).toEqual({ status: 502, error: 'connection_failed' });
    expect(t.attempts).toEqual(['network', 'network', 'network']);
    expect(t.retries).toBe(2);
    expect(t.serverMetric).toEqual([expect.objectContaining({ 'http.response.status_code': 502, 'error.type': 'connection_failed' })]);
  });

  it('a slow response head within the idle timeout: relayed in full, no error', async () => {
    const body = frame({ type: 'response.created', response: { id: 'r' } }) + completed('r');
    const { proxy, kit } = await through(async (_req, res) => {
      await new Promise((r) => setTimeout(r, 400));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(body);
    });
    const reply = await post(proxy);
    expect(reply.status).toBe(200);
    expect(reply.bytes.toString()).toBe(body);
    const t = await recorded(kit);
    expect(t.server).toEqual({ status: 200, error: undefined });
    expect(t.operation).toEqual({ error: undefined, events: 2 });
    expect(t.attempts).toEqual([200]);
  });

  it('a response head later than the idle timeout: 504 upstream_timeout, not retried', async () => {
    const { proxy, upstream, kit } = await through(async (_req, res) => {
      await new Promise((r) => setTimeout(r, 1500));
      if (!res.destroyed) res.end();
    }, { streamIdleTimeoutMs: 300, requestMaxRetries: 0 });
    const reply = await post(proxy);
    expect(reply.status).toBe(504);
    expect(JSON.parse(reply.bytes.toString()).error).toMatchObject({ type: 'server_error', code: 'upstream_timeout' });
    expect(upstream.calls).toHaveLength(1);
    const t = await recorded(kit);
    expect(t.server).toEqual({ status: 504, error: 'timeout' });
    expect(t.attempts).toEqual(['timeout']);
  });

  it('429 with retry-after: passed through as is, with its headers, not retried', async () => {
    const body = JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limit_exceeded' } });
    const { proxy, upstream, kit } = await through((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7', 'x-ratelimit-remaining-requests': '0' });
      res.end(body);
    });
    const reply = await post(proxy);
    expect(reply.status).toBe(429);
    expect(reply.headers.get('retry-after')).toBe('7');
    expect(reply.bytes.toString()).toBe(body);
    expect(upstream.calls).toHaveLength(1);
    const t = await recorded(kit);
    expect(t.server).toEqual({ status: 429, error: '429' });
    expect(t.attempts).toEqual(['429']);
    expect(t.retries).toBe(0);
  });

  it('a burst of 5xx beyond the retries: the last 5xx, passed through', async () => {
    const { proxy, upstream, kit } = await through((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"busy","type":"server_error","code":null}}');
    });
    const reply = await post(proxy);
    expect(reply.status).toBe(503);
    expect(reply.bytes.toString()).toBe('{"error":{"message":"busy","type":"server_error","code":null}}');
    expect(upstream.calls).toHaveLength(3);
    const t = await recorded(kit);
    expect(t.server).toEqual({ status: 503, error: '503' });
    expect(t.attempts).toEqual(['503', '503', '503']);
    expect(t.retries).toBe(2);
  });

  it('reset before the head: 502 upstream_unreachable after the retries', async () => {
    const { proxy, upstream, kit } = await through(reset);
    const reply = await post(proxy);
    expect(reply.status).toBe(502);
    expect(JSON.parse(reply.bytes.toString()).error.code).toBe('upstream_unreachable');
    expect(upstream.calls).toHaveLength(3);
    const t = await recorded(kit);
    expect(t.server).toEqual({ status: 502, error: 'connection_failed' });
    expect(t.attempts).toEqual(['network', 'network', 'network']);
  });

  it('reset mid-stream: what arrived, then an upstream_disconnected error event, then a clean end', async () => {
    const created = frame({ type: 'response.created', response: { id: 'r' } });
    const { proxy, kit } = await through(async (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(created);
      await new Promise((r) => setTimeout(r, 30));
      req.socket.destroy();
    });
    const reply = await post(proxy);
    expect(reply.status).toBe(200);
    expect(reply.bytes.toString().startsWith(created)).toBe(true);
    expect(lastFrame(reply.bytes)).toEqual({ event: 'error', data: { type: 'error', code: 'upstream_disconnected', message: expect.any(String) as unknown, param: null } });
    const t = await recorded(kit);
    expect(t.server).toEqual({ status: 200, error: 'stream' });
    expect(t.operation).toEqual({ error: 'stream', events: 1 });
  });

  it('a stall beyond the idle timeout: an upstream_timeout error event, counted as an idle timeout', async () => {
    const created = frame({ type: 'response.created', response: { id: 'r' } });
    const { proxy, kit } = await through(sse([created], { end: false }), { streamIdleTimeoutMs: 300 });
    const reply = await post(proxy);
    expect(reply.status).toBe(200);
    expect(reply.bytes.toString().startsWith(created)).toBe(true);
    expect(lastFrame(reply.bytes).data).toMatchObject({ type: 'error', code: 'upstream_timeout' });
    const t = await recorded(kit);
    expect(t.server).toEqual({ status: 200, error: 'stream' });
    const polls = (await kit.metrics()).get('modeltap.sse_event')?.points.map((p) => [p.attributes['kind'], p.attributes['success'], p.value]);
    expect(polls).toEqual(expect.arrayContaining([['response.created', 'true', 1], ['unknown', 'false', 1]]));
  });

  it('malformed SSE (data that is not JSON): relayed as sent, counted as failed events', async () => {
    const body = `event: response.output_text.delta\ndata: {not json\n\n${completed('r')}`;
    const { proxy, kit } = await through(sse(body));
    const reply = await post(proxy);
    expect(reply.bytes.toString()).toBe(body);
    const t = await recorded(kit);
    expect(t.server).toEqual({ status: 200, error: undefined });
    const polls = (await kit.metrics()).get('modeltap.sse_event')?.points.map((p) => [p.attributes['kind'], p.attributes['success'], p.value]);
    expect(polls).toEqual(expect.arrayContaining([['response.output_text.delta', 'false', 1], ['response.completed', 'true', 1]]));
  });

  it('a single 8 MiB event is relayed intact', async () => {
    const big = frame({ type: 'response.output_text.delta', delta: 'x'.repeat(8 * 1024 * 1024) });
    const stream = big + completed('r');
    const { proxy, kit } = await through((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(stream);
    });
    const reply = await post(proxy);
    expect(reply.bytes.equals(Buffer.from(stream))).toBe(true);
    expect((await recorded(kit)).operation).toEqual({ error: undefined, events: 2 });
  });

  it('a multi-byte character split across chunks is relayed byte for byte', async () => {
    const stream = Buffer.from(frame({ type: 'response.output_text.delta', delta: '🎉 日本語 ünï' }) + completed('r'));
    const split = stream.indexOf(0xf0) + 2;
    const { proxy, kit } = await through(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(stream.subarray(0, split));
      await new Promise((r) => setTimeout(r, 20));
      res.end(stream.subarray(split));
    });
    expect((await post(proxy)).bytes.equals(stream)).toBe(true);
    const t = await recorded(kit);
    expect(t.operation).toEqual({ error: undefined, events: 2 });
    const polls = (await kit.metrics()).get('modeltap.sse_event')?.points.map((p) => [p.attributes['kind'], p.attributes['success'], p.value]);
    expect(polls).toEqual(expect.arrayContaining([['response.output_text.delta', 'true', 1]]));
  });

  it('a truncated SSE frame at EOF: relayed as sent, then the error event', async () => {
    const cut = `${frame({ type: 'response.created', response: { id: 'r' } })}data: {"type":"response.output_te`;
    const { proxy, kit } = await through((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(cut);
    });
    const text = (await post(proxy)).bytes.toString();
    expect(text.startsWith(cut)).toBe(true);
    expect(text.slice(cut.length)).toMatch(/^event: error\ndata: \{"type":"error","code":"upstream_disconnected","message":"stream disconnected before completion: stream closed before response.completed","param":null\}\n\n$/);
    const t = await recorded(kit);
    expect(t.server).toEqual({ status: 200, error: 'stream' });
    expect(t.operation).toEqual({ error: 'stream', events: 1 });
  });

  it('a WebSocket upstream that closes abnormally: the caller gets 1011', async () => {
    baseline = handles();
    const upstream = await startFakeWsUpstream((_r, send, conn) => {
      send({ type: 'response.created', response: { id: 'r' } });
      conn.socket.terminate();
    });
    const kit = otelKit();
    const proxy = await createProxy({ upstream: `${upstream.url}/v1`, port: 0, ...(kit.runtime.telemetry ? { telemetry: kit.runtime.telemetry } : {}) });
    stop.push(() => kit.runtime.shutdown(), () => upstream.close(), () => proxy.shutdown(0));
    const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`);
    const frames: string[] = [];
    ws.on('message', (d) => frames.push(d.toString()));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'response.create', model: 'm', input: 'x' }));
    const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    expect(code).toBe(1011);
    expect(frames.map((f) => JSON.parse(f).type)).toEqual(['response.created']);
    const t = await recorded(kit);
    expect(t.server).toEqual({ status: 101, error: 'websocket_closed' });
    expect(t.operation?.error).toBe('websocket_closed');
    expect(t.serverMetric).toEqual([expect.objectContaining({ 'http.response.status_code': 101, 'error.type': 'websocket_closed' })]);
  });
});

describe('caller faults', () => {
  it('a caller that aborts before the head: the upstream request is aborted within a second', async () => {
    const { proxy, upstream, kit } = await through(async (_req, res) => {
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
    const t = await recorded(kit);
    expect(t.server.error).toBe('aborted');
    expect(t.operation?.error).toBe('aborted');
    expect(t.attempts).toEqual(['aborted']);
  });

  it('a WebSocket caller that goes away mid-turn: the upstream socket is closed within a second', async () => {
    baseline = handles();
    const upstream = await startFakeWsUpstream((_r, send) => send({ type: 'response.created', response: { id: 'r' } }));
    const proxy = await createProxy({ upstream: `${upstream.url}/v1`, port: 0 });
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
