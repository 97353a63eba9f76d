import type { StatsPoint } from './store.js';

/** One operation as `stats` reads it: arrival, request model, error type, ttfc, duration, input and output tokens, cost. */
export type StatsRow = readonly [number, string | null, string | null, number | null, number, number | null, number | null, number | null];

/** Nearest-rank percentiles of `values` (sorted here). */
function percentiles(values: number[]): { p50: number | null; p95: number | null; p99: number | null } {
  if (values.length === 0) return { p50: null, p95: null, p99: null };
  values.sort((a, b) => a - b);
  const at = (p: number): number => values[Math.max(0, Math.ceil(p * values.length) - 1)] as number;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

/** The first `count` of `rows` (ordered by arrival) in buckets of `bucketMs` from `since`, per request model: both stores answer `stats` with this. */
export function statsPoints(rows: readonly StatsRow[], count: number, range: { readonly since: number; readonly bucketMs: number }): StatsPoint[] {
  const buckets = new Map<string, { t: number; model: string | null; requests: number; errors: number; ttfc: number[]; duration: number[]; input: number; output: number; cost: number }>();
  for (let r = 0; r < count; r++) {
    const [arrival, model, errorType, ttfc, duration, input, output, cost] = rows[r] as StatsRow;
    const t = range.since + Math.floor((arrival - range.since) / range.bucketMs) * range.bucketMs;
    const key = `${t} ${model ?? ''}`;
    let b = buckets.get(key);
    if (b === undefined) buckets.set(key, (b = { t, model, requests: 0, errors: 0, ttfc: [], duration: [], input: 0, output: 0, cost: 0 }));
    b.requests++;
    if (errorType !== null) b.errors++;
    if (ttfc !== null) b.ttfc.push(ttfc);
    b.duration.push(duration);
    b.input += Number(input ?? 0);
    b.output += Number(output ?? 0);
    b.cost += Number(cost ?? 0);
  }
  return [...buckets.values()].map((b) => ({
    t: b.t,
    model: b.model,
    requests: b.requests,
    errors: b.errors,
    ttfcMs: percentiles(b.ttfc),
    durationMs: percentiles(b.duration),
    inputTokens: b.input,
    outputTokens: b.output,
    costPicos: b.cost,
  }));
}
