import { DataPointType, type Histogram } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { FastMetrics } from '../../../src/telemetry/otel/fast-metrics.js';

describe('FastMetrics', () => {
  it('aggregates histograms with OTel bucket semantics: (previous, boundary]', async () => {
    const metrics = new FastMetrics({ name: 'test', version: '1' });
    const h = metrics.instrument({ name: 'h', kind: 'histogram', unit: 's', description: 'd', buckets: [0.01, 0.02], attributes: ['a'] });
    const attrs = { a: 'x' };
    for (const v of [0.005, 0.01, 0.015, 0.02, 5]) h.record(v, attrs);
    h.record(1, { a: 'x' }); // a fresh object with the same attributes is the same point
    h.record(Number.NaN, attrs);
    const { resourceMetrics } = await metrics.collect();
    const data = resourceMetrics.scopeMetrics[0]?.metrics[0];
    expect(data?.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(data?.dataPoints).toHaveLength(1);
    const value = data?.dataPoints[0]?.value as Histogram;
    expect(value.buckets).toEqual({ boundaries: [0.01, 0.02], counts: [2, 2, 2] });
    expect(value).toMatchObject({ count: 6, min: 0.005, max: 5 });
    expect(value.sum).toBeCloseTo(6.05, 10);
  });

  it('keeps counters monotonic and up-down counters free, one point per attribute set', async () => {
    const metrics = new FastMetrics({ name: 'test', version: '1' });
    const c = metrics.instrument({ name: 'c', kind: 'counter', unit: '1', description: 'd', attributes: ['k'] });
    const u = metrics.instrument({ name: 'u', kind: 'updowncounter', unit: '1', description: 'd', attributes: [] });
    c.add(2, { k: 'a' });
    c.add(-5, { k: 'a' });
    c.add(1, { k: 'b' });
    u.add(3, {});
    u.add(-3, {});
    const [counter, updown] = (await metrics.collect()).resourceMetrics.scopeMetrics[0]?.metrics ?? [];
    expect(counter).toMatchObject({ dataPointType: DataPointType.SUM, isMonotonic: true });
    expect(counter?.dataPoints.map((p) => [p.attributes, p.value])).toEqual([[{ k: 'a' }, 2], [{ k: 'b' }, 1]]);
    expect(updown).toMatchObject({ isMonotonic: false });
    expect(updown?.dataPoints[0]?.value).toBe(0);
  });

  it('exports nothing for an instrument never recorded', async () => {
    const metrics = new FastMetrics({ name: 'test', version: '1' });
    metrics.instrument({ name: 'idle', kind: 'counter', unit: '1', description: 'd', attributes: [] });
    expect((await metrics.collect()).resourceMetrics.scopeMetrics[0]?.metrics).toEqual([]);
  });
});
