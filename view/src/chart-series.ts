import type { StatsPoint } from './api.js';

/** About this many buckets per chart, each at least 1 s (what the stats API allows). */
export function bucketOf(rangeMs: number): number {
  return Math.max(1000, Math.ceil(rangeMs / 120 / 1000) * 1000);
}

/** One chart: its title, unit and series (one value per bucket, null where there is none). */
export interface Chart {
  readonly title: string;
  readonly unit: string;
  readonly series: readonly { readonly label: string; readonly values: readonly (number | null)[] }[];
}

/** The charts' series from the stats' points: per model, or the chosen model's percentiles. */
export function chartsOf(points: readonly StatsPoint[], since: number, bucketMs: number, buckets: number, focus: string | null): { xs: number[]; charts: Chart[]; models: string[]; chosen: string | null } {
  const xs = Array.from({ length: buckets }, (_, i) => (since + i * bucketMs) / 1000);
  const byModel = new Map<string, (StatsPoint | undefined)[]>();
  for (const p of points) {
    const model = p.model ?? '(none)';
    let list = byModel.get(model);
    if (list === undefined) byModel.set(model, (list = new Array<StatsPoint | undefined>(buckets).fill(undefined)));
    const i = Math.round((p.t - since) / bucketMs);
    if (i >= 0 && i < buckets) list[i] = p;
  }
  const models = [...byModel.keys()].sort();
  const seconds = bucketMs / 1000;
  const perModel = (f: (p: StatsPoint) => number | null, empty: number | null): Chart['series'] =>
    models.map((model) => ({ label: model, values: (byModel.get(model) ?? []).map((p) => (p === undefined ? empty : f(p))) }));
  const busiest = models.map((m) => [m, (byModel.get(m) ?? []).reduce((n, p) => n + (p?.requests ?? 0), 0)] as const).sort((a, b) => b[1] - a[1])[0]?.[0];
  const chosen = focus !== null && byModel.has(focus) ? focus : busiest;
  const focused = byModel.get(chosen ?? '') ?? new Array<StatsPoint | undefined>(buckets).fill(undefined);
  const pcts = (f: (p: StatsPoint) => StatsPoint['ttfcMs']): Chart['series'] =>
    (['p50', 'p95', 'p99'] as const).map((q) => ({ label: `${chosen ?? ''} ${q}`, values: focused.map((p) => (p === undefined ? null : f(p)[q])) }));
  return {
    xs,
    models,
    chosen: chosen ?? null,
    charts: [
      { title: 'Requests per second', unit: 'req/s', series: perModel((p) => p.requests / seconds, 0) },
      { title: 'Time to first chunk', unit: 'ms', series: pcts((p) => p.ttfcMs) },
      { title: 'Duration', unit: 'ms', series: pcts((p) => p.durationMs) },
      { title: 'Tokens per second (input + output)', unit: 'tokens/s', series: perModel((p) => (p.inputTokens + p.outputTokens) / seconds, 0) },
      { title: 'Cost per minute', unit: 'USD/min', series: perModel((p) => (p.costPicos / 1e12) * (60 / seconds), 0) },
      { title: 'Error rate', unit: '%', series: perModel((p) => (p.requests === 0 ? null : (100 * p.errors) / p.requests), null) },
    ],
  };
}

