// Issue 22: a fleet's summaries merged from their raw samples equal one summary of all the traffic.
import { describe, expect, it } from 'vitest';
import { mergeStats, mergeSummaries, sampleShares } from '../../../src/summary/merge-summaries.js';
import { parseSummary, SummaryInputError } from '../../../src/summary/parse-summary.js';
import { groupName, MAX_GROUPS, MAX_SAMPLES, quantile, runCost, SummaryRecorder, type RequestRecord, type RunSummary, type Stat, type SummaryGroup } from '../../../src/summary/summary-recorder.js';

/** A seeded generator (mulberry32), so the traffic is the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixed traffic: several routes, models, transports and kinds; some errors, some without usage or cost. */
function traffic(n: number, seed: number): RequestRecord[] {
  const rnd = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  return Array.from({ length: n }, () => {
    const ttfc = 20 + rnd() * 300;
    const usage = rnd() < 0.85;
    return {
      route: pick(['/v1/responses', '/v1/chat/completions']),
      model: pick(['gpt-5.1', 'gpt-5.1-codex', undefined]),
      transport: pick(['http_sse', 'websocket']),
      requestKind: pick(['turn', 'prewarm', undefined]),
      error: rnd() < 0.05 ? pick(['500', 'timeout']) : undefined,
      ttfcMs: rnd() < 0.95 ? ttfc : undefined,
      durationMs: ttfc + rnd() * 2000,
      overheadMs: rnd() * 0.5,
      tokens: usage ? { input: Math.floor(rnd() * 5000), output: 1 + Math.floor(rnd() * 800), cached: Math.floor(rnd() * 100) } : undefined,
      costPicos: usage && rnd() < 0.9 ? Math.floor(rnd() * 50_000_000_000) : undefined,
    };
  });
}

const recorded = (records: readonly RequestRecord[], source: RunSummary['source'] = 'proxy'): RunSummary => {
  const recorder = new SummaryRecorder(source);
  for (const r of records) recorder.record(r);
  return recorder.summary();
};
/** Through JSON, as a summary comes from a file or a URL. */
const roundTrip = (s: RunSummary): RunSummary => parseSummary(JSON.stringify(s), 'x');
const byName = (s: RunSummary): Map<string, SummaryGroup> => new Map(s.groups.map((g) => [groupName(g), g]));
const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
const STATS = ['ttfcMs', 'durationMs', 'outputTokensPerSecond', 'overheadMs'] as const;

describe('mergeSummaries: three replicas equal one summary of all the traffic', () => {
  const all = traffic(1500, 7);
  // Split unevenly, as a load balancer would.
  const split: RequestRecord[][] = [[], [], []];
  const rnd = random(11);
  for (const r of all) (split[rnd() < 0.5 ? 0 : rnd() < 0.6 ? 1 : 2] as RequestRecord[]).push(r);
  const whole = recorded(all);
  const merged = mergeSummaries(split.map((part) => roundTrip(recorded(part))));

  it('has the same groups, counts, errors, tokens, unreported usage and cost', () => {
    const a = byName(merged);
    const b = byName(whole);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    expect(a.size).toBeGreaterThan(10);
    for (const [name, w] of b) {
      const m = a.get(name) as SummaryGroup;
      expect({ count: m.count, errors: m.errors, tokens: m.tokens, usageUnreported: m.usageUnreported, costUsd: m.costUsd, costUnknown: m.costUnknown }, name).toEqual({ count: w.count, errors: w.errors, tokens: w.tokens, usageUnreported: w.usageUnreported, costUsd: w.costUsd, costUnknown: w.costUnknown });
    }
    expect(runCost(merged)).toEqual(runCost(whole));
    expect(merged.source).toBe('proxy');
  });

  it('has the same p50/p90/p99/max and the same samples (under MAX_SAMPLES every value is kept)', () => {
    const a = byName(merged);
    for (const [name, w] of byName(whole)) {
      for (const stat of STATS) {
        const m = (a.get(name) as SummaryGroup)[stat];
        const x = w[stat];
        expect({ count: m.count, p50: m.p50, p90: m.p90, p99: m.p99, max: m.max, samples: sorted(m.samples) }, `${name} ${stat}`).toEqual({ count: x.count, p50: x.p50, p90: x.p90, p99: x.p99, max: x.max, samples: sorted(x.samples) });
      }
    }
  });

  it('spans the earliest start to the latest end', () => {
    const parts: RunSummary[] = [
      { ...recorded(split[0] ?? []), startedAt: '2026-01-01T10:00:05.000Z', endedAt: '2026-01-01T10:10:00.000Z' },
      { ...recorded(split[1] ?? []), startedAt: '2026-01-01T10:00:01.000Z', endedAt: '2026-01-01T10:20:00.000Z' },
      { ...recorded(split[2] ?? []), startedAt: '2026-01-01T10:00:09.000Z', endedAt: '2026-01-01T10:05:00.000Z' },
    ];
    expect(mergeSummaries(parts)).toMatchObject({ startedAt: '2026-01-01T10:00:01.000Z', endedAt: '2026-01-01T10:20:00.000Z' });
  });

  it('merging one summary gives the same summary', () => {
    const one = roundTrip(recorded(split[0] ?? []));
    expect(mergeSummaries([one])).toEqual(one);
  });
});

describe('mergeSummaries past MAX_SAMPLES', () => {
  // Three replicas of different sizes and speeds: 20,000 requests in [0, 1) ms, 6,000 in [10, 11), 4,000 in [20, 21).
  const sizes = [20_000, 6_000, 4_000] as const;
  const offsets = [0, 10, 20] as const;
  const parts = sizes.map((n, i) => {
    const recorder = new SummaryRecorder('bench');
    for (let k = 0; k < n; k++) recorder.record({ route: '/v1/responses', model: 'm', transport: 'http_sse', error: undefined, ttfcMs: (offsets[i] ?? 0) + k / n, durationMs: 1, overheadMs: undefined, tokens: undefined });
    return roundTrip(recorder.summary());
  });
  const merged = mergeSummaries(parts);
  const ttfc = (merged.groups[0] as SummaryGroup).ttfcMs;

  it('keeps MAX_SAMPLES values, each replica’s share in proportion to its count', () => {
    expect(ttfc.count).toBe(30_000);
    expect(ttfc.samples).toHaveLength(MAX_SAMPLES);
    const share = (lo: number) => ttfc.samples.filter((v) => v >= lo && v < lo + 1).length;
    // 5,000 × 20/30, × 6/30, × 4/30: 3,333.3, 1,000 and 666.7, the spare one to the largest remainder.
    expect([share(0), share(10), share(20)]).toEqual([3333, 1000, 667]);
  });

  it('has quantiles within the sampling error of the true ones (never an average of percentiles), and the largest maximum', () => {
    // The union's true quantiles: rank 15,000 is in the first replica, 27,000 and 29,700 in the third.
    const truth = { p50: 0.75, p90: 20.25, p99: 20.925 };
    // A quantile of a uniform sample of 5,000 is off by sqrt(p(1-p)/5000) of the range (≤ 0.007): 5 of those.
    expect(Math.abs(ttfc.p50 - truth.p50)).toBeLessThan(0.035);
    expect(Math.abs(ttfc.p90 - truth.p90)).toBeLessThan(0.035 * 4);
    expect(Math.abs(ttfc.p99 - truth.p99)).toBeLessThan(0.035 * 4);
    // Averaging the replicas' medians would say about 10.5.
    expect(ttfc.p50).toBeLessThan(1);
    expect(ttfc.max).toBe(20 + 3999 / 4000);
    expect(ttfc.p50).toBe(quantile(sorted(ttfc.samples), 0.5));
  });

  it('is deterministic: the same merge twice agrees', () => {
    expect(mergeSummaries(parts)).toEqual(merged);
  });

  it('splits shares by count with largest remainders, and passes what a capped part cannot take to the others', () => {
    expect(sampleShares([{ weight: 2, cap: 100 }, { weight: 1, cap: 100 }], 10)).toEqual([7, 3]);
    expect(sampleShares([{ weight: 1, cap: 100 }, { weight: 1, cap: 100 }, { weight: 1, cap: 100 }], 10)).toEqual([4, 3, 3]);
    expect(sampleShares([{ weight: 9, cap: 2 }, { weight: 1, cap: 100 }], 10)).toEqual([2, 8]);
    expect(sampleShares([{ weight: 0, cap: 100 }, { weight: 1, cap: 5 }], 10)).toEqual([0, 5]);
  });

  it('merges empty stats into an empty stat', () => {
    const empty: Stat = { count: 0, p50: 0, p90: 0, p99: 0, max: 0, samples: [] };
    expect(mergeStats([empty, empty])).toEqual(empty);
  });
});

describe('mergeSummaries refuses and folds', () => {
  it('refuses a proxy summary with a bench one, naming both', () => {
    const proxy = recorded(traffic(5, 1), 'proxy');
    const bench = recorded(traffic(5, 2), 'bench');
    expect(() => mergeSummaries([proxy, bench], ['http://a', 'bench.json'])).toThrow('cannot merge a proxy summary (http://a) with a bench summary (bench.json)');
    const error = (() => {
      try {
        mergeSummaries([proxy, proxy, bench]);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SummaryInputError);
    expect((error as SummaryInputError).code).toBe('unmergeable');
    expect((error as Error).message).toContain('(summary 3)');
    expect(() => mergeSummaries([])).toThrow(SummaryInputError);
  });

  it('keeps at most MAX_GROUPS groups: further models fold into _OTHER as the recorder folds them', () => {
    const req = (model: string, requestKind?: string): RequestRecord => ({ route: '/v1/responses', model, transport: 'http_sse', requestKind, error: undefined, ttfcMs: 1, durationMs: 2, overheadMs: 0.1, tokens: { input: 1, output: 1, cached: 0 } });
    // The first replica saw 300 models (already folding 44), the second 250 of which 150 are new, and kinds.
    const a = Array.from({ length: 300 }, (_, i) => req(`m${i}`));
    const b = [...Array.from({ length: 250 }, (_, i) => req(`m${i + 100}`)), req('m0', 'turn'), req('m1', 'prewarm')];
    const merged = mergeSummaries([roundTrip(recorded(a)), roundTrip(recorded(b))]);
    const whole = recorded([...a, ...b]);
    const shape = (s: RunSummary) => s.groups.map((g) => [groupName(g), g.count]).sort();
    expect(shape(merged)).toEqual(shape(whole));
    expect(merged.groups.filter((g) => g.model !== '_OTHER')).toHaveLength(MAX_GROUPS);
    expect(merged.groups.find((g) => g.model === '_OTHER' && g.requestKind === undefined)?.count).toBe(44 + 94);
    expect(merged.groups.find((g) => g.model === '_OTHER' && g.requestKind === '_OTHER')?.count).toBe(2);
    expect(merged.groups.find((g) => g.model === 'm150')?.count).toBe(2);
    expect(merged.groups.reduce((n, g) => n + g.count, 0)).toBe(552);
  });

  it('merges old summaries: version 1 (tokens 0/0/0 unknown, model unknown is none) and ones without cost', () => {
    const stat = { count: 2, p50: 5, p90: 9, p99: 9, max: 9, samples: [5, 9] };
    const group = (extra: Record<string, unknown>) => ({ route: '/v1/responses', transport: 'http_sse', count: 2, errors: { '500': 1 }, ttfcMs: stat, durationMs: stat, outputTokensPerSecond: stat, overheadMs: stat, ...extra });
    const v1 = parseSummary(JSON.stringify({ version: 1, source: 'proxy', startedAt: '2026-01-01T00:00:00.000Z', endedAt: '2026-01-01T00:01:00.000Z', groups: [group({ model: 'unknown', tokens: { input: 0, output: 0, cached: 0 } }), group({ model: 'gpt-5.1', tokens: { input: 8, output: 4, cached: 0 } })] }), 'v1.json');
    const noCost = parseSummary(JSON.stringify({ version: 2, source: 'proxy', startedAt: '2026-01-01T00:00:30.000Z', endedAt: '2026-01-01T00:02:00.000Z', groups: [group({ tokens: null, usageUnreported: 2 }), group({ model: 'gpt-5.1', tokens: { input: 2, output: 2, cached: 1 }, usageUnreported: 0 })] }), 'v2.json');
    const now = recorded([{ route: '/v1/responses', model: 'gpt-5.1', transport: 'http_sse', error: undefined, ttfcMs: 7, durationMs: 7, overheadMs: 1, tokens: { input: 1, output: 1, cached: 0 }, costPicos: 3_000_000 }]);
    const merged = mergeSummaries([v1, noCost, now]);
    const none = merged.groups.find((g) => g.model === undefined);
    const named = merged.groups.find((g) => g.model === 'gpt-5.1');
    expect(merged.groups).toHaveLength(2);
    expect(none).toMatchObject({ count: 4, errors: { '500': 2 }, tokens: null, usageUnreported: 4, costUsd: null, costUnknown: 4 });
    expect(none?.durationMs).toMatchObject({ count: 4, samples: [5, 9, 5, 9], p50: 9, max: 9 });
    expect(named).toMatchObject({ count: 5, errors: { '500': 2 }, tokens: { input: 11, output: 7, cached: 1 }, usageUnreported: 0, costUsd: 3e-6, costUnknown: 4 });
    expect(merged).toMatchObject({ version: 2, startedAt: '2026-01-01T00:00:00.000Z' });
  });
});
