import { usdText } from '../summary/format-report.js';
import { SummaryInputError } from '../summary/parse-summary.js';
import { costPerRequest, groupName, outputTokensPerRequest, runCost, type RunSummary, type Stat, type SummaryGroup } from '../summary/summary-recorder.js';

/** Options of {@link compareSummaries}. */
export interface CheckOptions {
  /** A latency may worsen by this much (percent, on the median) before it can fail. Default 10. */
  readonly maxRegressionPercent: number;
  /**
   * A latency must also worsen by this many milliseconds before it can fail. Default 1: medians
   * under a millisecond (modeltap's own overhead) move by tens of percent between identical runs on
   * a shared runner, a drift the rank test sees as significant because it is systematic, not noise.
   */
  readonly minChangeMs: number;
  /** Significance level of the rank test (one-sided). Default 0.01. */
  readonly alpha: number;
  /**
   * Absolute ceilings, by metric name (e.g. `ttfc_p50_ms: 800`, `cost_total_usd: 5`): exceeding one
   * always fails. `cost_total_usd` is the whole run's, which is gated only by its ceiling.
   */
  readonly ceilings: Readonly<Record<string, number>>;
}

/** One compared metric of one group. */
export interface CheckRow {
  readonly group: string;
  readonly metric: string;
  readonly unit: string;
  /** Which way is better: `lower` (latencies, error rate, tokens and cost per request) or `higher` (throughput). */
  readonly better: 'lower' | 'higher';
  /** Undefined when unknown (no request of the group reported usage). */
  readonly baseline: number | undefined;
  readonly current: number | undefined;
  /**
   * Signed change of the value, current against baseline, in percent (the error rate: in
   * percentage points); negative is a drop, which is worse when higher is better. Undefined when
   * either side is unknown.
   */
  readonly changePercent: number | undefined;
  /** p-value of the one-sided test, when one applies. */
  readonly p: number | undefined;
  readonly regression: boolean;
  /** Why it regressed; for a metric reported but not gated, why it is worth a look; else empty. */
  readonly reason: string;
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 via erf). */
function phi(z: number): number {
  const t = 1 / (1 + 0.3275911 * (Math.abs(z) / Math.SQRT2));
  const erf = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-(z * z) / 2);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/**
 * One-sided Mann–Whitney U test that `current` tends to be larger than `baseline` (normal
 * approximation with tie correction). Returns the p-value; 1 when a sample is empty.
 */
export function mannWhitneyGreater(current: readonly number[], baseline: readonly number[]): number {
  const n1 = current.length;
  const n2 = baseline.length;
  if (n1 === 0 || n2 === 0) return 1;
  const all = [...current.map((v) => ({ v, c: true })), ...baseline.map((v) => ({ v, c: false }))].sort((a, b) => a.v - b.v);
  const n = all.length;
  let rankSum = 0;
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && (all[j + 1] as { v: number }).v === (all[i] as { v: number }).v) j++;
    const rank = (i + j) / 2 + 1;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    for (let k = i; k <= j; k++) if ((all[k] as { c: boolean }).c) rankSum += rank;
    i = j + 1;
  }
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return u > mean ? 0 : 1;
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return 1 - phi(z);
}

/** One-sided two-proportion z-test that the current error rate is higher. */
function proportionGreater(errorsNow: number, countNow: number, errorsBase: number, countBase: number): number {
  if (countNow === 0 || countBase === 0) return 1;
  const pooled = (errorsNow + errorsBase) / (countNow + countBase);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / countNow + 1 / countBase));
  if (se === 0) return 1;
  return 1 - phi((errorsNow / countNow - errorsBase / countBase) / se);
}

// Matched structurally (a missing model or kind is none), shown by groupName.
const key = (g: SummaryGroup): string => JSON.stringify([g.route, g.model ?? null, g.transport, g.requestKind ?? null]);
const signed = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;
const errorsOf = (g: SummaryGroup): number => Object.values(g.errors).reduce((a, b) => a + b, 0);

/**
 * Compares a current run with a baseline, group by group. A latency regresses when its median is
 * worse by more than the threshold and by more than `minChangeMs` **and** a one-sided Mann–Whitney test on the samples says so at
 * `alpha` (so a noisy runner does not cry wolf), or when it exceeds its ceiling; output tokens per
 * second are reported and fail only a ceiling (a floor, since higher is better); the error rate
 * regresses when it rises by more than half a point and a two-proportion test agrees; output
 * tokens per request (over the requests that reported usage; unknown when none did) and cost per
 * request (over the requests whose cost is known) regress by the threshold alone (they are not
 * noisy), or past a ceiling. The whole run's cost (`cost_total_usd`, in a row of group `(run)`)
 * grows with the number of requests, so it fails only past its ceiling. Groups match by route,
 * model, transport and request kind; a version-1 baseline, which had no kind, matches the groups
 * without one.
 */
export function compareSummaries(baseline: RunSummary, current: RunSummary, options: CheckOptions): CheckRow[] {
  const base = new Map(baseline.groups.map((g) => [key(g), g]));
  const common = current.groups.filter((g) => base.has(key(g)));
  if (common.length === 0) {
    throw new SummaryInputError(`the baseline and the current run share no route/model/transport/kind group (baseline: ${baseline.groups.map(groupName).join('; ') || 'none'})`, 'incomparable');
  }
  const rows: CheckRow[] = [];
  for (const cur of common) {
    const b = base.get(key(cur)) as SummaryGroup;
    const group = groupName(cur);
    const latency = (metric: string, bs: Stat, cs: Stat, higherIsBetter = false, gating = true): void => {
      if (bs.count === 0 || cs.count === 0) return;
      const baseline = bs.p50;
      const current = cs.p50;
      const worse = higherIsBetter ? baseline - current : current - baseline;
      const worsePercent = baseline === 0 ? 0 : (worse / baseline) * 100;
      const change = baseline === 0 ? 0 : ((current - baseline) / baseline) * 100;
      const meaningful = worsePercent > options.maxRegressionPercent && (higherIsBetter || worse > options.minChangeMs);
      const p = higherIsBetter ? mannWhitneyGreater(bs.samples, cs.samples) : mannWhitneyGreater(cs.samples, bs.samples);
      const ceiling = options.ceilings[metric];
      const overCeiling = ceiling !== undefined && (higherIsBetter ? current < ceiling : current > ceiling);
      const significant = meaningful && p < options.alpha;
      const regression = overCeiling || (gating && significant);
      const trend = `${signed(change)} % (p=${p.toExponential(1)})`;
      const reason = overCeiling ? (higherIsBetter ? `below the floor ${ceiling}` : `beyond the ceiling ${ceiling}`) : regression ? trend : significant ? `${higherIsBetter ? 'dropped' : 'rose'} ${trend}, not gated` : '';
      rows.push({ group, metric, unit: metric.endsWith('_per_s') ? 'tok/s' : 'ms', better: higherIsBetter ? 'higher' : 'lower', baseline, current, changePercent: change, p, regression, reason });
    };
    latency('ttfc_p50_ms', b.ttfcMs, cur.ttfcMs);
    latency('duration_p50_ms', b.durationMs, cur.durationMs);
    latency('overhead_p50_ms', b.overheadMs, cur.overheadMs);
    // Throughput per request swings with the machine's load: reported, gated only by a ceiling.
    latency('output_tokens_per_s', b.outputTokensPerSecond, cur.outputTokensPerSecond, true, false);
    const be = errorsOf(b) / Math.max(1, b.count);
    const ce = errorsOf(cur) / Math.max(1, cur.count);
    const pErr = proportionGreater(errorsOf(cur), cur.count, errorsOf(b), b.count);
    const errRegression = ce - be > 0.005 && pErr < 0.05;
    rows.push({ group, metric: 'error_rate', unit: '%', better: 'lower', baseline: be * 100, current: ce * 100, changePercent: (ce - be) * 100, p: pErr, regression: errRegression, reason: errRegression ? `${(be * 100).toFixed(1)} % → ${(ce * 100).toFixed(1)} %` : '' });
    rows.push(exactRow(group, 'output_tokens_per_request', outputTokensPerRequest(b), outputTokensPerRequest(cur), options, 'usage not reported, not compared'));
    rows.push(exactRow(group, 'cost_per_request_usd', costPerRequest(b), costPerRequest(cur), options, 'cost unknown (no usage or no price), not compared'));
  }
  const total = (s: RunSummary): number | undefined => runCost(s).usd ?? undefined;
  rows.push(exactRow(RUN_GROUP, 'cost_total_usd', total(baseline), total(current), options, 'cost unknown, not compared', false));
  return rows;
}

/** The metrics a ceiling (`--ceiling METRIC=VALUE`) applies to. */
export const CEILING_METRICS: readonly string[] = ['ttfc_p50_ms', 'duration_p50_ms', 'overhead_p50_ms', 'output_tokens_per_s', 'output_tokens_per_request', 'cost_per_request_usd', 'cost_total_usd'];

/** The group name of rows about the whole run. */
export const RUN_GROUP = '(run)';

const unitOf = (metric: string): string => (metric.endsWith('_usd') ? 'USD' : 'tokens');

/**
 * A value that is not noisy (tokens, cost): it regresses past its ceiling, and past the threshold
 * when `gated`; unknown on either side, it is not compared.
 */
function exactRow(group: string, metric: string, baseline: number | undefined, current: number | undefined, options: CheckOptions, unknownReason: string, gated = true): CheckRow {
  const change = baseline === undefined || current === undefined ? undefined : baseline === 0 ? 0 : ((current - baseline) / baseline) * 100;
  const ceiling = options.ceilings[metric];
  const overCeiling = ceiling !== undefined && current !== undefined && current > ceiling;
  const overThreshold = change !== undefined && change > options.maxRegressionPercent;
  const regression = overCeiling || (gated && overThreshold);
  const reason = overCeiling ? `beyond the ceiling ${ceiling}` : regression ? `${signed(change ?? 0)} %` : overThreshold ? `rose ${signed(change ?? 0)} %, gated only by --ceiling ${metric}=…` : change === undefined ? unknownReason : '';
  return { group, metric, unit: unitOf(metric), better: 'lower', baseline, current, changePercent: change, p: undefined, regression, reason };
}

const num = (v: number | undefined): string => (v === undefined ? 'unknown' : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3));
const valueText = (r: CheckRow, v: number | undefined): string => (r.unit === 'USD' ? usdText(v) : num(v));

/** The change with its sign as the value moved, and whether that is better or worse for this metric. */
function changeText(r: CheckRow): string {
  if (r.changePercent === undefined) return 'unknown';
  const text = `${signed(r.changePercent)} ${r.unit === '%' ? 'pt' : '%'}`;
  if (text.startsWith('+0.0 ') || text.startsWith('-0.0 ')) return text.replace('-', '+');
  return `${text} (${(r.changePercent > 0) === (r.better === 'lower') ? 'worse' : 'better'})`;
}

const verdict = (r: CheckRow): string => (r.regression ? `❌ ${r.reason}` : r.reason === '' ? '✅' : `⚠️ ${r.reason}`);

/** The comparison as a Markdown table, fit for `$GITHUB_STEP_SUMMARY`. */
export function checkMarkdown(rows: readonly CheckRow[]): string {
  const failed = rows.filter((r) => r.regression);
  return [
    failed.length === 0 ? '### modeltap check: no regression' : `### modeltap check: ${failed.length} regression${failed.length === 1 ? '' : 's'}`,
    '',
    '| group | metric | baseline | current | change | p | verdict |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- |',
    ...rows.map((r) => `| ${r.group} | ${r.metric} | ${valueText(r, r.baseline)} | ${valueText(r, r.current)} | ${changeText(r)} | ${r.p === undefined ? '–' : r.p.toExponential(1)} | ${verdict(r)} |`),
    '',
  ].join('\n');
}

/** github-action-benchmark's `customSmallerIsBetter` entries for the current run. */
export function githubBenchmarkJson(rows: readonly CheckRow[]): { name: string; unit: string; value: number }[] {
  return rows.flatMap((r) => ((r.unit === 'ms' || r.unit === 'USD' || r.metric === 'error_rate') && r.current !== undefined ? [{ name: `${r.group} ${r.metric}`, unit: r.unit, value: r.current }] : []));
}
