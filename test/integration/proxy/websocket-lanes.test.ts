// WebSocket turns by lane (`stream_id`) and by order, and turns cut short: the simulator's lanes,
// then modeltap in front of it (and of loopback upstreams that hold or drop a turn), with raw `ws`
// callers. Every turn must get its own span, usage and outcome, on spans, metrics and the summary.
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { Histogram } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ProxyServer } from '../../../src/proxy/server.js';
import { startSim, type Sim } from '../../../src/sim/sim-server.js';
import type { RunSummary } from '../../../src/summary/summary-recorder.js';
import { startFakeWsUpstream, type FakeWsUpstream, type WsScript } from '../../helpers/fake-ws-upstream.js';
import { proxyWithKit, waitForServerSpans, type OtelKit } from '../../helpers/otel-kit.js';

let cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

type Frame = Record<string, unknown>;

async function sim(options: Parameters<typeof startSim>[0] = {}): Promise<Sim> {
  const s = await startSim(options);
  cleanup.push(() => s.close());
  return s;
}

async function fakeWs(script: WsScript): Promise<FakeWsUpstream> {
  const f = await startFakeWsUpstream(script);
  cleanup.push(() => f.close());
  return f;
}

const withKit = (upstream: string, extra: Parameters<typeof proxyWithKit>[2] = {}): ReturnType<typeof proxyWithKit> => proxyWithKit(upstream, (stop) => cleanup.push(stop), extra);

/** A raw WebSocket caller that parses every text frame it receives. */
async function connect(base: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; frames: Frame[]; closed: Promise<number> }> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/responses`, { headers: { authorization: 'Bearer sk-lanes', ...headers } });
  const frames: Frame[] = [];
  ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as Frame));
  ws.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  cleanup.push(async () => ws.terminate());
  return { ws, frames, closed };
}

/** Waits (bounded: 10 s) until `done` holds; the frames arrive as events, this only looks. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (done()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${what} did not happen`);
}

const completedOf = (frames: Frame[]): Frame[] => frames.filter((f) => f['type'] === 'response.completed');
const create = (input: string, extra: Frame = {}): string => JSON.stringify({ type: 'response.create', model: 'gpt-5.1', input, ...extra });
const usageOf = (f: Frame): { input_tokens: number; output_tokens: number } => (f['response'] as { usage: { input_tokens: number; output_tokens: number } }).usage;
const idOf = (f: Frame): string => (f['response'] as { id: string }).id;

const chatSpans = (spans: ReadableSpan[]): ReadableSpan[] => spans.filter((s) => s.name.startsWith('chat '));

async function summary(proxy: ProxyServer): Promise<RunSummary> {
  return (await (await fetch(`${proxy.url}/modeltap/summary`)).json()) as RunSummary;
}

/** The sum of a histogram's values per value of its attribute `key`. */
async function histogramSums(kit: OtelKit, name: string, key: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const p of (await kit.metrics()).get(name)?.points ?? []) {
    const k = String(p.attributes[key]);
    out[k] = (out[k] ?? 0) + ((p.value as Histogram).sum ?? 0);
  }
  return out;
}

/** Counts of a histogram's points by the value of `key` (`undefined` when absent). */
async function histogramCounts(kit: OtelKit, name: string, key: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const p of (await kit.metrics()).get(name)?.points ?? []) {
    const k = String(p.attributes[key]);
    out[k] = (out[k] ?? 0) + (p.value as Histogram).count;
  }
  return out;
}

describe('the simulator: stream_id lanes as the API has them', () => {
  it('each event echoes its lane; the default lane has none; lanes interleave; a lane answers in order', async () => {
    const s = await sim({ events: 12 });
    // A gap between events keeps each response in flight long enough for the other lane's to start.
    const caller = await connect(s.url, { 'x-sim-gap-ms': '20' });
    caller.ws.send(create('on a', { stream_id: 'a' }));
    caller.ws.send(create('on b', { stream_id: 'b' }));
    caller.ws.send(create('again on a', { stream_id: 'a' }));
    caller.ws.send(create('default lane'));
    await until(() => completedOf(caller.frames).length === 4, 'four completed responses');
    const lanes = caller.frames.map((f) => f['stream_id']);
    expect(new Set(lanes)).toEqual(new Set(['a', 'b', undefined]));
    const of = (lane: string | undefined): Frame[] => caller.frames.filter((f) => f['stream_id'] === lane);
    expect(completedOf(of('a'))).toHaveLength(2);
    expect(completedOf(of('b'))).toHaveLength(1);
    expect(completedOf(of(undefined))).toHaveLength(1);
    // Lane a: the second response starts only after the first completed.
    const a = of('a').map((f) => f['type']);
    expect(a.indexOf('response.completed')).toBeLessThan(a.lastIndexOf('response.created'));
    expect(a.filter((t) => t === 'response.created')).toHaveLength(2);
    // Lanes are not serialised: b started before a's first response completed.
    const firstCompletedA = caller.frames.findIndex((f) => f['stream_id'] === 'a' && f['type'] === 'response.completed');
    const firstCreatedB = caller.frames.findIndex((f) => f['stream_id'] === 'b' && f['type'] === 'response.created');
    expect(firstCreatedB).toBeLessThan(firstCompletedA);
    expect(s.log.filter((e) => e.transport === 'websocket').map((e) => e.streamId)).toEqual(['a', 'b', undefined, 'a']);
  });
});

/**
 * A first turn on the default lane, then two creates sent back to back (`lanes`: their stream_ids,
 * undefined for the default lane); checks that every number modeltap reports is the sum of what the
 * three completed events said.
 */
async function threeTurns(lanes: [string | undefined, string | undefined], gapMs: string): Promise<void> {
  const upstream = await sim({ events: 6 });
  const { proxy, kit } = await withKit(`${upstream.url}/v1`);
  const caller = await connect(proxy.url, { 'x-sim-gap-ms': gapMs });
  caller.ws.send(create('the first turn'));
  await until(() => completedOf(caller.frames).length === 1, 'the first turn');
  // Inputs of different lengths: the sim's input tokens follow the frame's size.
  caller.ws.send(create('a second turn, somewhat longer', lanes[0] === undefined ? {} : { stream_id: lanes[0] }));
  caller.ws.send(create('a third turn, longer than the second one by a good margin', lanes[1] === undefined ? {} : { stream_id: lanes[1] }));
  await until(() => completedOf(caller.frames).length === 3, 'three completed responses');
  caller.ws.close();
  const completed = completedOf(caller.frames);
  const spans = await waitForServerSpans(kit, 1);
  const turns = chatSpans(spans);
  expect(turns).toHaveLength(3);
  for (const c of completed) {
    const span = turns.find((t) => t.attributes['gen_ai.response.id'] === idOf(c));
    expect(span?.attributes, idOf(c)).toMatchObject({ 'gen_ai.usage.input_tokens': usageOf(c).input_tokens, 'gen_ai.usage.output_tokens': usageOf(c).output_tokens });
    expect(span?.attributes['error.type']).toBeUndefined();
  }
  expect(new Set(completed.map((c) => usageOf(c).input_tokens)).size).toBe(3);
  const input = completed.reduce((a, c) => a + usageOf(c).input_tokens, 0);
  const output = completed.reduce((a, c) => a + usageOf(c).output_tokens, 0);
  expect(await histogramSums(kit, 'gen_ai.client.token.usage', 'gen_ai.token.type')).toEqual({ input, output });
  expect(await histogramCounts(kit, 'gen_ai.client.operation.duration', 'error.type')).toEqual({ undefined: 3 });
  const server = spans.find((s) => s.kind === 1);
  expect(server?.attributes['error.type']).toBeUndefined();
  const group = (await summary(proxy)).groups.find((g) => g.transport === 'websocket');
  expect(group).toMatchObject({ count: 3, errors: {}, tokens: { input, output } });
}

describe('turns on one socket, through modeltap', () => {
  it('a first turn, then two response.create on two lanes back to back: three spans, each its own usage, sums equal, none aborted', async () => {
    await threeTurns(['a', 'b'], '2');
  });

  it('the same on the default lane (FIFO): three spans, each its own usage, none aborted', async () => {
    await threeTurns([undefined, undefined], '0');
  });

  it('an upstream that does not echo stream_id: turns follow by order', async () => {
    let n = 0;
    // Answers each request in full at once, without stream_id (an older server).
    const upstream = await fakeWs((_request, send) => {
      n++;
      send({ type: 'response.created', response: { id: `resp-${n}` } });
      send({ type: 'response.output_text.delta', delta: 'x' });
      send({ type: 'response.completed', response: { id: `resp-${n}`, usage: { input_tokens: 10 * n, output_tokens: n, total_tokens: 11 * n } } });
    });
    const { proxy, kit } = await withKit(`${upstream.url}/v1`);
    const caller = await connect(proxy.url);
    caller.ws.send(create('one', { stream_id: 'a' }));
    caller.ws.send(create('two', { stream_id: 'b' }));
    await until(() => completedOf(caller.frames).length === 2, 'two completed responses');
    caller.ws.close();
    const turns = chatSpans(await waitForServerSpans(kit, 1));
    expect(turns.map((t) => [t.attributes['gen_ai.response.id'], t.attributes['gen_ai.usage.input_tokens'], t.attributes['error.type']]).sort()).toEqual([
      ['resp-1', 10, undefined],
      ['resp-2', 20, undefined],
    ]);
  });

  it('--ws-bridge: lanes run concurrently, each event echoes its lane, each turn its own usage', async () => {
    const upstream = await sim({ events: 6, websocket: false });
    const { proxy, kit } = await withKit(`${upstream.url}/v1`, { wsBridge: true });
    // Lane a streams for 300 ms (6 events, 50 ms apart): time enough for lane b's HTTP request to be answered on a loaded machine.
    const caller = await connect(proxy.url, { 'x-sim-gap-ms': '50' });
    caller.ws.send(create('on lane a', { stream_id: 'a' }));
    caller.ws.send(create('on lane b, a longer input', { stream_id: 'b' }));
    caller.ws.send(create('on the default lane, the longest input of the three'));
    await until(() => completedOf(caller.frames).length === 3, 'three completed responses');
    caller.ws.close();
    for (const lane of ['a', 'b', undefined]) {
      const frames = caller.frames.filter((f) => f['stream_id'] === lane);
      expect(frames.map((f) => f['type'])[0], String(lane)).toBe('response.created');
      expect(completedOf(frames), String(lane)).toHaveLength(1);
    }
    // Not serialised: lane b's response started before lane a's completed.
    const completedA = caller.frames.findIndex((f) => f['stream_id'] === 'a' && f['type'] === 'response.completed');
    const createdB = caller.frames.findIndex((f) => f['stream_id'] === 'b' && f['type'] === 'response.created');
    expect(createdB).toBeLessThan(completedA);
    // The upstream got no stream_id: it is WebSocket-only.
    expect(upstream.log.filter((e) => e.method === 'POST')).toHaveLength(3);
    const turns = chatSpans(await waitForServerSpans(kit, 1));
    for (const c of completedOf(caller.frames)) {
      expect(turns.find((t) => t.attributes['gen_ai.response.id'] === idOf(c))?.attributes['gen_ai.usage.input_tokens']).toBe(usageOf(c).input_tokens);
    }
    expect(turns.every((t) => t.attributes['error.type'] === undefined)).toBe(true);
  });
});

const DELTAS = 200;
const SENT_BEFORE_HOLD = 25;

/**
 * An upstream that answers with `response.created` and the first {@link SENT_BEFORE_HOLD} of
 * {@link DELTAS} deltas, then holds the rest (until the connection closes) or, with `close`, closes.
 */
function holding(close?: number): WsScript {
  return (_request, send, connection) => {
    send({ type: 'response.created', response: { id: 'resp-held', model: 'gpt-5.1' } });
    for (let i = 0; i < SENT_BEFORE_HOLD; i++) send({ type: 'response.output_text.delta', delta: `d${i} ` });
    if (close !== undefined) connection.socket.close(close, 'upstream done');
  };
}

/** The one turn's span, the operation-duration error types, the summary's errors and the SERVER span's error type. */
async function outcome(kit: OtelKit, proxy: ProxyServer): Promise<{ turn: unknown; duration: Record<string, number>; errors: unknown; server: unknown }> {
  const spans = await waitForServerSpans(kit, 1);
  const turns = chatSpans(spans);
  expect(turns).toHaveLength(1);
  const group = (await summary(proxy)).groups.find((g) => g.transport === 'websocket');
  return {
    turn: turns[0]?.attributes['error.type'],
    duration: await histogramCounts(kit, 'gen_ai.client.operation.duration', 'error.type'),
    errors: group?.errors,
    server: spans.find((s) => s.kind === 1)?.attributes['error.type'],
  };
}

describe('a turn cut short', () => {
  it(`the caller closes after ${SENT_BEFORE_HOLD} of ${DELTAS} frames: aborted on the span, the duration metric, the summary and the SERVER span`, async () => {
    const upstream = await fakeWs(holding());
    const { proxy, kit } = await withKit(`${upstream.url}/v1`);
    const caller = await connect(proxy.url);
    caller.ws.send(create('a long answer'));
    await until(() => caller.frames.length === 1 + SENT_BEFORE_HOLD, `${SENT_BEFORE_HOLD} frames`);
    caller.ws.close(1000);
    expect(await outcome(kit, proxy)).toEqual({ turn: 'aborted', duration: { aborted: 1 }, errors: { aborted: 1 }, server: 'aborted' });
  });

  it('the caller resets the connection: aborted', async () => {
    const upstream = await fakeWs(holding());
    const { proxy, kit } = await withKit(`${upstream.url}/v1`);
    const caller = await connect(proxy.url);
    caller.ws.send(create('a long answer'));
    await until(() => caller.frames.length === 1 + SENT_BEFORE_HOLD, `${SENT_BEFORE_HOLD} frames`);
    caller.ws.terminate();
    expect((await outcome(kit, proxy)).turn).toBe('aborted');
  });

  for (const code of [1000, 1011]) {
    it(`the upstream closes (${code}) mid-turn: websocket_closed on the span, the duration metric, the summary and the SERVER span`, async () => {
      const upstream = await fakeWs(holding(code));
      const { proxy, kit } = await withKit(`${upstream.url}/v1`);
      const caller = await connect(proxy.url);
      caller.ws.send(create('a long answer'));
      expect(await caller.closed).toBe(code);
      expect(caller.frames).toHaveLength(1 + SENT_BEFORE_HOLD);
      expect(await outcome(kit, proxy)).toEqual({ turn: 'websocket_closed', duration: { websocket_closed: 1 }, errors: { websocket_closed: 1 }, server: 'websocket_closed' });
    });
  }

  it('the upstream connection is lost mid-turn: websocket_closed', async () => {
    const upstream = await fakeWs((request, send, connection) => {
      holding()(request, send, connection);
      // Once the frames left: they are written before the socket is cut.
      setImmediate(() => connection.socket.terminate());
    });
    const { proxy, kit } = await withKit(`${upstream.url}/v1`);
    const caller = await connect(proxy.url);
    caller.ws.send(create('a long answer'));
    expect(await caller.closed).toBe(1011);
    expect((await outcome(kit, proxy)).turn).toBe('websocket_closed');
  });

  it('modeltap shuts down with a turn open: the turn is aborted (as an HTTP request cut short by shutdown is)', async () => {
    const upstream = await fakeWs(holding());
    const { proxy, kit } = await withKit(`${upstream.url}/v1`);
    const caller = await connect(proxy.url);
    caller.ws.send(create('a long answer'));
    await until(() => caller.frames.length === 1 + SENT_BEFORE_HOLD, `${SENT_BEFORE_HOLD} frames`);
    await proxy.shutdown(0);
    expect(await caller.closed).toBe(1001);
    const spans = await waitForServerSpans(kit, 1);
    expect(chatSpans(spans).map((s) => s.attributes['error.type'])).toEqual(['aborted']);
    expect(spans.find((s) => s.kind === 1)?.attributes['error.type']).toBe('aborted');
  });

  it('--ws-bridge: the caller closes mid-turn: aborted on the span, the summary and the SERVER span', async () => {
    const upstream = await sim({ events: DELTAS, websocket: false });
    const { proxy, kit } = await withKit(`${upstream.url}/v1`, { wsBridge: true });
    // A gap between events keeps the turn in flight until the caller leaves.
    const caller = await connect(proxy.url, { 'x-sim-gap-ms': '20' });
    caller.ws.send(create('a long answer'));
    await until(() => caller.frames.length >= 5, 'five frames');
    caller.ws.close(1000);
    const result = await outcome(kit, proxy);
    expect({ turn: result.turn, errors: result.errors, server: result.server }).toEqual({ turn: 'aborted', errors: { aborted: 1 }, server: 'aborted' });
    expect(result.duration['aborted']).toBe(1);
  });

  it('a caller that closes after its turns completed: no error anywhere', async () => {
    const upstream = await sim({ events: 3 });
    const { proxy, kit } = await withKit(`${upstream.url}/v1`);
    const caller = await connect(proxy.url);
    caller.ws.send(create('one'));
    await until(() => completedOf(caller.frames).length === 1, 'the turn');
    caller.ws.close(1000);
    expect(await outcome(kit, proxy)).toEqual({ turn: undefined, duration: { undefined: 1 }, errors: {}, server: undefined });
  });
});
