/**
 * The run summary: per route × model × transport, counts, errors by kind, and exact latency
 * samples (a bounded uniform reservoir, so quantiles stay faithful), written by the proxy from its
 * own measurements and by `modeltap bench` from the client's side. `modeltap check` compares two.
 */

/** Summary format version; `check` refuses others. */
export const SUMMARY_VERSION = 1;
/** Samples kept per metric and group. */
export const MAX_SAMPLES = 5000;
/**
 * Groups kept; requests of further models are folded into model `_OTHER`, so callers that send
 * arbitrary model names cannot grow the summary without bound.
 */
export const MAX_GROUPS = 256;

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

/** One route × model × transport. */
export interface SummaryGroup {
  readonly route: string;
  readonly model: string;
  readonly transport: string;
  readonly count: number;
  readonly errors: Record<string, number>;
  /** Time to the first chunk (caller's view for the proxy, client's view for bench), ms. */
  readonly ttfcMs: Stat;
  readonly durationMs: Stat;
  readonly outputTokensPerSecond: Stat;
  /** modeltap's own overhead before the first byte, ms (proxy summaries only). */
  readonly overheadMs: Stat;
  readonly tokens: { readonly input: number; readonly output: number; readonly cached: number };
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
  readonly model: string;
  readonly transport: string;
  /** Low-cardinality error kind, or undefined on success. */
  readonly error: string | undefined;
  readonly ttfcMs: number | undefined;
  readonly durationMs: number;
  readonly overheadMs: number | undefined;
  readonly tokens: { readonly input: number; readonly output: number; readonly cached: number } | undefined;
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
    const sorted = [...this.values].sort((a, b) => a - b);
    const q = (p: number): number => (sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number));
    return { count: this.count, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: this.count === 0 ? 0 : this.max, samples: this.values.slice() };
  }
}

interface GroupState {
  count: number;
  errors: Record<string, number>;
  ttfc: Reservoir;
  duration: Reservoir;
  tps: Reservoir;
  overhead: Reservoir;
  tokens: { input: number; output: number; cached: number };
}

/** Accumulates requests into a {@link RunSummary}. */
export class SummaryRecorder {
  readonly #groups = new Map<string, GroupState & { route: string; model: string; transport: string }>();
  readonly #source: RunSummary['source'];
  readonly #startedAt = new Date().toISOString();

  constructor(source: RunSummary['source']) {
    this.#source = source;
  }

  record(r: RequestRecord): void {
    let model = r.model;
    let key = `${r.route}\u0000${model}\u0000${r.transport}`;
    let g = this.#groups.get(key);
    if (g === undefined && this.#groups.size >= MAX_GROUPS) {
      model = '_OTHER';
      key = `${r.route}\u0000${model}\u0000${r.transport}`;
      g = this.#groups.get(key);
    }
    if (g === undefined) {
      g = { route: r.route, model, transport: r.transport, count: 0, errors: {}, ttfc: new Reservoir(), duration: new Reservoir(), tps: new Reservoir(), overhead: new Reservoir(), tokens: { input: 0, output: 0, cached: 0 } };
      this.#groups.set(key, g);
    }
    g.count++;
    if (r.error !== undefined) g.errors[r.error] = (g.errors[r.error] ?? 0) + 1;
    if (r.ttfcMs !== undefined) g.ttfc.add(r.ttfcMs);
    g.duration.add(r.durationMs);
    if (r.overheadMs !== undefined) g.overhead.add(r.overheadMs);
    if (r.tokens !== undefined) {
      g.tokens.input += r.tokens.input;
      g.tokens.output += r.tokens.output;
      g.tokens.cached += r.tokens.cached;
      const generating = (r.durationMs - (r.ttfcMs ?? 0)) / 1000;
      if (r.error === undefined && r.tokens.output > 0 && generating > 0) g.tps.add(r.tokens.output / generating);
    }
  }

  summary(): RunSummary {
    return {
      version: SUMMARY_VERSION,
      source: this.#source,
      startedAt: this.#startedAt,
      endedAt: new Date().toISOString(),
      groups: [...this.#groups.values()].map((g) => ({
        route: g.route,
        model: g.model,
        transport: g.transport,
        count: g.count,
        errors: { ...g.errors },
        ttfcMs: g.ttfc.stat(),
        durationMs: g.duration.stat(),
        outputTokensPerSecond: g.tps.stat(),
        overheadMs: g.overhead.stat(),
        tokens: { ...g.tokens },
      })),
    };
  }
}
