/**
 * The proxy's request lifecycle, as telemetry sees it. Types only: the proxy calls it, the
 * OpenTelemetry layer implements it, and neither imports the other.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ResponseEvent } from '../client/events.js';
import type { TelemetryHooks } from './hooks.js';

/** A request as it arrives at modeltap. */
export interface ServerRequestInfo {
  readonly method: string;
  /** The matched route template (`/v1/responses`, `/v1/*`), or undefined when none matched. */
  readonly route: string | undefined;
  readonly path: string;
  readonly scheme: 'http' | 'https';
  readonly clientAddress: string | undefined;
  readonly userAgent: string | undefined;
  /** `1.1`, `2`. */
  readonly protocolVersion: string;
  /** For the incoming `traceparent`; never recorded. */
  readonly headers: IncomingHttpHeaders;
  /** `performance.now()` at arrival. */
  readonly arrival: number;
}

/** What a failed operation's error said: its message and, from an upstream answer, the upstream's `x-request-id`. */
export interface ErrorDetail {
  readonly message: string;
  readonly requestId?: string | undefined;
}

/** The model operation of a request (its GenAI span). */
export interface OperationInfo {
  readonly apiType: 'responses' | 'chat_completions';
  /** Codex's `request_kind` (turn, prewarm, compaction, …), if it said. */
  readonly requestKind: string | undefined;
  readonly model: string | undefined;
  readonly stream: boolean;
  readonly conversationId: string | undefined;
  readonly turnId: string | undefined;
  /** Codex's thread id and, for a sub-agent, its parent thread's (from `thread-id` and `x-codex-turn-metadata`); default none. */
  readonly threadId?: string | undefined;
  readonly parentThreadId?: string | undefined;
  readonly originator: string | undefined;
  /** The upstream host and port. */
  readonly serverAddress: string;
  readonly serverPort: number;
  /**
   * What telemetry reads from the request body, not the whole body (the proxy lets that go once
   * forwarded): its scalar parameters (`max_output_tokens`, `max_completion_tokens`, `max_tokens`,
   * `temperature`, `top_p`, `service_tier`) and, only when this request's telemetry sets
   * `allEvents` (content capture), its content (`input`, `messages`, `instructions`).
   */
  readonly body: Readonly<Record<string, unknown>>;
  /** Default: `http_sse` when streaming, else `http_json`. */
  readonly transport?: 'http_sse' | 'http_json' | 'websocket';
}

/** How a request ended. */
export interface RequestOutcome {
  readonly statusCode: number;
  /** Low-cardinality error type (an error kind or status), when it failed. */
  readonly errorType?: string;
}

/**
 * Telemetry of one proxied request. Every method must be cheap and should never throw; the proxy
 * calls it through `guardTelemetry`, which catches and counts what it throws all the same.
 */
export interface RequestTelemetry {
  /** Hooks for the core calls made for this request. */
  readonly hooks: TelemetryHooks;
  /** True when `onEvent` must see every event, text deltas included (content capture); default false. */
  readonly allEvents?: boolean;
  /** A model route: starts the GenAI operation. */
  startOperation(info: OperationInfo): void;
  /** The head went to the caller: modeltap's overhead and the upstream's time to head, in ms. */
  onHead(statusCode: number, transport: 'http_sse' | 'http_json' | 'websocket', overheadMs: number, upstreamMs: number): void;
  /** A parsed event the relay saw (never `raw` ones). */
  onEvent(event: ResponseEvent): void;
  /** Relayed bytes were written to the caller; `readAt` is when they were read from the upstream. */
  onWrite(readAt: number): void;
  /** The operation failed with this low-cardinality error type; `detail` says what it said (for the store, never a metric attribute). */
  onError(errorType: string, detail?: ErrorDetail): void;
  /**
   * WebSocket: a `response.create` / `response.append` starts a turn, its own GenAI operation.
   * Several turns of one connection may be open at once (lanes); each reports through its handle.
   */
  startTurn(info: OperationInfo): TurnTelemetry;
  /** A WebSocket caller was sent to HTTP (the upstream refused the upgrade). */
  onFallback(reason: string): void;
  /** The request is over: last byte written, error answered, or aborted. Ends every span. */
  end(outcome: RequestOutcome): void;
}

/**
 * One WebSocket turn, from the caller's `response.create` / `response.append` to its terminal
 * event (or the end of the connection). Called for the frames the relay attributed to this turn.
 */
export interface TurnTelemetry {
  /** A parsed event of this turn (never `raw` ones). */
  onEvent(event: ResponseEvent): void;
  /** A text frame of this turn was read from the upstream at `readAt` (`performance.now()`). */
  onChunk(readAt: number): void;
  /** A frame of this turn was written to the caller; `readAt` is when it was read from the upstream. */
  onWrite(readAt: number): void;
  /** The turn is over: completed (no error type), failed, or cut short. Later calls do nothing. */
  end(errorType?: string): void;
}

/** Creates per-request telemetry. */
export interface ProxyTelemetry {
  startRequest(info: ServerRequestInfo): RequestTelemetry;
}
