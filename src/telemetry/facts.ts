/**
 * The contract between the relay's thread, which records what happened as facts, and the
 * telemetry thread, which turns them into spans and metrics and the store's rows (`otel/fact-recorder.ts`
 * writes them, `otel/fact-replayer.ts` and `store/row-builder.ts` read them). A batch is one flat array of entries, each an opcode, an id and
 * the time it was recorded (`performance.now()` of the relay's thread), then the opcode's own
 * fields, always the same number. Flat primitives clone cheaply and cost the relay no object per
 * fact; objects appear only once per request or operation (its info) and for a completed event.
 */

import type { ServerRequestInfo } from './proxy-telemetry.js';
import type { EncodedFacts } from './fact-codec.js';

/** A request arrived: id, time, {@link StartFacts}. */
export const F_START = 0;
/** A model operation began: request id, time, span id, the OperationInfo. */
export const F_OPERATION = 1;
/** The caller's head went out: request id, time, status, transport, overhead ms, upstream ms. */
export const F_HEAD = 2;
/** A parsed event of the HTTP operation: request id, time, event code, payload (see {@link EventCode}). */
export const F_EVENT = 3;
/** Bytes written to the caller: request id, time, when they were read. */
export const F_WRITE = 4;
/** The operation failed: request id, time, error type, its message or null, the upstream's request id or null. */
export const F_ERROR = 5;
/** A WebSocket caller was sent to HTTP: request id, time, reason. */
export const F_FALLBACK = 6;
/** The request is over: request id, time, status, error type or null. */
export const F_END = 7;
/** An upstream attempt starts: request id, time, attempt, method, URL, span id. */
export const F_ATTEMPT = 8;
/** An upstream attempt's outcome: request id, time, attempt, status or null, error kind or null, error status or null, aborted (0/1), ms. */
export const F_REQUEST = 9;
/** A 401 recovery step: request id, time, step, outcome. */
export const F_AUTH = 10;
/** An SSE poll, classified: request id, time, kind, success (0/1), poll kind, bytes, ms. */
export const F_SSE = 11;
/** A WebSocket request frame sent: request id, time, ms, failed (0/1). */
export const F_WS_REQUEST = 12;
/** A WebSocket poll: request id, time, poll kind, message type or null, frame type or null, ms. */
export const F_WS_EVENT = 13;
/** A WebSocket turn began: request id, time, turn id, span id, the OperationInfo. */
export const F_TURN = 14;
/** A parsed event of a turn: turn id, time, event code, payload. */
export const F_TURN_EVENT = 15;
/** A text frame of a turn was read: turn id, time, when it was read. */
export const F_TURN_CHUNK = 16;
/** A frame of a turn was written to the caller: turn id, time. */
export const F_TURN_WRITE = 17;
/** A turn is over: turn id, time, error type or null. */
export const F_TURN_END = 18;
/** A telemetry call threw on the relay's thread (caught): 0, time, method, error type. */
export const F_TELEMETRY_ERROR = 19;

/** Fields after the opcode, id and time, by opcode (the replayer's stride). */
export const FIELDS: readonly number[] = [1, 2, 4, 2, 1, 3, 1, 2, 4, 6, 2, 5, 2, 4, 3, 2, 1, 0, 1, 2];

/** Event codes of {@link F_EVENT} / {@link F_TURN_EVENT}: `response.created` (payload 0). */
export const E_CREATED = 1;
/** An output item is done; payload its type. */
export const E_ITEM_DONE = 2;
/** A text delta, recorded only with content capture; payload the delta. */
export const E_TEXT_DELTA = 3;
/** The response completed; payload {@link CompletedFacts}. */
export const E_COMPLETED = 4;

/** What a span needs of a request as it arrived (its headers stay on the relay's thread). */
export interface StartFacts extends Omit<ServerRequestInfo, 'headers'> {
  /** The caller's trace context, read on the relay's thread, or undefined. */
  readonly parent: { readonly traceId: string; readonly spanId: string; readonly traceFlags: number; readonly traceState: string | undefined } | undefined;
  /** This request's trace id (the parent's, or a new one) and its SERVER span's id. */
  readonly traceId: string;
  readonly spanId: string;
}

/** A `completed` event's fields telemetry reads; the JSON body or the frame's parsed response only with content capture. */
export interface CompletedFacts {
  readonly responseId: string;
  readonly tokenUsage: { readonly inputTokens: number; readonly cachedInputTokens: number; readonly outputTokens: number; readonly reasoningOutputTokens: number; readonly totalTokens: number } | null;
  readonly model?: string;
  readonly status?: string;
  readonly serviceTier?: string;
  readonly body?: Readonly<Record<string, unknown>>;
  /** The `response` object of the completed frame (its output), not the frame's bytes. */
  readonly response?: Readonly<Record<string, unknown>>;
}

/** Messages from the relay's thread to the telemetry thread. */
export type ToTelemetry =
  | { readonly t: 'facts'; readonly facts: EncodedFacts; readonly slots: number; readonly dropped: number; readonly lost: number }
  | { readonly t: 'metrics'; readonly id: number }
  | { readonly t: 'collect'; readonly id: number }
  | { readonly t: 'flush'; readonly id: number }
  | { readonly t: 'shutdown'; readonly id: number }
  | { readonly t: 'api'; readonly id: number; readonly path: string; readonly query: string }
  | { readonly t: 'hang'; readonly ms: number };

/** Messages from the telemetry thread. */
export type FromTelemetry =
  | { readonly t: 'ready' }
  | { readonly t: 'reply'; readonly id: number; readonly value?: unknown; readonly error?: string }
  | { readonly t: 'spans'; readonly spans: unknown[] }
  | { readonly t: 'log'; readonly line: string }
  /** The store wrote a batch; `id` is its last operation's. */
  | { readonly t: 'stored'; readonly id: number };

/** Indexes of the shared Int32Array the telemetry thread writes and the relay's thread reads. */
export const S_PROCESSED = 0;
/** Ticks while the telemetry thread's event loop runs (a hang stops it). */
export const S_HEARTBEAT = 1;
/** Requests whose end the telemetry thread has applied. */
export const S_ENDED = 2;
export const S_LENGTH = 3;
