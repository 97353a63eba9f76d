// The OpenTelemetry layer end to end in-process: real proxy, real simulator (or a scripted upstream),
// real OTel SDK pipelines with in-memory exporters; exact span trees, attributes and data points.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { Histogram } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthFileCredentials } from '../../../src/index.js';
import type { ProxyServer } from '../../../src/proxy/server.js';
import { createProxy } from '../../../src/cli/create-proxy.js';
import { simText } from '../../../src/sim/sim-payloads.js';
import { startSim, type Sim } from '../../../src/sim/sim-server.js';
import { DURATION_BUCKETS, FINE_BUCKETS, HTTP_BUCKETS, TOKEN_BUCKETS } from '../../../src/telemetry/otel/instruments.js';
import type { TraceDetail } from '../../../src/telemetry/otel/otel-telemetry.js';
import { completed, frame, json, sse, startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { otelKit, waitForServerSpans, type OtelKit } from '../../helpers/otel-kit.js';

const SERVER = 1;
const CLIENT = 2;
const ERROR = 2;

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

interface Setup {
  kit: OtelKit;
  proxy: ProxyServer;
  sim: Sim;
}

async function setup(options: { detail?: TraceDetail; captureContent?: boolean; events?: number } = {}): Promise<Setup> {
  const kit = otelKit(options);
  const sim = await startSim({ events: options.events ?? 4, usage: { inputTokens: 42, outputTokens: 4, cachedInputTokens: 8, reasoningTokens: 2 } });
  const proxy = await createProxy({ upstream: `${sim.url}/v1`, port: 0, requestMaxRetries: 2, streamIdleTimeoutMs: 400, ...(kit.runtime.telemetry ? { telemetry: kit.runtime.telemetry } : {}) });
  cleanup.push(() => sim.close(), () => proxy.shutdown(0), () => kit.runtime.shutdown());
  return { kit, proxy, sim };
}

async function withUpstream(handlers: Parameters<typeof startFakeUpstream>[0], extra: Partial<Parameters<typeof createProxy>[0]> = {}): Promise<{ kit: OtelKit; proxy: ProxyServer; upstream: FakeUpstream }> {
  const kit = otelKit();
  const upstream = await startFakeUpstream(handlers);
  const proxy = await createProxy({ upstream: `${upstream.url}/v1`, port: 0, requestMaxRetries: 0, ...extra, ...(kit.runtime.telemetry ? { telemetry: kit.runtime.telemetry } : {}) });
  cleanup.push(() => upstream.close(), () => proxy.shutdown(0), () => kit.runtime.shutdown());
  return { kit, proxy, upstream };
}

const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

async function send(proxy: ProxyServer, path: string, init: RequestInit): Promise<{ status: number; text: string }> {
  const res = await fetch(`${proxy.url}${path}`, init);
  return { status: res.status, text: await res.text() };
}

function tree(spans: ReadableSpan[]): { server: ReadableSpan; op: ReadableSpan | undefined; attempts: ReadableSpan[] } {
  const server = spans.find((s) => s.kind === SERVER);
  if (!server) throw new Error('no server span');
  const op = spans.find((s) => s.kind === CLIENT && s.name.startsWith('chat '));
  const attempts = spans.filter((s) => s.kind === CLIENT && !s.name.startsWith('chat ')).sort((a, b) => a.startTime[1] - b.startTime[1] + (a.startTime[0] - b.startTime[0]) * 1e9);
  return { server, op, attempts };
}

const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

function pointsOf(metrics: Awaited<ReturnType<OtelKit['metrics']>>, name: string) {
  const metric = metrics.get(name);
  if (!metric) throw new Error(`no metric ${name}; have ${[...metrics.keys()].join(', ')}`);
  return metric;
}

function sumOf(metrics: Awaited<ReturnType<OtelKit['metrics']>>, name: string, match: Record<string, unknown> = {}): number {
  return pointsOf(metrics, name)
    .points.filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((acc, p) => acc + (typeof p.value === 'number' ? p.value : p.value.count), 0);
}

function histogram(metrics: Awaited<ReturnType<OtelKit['metrics']>>, name: string, match: Record<string, unknown> = {}): Histogram {
  const point = pointsOf(metrics, name).points.find((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v));
  if (!point || typeof point.value === 'number') throw new Error(`no ${name} point matching ${JSON.stringify(match)}`);
  return point.value;
}

describe('a streamed Responses call', () => {
  it('gives SERVER → chat → POST with GenAI and HTTP attributes, and the sim usage', async () => {
    const { kit, proxy, sim } = await setup();
    const simPort = Number(new URL(sim.url).port);
    const reply = await send(proxy, '/v1/responses', post({ model: 'gpt-5.1', input: 'hi', stream: true }, { 'session-id': 'conv-1', 'x-codex-turn-metadata': '{"request_kind":"turn","turn_id":"t1"}', originator: 'codex_exec' }));
    expect(reply.status).toBe(200);
    const { server, op, attempts } = tree(await waitForServerSpans(kit, 1));
    expect(server.name).toBe('POST /v1/responses');
    expect(server.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/v1/responses', 'url.path': '/v1/responses', 'url.scheme': 'http', 'http.response.status_code': 200, 'network.protocol.version': '1.1', 'client.address': '127.0.0.1' });
    expect(server.status.code).not.toBe(ERROR);
    expect(op?.name).toBe('chat gpt-5.1');
    expect(parentOf(op as ReadableSpan)).toBe(server.spanContext().spanId);
    expect(op?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-5.1',
      'gen_ai.request.stream': true,
      'gen_ai.response.model': 'gpt-5.1',
      'gen_ai.conversation.id': 'conv-1',
      'gen_ai.usage.input_tokens': 42,
      'gen_ai.usage.output_tokens': 4,
      'gen_ai.usage.cache_read.input_tokens': 8,
      'gen_ai.usage.reasoning.output_tokens': 2,
      'gen_ai.response.finish_reasons': ['stop'],
      'openai.response.service_tier': 'default',
      'server.address': '127.0.0.1',
      'server.port': simPort,
      'openai.api.type': 'responses',
      'modeltap.transport': 'http_sse',
      'modeltap.retries': 0,
      'modeltap.sse.events': 12,
      'modeltap.request_kind': 'turn',
      'modeltap.turn_id': 't1',
      'modeltap.client.originator': 'codex_exec',
    });
    expect(op?.attributes['gen_ai.response.id']).toMatch(/^resp_/);
    expect(op?.attributes['gen_ai.response.time_to_first_chunk']).toBeGreaterThan(0);
    expect(op?.attributes['gen_ai.system']).toBeUndefined();
    expect(op?.events.map((e) => e.name)).toEqual(['gen_ai.first_chunk', 'response.created', 'response.output_item.done', 'response.completed']);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]?.name).toBe('POST');
    expect(parentOf(attempts[0] as ReadableSpan)).toBe(op?.spanContext().spanId);
    expect(attempts[0]?.attributes).toEqual({ 'http.request.method': 'POST', 'server.address': '127.0.0.1', 'server.port': simPort, 'url.full': `${sim.url}/v1/responses`, 'http.response.status_code': 200 });
    // The span ends when the stream does: after the last event was relayed.
    expect(op?.endTime[0]).toBeGreaterThan(0);

    const metrics = await kit.metrics();
    const opAttrs = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-5.1', 'gen_ai.response.model': 'gpt-5.1', 'server.address': '127.0.0.1', 'server.port': simPort, 'openai.api.type': 'responses', 'modeltap.transport': 'http_sse' };
    const duration = pointsOf(metrics, 'gen_ai.client.operation.duration');
    expect(duration.unit).toBe('s');
    expect(duration.points).toHaveLength(1);
    expect(duration.points[0]?.attributes).toEqual(opAttrs);
    expect((duration.points[0]?.value as Histogram).buckets.boundaries).toEqual(DURATION_BUCKETS);
    const usage = pointsOf(metrics, 'gen_ai.client.token.usage');
    expect(usage.unit).toBe('{token}');
    expect(histogram(metrics, 'gen_ai.client.token.usage', { 'gen_ai.token.type': 'input' }).sum).toBe(42);
    expect(histogram(metrics, 'gen_ai.client.token.usage', { 'gen_ai.token.type': 'output' }).sum).toBe(4);
    expect(histogram(metrics, 'gen_ai.client.token.usage', { 'gen_ai.token.type': 'input' }).buckets.boundaries).toEqual(TOKEN_BUCKETS);
    expect(sumOf(metrics, 'modeltap.usage.tokens', { 'gen_ai.token.type': 'cache_read' })).toBe(8);
    expect(sumOf(metrics, 'modeltap.usage.tokens', { 'gen_ai.token.type': 'reasoning' })).toBe(2);
    const { 'gen_ai.response.model': _omit, ...streamAttrs } = opAttrs;
    expect(histogram(metrics, 'gen_ai.client.operation.time_to_first_chunk').count).toBe(1);
    expect(pointsOf(metrics, 'gen_ai.client.operation.time_to_first_chunk').points[0]?.attributes).toEqual(streamAttrs);
    expect(histogram(metrics, 'gen_ai.client.operation.time_per_output_chunk').count).toBe(11);
    expect(histogram(metrics, 'gen_ai.server.time_to_first_token').count).toBe(1);
    expect(histogram(metrics, 'gen_ai.server.request.duration').count).toBe(1);
    expect(sumOf(metrics, 'modeltap.sse_event')).toBe(12);
    expect(sumOf(metrics, 'modeltap.sse_event', { kind: 'response.output_text.delta', success: 'true' })).toBe(4);
    expect(histogram(metrics, 'modeltap.sse_event.duration', { kind: 'response.completed' }).buckets.boundaries).toEqual(FINE_BUCKETS);
    expect(sumOf(metrics, 'modeltap.api_request', { status: '200', success: 'true', attempt: '0' })).toBe(1);
    const client = histogram(metrics, 'http.client.request.duration', { 'http.response.status_code': 200 });
    expect(client.buckets.boundaries).toEqual(HTTP_BUCKETS);
    expect(pointsOf(metrics, 'http.server.request.duration').points[0]?.attributes).toEqual({ 'http.request.method': 'POST', 'url.scheme': 'http', 'http.response.status_code': 200, 'http.route': '/v1/responses' });
    expect(sumOf(metrics, 'http.server.active_requests')).toBe(0);
    expect(histogram(metrics, 'modeltap.proxy.overhead', { 'http.route': '/v1/responses', 'modeltap.transport': 'http_sse' }).count).toBe(1);
    // One per relayed upstream chunk: at least one, at most one per event.
    const relayed = histogram(metrics, 'modeltap.relay.delay', { 'modeltap.transport': 'http_sse' }).count;
    expect(relayed).toBeGreaterThanOrEqual(1);
    expect(relayed).toBeLessThanOrEqual(12);
  });

  it('honours an incoming traceparent and sends the attempt span context upstream', async () => {
    const { kit, proxy, sim } = await setup();
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    await send(proxy, '/v1/responses', post({ model: 'm', input: 'hi', stream: true }, { traceparent: `00-${traceId}-b7ad6b7169203331-01` }));
    const { server, attempts } = tree(await waitForServerSpans(kit, 1));
    expect(server.spanContext().traceId).toBe(traceId);
    expect(parentOf(server)).toBe('b7ad6b7169203331');
    const sent = sim.log.at(-1)?.headers['traceparent'];
    expect(sent).toBe(`00-${traceId}-${attempts[0]?.spanContext().spanId}-01`);
  });
});

describe('other calls', () => {
  it('a non-streamed Responses call: http_json, usage, no streaming metrics', async () => {
    const { kit, proxy } = await setup();
    await send(proxy, '/v1/responses', post({ model: 'gpt-5.1', input: 'hi' }));
    const { op } = tree(await waitForServerSpans(kit, 1));
    expect(op?.attributes).toMatchObject({ 'gen_ai.request.stream': false, 'modeltap.transport': 'http_json', 'gen_ai.usage.input_tokens': 42, 'gen_ai.usage.output_tokens': 4, 'gen_ai.response.model': 'gpt-5.1' });
    // Read from the body the relay inspects anyway, as for a stream's completed frame.
    expect(op?.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);
    expect(op?.attributes['openai.response.service_tier']).toBe('default');
    const metrics = await kit.metrics();
    expect(metrics.has('gen_ai.client.operation.time_to_first_chunk')).toBe(false);
    expect(histogram(metrics, 'gen_ai.client.operation.duration', { 'modeltap.transport': 'http_json' }).count).toBe(1);
  });

  it('a metric reader sees each call as soon as its answer has ended, not when the hand-off timer fires', async () => {
    const { kit, proxy } = await setup();
    for (let i = 1; i <= 5; i++) {
      await send(proxy, '/v1/responses', post({ model: 'gpt-5.1', input: 'hi' }));
      expect(histogram(await kit.metrics(), 'gen_ai.client.operation.duration', { 'modeltap.transport': 'http_json' }).count).toBe(i);
    }
  });

  it('with content capture on, every call shape records what the model answered', async () => {
    const { kit, proxy } = await setup({ captureContent: true });
    const answer = [{ role: 'assistant', parts: [{ type: 'text', content: simText(4) }], finish_reason: 'stop' }];
    await send(proxy, '/v1/responses', post({ model: 'r-sse', input: 'hi', stream: true }));
    await send(proxy, '/v1/responses', post({ model: 'r-json', input: 'hi' }));
    await send(proxy, '/v1/chat/completions', post({ model: 'c-sse', messages: [{ role: 'user', content: 'hi' }], stream: true }));
    await send(proxy, '/v1/chat/completions', post({ model: 'c-json', messages: [{ role: 'user', content: 'hi' }] }));
    const spans = await waitForServerSpans(kit, 4);
    const output = (model: string): unknown => {
      const text = spans.find((s) => s.name === `chat ${model}`)?.attributes['gen_ai.output.messages'];
      return typeof text === 'string' ? JSON.parse(text) : text;
    };
    // A non-streamed body has no completed frame: the output comes from the body the relay inspected.
    for (const model of ['r-sse', 'r-json', 'c-sse', 'c-json']) expect([model, output(model)]).toEqual([model, answer]);
    expect(JSON.parse(String(spans.find((s) => s.name === 'chat c-json')?.attributes['gen_ai.input.messages']))).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'hi' }] }]);
  });

  it('model names are bounded as metric label values (at most 256, then _OTHER); spans keep them as sent', async () => {
    const { kit, proxy } = await setup();
    for (let batch = 0; batch < 15; batch++) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => send(proxy, '/v1/responses', post({ model: `m-${batch * 20 + i}`, input: 'x' }))));
    }
    await send(proxy, '/v1/responses', post({ model: 'bad model <script>', input: 'x' }));
    const spans = await waitForServerSpans(kit, 301);
    expect(spans.filter((s) => s.kind === CLIENT && s.name === 'chat bad model <script>')).toHaveLength(1);
    const labels = new Set((await kit.metrics()).get('gen_ai.client.operation.duration')?.points.map((p) => p.attributes['gen_ai.request.model']));
    expect(labels.size).toBeLessThanOrEqual(257);
    expect(labels.has('m-0')).toBe(true);
    expect(labels.has('_OTHER')).toBe(true);
    expect(labels.has('bad model <script>')).toBe(false);
  });

  it('a streamed Chat call with include_usage', async () => {
    const { kit, proxy } = await setup();
    await send(proxy, '/v1/chat/completions', post({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } }));
    const { server, op } = tree(await waitForServerSpans(kit, 1));
    expect(server.name).toBe('POST /v1/chat/completions');
    expect(op?.name).toBe('chat gpt-4.1-mini');
    expect(op?.attributes).toMatchObject({ 'openai.api.type': 'chat_completions', 'gen_ai.usage.input_tokens': 42, 'gen_ai.usage.output_tokens': 4, 'gen_ai.response.model': 'gpt-4.1-mini', 'gen_ai.response.id': expect.stringMatching(/^chatcmpl-/) });
    const metrics = await kit.metrics();
    expect(sumOf(metrics, 'modeltap.sse_event', { kind: 'message', success: 'true' })).toBe(8); // 7 chunks + [DONE]
  });

  it('a call retried after a 500: two attempt spans, resend_count, the retry counted', async () => {
    const { kit, proxy } = await setup();
    const reply = await send(proxy, '/v1/responses', post({ model: 'm', input: 'hi', stream: true }, { 'x-sim-fault': 'status:500;times=1' }));
    expect(reply.status).toBe(200);
    const { op, attempts } = tree(await waitForServerSpans(kit, 1));
    expect(attempts.map((a) => [a.attributes['http.response.status_code'], a.attributes['error.type'], a.attributes['http.request.resend_count']])).toEqual([
      [500, '500', undefined],
      [200, undefined, 1],
    ]);
    expect(attempts[0]?.status.code).toBe(ERROR);
    expect(op?.attributes['modeltap.retries']).toBe(1);
    expect(op?.events.map((e) => e.name)).toContain('retry');
    const metrics = await kit.metrics();
    expect(sumOf(metrics, 'modeltap.upstream.retries', { reason: 'status_5xx' })).toBe(1);
    expect(sumOf(metrics, 'modeltap.api_request', { status: '500', success: 'false', attempt: '0' })).toBe(1);
    expect(sumOf(metrics, 'modeltap.api_request', { status: '200', success: 'true', attempt: '1' })).toBe(1);
  });
});

describe('failures', () => {
  it('retries exhausted: error.type is the status on every level', async () => {
    const { kit, proxy } = await setup();
    const reply = await send(proxy, '/v1/responses', post({ model: 'm', input: 'hi', stream: true }, { 'x-sim-fault': 'status:503' }));
    expect(reply.status).toBe(503);
    const { server, op, attempts } = tree(await waitForServerSpans(kit, 1));
    expect(attempts).toHaveLength(3);
    expect(op?.attributes['error.type']).toBe('503');
    expect(op?.status.code).toBe(ERROR);
    expect(server.attributes).toMatchObject({ 'http.response.status_code': 503, 'error.type': '503' });
    const metrics = await kit.metrics();
    expect(histogram(metrics, 'gen_ai.client.operation.duration', { 'error.type': '503' }).count).toBe(1);
    expect(sumOf(metrics, 'modeltap.upstream.retries', { reason: 'status_5xx' })).toBe(2);
  });

  it('response.failed: the operation fails with the classified kind, the SSE event counted as a failure', async () => {
    const failed = frame({ type: 'response.failed', response: { id: 'r', error: { code: 'context_length_exceeded', message: 'too long' } } });
    const { kit, proxy } = await withUpstream(sse([frame({ type: 'response.created', response: { id: 'r' } }), failed]));
    const reply = await send(proxy, '/v1/responses', post({ model: 'm', input: 'hi', stream: true }));
    expect(reply.text).toContain('context_length_exceeded');
    const { server, op } = tree(await waitForServerSpans(kit, 1));
    expect(op?.attributes['error.type']).toBe('context_window_exceeded');
    expect(server.attributes['http.response.status_code']).toBe(200);
    const metrics = await kit.metrics();
    expect(sumOf(metrics, 'modeltap.sse_event', { kind: 'response.failed', success: 'false' })).toBe(1);
  });

  it('a stream closed early: error.type stream, an SSE error event relayed', async () => {
    const { kit, proxy } = await setup();
    const reply = await send(proxy, '/v1/responses', post({ model: 'm', input: 'hi', stream: true }, { 'x-sim-fault': 'reset:6' }));
    expect(reply.text).toContain('upstream_disconnected');
    const { op } = tree(await waitForServerSpans(kit, 1));
    expect(op?.attributes['error.type']).toBe('stream');
    expect(op?.status.code).toBe(ERROR);
    const metrics = await kit.metrics();
    expect(histogram(metrics, 'gen_ai.client.operation.duration', { 'error.type': 'stream' }).count).toBe(1);
  });

  it('a caller abort: the spans end at the abort, error.type aborted', async () => {
    const { kit, proxy, sim } = await setup();
    const controller = new AbortController();
    const res = await fetch(`${proxy.url}/v1/responses`, { ...post({ model: 'm', input: 'hi', stream: true }, { 'x-sim-events': '500', 'x-sim-gap-ms': '20' }), signal: controller.signal });
    await res.body?.getReader().read();
    controller.abort();
    const { server, op } = tree(await waitForServerSpans(kit, 1));
    expect(op?.attributes['error.type']).toBe('aborted');
    expect(server.attributes['error.type']).toBe('aborted');
    expect(sim.log.at(-1)?.framesSent).toBeLessThan(500);
  });

  it('a 401 recovery: the recovery step counted, the second attempt succeeds', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'modeltap-otel-auth-')), 'auth.json');
    writeFileSync(path, JSON.stringify({ OPENAI_API_KEY: 'sk-held' }));
    const { kit, proxy } = await withUpstream([json(401, { error: { message: 'bad key' } }), sse(completed('r', { input_tokens: 1, output_tokens: 1, total_tokens: 2 }))], { auth: new AuthFileCredentials({ path }) });
    const reply = await send(proxy, '/v1/responses', post({ model: 'm', input: 'hi', stream: true }));
    expect(reply.status).toBe(200);
    const { op, attempts } = tree(await waitForServerSpans(kit, 1));
    expect(attempts.map((a) => a.attributes['http.response.status_code'])).toEqual([401, 200]);
    expect(op?.events.map((e) => e.name)).toEqual(expect.arrayContaining(['auth.recovery', 'retry']));
    const metrics = await kit.metrics();
    expect(sumOf(metrics, 'modeltap.auth.recoveries', { step: '1', outcome: 'success' })).toBe(1);
    expect(sumOf(metrics, 'modeltap.upstream.retries', { reason: 'unauthorized' })).toBe(1);
  });
});

describe('SSE detail levels', () => {
  it('events: one span event per SSE poll', async () => {
    const { kit, proxy } = await setup({ detail: 'events' });
    await send(proxy, '/v1/responses', post({ model: 'm', input: 'hi', stream: true }));
    const { op } = tree(await waitForServerSpans(kit, 1));
    const polls = op?.events.filter((e) => e.name === 'sse.poll') ?? [];
    expect(polls).toHaveLength(12);
    expect(polls[0]?.attributes).toMatchObject({ kind: 'response.created', success: 'true' });
    expect(polls[0]?.attributes?.['bytes']).toBeGreaterThan(100);
  });

  it('spans: one child span per SSE poll', async () => {
    const { kit, proxy } = await setup({ detail: 'spans' });
    await send(proxy, '/v1/responses', post({ model: 'm', input: 'hi', stream: true }));
    const spans = await waitForServerSpans(kit, 1);
    const { op } = tree(spans);
    const children = spans.filter((s) => s.name.startsWith('sse ') && parentOf(s) === op?.spanContext().spanId);
    expect(children).toHaveLength(12);
    expect(children.map((c) => c.name)).toContain('sse response.output_text.delta');
  });

  it('none: no span events', async () => {
    const { kit, proxy } = await setup({ detail: 'none' });
    await send(proxy, '/v1/responses', post({ model: 'm', input: 'hi', stream: true }));
    const { op } = tree(await waitForServerSpans(kit, 1));
    expect(op?.events).toEqual([]);
  });
});

describe('several runtimes in one process', () => {
  it('each gets its own spans and metrics, though the SDK registers the API globals', async () => {
    // The second runtime takes the globals over while the first still runs.
    const first = await setup();
    const second = await setup();
    await send(first.proxy, '/v1/responses', post({ model: 'first', input: 'hi', stream: true }));
    await send(second.proxy, '/v1/responses', post({ model: 'second', input: 'hi', stream: true }));
    await send(second.proxy, '/v1/responses', post({ model: 'second', input: 'again', stream: true }));
    const ops = (spans: ReadableSpan[]): string[] => spans.filter((s) => s.kind === CLIENT && s.name.startsWith('chat ')).map((s) => s.name);
    expect(ops(await waitForServerSpans(first.kit, 1))).toEqual(['chat first']);
    expect(ops(await waitForServerSpans(second.kit, 2))).toEqual(['chat second', 'chat second']);
    expect(sumOf(await first.kit.metrics(), 'modeltap.operations')).toBe(1);
    expect(sumOf(await second.kit.metrics(), 'modeltap.operations')).toBe(2);
    // Both still propagate the caller's context upstream.
    expect(first.sim.log.at(-1)?.headers['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(second.sim.log.at(-1)?.headers['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });
});
