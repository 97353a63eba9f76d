import type { ResponseEvent } from '../client/events.js';
import { HOOK_NAMES } from '../client/hook-fanout.js';
import type { TelemetryHooks } from './hooks.js';
import type { ErrorDetail, OperationInfo, ProxyTelemetry, RequestOutcome, RequestTelemetry, TurnTelemetry } from './proxy-telemetry.js';

/** Several telemetry implementations as one: every call reaches each, hooks included. */
export function composeTelemetry(parts: readonly ProxyTelemetry[]): ProxyTelemetry {
  if (parts.length === 1) return parts[0] as ProxyTelemetry;
  return { startRequest: (info) => new ComposedRequest(parts.map((p) => p.startRequest(info))) };
}

/**
 * One request's telemetry, fanned out. A class, not an object of closures: it is built for every
 * request, and methods on the prototype cost nothing per request.
 */
class ComposedRequest implements RequestTelemetry {
  readonly hooks: TelemetryHooks;
  readonly allEvents: boolean;
  readonly #parts: readonly RequestTelemetry[];

  constructor(parts: readonly RequestTelemetry[]) {
    this.#parts = parts;
    this.hooks = composeHooks(parts);
    this.allEvents = parts.some((r) => r.allEvents === true);
  }

  startOperation(info: OperationInfo): void {
    for (const r of this.#parts) r.startOperation(info);
  }

  onHead(statusCode: number, transport: 'http_sse' | 'http_json' | 'websocket', overheadMs: number, upstreamMs: number): void {
    for (const r of this.#parts) r.onHead(statusCode, transport, overheadMs, upstreamMs);
  }

  onEvent(event: ResponseEvent): void {
    for (const r of this.#parts) r.onEvent(event);
  }

  onWrite(readAt: number): void {
    for (const r of this.#parts) r.onWrite(readAt);
  }

  onError(errorType: string, detail?: ErrorDetail): void {
    for (const r of this.#parts) r.onError(errorType, detail);
  }

  startTurn(info: OperationInfo): TurnTelemetry {
    return new ComposedTurn(this.#parts.map((r) => r.startTurn(info)));
  }

  onFallback(reason: string): void {
    for (const r of this.#parts) r.onFallback(reason);
  }

  end(outcome: RequestOutcome): void {
    for (const r of this.#parts) r.end(outcome);
  }
}

/** One turn's telemetry, fanned out to each part's own turn. */
class ComposedTurn implements TurnTelemetry {
  readonly #parts: readonly TurnTelemetry[];

  constructor(parts: readonly TurnTelemetry[]) {
    this.#parts = parts;
  }

  onEvent(event: ResponseEvent): void {
    for (const t of this.#parts) t.onEvent(event);
  }

  onChunk(readAt: number): void {
    for (const t of this.#parts) t.onChunk(readAt);
  }

  onWrite(readAt: number): void {
    for (const t of this.#parts) t.onWrite(readAt);
  }

  end(errorType?: string): void {
    for (const t of this.#parts) t.end(errorType);
  }
}

/** The parts' hooks as one set: a hook only one part has is passed as it is (hooks run per SSE frame). */
function composeHooks(parts: readonly RequestTelemetry[]): TelemetryHooks {
  let withHooks: RequestTelemetry | undefined;
  let count = 0;
  for (const r of parts) {
    if (HOOK_NAMES.some((key) => r.hooks[key] !== undefined)) {
      withHooks = r;
      count++;
    }
  }
  if (count <= 1) return withHooks?.hooks ?? {};
  const hooks: Record<string, unknown> = {};
  for (const key of HOOK_NAMES) {
    // Bound to their hooks object: a hook may be a method (an OTel request is its own hooks object).
    const fns = parts.flatMap((r) => {
      const fn = r.hooks[key] as ((...args: unknown[]) => unknown) | undefined;
      return fn === undefined ? [] : [fn.bind(r.hooks)];
    });
    if (fns.length === 0) continue;
    hooks[key] =
      fns.length === 1
        ? fns[0]
        : (...args: unknown[]) => {
            // A hook may return headers to add to the attempt (trace context): every part's are kept.
            let merged: Record<string, string> | undefined;
            for (const fn of fns) {
              const out = fn(...args);
              if (out !== undefined && typeof out === 'object') merged = { ...merged, ...(out as Record<string, string>) };
            }
            return merged;
          };
  }
  return hooks as TelemetryHooks;
}
