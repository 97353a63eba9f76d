import type { SsePoll, TelemetryHooks, TransportError, WsPoll } from '../telemetry/hooks.js';

/**
 * Calls every registered hook set, each call guarded: a hook that throws is ignored, so telemetry
 * can never break a request (telemetry contract, principle 5).
 */
export class HookFanout {
  readonly #hooks: readonly TelemetryHooks[];

  constructor(hooks: readonly (TelemetryHooks | undefined)[]) {
    this.#hooks = hooks.filter((h): h is TelemetryHooks => h !== undefined);
  }

  /** A fan-out that also calls `extra`, or this one when there is none. */
  with(extra: TelemetryHooks | undefined): HookFanout {
    return extra === undefined ? this : new HookFanout([...this.#hooks, extra]);
  }

  onAttemptStart(attempt: number, request: { readonly method: string; readonly url: string }): Record<string, string> | undefined {
    let headers: Record<string, string> | undefined;
    for (const h of this.#hooks) {
      try {
        const extra = h.onAttemptStart?.(attempt, request);
        if (extra !== undefined) headers = headers === undefined ? { ...extra } : Object.assign(headers, extra);
      } catch {
        // Telemetry must not break the request.
      }
    }
    return headers;
  }

  onWsFallback(reason: 'upgrade_required' | 'retries_exhausted'): void {
    for (const h of this.#hooks) {
      try {
        h.onWsFallback?.(reason);
      } catch {
        // Telemetry must not break the request.
      }
    }
  }

  onAuthRecovery(step: number, outcome: 'success' | 'failure'): void {
    for (const h of this.#hooks) {
      try {
        h.onAuthRecovery?.(step, outcome);
      } catch {
        // Telemetry must not break the request.
      }
    }
  }

  onRequest(attempt: number, status: number | null, error: TransportError | null, durationMs: number): void {
    for (const h of this.#hooks) {
      try {
        h.onRequest?.(attempt, status, error, durationMs);
      } catch {
        // Telemetry must not break the request.
      }
    }
  }

  onSsePoll(result: SsePoll, durationMs: number): void {
    for (const h of this.#hooks) {
      try {
        h.onSsePoll?.(result, durationMs);
      } catch {
        // Telemetry must not break the request.
      }
    }
  }

  onWsRequest(durationMs: number, error: { readonly kind: string; readonly message: string } | null): void {
    for (const h of this.#hooks) {
      try {
        h.onWsRequest?.(durationMs, error);
      } catch {
        // Telemetry must not break the request.
      }
    }
  }

  onWsEvent(result: WsPoll, durationMs: number): void {
    for (const h of this.#hooks) {
      try {
        h.onWsEvent?.(result, durationMs);
      } catch {
        // Telemetry must not break the request.
      }
    }
  }
}
