// Issue 21: what each call cost, through the real proxy in front of the simulator with the real
// OTel SDK: a streamed and a JSON Responses call, a Chat stream with include_usage and a WebSocket
// turn each carry the cost the price table gives for the simulator's usage, on the `chat` span and
// in the `modeltap.cost` counter, in the store and in the run summary; a model without a price is
// unknown and counted, never 0.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createProxy } from '../../../src/cli/create-proxy.js';
import { costPicos, usdOf } from '../../../src/cost/cost.js';
import { shippedPrices, withOverrides } from '../../../src/cost/price-table.js';
import type { RunSummary } from '../../../src/summary/summary-recorder.js';
import { startSim } from '../../../src/sim/sim-server.js';
import { otelKit, waitForServerSpans } from '../../helpers/otel-kit.js';

let cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

const USAGE = { inputTokens: 42, outputTokens: 4, cachedInputTokens: 8, reasoningTokens: 2 };

describe('the cost of each call', () => {
  it('is on the chat span and in modeltap.cost for every transport; unpriced models are counted, not costed', async () => {
    const overrides = { text: JSON.stringify({ 'my-model': { input: 3, cached_input: 1.5, output: 12 } }), name: 'prices.json' };
    const kit = otelKit({
      prices: overrides,
      store: { location: ':memory:', retentionMs: 86_400_000, maxBytes: 64 * 1024 * 1024 },
    });
    const sim = await startSim({ events: 4, usage: USAGE });
    // The run summary costs on the relay's thread, at the same prices (as `serve --prices` gives both).
    const prices = withOverrides(shippedPrices(), overrides.text, overrides.name);
    const proxy = await createProxy({ upstream: `${sim.url}/v1`, port: 0, prices, ...(kit.runtime.telemetry ? { telemetry: kit.runtime.telemetry } : {}) });
    cleanup.push(() => sim.close(), () => proxy.shutdown(0), () => kit.runtime.shutdown());
    const post = (path: string, body: unknown) => fetch(`${proxy.url}/v1/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.text());
    await post('responses', { model: 'gpt-5.1', input: 'hi', stream: true });
    await post('responses', { model: 'gpt-5.1-2025-11-13', input: 'hi' });
    await post('chat/completions', { model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
    await post('responses', { model: 'my-model', input: 'hi' });
    await post('responses', { model: 'unpriced-model', input: 'hi' });
    const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`);
    ws.on('error', () => undefined);
    cleanup.push(() => ws.close());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await new Promise<void>((resolve) => {
      ws.on('message', (data: Buffer) => {
        if ((JSON.parse(data.toString()) as { type: string }).type === 'response.completed') resolve();
      });
      ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.1-codex', input: [] }));
    });
    ws.close();
    const spans = await waitForServerSpans(kit, 6);
    const table = shippedPrices();
    const expected = (model: string, prices = table) => usdOf(costPicos(prices, model, USAGE, 'default') as number);
    const costOf = (model: string) => spans.find((s) => s.name === `chat ${model}`)?.attributes['modeltap.cost.usd'];
    // gpt-5.1: 34 uncached × 1.25 + 8 cached × 0.125 + 4 output × 10 USD per million.
    expect(expected('gpt-5.1')).toBe(0.0000835);
    expect(costOf('gpt-5.1')).toBe(0.0000835);
    expect(costOf('gpt-5.1-2025-11-13')).toBe(expected('gpt-5.1'));
    expect(costOf('gpt-4.1-mini')).toBe(expected('gpt-4.1-mini'));
    expect(costOf('gpt-5.1-codex')).toBe(expected('gpt-5.1-codex'));
    // The override file's price: 34 × 3 + 8 × 1.5 + 4 × 12 per million.
    expect(costOf('my-model')).toBe(0.000162);
    expect(spans.find((s) => s.name === 'chat unpriced-model')?.attributes).not.toHaveProperty('modeltap.cost.usd');

    const metrics = await kit.metrics();
    const cost = metrics.get('modeltap.cost')?.points ?? [];
    const sumFor = (model: string) => cost.filter((p) => p.attributes['gen_ai.request.model'] === model).reduce((n, p) => n + (p.value as number), 0);
    expect(sumFor('gpt-5.1')).toBe(0.0000835);
    expect(cost.find((p) => p.attributes['gen_ai.request.model'] === 'gpt-5.1-codex')?.attributes).toMatchObject({ 'gen_ai.response.model': 'gpt-5.1-codex', 'modeltap.transport': 'websocket' });
    expect(cost.find((p) => p.attributes['gen_ai.request.model'] === 'gpt-4.1-mini')?.attributes).toMatchObject({ 'modeltap.transport': 'http_sse' });
    expect(cost.some((p) => p.attributes['gen_ai.request.model'] === 'unpriced-model')).toBe(false);
    expect((metrics.get('modeltap.cost.unpriced')?.points ?? []).map((p) => [p.attributes, p.value])).toEqual([[{ 'gen_ai.request.model': 'unpriced-model', 'gen_ai.response.model': 'unpriced-model' }, 1]]);

    // The store keeps the same cost, exact in pico-USD; unknown stays null.
    const stored = ((await kit.runtime.storeApi?.('operations', 'limit=10'))?.body as { operations: { kind: string; requestModel: string; costPicos: number | null }[] }).operations;
    // The WebSocket's upgrade is a row of its own (kind 'other'), without a model or a cost.
    const picos = Object.fromEntries(stored.filter((o) => o.kind === 'model').map((o) => [o.requestModel, o.costPicos]));
    expect(picos).toEqual({
      'gpt-5.1': 83_500_000,
      'gpt-5.1-2025-11-13': 83_500_000,
      'gpt-4.1-mini': costPicos(table, 'gpt-4.1-mini', USAGE, 'default'),
      'my-model': 162_000_000,
      'unpriced-model': null,
      'gpt-5.1-codex': costPicos(table, 'gpt-5.1-codex', USAGE, 'default'),
    });

    // The run summary: each group's cost in USD, the unpriced one unknown.
    const summary = (await (await fetch(`${proxy.url}/modeltap/summary`)).json()) as RunSummary;
    const byModel = Object.fromEntries(summary.groups.map((g) => [`${g.model} ${g.transport}`, [g.costUsd, g.costUnknown]]));
    expect(byModel).toEqual({
      'gpt-5.1 http_sse': [0.0000835, 0],
      'gpt-5.1-2025-11-13 http_json': [0.0000835, 0],
      'gpt-4.1-mini http_sse': [expected('gpt-4.1-mini'), 0],
      'my-model http_json': [0.000162, 0],
      'unpriced-model http_json': [null, 1],
      'gpt-5.1-codex websocket': [expected('gpt-5.1-codex'), 0],
    });
  });
});
