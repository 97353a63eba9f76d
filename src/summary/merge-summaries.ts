import { SummaryInputError } from './parse-summary.js';
import { foldedKind, groupKey, MAX_GROUPS, MAX_SAMPLES, OTHER, statOf, SUMMARY_VERSION, type RunSummary, type Stat, type SummaryGroup } from './summary-recorder.js';

/**
 * Merges run summaries of one kind (`proxy` or `bench`), e.g. of the replicas of a fleet, into the
 * summary of all their traffic: groups keyed as the recorder keys them (route × model × transport ×
 * request kind); counts, errors, unreported usage and unknown costs summed; tokens summed over the
 * summaries that know them (null only when none does); cost summed in integer pico-USD; from the
 * earliest start to the latest end. Latencies merge as raw samples, never as averaged percentiles:
 * the union of the samples when it fits {@link MAX_SAMPLES}, else a deterministic sample of it in
 * which each summary's share is in proportion to the count it stands for; the quantiles are then
 * the recorder's, of the merged samples, and the maximum is the largest. Groups past
 * {@link MAX_GROUPS} fold into model `_OTHER` as the recorder folds them. `summaries` are in the
 * current shape ({@link parseSummary}'s); `names` (default `summary 1`, …) name them in errors.
 * Throws {@link SummaryInputError} (`unmergeable`) for none, or for a proxy summary with a bench one.
 */
export function mergeSummaries(summaries: readonly RunSummary[], names?: readonly string[]): RunSummary {
  const first = summaries[0];
  if (first === undefined) throw new SummaryInputError('no summary to merge', 'unmergeable');
  const nameOf = (i: number): string => names?.[i] ?? `summary ${i + 1}`;
  const other = summaries.findIndex((s) => s.source !== first.source);
  if (other !== -1) {
    // Client-side and proxy-side latencies measure different things: their union would mean neither.
    throw new SummaryInputError(`cannot merge a ${first.source} summary (${nameOf(0)}) with a ${(summaries[other] as RunSummary).source} summary (${nameOf(other)})`, 'unmergeable');
  }
  const groups = new Map<string, SummaryGroup[]>();
  for (const summary of summaries) {
    for (const g of summary.groups) {
      let key = groupKey(g.route, g.model, g.transport, g.requestKind);
      let labels: Pick<SummaryGroup, 'model' | 'requestKind'> = g;
      if (!groups.has(key) && groups.size >= MAX_GROUPS) {
        const kind = foldedKind(g.requestKind);
        labels = { model: OTHER, ...(kind === undefined ? {} : { requestKind: kind }) };
        key = groupKey(g.route, labels.model, g.transport, labels.requestKind);
      }
      const parts = groups.get(key);
      const part = labels === g ? g : relabel(g, labels);
      if (parts === undefined) groups.set(key, [part]);
      else parts.push(part);
    }
  }
  return {
    version: SUMMARY_VERSION,
    source: first.source,
    startedAt: extremeTime(summaries.map((s) => s.startedAt), -1),
    endedAt: extremeTime(summaries.map((s) => s.endedAt), 1),
    groups: [...groups.values()].map(mergeGroup),
  };
}

/** A group under the labels it folds into. */
function relabel(g: SummaryGroup, labels: Pick<SummaryGroup, 'model' | 'requestKind'>): SummaryGroup {
  const { model: _model, requestKind: _kind, ...rest } = g;
  return { ...rest, ...labels };
}

/** The earliest time (`sign` -1) or the latest (1); an unparseable one counts only when all are. */
function extremeTime(times: readonly string[], sign: 1 | -1): string {
  let best = times[0] as string;
  let bestMs = Date.parse(best);
  for (const t of times) {
    const ms = Date.parse(t);
    if (Number.isNaN(ms)) continue;
    if (Number.isNaN(bestMs) || (ms - bestMs) * sign > 0) {
      best = t;
      bestMs = ms;
    }
  }
  return best;
}

/** Groups of one key, as one. */
function mergeGroup(parts: readonly SummaryGroup[]): SummaryGroup {
  const head = parts[0] as SummaryGroup;
  const errors: Record<string, number> = {};
  let tokens: { input: number; output: number; cached: number } | null = null;
  let picos: number | null = null;
  for (const g of parts) {
    for (const [kind, n] of Object.entries(g.errors)) errors[kind] = (errors[kind] ?? 0) + n;
    if (g.tokens !== null) {
      tokens ??= { input: 0, output: 0, cached: 0 };
      tokens.input += g.tokens.input;
      tokens.output += g.tokens.output;
      tokens.cached += g.tokens.cached;
    }
    // Back to the integer pico-USD the recorder summed, so the sum does not drift: USD read back
    // from JSON gives the same integer for a group under 4,096 USD, and a pico-dollar or two past it.
    // Like the recorder, exact while the sum stays under 2^53 picos (9,007 USD per group).
    if (g.costUsd !== null) picos = (picos ?? 0) + Math.round(g.costUsd * 1e12);
  }
  const sum = (f: (g: SummaryGroup) => number): number => parts.reduce((n, g) => n + f(g), 0);
  return {
    route: head.route,
    ...(head.model === undefined ? {} : { model: head.model }),
    transport: head.transport,
    ...(head.requestKind === undefined ? {} : { requestKind: head.requestKind }),
    count: sum((g) => g.count),
    errors,
    ttfcMs: mergeStats(parts.map((g) => g.ttfcMs)),
    durationMs: mergeStats(parts.map((g) => g.durationMs)),
    outputTokensPerSecond: mergeStats(parts.map((g) => g.outputTokensPerSecond)),
    overheadMs: mergeStats(parts.map((g) => g.overheadMs)),
    tokens,
    usageUnreported: sum((g) => g.usageUnreported),
    costUsd: picos === null ? null : picos / 1e12,
    costUnknown: sum((g) => g.costUnknown),
  };
}

/**
 * One {@link Stat} of several, from their raw samples: all of them when they fit
 * {@link MAX_SAMPLES}; else each stat gives a share of MAX_SAMPLES in proportion to its count,
 * picked evenly across its sorted samples (a stratified pick, so the same merge gives the same
 * result and the share keeps the shape of its distribution).
 */
export function mergeStats(stats: readonly Stat[]): Stat {
  const count = stats.reduce((n, s) => n + s.count, 0);
  const max = stats.reduce((m, s) => (s.count > 0 && s.max > m ? s.max : m), Number.NEGATIVE_INFINITY);
  const total = stats.reduce((n, s) => n + s.samples.length, 0);
  if (total <= MAX_SAMPLES) return statOf(stats.flatMap((s) => s.samples), count, max);
  const shares = sampleShares(stats.map((s) => ({ weight: s.samples.length === 0 ? 0 : s.count, cap: s.samples.length })), MAX_SAMPLES);
  const samples: number[] = [];
  stats.forEach((s, i) => {
    const share = shares[i] ?? 0;
    if (share === 0) return;
    const sorted = [...s.samples].sort((a, b) => a - b);
    // Step n/share ≥ 1, so the picks are distinct; each is the middle of its stratum.
    for (let k = 0; k < share; k++) samples.push(sorted[Math.floor(((k + 0.5) * sorted.length) / share)] as number);
  });
  return statOf(samples, count, max);
}

/**
 * Splits `size` picks in proportion to the weights (largest remainders, ties to the earlier), none
 * above its cap; what a cap leaves goes to the others in the same proportion.
 */
export function sampleShares(parts: readonly { readonly weight: number; readonly cap: number }[], size: number): number[] {
  const shares = parts.map(() => 0);
  const open = new Set(parts.flatMap((p, i) => (p.weight > 0 && p.cap > 0 ? [i] : [])));
  let left = size;
  // Each round fills at least one part to its cap or places every pick left: at most one round per part.
  for (let round = 0; round <= parts.length && left > 0 && open.size > 0; round++) {
    const weight = [...open].reduce((n, i) => n + (parts[i] as { weight: number }).weight, 0);
    const exact = [...open].map((i) => ({ i, quota: (left * (parts[i] as { weight: number }).weight) / weight }));
    const given = exact.map(({ i, quota }) => ({ i, n: Math.floor(quota), rest: quota - Math.floor(quota) }));
    let spare = left - given.reduce((n, g) => n + g.n, 0);
    for (const g of [...given].sort((a, b) => b.rest - a.rest || a.i - b.i)) {
      if (spare <= 0) break;
      g.n++;
      spare--;
    }
    for (const { i, n } of given) {
      const room = (parts[i] as { cap: number }).cap - (shares[i] as number);
      const add = Math.min(n, room);
      shares[i] = (shares[i] as number) + add;
      left -= add;
      if (add === room) open.delete(i);
    }
  }
  return shares;
}
