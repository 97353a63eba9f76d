import { hasHooks, HookFanout } from '../client/hook-fanout.js';
import type { ResponseEvent } from '../client/events.js';
import type { TelemetryHooks } from './hooks.js';
import { noopRequestTelemetry, noopTurnTelemetry } from './noop-telemetry.js';
import type { ErrorDetail, OperationInfo, ProxyTelemetry, RequestOutcome, RequestTelemetry, ServerRequestInfo, TurnTelemetry } from './proxy-telemetry.js';

/** Where {@link TelemetryFaults} reports. Both optional: by default a fault is only swallowed. */
export interface TelemetryFaultOptions {
  /**
   * Counts one fault (`modeltap.telemetry.errors`): the method or hook that threw and the error's
   * type (its class name, or `_OTHER`). Default: not counted.
   */
  readonly count?: ((method: string, errorType: string) => void) | undefined;
  /** Told the first fault of each kind (method and error type), one line. Default: not logged. */
  readonly log?: ((line: string) => void) | undefined;
}

const NAME = /^[A-Za-z_$][A-Za-z0-9_$.]{0,63}$/;
// Kinds remembered for logging once each; beyond this, new kinds are counted as `_OTHER`, unlogged,
// so a telemetry throwing errors of ever new names cannot grow memory or metric cardinality.
const MAX_KINDS = 256;

/** The low-cardinality type of what a telemetry call threw: an error's class name, else `_OTHER`. */
export function errorTypeOf(error: unknown): string {
  const name = error instanceof Error ? error.name : undefined;
  return name !== undefined && NAME.test(name) ? name : '_OTHER';
}

/** The first line of an error's message and where it was thrown, short: for the one log line. */
function summarise(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 200);
  const at = error.stack
    ?.split('\n')
    .find((line) => line.trimStart().startsWith('at '))
    ?.trim();
  return `${error.message.split('\n', 1)[0]?.slice(0, 200) ?? ''}${at === undefined ? '' : ` (${at.slice(0, 200)})`}`;
}

/**
 * What the guard does with a telemetry call that threw: counts it, and logs the first of each kind
 * (method and error type). One instance is shared by every guarded telemetry of a server, so a
 * kind is logged once per process, not once per request. Never throws.
 */
export class TelemetryFaults {
  readonly #count: ((method: string, errorType: string) => void) | undefined;
  readonly #log: ((line: string) => void) | undefined;
  readonly #seen = new Map<string, Set<string>>();
  #kinds = 0;

  constructor(options: TelemetryFaultOptions = {}) {
    this.#count = options.count;
    this.#log = options.log;
  }

  /** Reports that `method` threw `error`. A bound function: handed to {@link HookFanout} as it is. */
  readonly report = (method: string, error: unknown): void => {
    try {
      let errorType = errorTypeOf(error);
      let seen = this.#seen.get(method);
      const first = seen === undefined || !seen.has(errorType);
      if (first && this.#kinds >= MAX_KINDS) {
        errorType = '_OTHER';
      } else if (first) {
        if (seen === undefined) this.#seen.set(method, (seen = new Set()));
        seen.add(errorType);
        this.#kinds++;
        this.#log?.(`telemetry ${method} threw ${errorType}: ${summarise(error)}; ignored, the request goes on (further ${method} ${errorType} faults are only counted, in modeltap.telemetry.errors)`);
      }
      this.#count?.(method, errorType);
    } catch {
      // A counter or log that throws loses this report; the request goes on.
    }
  };
}

/**
 * Wraps a telemetry so that nothing it throws reaches the proxy: `startRequest` (a request whose
 * telemetry fails to start proceeds with no telemetry), every {@link RequestTelemetry} method and
 * every hook (through the core's {@link HookFanout}, the one hook guard) catch what they throw and
 * report it to `faults`. Calls that do not throw cost one extra call and a try block each.
 */
export function guardTelemetry(telemetry: ProxyTelemetry, faults: TelemetryFaults): ProxyTelemetry {
  return new GuardedTelemetry(telemetry, faults);
}

class GuardedTelemetry implements ProxyTelemetry {
  readonly #inner: ProxyTelemetry;
  readonly #faults: TelemetryFaults;

  constructor(inner: ProxyTelemetry, faults: TelemetryFaults) {
    this.#inner = inner;
    this.#faults = faults;
  }

  startRequest(info: ServerRequestInfo): RequestTelemetry {
    let inner: RequestTelemetry;
    try {
      inner = this.#inner.startRequest(info);
    } catch (error) {
      this.#faults.report('startRequest', error);
      return noopRequestTelemetry;
    }
    return new GuardedRequest(inner, this.#faults);
  }
}

const NO_HOOKS: TelemetryHooks = Object.freeze({});

/** One request's telemetry, guarded. A class: built per request, its methods cost nothing per request. */
class GuardedRequest implements RequestTelemetry {
  readonly hooks: TelemetryHooks;
  readonly allEvents: boolean;
  readonly #inner: RequestTelemetry;
  readonly #faults: TelemetryFaults;

  constructor(inner: RequestTelemetry, faults: TelemetryFaults) {
    this.#inner = inner;
    this.#faults = faults;
    this.hooks = guardHooks(inner, faults);
    let allEvents = false;
    try {
      allEvents = inner.allEvents === true;
    } catch (error) {
      faults.report('allEvents', error);
    }
    this.allEvents = allEvents;
  }

  startOperation(info: OperationInfo): void {
    try {
      this.#inner.startOperation(info);
    } catch (error) {
      this.#faults.report('startOperation', error);
    }
  }

  onHead(statusCode: number, transport: 'http_sse' | 'http_json' | 'websocket', overheadMs: number, upstreamMs: number): void {
    try {
      this.#inner.onHead(statusCode, transport, overheadMs, upstreamMs);
    } catch (error) {
      this.#faults.report('onHead', error);
    }
  }

  onEvent(event: ResponseEvent): void {
    try {
      this.#inner.onEvent(event);
    } catch (error) {
      this.#faults.report('onEvent', error);
    }
  }

  onWrite(readAt: number): void {
    try {
      this.#inner.onWrite(readAt);
    } catch (error) {
      this.#faults.report('onWrite', error);
    }
  }

  onError(errorType: string, detail?: ErrorDetail): void {
    try {
      this.#inner.onError(errorType, detail);
    } catch (error) {
      this.#faults.report('onError', error);
    }
  }

  /** The turn's handle is guarded too; a turn whose telemetry fails to start records nothing. */
  startTurn(info: OperationInfo): TurnTelemetry {
    try {
      return new GuardedTurn(this.#inner.startTurn(info), this.#faults);
    } catch (error) {
      this.#faults.report('startTurn', error);
      return noopTurnTelemetry;
    }
  }

  onFallback(reason: string): void {
    try {
      this.#inner.onFallback(reason);
    } catch (error) {
      this.#faults.report('onFallback', error);
    }
  }

  end(outcome: RequestOutcome): void {
    try {
      this.#inner.end(outcome);
    } catch (error) {
      this.#faults.report('end', error);
    }
  }
}

/** One turn's telemetry, guarded: its faults are reported as `turn.<method>`. */
class GuardedTurn implements TurnTelemetry {
  readonly #inner: TurnTelemetry;
  readonly #faults: TelemetryFaults;

  constructor(inner: TurnTelemetry, faults: TelemetryFaults) {
    this.#inner = inner;
    this.#faults = faults;
  }

  onEvent(event: ResponseEvent): void {
    try {
      this.#inner.onEvent(event);
    } catch (error) {
      this.#faults.report('turn.onEvent', error);
    }
  }

  onChunk(readAt: number): void {
    try {
      this.#inner.onChunk(readAt);
    } catch (error) {
      this.#faults.report('turn.onChunk', error);
    }
  }

  onWrite(readAt: number): void {
    try {
      this.#inner.onWrite(readAt);
    } catch (error) {
      this.#faults.report('turn.onWrite', error);
    }
  }

  end(errorType?: string): void {
    try {
      this.#inner.end(errorType);
    } catch (error) {
      this.#faults.report('turn.end', error);
    }
  }
}

/**
 * The request's hooks behind the core's own guard, reporting to `faults`. A set with no hook stays
 * a plain empty object, so that composing it with another part's hooks costs nothing per frame.
 */
function guardHooks(inner: RequestTelemetry, faults: TelemetryFaults): TelemetryHooks {
  let hooks: TelemetryHooks;
  try {
    hooks = inner.hooks;
    if (!hasHooks(hooks)) return NO_HOOKS;
  } catch (error) {
    faults.report('hooks', error);
    return NO_HOOKS;
  }
  return new HookFanout([hooks], faults.report);
}
