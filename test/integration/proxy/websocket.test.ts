// The proxy's Responses WebSocket: relay to a WebSocket upstream, close mirroring, refusals, load,
// the HTTP bridge, and the telemetry of a connection.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ProxyServer } from '../../../src/proxy/server.js';
import { createProxy } from '../../../src/cli/create-proxy.js';
import { BRIDGE_HISTORY } from '../../../src/proxy/websocket-http-bridge.js';
import { startSim, type Sim } from '../../../src/sim/sim-server.js';
import { startFakeWsUpstream, simpleTurns, type FakeWsUpstream } from '../../helpers/fake-ws-upstream.js';
import { otelKit, waitForServerSpans } from '../../helpers/otel-kit.js';
import { assistantMessage, completed, frame, startFakeUpstream } from '../../helpers/fake-upstream.js';

let cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function proxyTo(upstream: string, extra: Partial<Parameters<typeof createProxy>[0]> = {}): Promise<ProxyServer> {
  const proxy = await createProxy({ upstream, port: 0, ...extra });
  cleanup.push(() => proxy.shutdown(0));
  return proxy;
}

async function sim(options: Parameters<typeof startSim>[0] = {}): Promise<Sim> {
  const s = await startSim(options);
  cleanup.push(() => s.close());
  return s;
}

async function fakeWs(...args: Parameters<typeof startFakeWsUpstream>): Promise<FakeWsUpstream> {
  const f = await startFakeWsUpstream(...args);
  cleanup.push(() => f.close());
  return f;
}

/** A WebSocket caller that collects text frames. */
async function connect(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; frames: string[]; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/responses`, { headers: { authorization: 'Bearer sk-ws', ...headers } });
  const frames: string[] = [];
  ws.on('message', (data) => frames.push(data.toString()));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  cleanup.push(async () => ws.terminate());
  return { ws, frames, closed };
}

/** Sends a request frame and waits until the frames include a completed (or failed) response. */
async function turn(caller: { ws: WebSocket; frames: string[] }, frame: unknown): Promise<Record<string, unknown>[]> {
  const start = caller.frames.length;
  caller.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  for (let i = 0; i < 500; i++) {
    const got = caller.frames.slice(start).map((f) => JSON.parse(f) as Record<string, unknown>);
    if (got.some((f) => f['type'] === 'response.completed' || f['type'] === 'response.failed' || f['type'] === 'error')) return got;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no completed response');
}

const create = (input: unknown, extra: Record<string, unknown> = {}) => ({ type: 'response.create', model: 'gpt-5.1-codex', input, ...extra });

describe('WebSocket relay to a WebSocket upstream', () => {
  it('carries two turns on one upstream socket, frames unchanged and in order, handshake headers included', async () => {
    const upstream = await fakeWs(simpleTurns(), { handshakeHeaders: { 'x-codex-turn-state': 'ts-ws', 'x-reasoning-included': 'true' } });
    const proxy = await proxyTo(`${upstream.url}/v1`);
    const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`, { headers: { authorization: 'Bearer sk-ws', 'openai-beta': 'responses_websockets=2026-02-06', 'session-id': 's1', 'x-modeltap-key': 'x' } });
    const upgraded = new Promise<import('node:http').IncomingMessage>((resolve) => ws.once('upgrade', resolve));
    const opened = new Promise((r) => ws.once('open', r));
    const frames: string[] = [];
    ws.on('message', (d) => frames.push(d.toString()));
    const upgrade = await upgraded;
    await opened;
    expect(upgrade.headers['x-codex-turn-state']).toBe('ts-ws');
    expect(upgrade.headers['x-reasoning-included']).toBe('true');
    const caller = { ws, frames };
    const first = await turn(caller, create([{ type: 'message', role: 'user', content: 'hi' }]));
    const second = await turn(caller, { type: 'response.create', previous_response_id: 'resp-1', input: [] });
    expect(first.map((f) => f['type'])).toEqual(['response.created', 'response.output_item.done', 'response.completed']);
    expect(second.at(-1)).toMatchObject({ type: 'response.completed', response: { id: 'resp-2' } });
    expect(upstream.connections).toHaveLength(1);
    expect(upstream.connections[0]?.frames).toEqual([create([{ type: 'message', role: 'user', content: 'hi' }]), { type: 'response.create', previous_response_id: 'resp-1', input: [] }]);
    expect(upstream.connections[0]?.headers).toMatchObject({ authorization: 'Bearer sk-ws', 'openai-beta': 'responses_websockets=2026-02-06', 'session-id': 's1' });
    expect(upstream.connections[0]?.headers['x-modeltap-key']).toBeUndefined();
    ws.terminate();
  });

  it('a frame the upstream cannot parse is relayed as sent', async () => {
    const upstream = await fakeWs(simpleTurns());
    const proxy = await proxyTo(`${upstream.url}/v1`);
    const caller = await connect(proxy.url);
    caller.ws.send('this is {not json');
    await turn(caller, create('after'));
    expect(upstream.connections[0]?.frames[0]).toBe('this is {not json');
  });

  it('caller closes → the upstream socket is closed with the same code', async () => {
    const upstream = await fakeWs(simpleTurns());
    const proxy = await proxyTo(`${upstream.url}/v1`);
    const caller = await connect(proxy.url);
    await turn(caller, create('hi'));
    caller.ws.close(4001, 'bye');
    expect(await upstream.connections[0]?.closed).toBe(4001);
  });

  it('upstream closes → the caller gets the mirrored code; upstream dies → 1011', async () => {
    const upstream = await fakeWs(simpleTurns());
    const proxy = await proxyTo(`${upstream.url}/v1`);
    const first = await connect(proxy.url);
    await turn(first, create('hi'));
    upstream.connections[0]?.socket.close(4002, 'upstream says bye');
    expect(await first.closed).toEqual({ code: 4002, reason: 'upstream says bye' });
    const second = await connect(proxy.url);
    await turn(second, create('hi'));
    upstream.connections[1]?.socket.terminate();
    expect((await second.closed).code).toBe(1011);
  });

  it('an upstream that refuses WebSocket makes the caller get 426 at once', async () => {
    const refusing = await sim({ websocket: false });
    const proxy = await proxyTo(`${refusing.url}/v1`);
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`);
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => reject(new Error('opened')));
      ws.once('error', () => undefined);
    });
    expect(status).toBe(426);
  });

  it('100 concurrent sockets × 5 turns each all complete, every frame accounted for', async () => {
    const upstream = await sim({ events: 3 });
    const proxy = await proxyTo(`${upstream.url}/v1`);
    const results = await Promise.all(
      Array.from({ length: 100 }, async (_, c) => {
        const caller = await connect(proxy.url);
        let frames = 0;
        for (let t = 0; t < 5; t++) frames += (await turn(caller, create(`socket ${c} turn ${t}`))).length;
        caller.ws.close();
        return frames;
      }),
    );
    const wsEntries = upstream.log.filter((e) => e.transport === 'websocket');
    expect(wsEntries).toHaveLength(500);
    const sent = wsEntries.reduce((acc, e) => acc + e.framesSent, 0);
    expect(results.reduce((a, b) => a + b, 0)).toBe(sent);
    expect(new Set(wsEntries.map((e) => e.connection)).size).toBe(100);
  }, 60_000);
});

describe('--ws-bridge: WebSocket callers, HTTP-only upstream', () => {
  it('turns each response.create into a streamed POST and expands previous_response_id from the connection history', async () => {
    let n = 0;
    const http = await startFakeUpstream((_req, res) => {
      n++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(
        frame({ type: 'response.created', response: { id: `resp-h${n}` } }) +
          frame({ type: 'response.output_item.done', item: assistantMessage(`answer ${n}`) }) +
          completed(`resp-h${n}`, { input_tokens: 1, output_tokens: 1, total_tokens: 2 }) +
          'data: [DONE]\n\n',
      );
    });
    cleanup.push(() => http.close());
    const proxy = await proxyTo(`${http.url}/v1`, { wsBridge: true });
    const caller = await connect(proxy.url);
    const hello = { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }] };
    const next = { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'next' }] };
    const warm = await turn(caller, create([hello], { generate: false, client_metadata: { x: 'y' } }));
    const warmId = (warm.at(-1)?.['response'] as { id: string }).id;
    expect(http.calls).toHaveLength(0); // the warm-up made no call
    const first = await turn(caller, create([next], { previous_response_id: warmId }));
    expect(first.map((f) => f['type'])).toEqual(['response.created', 'response.output_item.done', 'response.completed']);
    await turn(caller, create('third', { previous_response_id: 'resp-h1' }));
    const bodies = http.calls.map((c) => JSON.parse(c.body.toString()) as Record<string, unknown>);
    expect(bodies[0]).toEqual({ model: 'gpt-5.1-codex', input: [hello, next], stream: true });
    expect(bodies[1]?.['input']).toEqual([hello, next, assistantMessage('answer 1'), { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'third' }] }]);
    expect(http.calls[0]?.headers['authorization']).toBe('Bearer sk-ws');
  });

  it(`keeps the last ${BRIDGE_HISTORY} responses of a connection; an older or unknown previous_response_id gets previous_response_not_found`, async () => {
    let n = 0;
    const http = await startFakeUpstream((_req, res) => {
      n++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(frame({ type: 'response.output_item.done', item: assistantMessage(`answer ${n}`) }) + completed(`resp-b${n}`));
    });
    cleanup.push(() => http.close());
    const proxy = await proxyTo(`${http.url}/v1`, { wsBridge: true });
    const caller = await connect(proxy.url);
    for (let i = 1; i <= BRIDGE_HISTORY + 2; i++) await turn(caller, create(`turn ${i}`, i === 1 ? {} : { previous_response_id: `resp-b${i - 1}` }));
    const calls = http.calls.length;
    const evicted = await turn(caller, create('again', { previous_response_id: 'resp-b1' }));
    expect(evicted).toEqual([{ type: 'error', status: 400, error: { type: 'invalid_request_error', code: 'previous_response_not_found', message: "Previous response with id 'resp-b1' not found." } }]);
    expect(http.calls).toHaveLength(calls);
    const kept = await turn(caller, create('again', { previous_response_id: 'resp-b3' }));
    expect(kept.at(-1)?.['type']).toBe('response.completed');
    const body = JSON.parse(http.calls.at(-1)?.body.toString() ?? '{}') as { input: unknown[] };
    expect(body.input).toHaveLength(3 * 2 + 1); // turns 1-3, each a user message and an answer, then 'again'
  });
});

describe('WebSocket telemetry', () => {
  it('one connection with two turns: one connection span, two turn spans with usage, frames counted', async () => {
    const kit = otelKit();
    cleanup.push(() => kit.runtime.shutdown());
    const upstream = await sim({ events: 3, usage: { inputTokens: 11, outputTokens: 3 } });
    const proxy = await proxyTo(`${upstream.url}/v1`, ...(kit.runtime.telemetry ? [{ telemetry: kit.runtime.telemetry }] : []));
    const caller = await connect(proxy.url);
    const a = await turn(caller, create('one'));
    const b = await turn(caller, create('two'));
    caller.ws.close();
    const spans = await waitForServerSpans(kit, 1);
    const server = spans.filter((s) => s.kind === 1);
    const turns = spans.filter((s) => s.name.startsWith('chat '));
    expect(server.map((s) => s.name)).toEqual(['GET /v1/responses']);
    expect(turns).toHaveLength(2);
    for (const t of turns) {
      expect(t.parentSpanContext?.spanId).toBe(server[0]?.spanContext().spanId);
      expect(t.attributes).toMatchObject({ 'modeltap.transport': 'websocket', 'gen_ai.usage.input_tokens': 11, 'gen_ai.usage.output_tokens': 3, 'gen_ai.request.model': 'gpt-5.1-codex' });
    }
    const metrics = await kit.metrics();
    const count = (name: string) => (metrics.get(name)?.points ?? []).reduce((acc, p) => acc + (typeof p.value === 'number' ? p.value : p.value.count), 0);
    expect(count('modeltap.websocket.request')).toBe(2);
    expect(count('modeltap.websocket.event')).toBe(a.length + b.length + 1); // + the close frame
  });
});
