// Issue 21: the run summary's cost — per group, per request and for the whole run — summed exactly,
// unknown (never 0) for requests without usage or a price, and read from summaries written before.
import { describe, expect, it } from 'vitest';
import { formatReport } from '../../../src/summary/format-report.js';
import { parseSummary } from '../../../src/summary/parse-summary.js';
import { costPerRequest, runCost, SummaryRecorder, type RequestRecord } from '../../../src/summary/summary-recorder.js';

const record = (model: string, costPicos: number | undefined, extra: Partial<RequestRecord> = {}): RequestRecord => ({
  route: '/v1/responses',
  model,
  transport: 'http_sse',
  error: undefined,
  ttfcMs: 1,
  durationMs: 2,
  overheadMs: 0.1,
  tokens: { input: 1, output: 1, cached: 0 },
  costPicos,
  ...extra,
});

describe('the run summary’s cost', () => {
  it('sums what is known exactly, counts the unknown apart, and gives cost per request over the known', () => {
    const recorder = new SummaryRecorder('proxy');
    // A million requests of 1.25 micro-USD: a float sum of USD drifts; the summary's is exact.
    for (let i = 0; i < 1_000_000; i++) recorder.record(record('gpt-5.1', 1_250_000));
    recorder.record(record('gpt-5.1', undefined));
    recorder.record(record('unpriced', undefined));
    const summary = recorder.summary();
    const g = summary.groups.find((x) => x.model === 'gpt-5.1');
    expect(g).toMatchObject({ count: 1_000_001, costUsd: 1.25, costUnknown: 1 });
    expect(costPerRequest(g ?? summary.groups[0]!)).toBe(0.00000125);
    const unpriced = summary.groups.find((x) => x.model === 'unpriced');
    expect(unpriced).toMatchObject({ costUsd: null, costUnknown: 1 });
    expect(costPerRequest(unpriced ?? summary.groups[0]!)).toBeUndefined();
    expect(runCost(summary)).toEqual({ usd: 1.25, unknown: 2, count: 1_000_002 });
  });

  it('the run total of many groups stays exact to 1e-9 USD', () => {
    const recorder = new SummaryRecorder('proxy');
    // 0.1 + 0.2 in USD is not 0.3 as floats; in pico-USD per group and summed as integers it is.
    for (let i = 0; i < 200; i++) recorder.record(record(`m-${i}`, i % 2 === 0 ? 100_000_000_000 : 200_000_000_000));
    expect(runCost(recorder.summary()).usd).toBe(30);
    const small = new SummaryRecorder('proxy');
    for (let i = 0; i < 100; i++) small.record(record(`m-${i}`, 1));
    expect(runCost(small.summary()).usd).toBe(1e-10);
  });

  it('survives the file: written and read back, the same; a summary from before costs knows none', () => {
    const recorder = new SummaryRecorder('bench');
    recorder.record(record('gpt-5.1', 83_500_000));
    const read = parseSummary(JSON.stringify(recorder.summary()), 'x');
    expect(read.groups[0]).toMatchObject({ costUsd: 0.0000835, costUnknown: 0 });
    const before = JSON.parse(JSON.stringify(recorder.summary())) as { groups: Record<string, unknown>[] };
    for (const g of before.groups) {
      delete g['costUsd'];
      delete g['costUnknown'];
    }
    expect(parseSummary(JSON.stringify(before), 'old').groups[0]).toMatchObject({ count: 1, costUsd: null, costUnknown: 1 });
    expect(() => parseSummary(JSON.stringify(recorder.summary()).replace('"costUsd":0.0000835', '"costUsd":"cheap"'), 'x')).toThrow('x has a malformed group');
  });

  it('the report shows each group’s cost and cost per request, unknown as unknown, and the run’s total', () => {
    const recorder = new SummaryRecorder('proxy');
    recorder.record(record('gpt-5.1', 83_500_000));
    recorder.record(record('gpt-5.1', 83_500_000));
    recorder.record(record('gpt-5.1', undefined));
    recorder.record(record('unpriced', undefined));
    const table = formatReport(recorder.summary(), 'table').split('\n');
    expect(table[1]).toMatch(/\scost\s+cost\/request$/);
    expect(table.find((l) => l.includes('gpt-5.1'))).toMatch(/\s\$0\.0001670 \(\+1 unknown\)\s+\$0\.00008350$/);
    expect(table.find((l) => l.includes('unpriced'))).toMatch(/\sunknown\s+unknown$/);
    expect(table).toContain('total: 4 requests, cost $0.0001670 (+2 requests of unknown cost), $0.00008350 per request');
    expect(formatReport(recorder.summary(), 'markdown')).toContain('total: 4 requests, cost $0.0001670');
    const none = new SummaryRecorder('proxy');
    none.record(record('unpriced', undefined));
    expect(formatReport(none.summary(), 'table')).toContain('total: 1 requests, cost unknown\n');
  });
});
