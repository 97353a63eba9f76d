import { describe, expect, it } from 'vitest';
import { MAX_GROUPS, SummaryRecorder } from '../../../src/summary/summary-recorder.js';

const record = (model: string) => ({ route: '/v1/responses', model, transport: 'http_sse', error: undefined, ttfcMs: 1, durationMs: 2, overheadMs: 0.1, tokens: { input: 1, output: 1, cached: 0 } });

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
});
