// Issue 18, items 3 and 4, through the real proxy in front of the simulator with the real OTel SDK
// and the real run summary: usage the upstream did not report is unknown (absent, and counted as
// such), never 0; and Codex's request kinds are separate summary groups.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { createProxy } from '../../../src/cli/create-proxy.js';
import type { ProxyServer } from '../../../src/proxy/server.js';
import { startSim } from '../../../src/sim/sim-server.js';
import { formatReport } from '../../../src/summary/format-report.js';
import { SummaryRecorder, type RunSummary } from '../../../src/summary/summary-recorder.js';
import { otelKit, waitForServerSpans, type OtelKit } from '../../helpers/otel-kit.js';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function setup(): Promise<{ kit: OtelKit; proxy: ProxyServer; summary: SummaryRecorder }> {
  const kit = otelKit();
  const sim = await startSim({ events: 4, usage: { inputTokens: 42, outputTokens: 4, cachedInputTokens: 8, reasoningTokens: 2 } });
  const summary = new SummaryRecorder('proxy');
  const proxy = await createProxy({ upstream: `${sim.url}/v1`, port: 0, summary, ...(kit.runtime.telemetry ? { telemetry: kit.runtime.telemetry } : {}) });
  cleanup.push(() => sim.close(), () => proxy.shutdown(0), () => kit.runtime.shutdown());
  return { kit, proxy, summary };
}

type Metrics = Awaited<ReturnType<OtelKit['metrics']>>;
const points = (metrics: Metrics, name: string, model: string) => (metrics.get(name)?.points ?? []).filter((p) => p.attributes['gen_ai.request.model'] === model);
const total = (metrics: Metrics, name: string, model: string): number => points(metrics, name, model).reduce((n, p) => n + (typeof p.value === 'number' ? p.value : p.value.count), 0);

/** Reads the proxy's own summary (as `modeltap report --from URL` does) until it has `groups` groups. */
async function summaryWith(proxy: ProxyServer, groups: number): Promise<RunSummary> {
  for (let i = 0; i < 200; i++) {
    const summary = (await (await fetch(`${proxy.url}/modeltap/summary`)).json()) as RunSummary;
    if (summary.groups.reduce((n, g) => n + g.count, 0) >= groups) return summary;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`the summary never counted ${groups} requests`);
}

const chat = (proxy: ProxyServer, model: string, extra: Record<string, unknown>) =>
  fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], stream: true, ...extra }) }).then((r) => r.text());

describe('a streamed Chat call without stream_options.include_usage', () => {
  it('has unknown usage: no token attributes, no token samples, counted as unreported, summary tokens unknown (not 0)', async () => {
    const { kit, proxy } = await setup();
    const text = await chat(proxy, 'no-usage', {});
    expect(text).toContain('data: [DONE]');
    expect(text).not.toContain('"usage":{');
    await chat(proxy, 'with-usage', { stream_options: { include_usage: true } });
    const spans = await waitForServerSpans(kit, 2);
    const op = (model: string): ReadableSpan | undefined => spans.find((s) => s.name === `chat ${model}`);
    expect(Object.keys(op('no-usage')?.attributes ?? {}).filter((k) => k.startsWith('gen_ai.usage.'))).toEqual([]);
    expect(op('with-usage')?.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 42, 'gen_ai.usage.output_tokens': 4 });

    const metrics = await kit.metrics();
    expect(points(metrics, 'gen_ai.client.token.usage', 'no-usage')).toEqual([]);
    expect(points(metrics, 'modeltap.usage.tokens', 'no-usage')).toEqual([]);
    expect(total(metrics, 'gen_ai.client.token.usage', 'with-usage')).toBe(2); // input and output
    expect(points(metrics, 'modeltap.usage.unreported', 'no-usage').map((p) => [p.attributes, p.value])).toEqual([
      [{ 'gen_ai.request.model': 'no-usage', 'openai.api.type': 'chat_completions', 'modeltap.transport': 'http_sse' }, 1],
    ]);
    expect(points(metrics, 'modeltap.usage.unreported', 'with-usage')).toEqual([]);

    const summary = await summaryWith(proxy, 2);
    expect(summary.groups.find((g) => g.model === 'no-usage')).toMatchObject({ count: 1, usageUnreported: 1, tokens: null });
    expect(summary.groups.find((g) => g.model === 'with-usage')).toMatchObject({ count: 1, usageUnreported: 0, tokens: { input: 42, output: 4, cached: 8 } });
    const row = formatReport(summary, 'table').split('\n').find((l) => l.includes('no-usage'));
    expect(row).toMatch(/\sunknown$/);
  });
});

describe("Codex's request kinds over one WebSocket", () => {
  it('a prewarm and a turn are two summary groups, a caller without a kind a third; a request without a model has no model', async () => {
    const { proxy } = await setup();
    const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`, { headers: { authorization: 'Bearer sk-kinds' } });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    cleanup.push(async () => ws.close());
    const turn = (frame: Record<string, unknown>) =>
      new Promise<Record<string, unknown>>((resolve) => {
        const onMessage = (data: Buffer) => {
          const event = JSON.parse(data.toString()) as Record<string, unknown>;
          if (event['type'] !== 'response.completed') return;
          ws.off('message', onMessage);
          resolve(event);
        };
        ws.on('message', onMessage);
        ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.1-codex', input: [], ...frame }));
      });
    const warm = await turn({ generate: false, client_metadata: { 'x-codex-turn-metadata': '{"request_kind":"prewarm"}' } });
    const previous = (warm['response'] as { id: string }).id;
    await turn({ previous_response_id: previous, client_metadata: { 'x-codex-turn-metadata': '{"request_kind":"turn","turn_id":"t1"}' } });
    await turn({ input: 'plain' });
    await fetch(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'no model' }) }).then((r) => r.text());
    const summary = await summaryWith(proxy, 4);
    const ws3 = summary.groups.filter((g) => g.transport === 'websocket');
    expect(ws3.map((g) => [g.model, g.requestKind, g.count])).toEqual([
      ['gpt-5.1-codex', 'prewarm', 1],
      ['gpt-5.1-codex', 'turn', 1],
      ['gpt-5.1-codex', undefined, 1],
    ]);
    const modelless = summary.groups.find((g) => g.transport === 'http_json');
    expect(modelless?.count).toBe(1);
    expect(modelless && 'model' in modelless).toBe(false);
    const table = formatReport(summary, 'table');
    expect(table).toMatch(/\/v1\/responses\s+gpt-5\.1-codex\s+websocket\s+prewarm\s+1\s/);
    expect(table).toMatch(/\/v1\/responses\s+\(none\)\s+http_json\s+–\s+1\s/);
  });
});
