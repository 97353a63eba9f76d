// The view's pure logic (view/src, the browser's code): live rows against the filters, a
// request's phases, the Overview's series.
import { describe, expect, it } from 'vitest';
import type { Operation, StatsPoint } from '../../../view/src/api.js';
import { bucketOf, chartsOf } from '../../../view/src/chart-series.js';
import { matches } from '../../../view/src/operation-filter.js';
import { attemptOutcome, phases } from '../../../view/src/phases.js';

const op = (over: Partial<Operation> = {}): Operation => ({
  id: 1, kind: 'model', arrivalMs: 1000, sentMs: 1002, headMs: 1010, firstEventMs: 1012, firstWriteMs: 1012, endMs: 1030, method: 'POST', route: '/v1/responses', path: '/v1/responses',
  transport: 'http_sse', api: 'responses', stream: true, requestModel: 'gpt-5.1', responseModel: 'gpt-5.1-2025-11-13', status: 200, errorType: null, errorMessage: null, upstreamRequestId: null, retries: 0, authRecoveries: 0, attempts: [],
  ttfcMs: 10, durationMs: 30, overheadMs: 0.2, upstreamMs: 28, inputTokens: 5, cachedInputTokens: 0, outputTokens: 3, reasoningTokens: 0, totalTokens: 8, costPicos: 36_250_000, responseId: 'resp_1',
  serviceTier: null, conversationId: 'sess-1', threadId: 'sess-1', parentThreadId: null, turnId: 'turn-1', requestKind: 'turn', originator: 'codex_exec', traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), eventCount: 4, content: null, replica: 'r1',
  ...over,
});

describe('matches (a live row against the filters, as the API decides)', () => {
  it('takes the request or the response model, the route, status, error, conversation, time and ids', () => {
    expect(matches(op(), {})).toBe(true);
    expect(matches(op(), { model: 'gpt-5.1' })).toBe(true);
    expect(matches(op(), { model: 'gpt-5.1-2025-11-13' })).toBe(true);
    expect(matches(op(), { model: 'gpt-4.1' })).toBe(false);
    expect(matches(op(), { route: '/v1/chat/completions' })).toBe(false);
    expect(matches(op(), { status: '200' })).toBe(true);
    expect(matches(op(), { status: '500' })).toBe(false);
    expect(matches(op(), { error: 'any' })).toBe(false);
    expect(matches(op({ errorType: 'timeout' }), { error: 'any' })).toBe(true);
    expect(matches(op({ errorType: 'timeout' }), { error: '500' })).toBe(false);
    expect(matches(op(), { conversation: 'sess-2' })).toBe(false);
    expect(matches(op(), { since: '1000', until: '1001' })).toBe(true);
    expect(matches(op(), { since: '1001' })).toBe(false);
    expect(matches(op(), { until: '1000' })).toBe(false);
    expect(matches(op(), { since: new Date(1000).toISOString() })).toBe(true);
    for (const q of ['resp_1', 'a'.repeat(32), 'sess-1', 'turn-1']) expect(matches(op(), { q })).toBe(true);
    expect(matches(op(), { q: 'resp_2' })).toBe(false);
    expect(matches(op(), { replica: 'r1' })).toBe(true);
    expect(matches(op(), { replica: 'r2' })).toBe(false);
    expect(matches(op({ replica: null }), { replica: 'r1' })).toBe(false);
  });
});

describe('phases (the waterfall)', () => {
  it("splits a stream at the send, the head and the first event, from arrival", () => {
    expect(phases(op()).map((p) => [p.css, p.from, p.to])).toEqual([
      ['phase-proxy', 0, 2],
      ['phase-wait', 2, 10],
      ['phase-first', 10, 12],
      ['phase-stream', 12, 30],
    ]);
  });

  it('a JSON answer has no first event; a request refused before the send is all modeltap', () => {
    expect(phases(op({ firstEventMs: null })).map((p) => [p.css, p.from, p.to])).toEqual([
      ['phase-proxy', 0, 2],
      ['phase-wait', 2, 10],
      ['phase-stream', 10, 30],
    ]);
    expect(phases(op({ sentMs: null, headMs: null, firstEventMs: null })).map((p) => [p.css, p.from, p.to])).toEqual([['phase-proxy', 0, 30]]);
  });
});

const point = (t: number, model: string, over: Partial<StatsPoint> = {}): StatsPoint => ({
  t, model, requests: 2, errors: 1, ttfcMs: { p50: 10, p95: 20, p99: 30 }, durationMs: { p50: 100, p95: 200, p99: 300 }, inputTokens: 40, outputTokens: 20, costPicos: 600_000_000, ...over,
});

describe('attemptOutcome (an attempt in the waterfall and the attempts table)', () => {
  const attempt = { attempt: 0, atMs: 1, ms: 5, status: null, error: null, aborted: false, recovery: null };
  it('says aborted first, then the status, then the transport error, else that no answer came', () => {
    expect(attemptOutcome({ ...attempt, status: 401 })).toBe('HTTP 401');
    expect(attemptOutcome({ ...attempt, error: 'timeout' })).toBe('timeout');
    expect(attemptOutcome({ ...attempt, status: 500, error: 'http', aborted: true })).toBe('aborted');
    expect(attemptOutcome({ ...attempt, ms: null })).toBe('no answer');
  });
});

describe('the Overview series', () => {
  it('buckets about 120 per range, never under a second', () => {
    expect(bucketOf(15 * 60_000)).toBe(8000);
    expect(bucketOf(3_600_000)).toBe(30_000);
    expect(bucketOf(60_000)).toBe(1000);
  });

  it('rates per second per model, zero where a model had nothing; percentiles of the busiest model unless one is chosen', () => {
    const points = [point(0, 'a'), point(10_000, 'a'), point(10_000, 'b', { requests: 1, errors: 0 })];
    const { xs, charts, models, chosen } = chartsOf(points, 0, 10_000, 3, null);
    expect(xs).toEqual([0, 10, 20]);
    expect(models).toEqual(['a', 'b']);
    expect(chosen).toBe('a');
    const [rps, ttfc, , tokens, cost, errors] = charts;
    // 600,000,000 pico-USD (0.0006 USD) in a 10 s bucket: 0.0036 USD per minute.
    expect(cost?.series[0]?.values).toEqual([0.0036, 0.0036, 0]);
    expect(rps?.series).toEqual([
      { label: 'a', values: [0.2, 0.2, 0] },
      { label: 'b', values: [0, 0.1, 0] },
    ]);
    expect(ttfc?.series.map((s) => [s.label, s.values])).toEqual([
      ['a p50', [10, 10, null]],
      ['a p95', [20, 20, null]],
      ['a p99', [30, 30, null]],
    ]);
    expect(tokens?.series[0]?.values).toEqual([6, 6, 0]);
    // No requests is no rate, not 0 %.
    expect(errors?.series).toEqual([
      { label: 'a', values: [50, 50, null] },
      { label: 'b', values: [null, 0, null] },
    ]);
    expect(chartsOf(points, 0, 10_000, 3, 'b').charts[1]?.series[0]).toEqual({ label: 'b p50', values: [null, 10, null] });
  });
});
