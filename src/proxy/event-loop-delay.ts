import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The event loop's delay over a window, in ms: how late its timers ran (what a block on the relay's thread costs every stream). */
export interface EventLoopDelayWindow {
  /** Sampling resolution, ms: a block shorter than this is seen only when a sample falls in it. */
  readonly resolutionMs: number;
  /** Samples in the window. */
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * Measures the delay of the event loop it runs on (`perf_hooks.monitorEventLoopDelay`), in windows:
 * {@link EventLoopDelay.read} returns the window so far and, with `reset`, starts a new one. Off
 * unless created (`--event-loop-stats`): its timer wakes the loop every `resolutionMs` (default 10).
 */
export class EventLoopDelay {
  readonly #histogram: ReturnType<typeof monitorEventLoopDelay>;
  readonly #resolutionMs: number;

  constructor(resolutionMs = 10) {
    this.#resolutionMs = resolutionMs;
    this.#histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    this.#histogram.enable();
  }

  /** The window so far; `reset`: then start a new one. */
  read(reset = false): EventLoopDelayWindow {
    const h = this.#histogram;
    // The histogram holds the intervals between the monitor's timer firings: the delay is what exceeds the resolution.
    const ms = (ns: number): number => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - this.#resolutionMs) : 0);
    const window = { resolutionMs: this.#resolutionMs, samples: h.count, p50Ms: h.count === 0 ? 0 : ms(h.percentile(50)), p99Ms: h.count === 0 ? 0 : ms(h.percentile(99)), maxMs: h.count === 0 ? 0 : ms(h.max) };
    if (reset) h.reset();
    return window;
  }

  /** Stops sampling. */
  stop(): void {
    this.#histogram.disable();
  }
}
