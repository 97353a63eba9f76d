import { isSpanContextValid, ROOT_CONTEXT, trace, TraceFlags, type Context, type TextMapPropagator, type TraceState } from '@opentelemetry/api';
import { completedResponse, type CompletedEvent, type ResponseEvent } from '../../client/events.js';
import type { SsePoll, TelemetryHooks, TransportError, WsPoll } from '../hooks.js';
import { noopRequestTelemetry } from '../noop-telemetry.js';
import type { ErrorDetail, OperationInfo, ProxyTelemetry, RequestOutcome, RequestTelemetry, ServerRequestInfo, TurnTelemetry } from '../proxy-telemetry.js';
import { classifySse } from './event-kinds.js';
import {
  E_COMPLETED,
  E_CREATED,
  E_ITEM_DONE,
  E_TEXT_DELTA,
  F_ATTEMPT,
  F_AUTH,
  F_END,
  F_ERROR,
  F_EVENT,
  F_FALLBACK,
  F_HEAD,
  F_OPERATION,
  F_REQUEST,
  F_SSE,
  F_START,
  F_TELEMETRY_ERROR,
  F_TURN,
  F_TURN_CHUNK,
  F_TURN_END,
  F_TURN_EVENT,
  F_TURN_WRITE,
  F_WRITE,
  F_WS_EVENT,
  F_WS_REQUEST,
  type CompletedFacts,
  type StartFacts,
} from '../facts.js';

/** Where a {@link FactRecorder} hands its batches: the telemetry thread, or the same pipeline in this thread. */
export interface FactSink {
  /** False while the hand-off is full, counting `pending` slots not handed over yet: a request starting now records nothing (counted as dropped). */
  accepts(pending: number): boolean;
  /** Takes a batch (the array is the sink's from then on): `slots` entries' worth, and the requests dropped since the last batch. */
  send(facts: unknown[], slots: number, dropped: number): void;
}

/** Options of {@link FactRecorder}. */
export interface FactRecorderOptions {
  readonly sink: FactSink;
  /** Reads the caller's trace context and writes the upstream's (OTEL_PROPAGATORS). */
  readonly propagator: TextMapPropagator;
  /** Record prompts, outputs and text deltas (content capture). Default false. */
  readonly captureContent?: boolean;
  /** A batch is handed over once it holds this many slots, whatever else. Default 32768. */
  readonly maxBatchSlots?: number;
  /** Facts of a request still running are handed over at least this often, in ms. Default 250. */
  readonly progressMs?: number;
  /**
   * Whether a request's trace is sampled, given the caller's context and the trace id: the
   * sampler the SDK applies in the telemetry thread (OTEL_TRACES_SAMPLER), asked here for the flag
   * sent upstream. Default: the SDK's default, parent-based always on.
   */
  readonly sampled?: (parent: Context, traceId: string) => boolean;
}

/** How soon the facts of an ended request or turn are handed over, in ms. */
const ENDED_MS = 20;

const headerGetter = {
  get: (carrier: Record<string, string | string[] | undefined>, key: string) => carrier[key],
  keys: (carrier: Record<string, string | string[] | undefined>) => Object.keys(carrier),
};
const headerSetter = { set: (carrier: Record<string, string>, key: string, value: string) => (carrier[key] = value) };

const ID_BYTES = Buffer.allocUnsafe(16);
/** A random id of `bytes` bytes in hex, never all zeros (the W3C invalid id), as the SDK's RandomIdGenerator makes them. */
function randomId(bytes: 8 | 16): string {
  for (let i = 0; i < bytes; i += 4) ID_BYTES.writeUInt32BE((Math.random() * 2 ** 32) >>> 0, i);
  if (ID_BYTES.readUInt32BE(0) === 0 && ID_BYTES.readUInt32BE(4) === 0) ID_BYTES.writeUInt32BE(1, bytes - 4);
  return ID_BYTES.toString('hex', 0, bytes);
}

/**
 * The relay thread's side of telemetry: every call of the proxy's lifecycle and the core's hooks
 * appends a fact (an opcode, an id, the time and a few primitives) to one batch, handed to a
 * {@link FactSink} within 20 ms of a request or turn's end (so requests ending close together go
 * as one batch), when the batch is large, and at least every `progressMs` while requests run.
 * Nothing here starts a span or touches a metric: the telemetry thread builds them from the facts.
 * What must be decided now is: the trace context sent upstream, whose ids (trace, SERVER,
 * operation and attempt spans) are chosen here and carried in the facts, so the spans built later
 * have them.
 */
export class FactRecorder implements ProxyTelemetry {
  readonly #sink: FactSink;
  /** @internal */
  readonly propagator: TextMapPropagator;
  readonly #capture: boolean;
  readonly #maxSlots: number;
  readonly #progressMs: number;
  readonly #sampled: ((parent: Context, traceId: string) => boolean) | undefined;
  /** @internal The batch being written. */
  facts: unknown[] = [];
  /** @internal Bumped when the consumer was replaced: facts of requests begun before go nowhere. */
  generation = 0;
  /** Requests started since the last {@link FactRecorder.restart}. */
  #started = 0;
  #dropped = 0;
  #nextId = 1;
  #endTimer: NodeJS.Timeout | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: FactRecorderOptions) {
    this.#sink = options.sink;
    this.propagator = options.propagator;
    this.#capture = options.captureContent ?? false;
    this.#maxSlots = options.maxBatchSlots ?? 32_768;
    this.#progressMs = options.progressMs ?? 250;
    this.#sampled = options.sampled;
  }

  startRequest(info: ServerRequestInfo): RequestTelemetry {
    if (!this.#sink.accepts(this.facts.length)) {
      this.#dropped++;
      return noopRequestTelemetry;
    }
    const id = this.#nextId++;
    this.#started++;
    const extracted = this.propagator.extract(ROOT_CONTEXT, info.headers, headerGetter);
    const parentContext = trace.getSpanContext(extracted);
    const parent = parentContext !== undefined && isSpanContextValid(parentContext) ? parentContext : undefined;
    const start: StartFacts = {
      method: info.method,
      route: info.route,
      path: info.path,
      scheme: info.scheme,
      clientAddress: info.clientAddress,
      userAgent: info.userAgent,
      protocolVersion: info.protocolVersion,
      arrival: info.arrival,
      parent: parent === undefined ? undefined : { traceId: parent.traceId, spanId: parent.spanId, traceFlags: parent.traceFlags, traceState: parent.traceState?.serialize() },
      traceId: parent?.traceId ?? randomId(16),
      spanId: randomId(8),
    };
    this.facts.push(F_START, id, info.arrival, start);
    this.wrote();
    // The SDK's default sampler (parent-based, always on): the caller's decision, else sampled.
    const flags =
      this.#sampled !== undefined ? (this.#sampled(extracted, start.traceId) ? TraceFlags.SAMPLED : TraceFlags.NONE) : parent === undefined ? TraceFlags.SAMPLED : parent.traceFlags;
    return new RequestFacts(this, id, start.traceId, flags, parent?.traceState, this.#capture);
  }

  /** Counts a telemetry call that threw on this thread (`modeltap.telemetry.errors`). */
  telemetryError(method: string, errorType: string): void {
    this.facts.push(F_TELEMETRY_ERROR, 0, performance.now(), method, errorType);
    this.wrote();
  }

  /** @internal Called after each fact pushed onto {@link FactRecorder.facts} (pushed in place: no array per fact). */
  wrote(): void {
    if (this.#timer === undefined) this.#scheduleProgress();
    if (this.facts.length >= this.#maxSlots) this.flush();
  }

  /**
   * @internal A request or turn ended: its facts go within {@link ENDED_MS}, with whatever else ends
   * meanwhile. One hand-off per request cost the relay's thread about 70 µs at SSE C=1 (most of it
   * in `postMessage`); batching a few milliseconds of requests shares it.
   */
  ended(): void {
    if (this.#endTimer !== undefined) return;
    this.#endTimer = setTimeout(this.#flushNow, ENDED_MS);
    this.#endTimer.unref();
  }

  #scheduleProgress(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(this.#flushNow, this.#progressMs);
    this.#timer.unref();
  }

  readonly #flushNow = (): void => {
    this.flush();
  };

  /** Hands what was recorded to the sink now. */
  flush(): void {
    if (this.#endTimer !== undefined) {
      clearTimeout(this.#endTimer);
      this.#endTimer = undefined;
    }
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const facts = this.facts;
    if (facts.length === 0 && this.#dropped === 0) return;
    const dropped = this.#dropped;
    this.facts = [];
    this.#dropped = 0;
    this.#sink.send(facts, facts.length, dropped);
  }

  /**
   * The consumer was replaced (the telemetry thread died): what is not handed over yet is discarded
   * and requests begun before record nothing more. Returns how many requests began since the last
   * restart, for the caller to count what was lost.
   */
  restart(): number {
    this.facts = [];
    this.generation++;
    const started = this.#started;
    this.#started = 0;
    return started;
  }

  /** Stops the progress timer (the sink is about to close). */
  close(): void {
    this.flush();
  }
}

/** The facts of one request; its own hooks (`hooks` is `this`). */
class RequestFacts implements RequestTelemetry, TelemetryHooks {
  readonly hooks: TelemetryHooks = this;
  readonly allEvents: boolean;
  readonly #r: FactRecorder;
  readonly #id: number;
  readonly #generation: number;
  readonly #traceId: string;
  readonly #flags: number;
  readonly #traceState: TraceState | undefined;

  constructor(recorder: FactRecorder, id: number, traceId: string, flags: number, traceState: TraceState | undefined, capture: boolean) {
    this.#r = recorder;
    this.#id = id;
    this.#generation = recorder.generation;
    this.#traceId = traceId;
    this.#flags = flags;
    this.#traceState = traceState;
    this.allEvents = capture;
  }

  /** False once the consumer was replaced after this request began: its later facts would go nowhere. */
  #live(): boolean {
    return this.#generation === this.#r.generation;
  }

  startOperation(info: OperationInfo): void {
    if (this.#live()) {
      this.#r.facts.push(F_OPERATION, this.#id, performance.now(), randomId(8), info);
      this.#r.wrote();
    }
  }

  onHead(statusCode: number, transport: 'http_sse' | 'http_json' | 'websocket', overheadMs: number, upstreamMs: number): void {
    if (this.#live()) {
      this.#r.facts.push(F_HEAD, this.#id, performance.now(), statusCode, transport, overheadMs, upstreamMs);
      this.#r.wrote();
    }
  }

  onEvent(event: ResponseEvent): void {
    if (this.#live()) recordEvent(this.#r, F_EVENT, this.#id, event, this.allEvents);
  }

  onWrite(readAt: number): void {
    if (this.#live()) {
      this.#r.facts.push(F_WRITE, this.#id, performance.now(), readAt);
      this.#r.wrote();
    }
  }

  onError(errorType: string, detail?: ErrorDetail): void {
    if (this.#live()) {
      this.#r.facts.push(F_ERROR, this.#id, performance.now(), errorType, detail?.message ?? null, detail?.requestId ?? null);
      this.#r.wrote();
    }
  }

  startTurn(info: OperationInfo): TurnTelemetry {
    if (!this.#live()) return NO_TURN;
    const turn = nextTurnId++;
    this.#r.facts.push(F_TURN, this.#id, performance.now(), turn, randomId(8), info);
    this.#r.wrote();
    return new TurnFacts(this.#r, turn, this.#generation, this.allEvents);
  }

  onFallback(reason: string): void {
    if (this.#live()) {
      this.#r.facts.push(F_FALLBACK, this.#id, performance.now(), reason);
      this.#r.wrote();
    }
  }

  onWsFallback(reason: string): void {
    this.onFallback(reason);
  }

  end(outcome: RequestOutcome): void {
    if (!this.#live()) return;
    this.#r.facts.push(F_END, this.#id, performance.now(), outcome.statusCode, outcome.errorType ?? null);
    this.#r.wrote();
    this.#r.ended();
  }

  onAttemptStart(attempt: number, request: { readonly method: string; readonly url: string }): Record<string, string> | undefined {
    if (!this.#live()) return undefined;
    const spanId = randomId(8);
    this.#r.facts.push(F_ATTEMPT, this.#id, performance.now(), attempt, request.method, request.url, spanId);
    this.#r.wrote();
    const headers: Record<string, string> = {};
    const context = trace.setSpanContext(ROOT_CONTEXT, { traceId: this.#traceId, spanId, traceFlags: this.#flags, ...(this.#traceState ? { traceState: this.#traceState } : {}) });
    this.#r.propagator.inject(context, headers, headerSetter);
    return headers;
  }

  onRequest(attempt: number, status: number | null, error: TransportError | null, ms: number): void {
    if (!this.#live()) return;
    this.#r.facts.push(F_REQUEST, this.#id, performance.now(), attempt, status, error?.kind ?? null, error?.status ?? null, error?.message === 'request aborted' ? 1 : 0, ms);
    this.#r.wrote();
  }

  onAuthRecovery(step: number, outcome: 'success' | 'failure'): void {
    if (this.#live()) {
      this.#r.facts.push(F_AUTH, this.#id, performance.now(), step, outcome);
      this.#r.wrote();
    }
  }

  onSsePoll(poll: SsePoll, ms: number): void {
    if (!this.#live() || poll.kind === 'end') return;
    const attrs = classifySse(poll);
    if (attrs === undefined) return;
    this.#r.facts.push(F_SSE, this.#id, performance.now(), attrs['kind'], attrs['success'] === 'true' ? 1 : 0, poll.kind, poll.kind === 'event' ? poll.bytes : 0, ms);
    this.#r.wrote();
  }

  onWsRequest(ms: number, error: { readonly kind: string; readonly message: string } | null): void {
    if (this.#live()) {
      this.#r.facts.push(F_WS_REQUEST, this.#id, performance.now(), ms, error === null ? 0 : 1);
      this.#r.wrote();
    }
  }

  onWsEvent(poll: WsPoll, ms: number): void {
    if (!this.#live()) return;
    if (poll.kind === 'message') {
      this.#r.facts.push(F_WS_EVENT, this.#id, performance.now(), 'message', poll.message.type, poll.message.frameType ?? null, ms);
      this.#r.wrote();
    } else {
      this.#r.facts.push(F_WS_EVENT, this.#id, performance.now(), poll.kind, null, null, ms);
      this.#r.wrote();
    }
  }
}

let nextTurnId = 1;

const NO_TURN: TurnTelemetry = { onEvent: () => undefined, onChunk: () => undefined, onWrite: () => undefined, end: () => undefined };

/** The facts of one WebSocket turn. */
class TurnFacts implements TurnTelemetry {
  readonly #r: FactRecorder;
  readonly #id: number;
  readonly #generation: number;
  readonly #capture: boolean;
  #ended = false;

  constructor(recorder: FactRecorder, id: number, generation: number, capture: boolean) {
    this.#r = recorder;
    this.#id = id;
    this.#generation = generation;
    this.#capture = capture;
  }

  #live(): boolean {
    return !this.#ended && this.#generation === this.#r.generation;
  }

  onEvent(event: ResponseEvent): void {
    if (this.#live()) recordEvent(this.#r, F_TURN_EVENT, this.#id, event, this.#capture);
  }

  onChunk(readAt: number): void {
    if (this.#live()) {
      this.#r.facts.push(F_TURN_CHUNK, this.#id, readAt, readAt);
      this.#r.wrote();
    }
  }

  onWrite(): void {
    if (this.#live()) {
      this.#r.facts.push(F_TURN_WRITE, this.#id, performance.now());
      this.#r.wrote();
    }
  }

  end(errorType?: string): void {
    if (!this.#live()) return;
    this.#ended = true;
    this.#r.facts.push(F_TURN_END, this.#id, performance.now(), errorType ?? null);
    this.#r.wrote();
    this.#r.ended();
  }
}

/** A completed frame's parsed response, for content capture (the frame's bytes stay here). */
function responseOf(event: CompletedEvent): { response?: Readonly<Record<string, unknown>> } {
  const response = completedResponse(event);
  return response === undefined ? {} : { response };
}

/** The events telemetry reads, as facts; the rest (most of a stream) record nothing. */
function recordEvent(r: FactRecorder, op: number, id: number, event: ResponseEvent, capture: boolean): void {
  switch (event.type) {
    case 'created':
      r.facts.push(op, id, performance.now(), E_CREATED, 0);
      r.wrote();
      break;
    case 'output_item_done':
      r.facts.push(op, id, performance.now(), E_ITEM_DONE, event.item.type);
      r.wrote();
      break;
    case 'output_text_delta':
      if (capture) {
        r.facts.push(op, id, performance.now(), E_TEXT_DELTA, event.delta);
        r.wrote();
      }
      break;
    case 'completed': {
      const facts: CompletedFacts = {
        responseId: event.responseId,
        tokenUsage: event.tokenUsage,
        ...(event.model !== undefined ? { model: event.model } : {}),
        ...(event.status !== undefined ? { status: event.status } : {}),
        ...(event.serviceTier !== undefined ? { serviceTier: event.serviceTier } : {}),
        // The output is read from these only to capture content.
        ...(capture && event.body !== undefined ? { body: event.body } : {}),
        ...(capture && event.raw !== undefined ? responseOf(event) : {}),
      };
      r.facts.push(op, id, performance.now(), E_COMPLETED, facts);
      r.wrote();
      break;
    }
    default:
      break;
  }
}
