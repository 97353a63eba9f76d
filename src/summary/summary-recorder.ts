/**
 * The run summary: per route × model × transport × request kind, counts, errors by kind, and exact
 * latency samples (a bounded uniform reservoir, so quantiles stay faithful), written by the proxy
 * from its own measurements and by `modeltap bench` from the client's side. `modeltap check`
 * compares two.
 */

/**
 * Summary format version written. 2 split groups by request kind and made unreported usage
 * unknown rather than 0; a version-1 reader would merge those groups and misread `tokens: null`,
 * so an older modeltap refuses version 2, while this one still reads version 1 (parse-summary.ts).
 */
export const SUMMARY_VERSION = 2;
/** Samples kept per metric and group. */
export const MAX_SAMPLES = 5000;
/**
 * Groups kept; requests of further models are folded into model `_OTHER`, so callers that send
 * arbitrary model names cannot grow the summary without bound.
 */
export const MAX_GROUPS = 256;

/** The model a request of a further group is counted under once {@link MAX_GROUPS} groups exist, and a request kind that does not look like one. */
export const OTHER = '_OTHER';

/** The request kind of a group folded into model {@link OTHER}: `_OTHER` too, or still none when it had none. */
export const foldedKind = (kind: string | undefined): string | undefined => (kind === undefined ? undefined : OTHER);

/** One measured quantity. */
export interface Stat {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  /** A uniform sample of the values (all of them up to {@link MAX_SAMPLES}). */
  readonly samples: number[];
}

/** Token sums of a group. */
export interface TokenSums {
  readonly input: number;
  readonly output: number;
  readonly cached: number;
}

/** One route × model × transport × request kind. */
export interface SummaryGroup {
  readonly route: string;
  /** The model the requests named; absent when they named none. */
  readonly model?: string;
  readonly transport: string;
  /** Codex's request kind (`turn`, `prewarm`, `compaction`, …); absent when the caller sent none. */
  readonly requestKind?: string;
  readonly count: number;
  readonly errors: Record<string, number>;
  /** Time to the first chunk (caller's view for the proxy, client's view for bench), ms. */
  readonly ttfcMs: Stat;
  readonly durationMs: Stat;
  readonly outputTokensPerSecond: Stat;
  /** modeltap's own overhead before the first byte, ms (proxy summaries only). */
  readonly overheadMs: Stat;
  /** Sums over the requests whose usage the upstream reported; null when none of them did (unknown, not 0). */
  readonly tokens: TokenSums | null;
  /**
   * Requests whose usage the upstream did not report (a Chat stream without
   * `stream_options.include_usage`, a failed or cut-short request): not in `tokens`, so tokens per
   * request are `tokens` over `count - usageUnreported`.
   */
  readonly usageUnreported: number;
  /**
   * What the requests whose cost is known cost, in USD (the upstream's usage at the price table's
   * prices, `prices/openai.json` and `--prices`); null when none is known (unknown, not 0).
   */
  readonly costUsd: number | null;
  /** Requests whose cost is unknown (no usage, or no price for the model or tier): not in `costUsd`. */
  readonly costUnknown: number;
}

/** A whole run. */
export interface RunSummary {
  readonly version: number;
  readonly source: 'proxy' | 'bench';
  readonly startedAt: string;
  readonly endedAt: string;
  readonly groups: SummaryGroup[];
}

/** One request as the recorder sees it. */
export interface RequestRecord {
  readonly route: string;
  /** Undefined when the request named no model. */
  readonly model: string | undefined;
  readonly transport: string;
  /** Codex's request kind; undefined (the default) for callers that send none. */
  readonly requestKind?: string | undefined;
  /** Low-cardinality error kind, or undefined on success. */
  readonly error: string | undefined;
  readonly ttfcMs: number | undefined;
  readonly durationMs: number;
  readonly overheadMs: number | undefined;
  /** Undefined when the upstream reported no usage: counted in `usageUnreported`, never as 0. */
  readonly tokens: TokenSums | undefined;
  /** What it cost in pico-USD (an integer: sums stay exact); undefined when unknown, counted in `costUnknown`. */
  readonly costPicos?: number | undefined;
}

class Reservoir {
  readonly values: number[] = [];
  count = 0;
  max = Number.NEGATIVE_INFINITY;

  add(value: number): void {
    if (!Number.isFinite(value)) return;
    this.count++;
    if (value > this.max) this.max = value;
    if (this.values.length < MAX_SAMPLES) this.values.push(value);
    else {
      const j = Math.floor(Math.random() * this.count);
      if (j < MAX_SAMPLES) this.values[j] = value;
    }
  }

  stat(): Stat {
    return statOf(this.values, this.count, this.max);
  }
}

/** The `p` quantile (0–1) of ascending `sorted` values as the summary reports it: the value at rank ⌊p·n⌋; 0 when there is none. */
export function quantile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number);
}

/**
 * The {@link Stat} of `count` values whose largest is `max`, from `samples`, a uniform sample of
 * them: the quantiles are the samples', the count and the maximum the whole's (0 when `count` is 0).
 */
export function statOf(samples: readonly number[], count: number, max: number): Stat {
  const sorted = [...samples].sort((a, b) => a - b);
  return { count, p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), p99: quantile(sorted, 0.99), max: count === 0 ? 0 : max, samples: samples.slice() };
}

interface GroupState {
  readonly route: string;
  readonly model: string | undefined;
  readonly transport: string;
  readonly requestKind: string | undefined;
  count: number;
  errors: Record<string, number>;
  ttfc: Reservoir;
  duration: Reservoir;
  tps: Reservoir;
  overhead: Reservoir;
  tokens: { input: number; output: number; cached: number } | null;
  usageUnreported: number;
  /** Summed in integer pico-USD, exact up to 2^53 (9,007 USD per group). */
  costPicos: number | null;
  costUnknown: number;
}

/** Request kinds come from the caller's metadata: odd ones are folded, like odd model names in metrics. */
const KIND = /^[A-Za-z0-9_.:-]{1,48}$/;

/** Accumulates requests into a {@link RunSummary}. */
export class SummaryRecorder {
  readonly #groups = new Map<string, GroupState>();
  readonly #source: RunSummary['source'];
  readonly #startedAt = new Date().toISOString();

  constructor(source: RunSummary['source']) {
    this.#source = source;
  }

  record(r: RequestRecord): void {
    let model = r.model === '' ? undefined : r.model;
    let kind = r.requestKind === undefined || r.requestKind === '' ? undefined : KIND.test(r.requestKind) ? r.requestKind : OTHER;
    let key = groupKey(r.route, model, r.transport, kind);
    let g = this.#groups.get(key);
    if (g === undefined && this.#groups.size >= MAX_GROUPS) {
      model = OTHER;
      kind = foldedKind(kind);
      key = groupKey(r.route, model, r.transport, kind);
      g = this.#groups.get(key);
    }
    if (g === undefined) {
      g = { route: r.route, model, transport: r.transport, requestKind: kind, count: 0, errors: {}, ttfc: new Reservoir(), duration: new Reservoir(), tps: new Reservoir(), overhead: new Reservoir(), tokens: null, usageUnreported: 0, costPicos: null, costUnknown: 0 };
      this.#groups.set(key, g);
    }
    g.count++;
    if (r.error !== undefined) g.errors[r.error] = (g.errors[r.error] ?? 0) + 1;
    if (r.ttfcMs !== undefined) g.ttfc.add(r.ttfcMs);
    g.duration.add(r.durationMs);
    if (r.overheadMs !== undefined) g.overhead.add(r.overheadMs);
    if (r.costPicos === undefined) g.costUnknown++;
    else g.costPicos = (g.costPicos ?? 0) + r.costPicos;
    if (r.tokens === undefined) {
      g.usageUnreported++;
      return;
    }
    g.tokens ??= { input: 0, output: 0, cached: 0 };
    g.tokens.input += r.tokens.input;
    g.tokens.output += r.tokens.output;
    g.tokens.cached += r.tokens.cached;
    const generating = (r.durationMs - (r.ttfcMs ?? 0)) / 1000;
    if (r.error === undefined && r.tokens.output > 0 && generating > 0) g.tps.add(r.tokens.output / generating);
  }

  summary(): RunSummary {
    return {
      version: SUMMARY_VERSION,
      source: this.#source,
      startedAt: this.#startedAt,
      endedAt: new Date().toISOString(),
      groups: [...this.#groups.values()].map((g) => ({
        route: g.route,
        ...(g.model === undefined ? {} : { model: g.model }),
        transport: g.transport,
        ...(g.requestKind === undefined ? {} : { requestKind: g.requestKind }),
        count: g.count,
        errors: { ...g.errors },
        ttfcMs: g.ttfc.stat(),
        durationMs: g.duration.stat(),
        outputTokensPerSecond: g.tps.stat(),
        overheadMs: g.overhead.stat(),
        tokens: g.tokens === null ? null : { ...g.tokens },
        usageUnreported: g.usageUnreported,
        costUsd: g.costPicos === null ? null : g.costPicos / 1e12,
        costUnknown: g.costUnknown,
      })),
    };
  }
}

// NUL cannot occur in a route, model name or kind, so distinct groups never share a key.
/** The recorder's key of a group: one per route × model × transport × request kind (an absent model or kind is none). */
export const groupKey = (route: string, model: string | undefined, transport: string, kind: string | undefined): string =>
  `${route}\u0000${model ?? ''}\u0000${transport}\u0000${kind ?? ''}`;

/** How a group is named in `report` and `check`: route, model (`(none)` when absent), transport, and the request kind when there is one. */
export function groupName(g: Pick<SummaryGroup, 'route' | 'model' | 'transport' | 'requestKind'>): string {
  return `${g.route} ${g.model ?? NO_MODEL} ${g.transport}${g.requestKind === undefined ? '' : ` ${g.requestKind}`}`;
}

/** What `report` and `check` show for a group whose requests named no model. */
export const NO_MODEL = '(none)';

/** Output tokens per request over the requests that reported usage; undefined when none did. */
export function outputTokensPerRequest(g: Pick<SummaryGroup, 'count' | 'tokens' | 'usageUnreported'>): number | undefined {
  const measured = g.count - g.usageUnreported;
  return g.tokens === null || measured <= 0 ? undefined : g.tokens.output / measured;
}

/** Cost per request in USD over the requests whose cost is known; undefined when none is. */
export function costPerRequest(g: Pick<SummaryGroup, 'count' | 'costUsd' | 'costUnknown'>): number | undefined {
  const known = g.count - g.costUnknown;
  return g.costUsd === null || known <= 0 ? undefined : g.costUsd / known;
}

/** What a whole run cost over the requests whose cost is known (USD, summed exactly), and how many requests' cost is unknown. */
export function runCost(summary: Pick<RunSummary, 'groups'>): { readonly usd: number | null; readonly unknown: number; readonly count: number } {
  let picos: number | null = null;
  let unknown = 0;
  let count = 0;
  for (const g of summary.groups) {
    count += g.count;
    unknown += g.costUnknown;
    // Back to integer pico-USD so the sum does not drift.
    if (g.costUsd !== null) picos = (picos ?? 0) + Math.round(g.costUsd * 1e12);
  }
  return { usd: picos === null ? null : picos / 1e12, unknown, count };
}
