/** Token usage the simulator reports. */
export interface SimUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedInputTokens: number;
  readonly reasoningTokens: number;
}

/**
 * How the simulated upstream answers. Each field can be overridden per request with a header
 * (`x-sim-ttfb-ms`, `x-sim-events`, `x-sim-gap-ms`, `x-sim-fault`).
 */
export interface SimOptions {
  /** Delay before the response head and first event, in ms. Default 0. */
  readonly ttfbMs: number;
  /** Output text deltas per streamed response. Default 8. */
  readonly events: number;
  /** Delay between two streamed events, in ms. Default 0. */
  readonly gapMs: number;
  /** Fixed usage; default: input from the body size (bytes / 4), output = events. */
  readonly usage: Partial<SimUsage>;
  /** Accept Responses WebSocket upgrades. Default true. */
  readonly websocket: boolean;
  /**
   * Stamp every streamed event with `"t_ns"`, the monotonic send time (CLOCK_MONOTONIC, shared by
   * every process on the machine), so a load client can measure one-way latency. Default false.
   */
  readonly stamp: boolean;
}

/** Defaults of {@link SimOptions}. */
export const DEFAULT_SIM_OPTIONS: SimOptions = {
  ttfbMs: 0,
  events: 8,
  gapMs: 0,
  usage: {},
  websocket: true,
  stamp: false,
};

/**
 * A fault to inject, from `x-sim-fault: <kind>[:<arg>][;times=<n>]`:
 * - `status:<code>` answers with that HTTP status and an OpenAI-shaped error body;
 * - `reset:<k>` destroys the connection after k events (0: before the head);
 * - `stall:<k>` stops sending after k events, keeping the connection open;
 * - `malformed:<k>` sends a broken SSE frame after k events, then completes;
 * - `slow-head:<ms>` delays the head.
 * With `times=n` the fault applies to the first n requests that carry the same header value, so
 * that a retry can succeed; with `every=n`, to every n-th of them (a steady error rate); `key=<any>`
 * only tells header values apart, so that each gets its own count.
 */
export type SimFault =
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'reset'; readonly after: number }
  | { readonly kind: 'stall'; readonly after: number }
  | { readonly kind: 'malformed'; readonly after: number }
  | { readonly kind: 'slow-head'; readonly ms: number };

/** Parses an `x-sim-fault` value; undefined when malformed. */
export function parseSimFault(value: string): { fault: SimFault; times: number; every: number } | undefined {
  const [spec = '', ...params] = value.split(';').map((s) => s.trim());
  let times = Number.POSITIVE_INFINITY;
  let every = 1;
  for (const param of params) {
    const [k, v] = param.split('=');
    if (k === 'times' && v !== undefined && /^\d+$/.test(v)) times = Number(v);
    else if (k === 'every' && v !== undefined && /^[1-9]\d*$/.test(v)) every = Number(v);
    else if (k === 'key' && v !== undefined) continue;
    else return undefined;
  }
  const [kind, arg = '0'] = spec.split(':');
  if (!/^\d+$/.test(arg)) return undefined;
  const n = Number(arg);
  switch (kind) {
    case 'status':
      return n >= 100 && n <= 599 ? { fault: { kind, status: n }, times, every } : undefined;
    case 'reset':
    case 'stall':
    case 'malformed':
      return { fault: { kind, after: n }, times, every };
    case 'slow-head':
      return { fault: { kind, ms: n }, times, every };
    default:
      return undefined;
  }
}
