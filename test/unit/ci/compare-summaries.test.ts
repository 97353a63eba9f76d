import { describe, expect, it } from 'vitest';
import { compareSummaries, type CheckOptions } from '../../../src/ci/compare-summaries.js';
import type { RunSummary, Stat } from '../../../src/summary/summary-recorder.js';

/** 200 samples spread evenly around `median` (±10 %), so the rank test has clear evidence. */
function stat(median: number): Stat {
  const samples = Array.from({ length: 200 }, (_, i) => median * (0.9 + (0.2 * i) / 199));
  return { count: samples.length, p50: samples[100] as number, p90: samples[180] as number, p99: samples[198] as number, max: samples[199] as number, samples };
}

function summary(ttfcMs: number, overheadMs: number): RunSummary {
  return {
    version: 1,
    source: 'proxy',
    startedAt: '2026-11-24T00:00:00Z',
    endedAt: '2026-11-24T00:01:00Z',
    groups: [
      { route: '/v1/responses', model: 'm', transport: 'http_sse', count: 200, errors: {}, ttfcMs: stat(ttfcMs), durationMs: stat(ttfcMs * 2), outputTokensPerSecond: stat(100), overheadMs: stat(overheadMs), tokens: { input: 2000, output: 800, cached: 0 } },
    ],
  };
}

const defaults: CheckOptions = { maxRegressionPercent: 10, minChangeMs: 1, alpha: 0.01, ceilings: {} };
const failed = (rows: ReturnType<typeof compareSummaries>) => rows.filter((r) => r.regression).map((r) => r.metric);

describe('compareSummaries', () => {
  it('a sub-millisecond median that drifts by 30 % is below the 1 ms floor: no regression, though the test is significant', () => {
    const rows = compareSummaries(summary(20, 0.1), summary(20, 0.13), defaults);
    const overhead = rows.find((r) => r.metric === 'overhead_p50_ms');
    expect(overhead?.p).toBeLessThan(1e-6);
    expect(overhead?.changePercent).toBeCloseTo(30, 0);
    expect(failed(rows)).toEqual([]);
  });

  it('with the floor at 0 the same drift fails', () => {
    expect(failed(compareSummaries(summary(20, 0.1), summary(20, 0.13), { ...defaults, minChangeMs: 0 }))).toEqual(['overhead_p50_ms']);
  });

  it('a change past both the threshold and the floor fails', () => {
    expect(failed(compareSummaries(summary(20, 0.1), summary(25, 0.1), defaults))).toEqual(['ttfc_p50_ms', 'duration_p50_ms']);
  });

  it('a change past the floor but within the threshold passes', () => {
    expect(failed(compareSummaries(summary(100, 0.1), summary(105, 0.1), defaults))).toEqual([]);
  });
});
