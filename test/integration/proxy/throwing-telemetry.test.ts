// Telemetry that throws at every call it gets must not change one byte a caller receives, nor take
// the process down; every throw is counted (`modeltap.telemetry.errors`) and logged once per kind.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ProxyServer } from '../../../src/proxy/server.js';
import { createProxy, type ProxyConfig } from '../../../src/cli/create-proxy.js';
import type { TelemetryHooks } from '../../../src/telemetry/hooks.js';
import type { ProxyTelemetry, RequestTelemetry } from '../../../src/telemetry/proxy-telemetry.js';
import { frame, startFakeUpstream, type FakeUpstream, type Handler } from '../../helpers/fake-upstream.js';
import { startFakeWsUpstream, type FakeWsUpstream } from '../../helpers/fake-ws-upstream.js';
import { otelKit } from '../../helpers/otel-kit.js';

/** What a caller received: everything but the headers that differ on every request. */
interface Received {
  readonly status: number;
  readonly headers?: Record<string, string | string[] | undefined>;
  readonly body?: string;
  readonly frames?: string[];
}

const responseFrames = [
  frame({ type: 'response.created', sequence_number: 0, response: { id: 'resp_1', status: 'in_progress' } }),
  frame({ type: 'response.output_text.delta', sequence_number: 1, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Hel' }),
  frame({ type: 'response.output_text.delta', sequence_number: 2, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'lo' }),
  frame({ type: 'response.output_item.done', sequence_number: 3, output_index: 0, item: { type: 'message', role: 'assistant', id: 'msg_1', content: [{ type: 'output_text', text: 'Hello' }] } }),
  frame({ type: 'response.completed', sequence_number: 4, response: { id: 'resp_1', status: 'completed', model: 'gpt-5.1', usage: { input_tokens: 7, output_tokens: 2, total_tokens: 9 } } }),
];

const chatChunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}): string =>
  `data: ${JSON.stringify({ id: 'chatcmpl_1', object: 'chat.completion.chunk', model: 'gpt-5.1', choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`;
const chatFrames = [chatChunk({ role: 'assistant' }), chatChunk({ content: 'Hel' }), chatChunk({ content: 'lo' }), `data: ${JSON.stringify({ id: 'chatcmpl_1', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 } })}\n\n`, 'data: [DONE]\n\n'];

const jsonResponse = { id: 'resp_json', object: 'response', status: 'completed', model: 'gpt-5.1', output: [{ type: 'message', role: 'assistant', id: 'msg_2', content: [{ type: 'output_text', text: 'Hi' }] }], usage: { input_tokens: 3, output_tokens: 1, total_tokens: 4 } };

/** One deterministic upstream for every HTTP case (and the bridge's POSTs): by path and body. */
const upstreamHandler: Handler = async (req, res, call) => {
  const body = call.body.length === 0 ? {} : (JSON.parse(call.body.toString('utf8')) as Record<string, unknown>);
  const write = async (frames: readonly string[]): Promise<void> => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': 'req_sse' });
    res.flushHeaders();
    // One write each, and a turn of the event loop between: the relay sees several chunks.
    for (const part of frames) {
      res.write(part);
      await new Promise((r) => setImmediate(r));
    }
    res.end();
  };
  if (req.method === 'GET' && req.url === '/v1/models') {
    res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_models' });
    res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-5.1', object: 'model' }] }));
  } else if (req.url === '/v1/chat/completions') {
    await write(chatFrames);
  } else if (body['model'] === 'refused') {
    res.writeHead(400, { 'content-type': 'application/json', 'x-request-id': 'req_400' });
    res.end(JSON.stringify({ error: { message: 'no such model', type: 'invalid_request_error', param: 'model', code: 'model_not_found' } }));
  } else if (body['stream'] === true) {
    await write(responseFrames);
  } else {
    res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_json' });
    res.end(JSON.stringify(jsonResponse));
  }
};

/** A WebSocket upstream answering every `response.create` with the same frames. */
function wsScript(_request: Record<string, unknown>, send: (frame: unknown) => void): void {
  send({ type: 'response.created', response: { id: 'resp_1', status: 'in_progress' } });
  send({ type: 'response.output_text.delta', item_id: 'msg_1', delta: 'Hello' });
  send({ type: 'response.output_item.done', item: { type: 'message', role: 'assistant', id: 'msg_1', content: [{ type: 'output_text', text: 'Hello' }] } });
  send({ type: 'response.completed', response: { id: 'resp_1', status: 'completed', usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7 } } });
}

async function httpCall(base: string, method: string, path: string, body?: unknown): Promise<Received> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, agent: false, headers: { authorization: 'Bearer sk-test', ...(payload === undefined ? {} : { 'content-type': 'application/json' }) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const { date: _date, 'server-timing': _timing, ...headers } = res.headers;
        resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('latin1') });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const create = (extra: Record<string, unknown> = {}) => JSON.stringify({ type: 'response.create', model: 'gpt-5.1', input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }], ...extra });

/** Two turns on one WebSocket (the second chained on the first), then a close: the frames received. */
async function wsTurns(base: string): Promise<Received> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/responses`, { headers: { authorization: 'Bearer sk-test' } });
  const frames: string[] = [];
  let completed = 0;
  let onCompleted: (() => void) | undefined;
  ws.on('message', (data) => {
    const text = data.toString();
    frames.push(text);
    if (text.includes('"response.completed"') || text.includes('"type":"error"')) {
      completed++;
      onCompleted?.();
    }
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const until = (n: number): Promise<void> =>
    new Promise((resolve) => {
      onCompleted = () => {
        if (completed >= n) resolve();
      };
      onCompleted();
    });
  ws.send(create());
  await until(1);
  ws.send(create({ previous_response_id: 'resp_1', input: [] }));
  await until(2);
  ws.close(1000);
  await closed;
  return { status: 101, frames };
}

/** A WebSocket handshake the upstream refuses: the status and body the caller gets instead. */
async function wsRefused(base: string): Promise<Received> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/responses`, { headers: { authorization: 'Bearer sk-test' } });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('latin1') }));
    });
    ws.once('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

/** The proxies one telemetry variant runs behind: to the HTTP upstream (with the bridge), the WebSocket one, a refusing one. */
interface Proxies {
  readonly http: ProxyServer;
  readonly ws: ProxyServer;
  readonly refusing: ProxyServer;
}

const CASES: readonly (readonly [string, (p: Proxies) => Promise<Received>])[] = [
  ['Responses SSE', (p) => httpCall(p.http.url, 'POST', '/v1/responses', { model: 'gpt-5.1', input: 'hi', stream: true })],
  ['Chat Completions SSE', (p) => httpCall(p.http.url, 'POST', '/v1/chat/completions', { model: 'gpt-5.1', messages: [{ role: 'user', content: 'hi' }], stream: true })],
  ['Responses JSON (stream: false)', (p) => httpCall(p.http.url, 'POST', '/v1/responses', { model: 'gpt-5.1', input: 'hi', stream: false })],
  ['an upstream 400', (p) => httpCall(p.http.url, 'POST', '/v1/responses', { model: 'refused', input: 'hi', stream: true })],
  ['passthrough GET /v1/models', (p) => httpCall(p.http.url, 'GET', '/v1/models')],
  ['health (the Hono routes)', (p) => httpCall(p.http.url, 'GET', '/healthz')],
  ['WebSocket turns', (p) => wsTurns(p.ws.url)],
  ['--ws-bridge turns', (p) => wsTurns(p.http.url)],
  ['a refused WebSocket upgrade', (p) => wsRefused(p.refusing.url)],
];

/** Counts each throw it makes, by method. */
class Thrower {
  readonly thrown = new Map<string, number>();
  turns = 0;
  total = 0;

  fail(method: string, ErrorClass: new (message: string) => Error = TypeError): never {
    this.thrown.set(method, (this.thrown.get(method) ?? 0) + 1);
    this.total++;
    throw new ErrorClass(`telemetry ${method} is broken`);
  }

  /** A telemetry whose requests throw at every method and every hook. */
  everyCall(): ProxyTelemetry {
    const hooks: Required<TelemetryHooks> = {
      onAttemptStart: () => this.fail('onAttemptStart'),
      onWsFallback: () => this.fail('onWsFallback'),
      onAuthRecovery: () => this.fail('onAuthRecovery'),
      onRequest: () => this.fail('onRequest'),
      onSsePoll: () => this.fail('onSsePoll'),
      onWsRequest: () => this.fail('onWsRequest'),
      onWsEvent: () => this.fail('onWsEvent'),
    };
    const request: RequestTelemetry = {
      hooks,
      allEvents: true,
      startOperation: () => this.fail('startOperation'),
      onHead: () => this.fail('onHead'),
      onEvent: () => this.fail('onEvent'),
      onWrite: () => this.fail('onWrite'),
      onError: () => this.fail('onError'),
      // Every other turn starts (its handle then throws at each call), so both are exercised.
      startTurn: () => {
        if (++this.turns % 2 === 1) this.fail('startTurn');
        return {
          onEvent: () => this.fail('turn.onEvent'),
          onChunk: () => this.fail('turn.onChunk'),
          onWrite: () => this.fail('turn.onWrite'),
          end: () => this.fail('turn.end'),
        };
      },
      onFallback: () => this.fail('onFallback'),
      end: () => this.fail('end', RangeError),
    };
    return { startRequest: () => request };
  }

  /** A telemetry whose `startRequest` itself throws. */
  atStart(): ProxyTelemetry {
    return { startRequest: () => this.fail('startRequest') };
  }
}

const upstreams: { http?: FakeUpstream; ws?: FakeWsUpstream; refusing?: FakeWsUpstream } = {};
const running: ProxyServer[] = [];
const uncaught: unknown[] = [];
const recordUncaught = (error: unknown): void => {
  uncaught.push(error);
};
let baseline: Received[] = [];

/** The proxies of one variant; `logs` collects each one's log lines, by proxy. */
async function proxies(extra: Partial<ProxyConfig>, logs?: Record<keyof Proxies, string[]>): Promise<Proxies> {
  const start = async (upstream: string, wsBridge: boolean, lines: string[] | undefined): Promise<ProxyServer> => {
    const proxy = await createProxy({ upstream, port: 0, requestMaxRetries: 0, wsBridge, ...extra, ...(lines === undefined ? {} : { log: (line: string) => lines.push(line) }) });
    running.push(proxy);
    return proxy;
  };
  return {
    http: await start(`${upstreams.http?.url}/v1`, true, logs?.http),
    ws: await start(`${upstreams.ws?.url}/v1`, false, logs?.ws),
    refusing: await start(`${upstreams.refusing?.url}/v1`, false, logs?.refusing),
  };
}

/** The telemetry fault lines of each proxy's log, by their kind (`<method> threw <error type>`). */
function faultKinds(logs: Record<keyof Proxies, string[]>): string[][] {
  return Object.values(logs).map((lines) => lines.filter((l) => l.startsWith('telemetry ')).map((l) => /^telemetry (\S+ threw \S+):/.exec(l)?.[1] ?? l));
}

async function runAll(p: Proxies): Promise<Received[]> {
  const out: Received[] = [];
  for (const [, run] of CASES) out.push(await run(p));
  return out;
}

/** Waits (bounded) until the proxies have ended every request they started. */
async function settled(p: Proxies, done: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !((await done()) && p.http.inFlight + p.ws.inFlight + p.refusing.inFlight === 0); i++) await new Promise((r) => setTimeout(r, 10));
}

beforeAll(async () => {
  process.on('uncaughtException', recordUncaught);
  process.on('unhandledRejection', recordUncaught);
  upstreams.http = await startFakeUpstream(upstreamHandler);
  upstreams.ws = await startFakeWsUpstream(wsScript);
  upstreams.refusing = await startFakeWsUpstream(wsScript, { refuse: () => 426 });
  baseline = await runAll(await proxies({}));
});

afterAll(async () => {
  for (const proxy of running) await proxy.shutdown(0);
  await upstreams.http?.close();
  await upstreams.ws?.close();
  await upstreams.refusing?.close();
  process.off('uncaughtException', recordUncaught);
  process.off('unhandledRejection', recordUncaught);
});

describe('telemetry that throws', () => {
  it('the baseline (no telemetry) answers every case', () => {
    expect(baseline.map((r) => r.status)).toEqual([200, 200, 200, 400, 200, 200, 101, 101, 426]);
    expect(baseline[6]?.frames).toHaveLength(8);
    expect(baseline[7]?.frames).toHaveLength(10);
  });

  it('at every method and every hook: every request gets the same bytes, the process survives, each throw is counted once', async () => {
    const thrower = new Thrower();
    const kit = otelKit();
    const logs: Record<keyof Proxies, string[]> = { http: [], ws: [], refusing: [] };
    const p = await proxies({ telemetry: thrower.everyCall(), onTelemetryError: kit.runtime.onTelemetryError }, logs);
    const received = await runAll(p);
    for (const [i, [name]] of CASES.entries()) expect({ name, ...received[i] }).toEqual({ name, ...baseline[i] });

    const counted = async (): Promise<Map<string, number>> => {
      const points = (await kit.metrics()).get('modeltap.telemetry.errors')?.points ?? [];
      const byMethod = new Map<string, number>();
      for (const point of points) byMethod.set(String(point.attributes['modeltap.telemetry.method']), (byMethod.get(String(point.attributes['modeltap.telemetry.method'])) ?? 0) + (point.value as number));
      return byMethod;
    };
    const total = async (): Promise<number> => [...(await counted()).values()].reduce((a, b) => a + b, 0);
    await settled(p, async () => (await total()) === thrower.total);
    const byMethod = await counted();
    expect(uncaught).toEqual([]);
    expect(Object.fromEntries(byMethod)).toEqual(Object.fromEntries(thrower.thrown));
    for (const method of ['startOperation', 'onHead', 'onEvent', 'onWrite', 'onError', 'startTurn', 'turn.onEvent', 'turn.onChunk', 'turn.onWrite', 'turn.end', 'onFallback', 'end', 'onAttemptStart', 'onRequest', 'onSsePoll', 'onWsRequest', 'onWsEvent']) {
      expect(thrower.thrown.get(method), method).toBeGreaterThan(0);
    }
    const metric = (await kit.metrics()).get('modeltap.telemetry.errors');
    expect(metric?.unit).toBe('{error}');
    expect(metric?.points.find((pt) => pt.attributes['modeltap.telemetry.method'] === 'end')?.attributes['error.type']).toBe('RangeError');
    expect(metric?.points.find((pt) => pt.attributes['modeltap.telemetry.method'] === 'onWrite')?.attributes['error.type']).toBe('TypeError');

    // Logged once per kind (method and error type) and server, however often it threw.
    const kinds = faultKinds(logs);
    for (const perProxy of kinds) expect(perProxy).toEqual([...new Set(perProxy)]);
    expect(new Set(kinds.flat())).toEqual(new Set([...thrower.thrown.keys()].map((m) => `${m} threw ${m === 'end' ? 'RangeError' : 'TypeError'}`)));
    expect(kinds.flat().length).toBeLessThan(thrower.total / 2);
    expect(logs.http.find((l) => l.startsWith('telemetry onWrite '))).toMatch(/TypeError: telemetry onWrite is broken/);

    // Still serving.
    expect((await httpCall(p.http.url, 'POST', '/v1/responses', { model: 'gpt-5.1', input: 'hi', stream: true })).body).toBe(baseline[0]?.body);
    expect(uncaught).toEqual([]);
  });

  it('at startRequest: every request proceeds untracked with the same bytes, each throw is counted once', async () => {
    const thrower = new Thrower();
    const counted: [string, string][] = [];
    const logs: Record<keyof Proxies, string[]> = { http: [], ws: [], refusing: [] };
    const p = await proxies({ telemetry: thrower.atStart(), onTelemetryError: (method, errorType) => counted.push([method, errorType]) }, logs);
    const received = await runAll(p);
    for (const [i, [name]] of CASES.entries()) expect({ name, ...received[i] }).toEqual({ name, ...baseline[i] });
    await settled(p, () => counted.length === thrower.total);
    expect(uncaught).toEqual([]);
    expect(thrower.total).toBe(CASES.length);
    expect(counted).toEqual(Array.from({ length: CASES.length }, () => ['startRequest', 'TypeError']));
    expect(faultKinds(logs)).toEqual([['startRequest threw TypeError'], ['startRequest threw TypeError'], ['startRequest threw TypeError']]);
  });
});
