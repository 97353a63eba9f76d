import { describe, expect, it } from 'vitest';
import { checkMarkdown, compareSummaries, githubBenchmarkJson, type CheckOptions } from '../../../src/ci/compare-summaries.js';
import { parseSummary } from '../../../src/summary/parse-summary.js';
import type { RunSummary, Stat, SummaryGroup } from '../../../src/summary/summary-recorder.js';

/** 200 samples spread evenly around `median` (±10 %), so the rank test has clear evidence. */
function stat(median: number): Stat {
  const samples = Array.from({ length: 200 }, (_, i) => median * (0.9 + (0.2 * i) / 199));
  return { count: samples.length, p50: samples[100] as number, p90: samples[180] as number, p99: samples[198] as number, max: samples[199] as number, samples };
}

function summary(ttfcMs: number, overheadMs: number, tokensPerSecond = 100): RunSummary {
  return {
    version: 2,
    source: 'proxy',
    startedAt: '2026-11-24T00:00:00Z',
    endedAt: '2026-11-24T00:01:00Z',
    groups: [
      { route: '/v1/responses', model: 'm', transport: 'http_sse', count: 200, errors: {}, ttfcMs: stat(ttfcMs), durationMs: stat(ttfcMs * 2), outputTokensPerSecond: stat(tokensPerSecond), overheadMs: stat(overheadMs), tokens: { input: 2000, output: 800, cached: 0 }, usageUnreported: 0, costUsd: 0.2, costUnknown: 0 },
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

const withGroups = (groups: Partial<SummaryGroup>[]): RunSummary => {
  const base = summary(20, 0.1).groups[0] as SummaryGroup;
  return { ...summary(20, 0.1), groups: groups.map((g) => ({ ...base, ...g }) as SummaryGroup) };
};
const row = (rows: ReturnType<typeof compareSummaries>, metric: string, group?: string) => rows.find((r) => r.metric === metric && (group === undefined || r.group === group));
const line = (markdown: string, metric: string): string => markdown.split('\n').find((l) => l.includes(`| ${metric} |`)) ?? '';

describe('the change column', () => {
  it('a drop in output tokens per second (higher is better) is a negative change that reads worse, flagged though not gated', () => {
    const rows = compareSummaries(summary(20, 0.1, 32_473), summary(20, 0.1, 23_287), defaults);
    const tps = row(rows, 'output_tokens_per_s');
    expect(tps).toMatchObject({ better: 'higher', regression: false });
    expect(tps?.changePercent).toBeCloseTo(-28.3, 1);
    const markdown = checkMarkdown(rows);
    expect(line(markdown, 'output_tokens_per_s')).toMatch(/\| -28\.3 % \(worse\) \| [\d.e+-]+ \| ⚠️ dropped -28\.3 % \(p=[\d.e+-]+\), not gated \|$/);
    expect(markdown).not.toContain('+28.3');
    expect(failed(rows)).toEqual([]);
  });

  it('a rise in throughput reads better; a rise in latency reads worse; a floor on throughput fails with its own wording', () => {
    const faster = checkMarkdown(compareSummaries(summary(20, 0.1, 100), summary(25, 0.1, 150), defaults));
    expect(line(faster, 'output_tokens_per_s')).toMatch(/\| \+50\.0 % \(better\) \|.*\| ✅ \|$/);
    expect(line(faster, 'ttfc_p50_ms')).toMatch(/\| \+25\.0 % \(worse\) \|.*\| ❌ \+25\.0 % \(p=/);
    const rows = compareSummaries(summary(20, 0.1, 100), summary(20, 0.1, 90), { ...defaults, ceilings: { output_tokens_per_s: 95 } });
    expect(row(rows, 'output_tokens_per_s')).toMatchObject({ regression: true, reason: 'below the floor 95' });
  });

  it('the error rate changes in points', () => {
    const markdown = checkMarkdown(compareSummaries(summary(20, 0.1), summary(20, 0.1), defaults));
    expect(line(markdown, 'error_rate')).toContain('| +0.0 pt |');
  });
});

describe('unknown usage', () => {
  it('tokens per request are over the requests that reported usage', () => {
    const baseline = withGroups([{ count: 200, tokens: { input: 2000, output: 800, cached: 0 }, usageUnreported: 0 }]);
    // Half of the current requests reported no usage: they are not requests of 0 tokens.
    const current = withGroups([{ count: 200, tokens: { input: 1000, output: 400, cached: 0 }, usageUnreported: 100 }]);
    const tokens = row(compareSummaries(baseline, current, defaults), 'output_tokens_per_request');
    expect(tokens).toMatchObject({ baseline: 4, current: 4, changePercent: 0, regression: false });
  });

  it('a side without any reported usage is unknown, never 0, and is not compared', () => {
    const baseline = withGroups([{ tokens: { input: 2000, output: 800, cached: 0 }, usageUnreported: 0 }]);
    const current = withGroups([{ tokens: null, usageUnreported: 200 }]);
    const rows = compareSummaries(baseline, current, defaults);
    expect(row(rows, 'output_tokens_per_request')).toMatchObject({ baseline: 4, current: undefined, changePercent: undefined, regression: false });
    expect(line(checkMarkdown(rows), 'output_tokens_per_request')).toBe('| /v1/responses m http_sse | output_tokens_per_request | 4.00 | unknown | unknown | – | ⚠️ usage not reported, not compared |');
    expect(githubBenchmarkJson(rows).every((e) => typeof e.value === 'number')).toBe(true);
  });
});

describe('request kinds', () => {
  it('groups match by request kind: a prewarm is compared with the prewarm, the turn with the turn', () => {
    const groups = (turnMs: number): Partial<SummaryGroup>[] => [
      { transport: 'websocket', requestKind: 'prewarm', ttfcMs: stat(5) },
      { transport: 'websocket', requestKind: 'turn', ttfcMs: stat(turnMs) },
    ];
    const rows = compareSummaries(withGroups(groups(20)), withGroups(groups(30)), defaults);
    expect(row(rows, 'ttfc_p50_ms', '/v1/responses m websocket prewarm')?.regression).toBe(false);
    expect(row(rows, 'ttfc_p50_ms', '/v1/responses m websocket turn')?.regression).toBe(true);
  });

  it('a version-1 baseline (no kind, model unknown) compares with the groups without a kind and without a model', () => {
    const v1 = JSON.stringify({ ...summary(20, 0.1), version: 1, groups: [{ ...summary(20, 0.1).groups[0], model: 'unknown', usageUnreported: undefined }] });
    const baseline = parseSummary(v1, 'v1');
    const current = withGroups([{ requestKind: 'turn' }, {}]);
    delete (current.groups[1] as { model?: string }).model;
    const rows = compareSummaries(baseline, current, defaults);
    expect([...new Set(rows.map((r) => r.group))]).toEqual(['/v1/responses (none) http_sse', '(run)']);
  });

  it('no shared group names the baseline groups with their kinds', () => {
    expect(() => compareSummaries(withGroups([{ requestKind: 'prewarm' }]), withGroups([{ requestKind: 'turn' }]), defaults)).toThrow(
      'the baseline and the current run share no route/model/transport/kind group (baseline: /v1/responses m http_sse prewarm)',
    );
  });
});

describe('cost', () => {
  // The base group: 200 requests that cost 0.2 USD, 0.001 per request.
  it('cost per request that rises past the threshold fails, named by group; within it, passes', () => {
    const rows = compareSummaries(withGroups([{}]), withGroups([{ costUsd: 0.23 }]), defaults);
    expect(row(rows, 'cost_per_request_usd')).toMatchObject({ group: '/v1/responses m http_sse', unit: 'USD', baseline: 0.001, current: 0.00115, regression: true, reason: '+15.0 %' });
    expect(failed(compareSummaries(withGroups([{}]), withGroups([{ costUsd: 0.21 }]), defaults))).toEqual([]);
  });

  it('is per request over the requests whose cost is known: more unknown requests of the same price do not move it', () => {
    const rows = compareSummaries(withGroups([{}]), withGroups([{ count: 400, costUsd: 0.2, costUnknown: 200 }]), defaults);
    expect(row(rows, 'cost_per_request_usd')).toMatchObject({ current: 0.001, regression: false });
  });

  it('unknown on either side is not compared, and says so', () => {
    const rows = compareSummaries(withGroups([{}]), withGroups([{ costUsd: null, costUnknown: 200 }]), defaults);
    expect(row(rows, 'cost_per_request_usd')).toMatchObject({ current: undefined, regression: false, reason: 'cost unknown (no usage or no price), not compared' });
    expect(row(rows, 'cost_total_usd')).toMatchObject({ group: '(run)', current: undefined, regression: false });
  });

  it('the run’s total cost is reported, and fails only past its ceiling', () => {
    const twice = withGroups([{}, { model: 'n', costUsd: 0.2 }]);
    const rows = compareSummaries(withGroups([{}, { model: 'n', costUsd: 0.1 }]), twice, defaults);
    expect(row(rows, 'cost_total_usd')).toMatchObject({ group: '(run)', baseline: 0.3, current: 0.4, regression: false, reason: 'rose +33.3 %, gated only by --ceiling cost_total_usd=…' });
    const capped = compareSummaries(withGroups([{}]), twice, { ...defaults, ceilings: { cost_total_usd: 0.35 } });
    expect(row(capped, 'cost_total_usd')).toMatchObject({ regression: true, reason: 'beyond the ceiling 0.35' });
    expect(row(compareSummaries(withGroups([{}]), withGroups([{}]), { ...defaults, ceilings: { cost_per_request_usd: 0.0005 } }), 'cost_per_request_usd')?.regression).toBe(true);
  });

  it('the Markdown shows dollars to four significant digits, and the JSON for github-action-benchmark has the cost', () => {
    const rows = compareSummaries(withGroups([{}]), withGroups([{ costUsd: 0.23 }]), defaults);
    expect(line(checkMarkdown(rows), 'cost_per_request_usd')).toBe('| /v1/responses m http_sse | cost_per_request_usd | $0.001000 | $0.001150 | +15.0 % (worse) | – | ❌ +15.0 % |');
    expect(githubBenchmarkJson(rows)).toContainEqual({ name: '/v1/responses m http_sse cost_per_request_usd', unit: 'USD', value: 0.00115 });
    expect(githubBenchmarkJson(rows)).toContainEqual({ name: '(run) cost_total_usd', unit: 'USD', value: 0.23 });
  });
});
