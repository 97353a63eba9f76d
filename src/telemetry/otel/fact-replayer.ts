import { ROOT_CONTEXT, trace, type Context } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { completedFrameEvent, type CompletedEvent, type ResponseEvent } from '../../client/events.js';
import { errorTypeOf } from '../guarded-telemetry.js';
import type { TransportError, WsPoll } from '../hooks.js';
import type { OperationInfo, TurnTelemetry } from '../proxy-telemetry.js';
import { kindSuccess } from './event-kinds.js';
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
  FIELDS,
  type CompletedFacts,
  type StartFacts,
} from '../facts.js';
import type { OtelProxyTelemetry, OtelRequestTelemetry, ScriptedIds } from './otel-telemetry.js';

/** What a {@link FactReplayer} drives. */
export interface FactReplayerOptions {
  /** modeltap's OpenTelemetry telemetry, whose clock is {@link FactReplayer.now}. */
  readonly telemetry: OtelProxyTelemetry;
  /** The tracer's id generator, told each span's recorded ids before it starts. */
  readonly ids: ScriptedIds;
  /** Counts an entry that threw (`modeltap.telemetry.errors`). */
  readonly onError: (method: string, errorType: string) => void;
}

const headers = {};

/**
 * The telemetry thread's side: applies batches of facts (see `facts.ts`) to modeltap's OpenTelemetry
 * telemetry in the order they were recorded, its clock set to each fact's time, so the spans and
 * metrics are those the telemetry would have made on the relay's thread at that time.
 */
export class FactReplayer {
  /** The recorded time of the fact being applied: the telemetry's clock. */
  now = 0;
  /** Requests whose end was applied. */
  ended = 0;
  readonly #telemetry: OtelProxyTelemetry;
  readonly #ids: ScriptedIds;
  readonly #onError: (method: string, errorType: string) => void;
  readonly #requests = new Map<number, OtelRequestTelemetry>();
  /**
   * Requests ended in this batch and the one before, for facts recorded after their end: the end
   * hands its batch over within 20 ms, so a late fact comes in the same batch or the next. Only two
   * batches' worth, so that ended spans are not kept alive after their export.
   */
  #recent = new Map<number, OtelRequestTelemetry>();
  #older = new Map<number, OtelRequestTelemetry>();
  readonly #turns = new Map<number, TurnTelemetry>();
  /** A request's turns not ended yet, so that its end forgets them. */
  readonly #turnsOf = new Map<number, Set<number>>();
  readonly #requestOf = new Map<number, number>();

  constructor(options: FactReplayerOptions) {
    this.#telemetry = options.telemetry;
    this.#ids = options.ids;
    this.#onError = options.onError;
  }

  /** Applies one batch; an entry that throws is counted and skipped, the rest still applied. */
  apply(facts: readonly unknown[]): void {
    const older = this.#older;
    older.clear();
    this.#older = this.#recent;
    this.#recent = older;
    let i = 0;
    while (i < facts.length) {
      const op = facts[i] as number;
      const stride = 3 + (FIELDS[op] ?? 0);
      try {
        this.#entry(op, facts, i);
      } catch (error) {
        this.#onError(`replay.${op}`, errorTypeOf(error));
      }
      i += stride;
    }
  }

  #entry(op: number, f: readonly unknown[], i: number): void {
    const id = f[i + 1] as number;
    this.now = f[i + 2] as number;
    if (op === F_START) return this.#start(id, f[i + 3] as StartFacts);
    if (op === F_TELEMETRY_ERROR) return this.#onError(f[i + 3] as string, f[i + 4] as string);
    if (op >= F_TURN_EVENT && op <= F_TURN_END) return this.#turn(op, id, f, i);
    const request = this.#requests.get(id) ?? this.#recent.get(id) ?? this.#older.get(id);
    if (request === undefined) return;
    switch (op) {
      case F_OPERATION:
        this.#ids.next('', f[i + 3] as string);
        request.startOperation(f[i + 4] as OperationInfo);
        return;
      case F_HEAD:
        request.onHead(f[i + 3] as number, f[i + 4] as 'http_sse', f[i + 5] as number, f[i + 6] as number);
        return;
      case F_EVENT:
        request.onEvent(eventOf(f[i + 3] as number, f[i + 4]));
        return;
      case F_WRITE:
        request.onWrite(f[i + 3] as number);
        return;
      case F_ERROR:
        request.onError(f[i + 3] as string);
        return;
      case F_FALLBACK:
        request.onFallback(f[i + 3] as string);
        return;
      case F_END: {
        const errorType = f[i + 4] as string | null;
        this.#requests.delete(id);
        // A hook may still report after the end (a WebSocket's closing poll): its metrics count.
        this.#recent.set(id, request);
        for (const turn of this.#turnsOf.get(id) ?? EMPTY) {
          this.#turns.delete(turn);
          this.#requestOf.delete(turn);
        }
        this.#turnsOf.delete(id);
        this.ended++;
        request.end(errorType === null ? { statusCode: f[i + 3] as number } : { statusCode: f[i + 3] as number, errorType });
        return;
      }
      case F_ATTEMPT:
        this.#ids.next('', f[i + 6] as string);
        request.onAttemptStart(f[i + 3] as number, { method: f[i + 4] as string, url: f[i + 5] as string });
        return;
      case F_REQUEST: {
        const kind = f[i + 5] as TransportError['kind'] | null;
        const status = f[i + 6] as number | null;
        const error: TransportError | null =
          kind === null ? null : { kind, message: f[i + 7] === 1 ? 'request aborted' : kind, ...(status === null ? {} : { status }) };
        request.onRequest(f[i + 3] as number, f[i + 4] as number | null, error, f[i + 8] as number);
        return;
      }
      case F_AUTH:
        request.onAuthRecovery(f[i + 3] as number, f[i + 4] as 'success' | 'failure');
        return;
      case F_SSE:
        request.ssePoll(kindSuccess(f[i + 3] as string, f[i + 4] === 1), f[i + 5] as 'event', f[i + 6] as number, f[i + 7] as number);
        return;
      case F_WS_REQUEST:
        request.onWsRequest(f[i + 3] as number, f[i + 4] === 1 ? WS_SEND_FAILED : null);
        return;
      case F_WS_EVENT:
        request.onWsEvent(wsPollOf(f[i + 3] as string, f[i + 4] as string | null, f[i + 5] as string | null), f[i + 6] as number);
        return;
      case F_TURN: {
        const turnId = f[i + 3] as number;
        this.#ids.next('', f[i + 4] as string);
        this.#turns.set(turnId, request.startTurn(f[i + 5] as OperationInfo));
        let open = this.#turnsOf.get(id);
        if (open === undefined) this.#turnsOf.set(id, (open = new Set()));
        open.add(turnId);
        this.#requestOf.set(turnId, id);
        return;
      }
      default:
        return;
    }
  }

  #start(id: number, start: StartFacts): void {
    const parent: Context | undefined =
      start.parent === undefined
        ? ROOT_CONTEXT
        : trace.setSpanContext(ROOT_CONTEXT, {
            traceId: start.parent.traceId,
            spanId: start.parent.spanId,
            traceFlags: start.parent.traceFlags,
            isRemote: true,
            ...(start.parent.traceState === undefined ? {} : { traceState: new TraceState(start.parent.traceState) }),
          });
    this.#ids.next(start.traceId, start.spanId);
    const request = this.#telemetry.startRequest(
      {
        method: start.method,
        route: start.route,
        path: start.path,
        scheme: start.scheme,
        clientAddress: start.clientAddress,
        userAgent: start.userAgent,
        protocolVersion: start.protocolVersion,
        headers,
        arrival: start.arrival,
      },
      parent,
    );
    this.#requests.set(id, request);
  }

  #turn(op: number, id: number, f: readonly unknown[], i: number): void {
    const turn = this.#turns.get(id);
    if (turn === undefined) return;
    switch (op) {
      case F_TURN_EVENT:
        turn.onEvent(eventOf(f[i + 3] as number, f[i + 4]));
        return;
      case F_TURN_CHUNK:
        turn.onChunk(f[i + 3] as number);
        return;
      case F_TURN_WRITE:
        turn.onWrite(this.now);
        return;
      case F_TURN_END: {
        const errorType = f[i + 3] as string | null;
        this.#turns.delete(id);
        const request = this.#requestOf.get(id);
        this.#requestOf.delete(id);
        if (request !== undefined) this.#turnsOf.get(request)?.delete(id);
        turn.end(...(errorType === null ? [] : [errorType]));
        return;
      }
      default:
        return;
    }
  }
}

const EMPTY: ReadonlySet<number> = new Set();

/** The frame's bytes stayed on the relay's thread; a completed event from a frame says so by having one. */
const FROM_FRAME = new Uint8Array(0);
const WS_SEND_FAILED = { kind: 'send', message: 'send failed' };
const CREATED: ResponseEvent = { type: 'created' };

function eventOf(code: number, payload: unknown): ResponseEvent {
  switch (code) {
    case E_CREATED:
      return CREATED;
    case E_ITEM_DONE:
      return { type: 'output_item_done', item: { type: payload } } as ResponseEvent;
    case E_TEXT_DELTA:
      return { type: 'output_text_delta', delta: payload as string };
    case E_COMPLETED: {
      const facts = payload as CompletedFacts;
      // From a frame: the event the mapper made of it, its response remembered for the output.
      if (facts.response !== undefined) return completedFrameEvent(facts.response, { raw: FROM_FRAME });
      return { type: 'completed', ...facts } as CompletedEvent;
    }
    default:
      return { type: 'raw' } as ResponseEvent;
  }
}

const PINGS = new Map<string, WsPoll>();

function wsPollOf(kind: string, type: string | null, frameType: string | null): WsPoll {
  if (kind !== 'message') return kind === 'end' ? { kind: 'end' } : kind === 'read_error' ? { kind: 'read_error', error: '' } : { kind: 'error', error: { kind: '', message: '' } };
  const key = `${type ?? ''}:${frameType ?? ''}`;
  let poll = PINGS.get(key);
  if (poll === undefined) {
    poll = { kind: 'message', message: { type: (type ?? 'text') as 'text', ...(frameType === null ? {} : { frameType }) } };
    // Shapes are few (frame types are a bounded set by the time they reach telemetry); keep them.
    if (PINGS.size < 1024) PINGS.set(key, poll);
  }
  return poll;
}
