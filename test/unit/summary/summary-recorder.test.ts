import { describe, expect, it } from 'vitest';
import { formatReport } from '../../../src/summary/format-report.js';
import { parseSummary } from '../../../src/summary/parse-summary.js';
import { MAX_GROUPS, SummaryRecorder, type RequestRecord } from '../../../src/summary/summary-recorder.js';

const record = (model: string | undefined, extra: Partial<RequestRecord> = {}): RequestRecord => ({ route: '/v1/responses', model, transport: 'http_sse', error: undefined, ttfcMs: 1, durationMs: 2, overheadMs: 0.1, tokens: { input: 1, output: 1, cached: 0 }, ...extra });

describe('SummaryRecorder', () => {
  it('keeps at most MAX_GROUPS groups; requests of further models count under model _OTHER', () => {
    const recorder = new SummaryRecorder('proxy');
    for (let i = 0; i < MAX_GROUPS + 100; i++) recorder.record(record(`model-${i}`));
    recorder.record(record('model-0'));
    const groups = recorder.summary().groups;
    expect(groups).toHaveLength(MAX_GROUPS + 1);
    expect(groups.find((g) => g.model === '_OTHER')?.count).toBe(100);
    expect(groups.find((g) => g.model === 'model-0')?.count).toBe(2);
    expect(groups.reduce((n, g) => n + g.count, 0)).toBe(MAX_GROUPS + 101);
  });

  it('past MAX_GROUPS, further request kinds fold too, so kinds cannot grow the summary either', () => {
    const recorder = new SummaryRecorder('proxy');
    for (let i = 0; i < MAX_GROUPS + 50; i++) recorder.record(record('m', { requestKind: `kind-${i}` }));
    const groups = recorder.summary().groups;
    expect(groups).toHaveLength(MAX_GROUPS + 1);
    expect(groups.find((g) => g.model === '_OTHER')).toMatchObject({ requestKind: '_OTHER', count: 50 });
  });

  it('a request without usage is counted as unreported, not as 0 tokens: tokens per request are over the measured ones', () => {
    const recorder = new SummaryRecorder('proxy');
    recorder.record(record('m', { tokens: { input: 10, output: 6, cached: 2 } }));
    recorder.record(record('m', { tokens: undefined }));
    recorder.record(record('m', { tokens: { input: 20, output: 10, cached: 0 } }));
    recorder.record(record('only-unknown', { tokens: undefined }));
    const groups = recorder.summary().groups;
    expect(groups.find((g) => g.model === 'm')).toMatchObject({ count: 3, usageUnreported: 1, tokens: { input: 30, output: 16, cached: 2 } });
    expect(groups.find((g) => g.model === 'only-unknown')).toMatchObject({ count: 1, usageUnreported: 1, tokens: null });
  });

  it("keeps Codex's request kinds apart and names no model when the request named none", () => {
    const recorder = new SummaryRecorder('proxy');
    recorder.record(record('gpt-5.1-codex', { transport: 'websocket', requestKind: 'prewarm', tokens: undefined }));
    recorder.record(record('gpt-5.1-codex', { transport: 'websocket', requestKind: 'turn' }));
    recorder.record(record('gpt-5.1-codex', { transport: 'websocket' }));
    recorder.record(record(undefined));
    recorder.record(record('m', { requestKind: 'bad kind <x>' }));
    const groups = recorder.summary().groups;
    expect(groups.map((g) => [g.model, g.transport, g.requestKind, g.count])).toEqual([
      ['gpt-5.1-codex', 'websocket', 'prewarm', 1],
      ['gpt-5.1-codex', 'websocket', 'turn', 1],
      ['gpt-5.1-codex', 'websocket', undefined, 1],
      [undefined, 'http_sse', undefined, 1],
      ['m', 'http_sse', '_OTHER', 1],
    ]);
    // Absent, not null or "unknown", in the JSON.
    expect(Object.keys(groups[2] ?? {})).not.toContain('requestKind');
    expect(Object.keys(groups[3] ?? {})).not.toContain('model');
  });
});

describe('parseSummary', () => {
  const stat = { count: 1, p50: 1, p90: 1, p99: 1, max: 1, samples: [1] };
  const v1Group = (model: string, tokens: { input: number; output: number; cached: number }) => ({ route: '/v1/chat/completions', model, transport: 'http_sse', count: 4, errors: {}, ttfcMs: stat, durationMs: stat, outputTokensPerSecond: stat, overheadMs: stat, tokens });
  const v1 = JSON.stringify({ version: 1, source: 'proxy', startedAt: 'a', endedAt: 'b', groups: [v1Group('gpt-5.1', { input: 0, output: 0, cached: 0 }), v1Group('unknown', { input: 40, output: 16, cached: 0 })] });

  it('reads a version-1 summary in the current shape: 0/0/0 tokens are unknown, model unknown is none, no kind', () => {
    const s = parseSummary(v1, 'v1.json');
    expect(s.version).toBe(2);
    expect(s.groups[0]).toMatchObject({ model: 'gpt-5.1', tokens: null, usageUnreported: 4 });
    expect(s.groups[1]).toMatchObject({ tokens: { input: 40, output: 16, cached: 0 }, usageUnreported: 0 });
    expect(Object.keys(s.groups[1] ?? {})).not.toContain('model');
    expect(s.groups.every((g) => g.requestKind === undefined)).toBe(true);
  });

  it('reads what the recorder writes, and refuses a version it does not know or a group without usageUnreported', () => {
    const recorder = new SummaryRecorder('proxy');
    recorder.record(record(undefined, { tokens: undefined, requestKind: 'turn' }));
    const written = JSON.stringify(recorder.summary());
    expect(parseSummary(written, 'x').groups[0]).toMatchObject({ requestKind: 'turn', tokens: null, usageUnreported: 1 });
    expect(() => parseSummary(written.replace('"version":2', '"version":3'), 'x')).toThrow('x has summary version 3; this modeltap reads versions 1 and 2');
    expect(() => parseSummary(written.replace('"usageUnreported":1', '"unreported":1'), 'x')).toThrow('x has a malformed group');
  });
});

describe('formatReport', () => {
  it('shows unknown usage as unknown (never 0), a partly measured group with its unknown count, the kind and a missing model', () => {
    const recorder = new SummaryRecorder('proxy');
    recorder.record(record('chat', { route: '/v1/chat/completions', tokens: undefined }));
    recorder.record(record('partly', { tokens: { input: 10, output: 4, cached: 2 } }));
    recorder.record(record('partly', { tokens: undefined }));
    recorder.record(record(undefined, { transport: 'websocket', requestKind: 'prewarm' }));
    const summary = recorder.summary();
    const table = formatReport(summary, 'table').split('\n');
    expect(table[1]).toMatch(/^route\s+model\s+transport\s+kind\s+requests\s+errors/);
    expect(table[3]).toMatch(/^\/v1\/chat\/completions\s+chat\s+http_sse\s+–\s+1\s+0\s.*\sunknown\s+unknown\s+unknown$/);
    expect(table[4]).toMatch(/^\/v1\/responses\s+partly\s+http_sse\s+–\s+2\s+0\s.*\s10\/4\/2 \(\+1 unknown\)\s+unknown\s+unknown$/);
    expect(table[5]).toMatch(/^\/v1\/responses\s+\(none\)\s+websocket\s+prewarm\s+1\s/);
    expect(formatReport(summary, 'markdown')).toContain('| unknown |');
    expect(formatReport(summary, 'table')).not.toMatch(/\b0\/0\/0\b/);
  });
});
