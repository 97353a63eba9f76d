import type { SsePoll, TelemetryHooks, TransportError, WsPoll } from '../telemetry/hooks.js';

/** The names of the hooks of {@link TelemetryHooks}. */
export const HOOK_NAMES = ['onAttemptStart', 'onWsFallback', 'onAuthRecovery', 'onRequest', 'onSsePoll', 'onWsRequest', 'onWsEvent'] as const satisfies readonly (keyof TelemetryHooks)[];

/** Whether a hook set has any hook at all. */
export function hasHooks(hooks: TelemetryHooks): boolean {
  for (const name of HOOK_NAMES) if (hooks[name] !== undefined) return true;
  return false;
}

/** Told of each hook that threw: the hook's name and what it threw. Must not throw itself. */
export type HookErrorReporter = (hook: string, error: unknown) => void;

/**
 * Calls every registered hook set, each call guarded: a hook that throws is ignored (and reported
 * to `onError`, when given), so telemetry can never break a request (telemetry contract,
 * principle 5). This is the one guard around hooks: the proxy's telemetry guard uses it too.
 */
export class HookFanout {
  readonly #hooks: readonly TelemetryHooks[];
  readonly #onError: HookErrorReporter | undefined;

  constructor(hooks: readonly (TelemetryHooks | undefined)[], onError?: HookErrorReporter) {
    this.#hooks = hooks.filter((h): h is TelemetryHooks => h !== undefined);
    this.#onError = onError;
  }

  /** A fan-out that also calls `extra`, or this one when there is none. */
  with(extra: TelemetryHooks | undefined): HookFanout {
    if (extra === undefined) return this;
    // Hooks that are a guarded fan-out already (the proxy's) need no second guard around them.
    if (extra instanceof HookFanout && this.#hooks.length === 0) return extra;
    return new HookFanout([...this.#hooks, extra], this.#onError);
  }

  #failed(hook: string, error: unknown): void {
    if (this.#onError === undefined) return;
    try {
      this.#onError(hook, error);
    } catch {
      // A reporter that throws reports nothing; the request goes on.
    }
  }

  onAttemptStart(attempt: number, request: { readonly method: string; readonly url: string }): Record<string, string> | undefined {
    let headers: Record<string, string> | undefined;
    for (const h of this.#hooks) {
      try {
        const extra = h.onAttemptStart?.(attempt, request);
        if (extra !== undefined) headers = headers === undefined ? { ...extra } : Object.assign(headers, extra);
      } catch (thrown) {
        this.#failed('onAttemptStart', thrown);
      }
    }
    return headers;
  }

  onWsFallback(reason: 'upgrade_required' | 'retries_exhausted'): void {
    for (const h of this.#hooks) {
      try {
        h.onWsFallback?.(reason);
      } catch (thrown) {
        this.#failed('onWsFallback', thrown);
      }
    }
  }

  onAuthRecovery(step: number, outcome: 'success' | 'failure'): void {
    for (const h of this.#hooks) {
      try {
        h.onAuthRecovery?.(step, outcome);
      } catch (thrown) {
        this.#failed('onAuthRecovery', thrown);
      }
    }
  }

  onRequest(attempt: number, status: number | null, error: TransportError | null, durationMs: number): void {
    for (const h of this.#hooks) {
      try {
        h.onRequest?.(attempt, status, error, durationMs);
      } catch (thrown) {
        this.#failed('onRequest', thrown);
      }
    }
  }

  onSsePoll(result: SsePoll, durationMs: number): void {
    for (const h of this.#hooks) {
      try {
        h.onSsePoll?.(result, durationMs);
      } catch (thrown) {
        this.#failed('onSsePoll', thrown);
      }
    }
  }

  onWsRequest(durationMs: number, error: { readonly kind: string; readonly message: string } | null): void {
    for (const h of this.#hooks) {
      try {
        h.onWsRequest?.(durationMs, error);
      } catch (thrown) {
        this.#failed('onWsRequest', thrown);
      }
    }
  }

  onWsEvent(result: WsPoll, durationMs: number): void {
    for (const h of this.#hooks) {
      try {
        h.onWsEvent?.(result, durationMs);
      } catch (thrown) {
        this.#failed('onWsEvent', thrown);
      }
    }
  }
}
