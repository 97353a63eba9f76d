/**
 * The telemetry hook contract between the ModelClient core and whoever records telemetry.
 *
 * These are the TypeScript counterparts of Codex's `RequestTelemetry`, `SseTelemetry` and
 * `WebsocketTelemetry` (spec `codex-model-client.md` §5.1); the core calls them exactly when §5.2
 * says. Types only: this file must stay free of runtime code so that both the client core and the
 * OpenTelemetry layer can depend on it without depending on each other.
 */

/** A transport-level failure of one upstream attempt, as `onRequest` reports it. */
export interface TransportError {
  /** `http` (a non-2xx response), `network` (connect/reset), `timeout`, or `build` (bad request). */
  readonly kind: 'http' | 'network' | 'timeout' | 'build';
  /** Human-readable text, e.g. `http 500 Internal Server Error` or `network error: ECONNREFUSED`. */
  readonly message: string;
  /** The HTTP status for `http` errors. */
  readonly status?: number;
}

/** One parsed SSE event: the `event:` name (default `message`), the joined `data:` lines, the `id:`. */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
  readonly id?: string;
}

/** The result of one poll of an SSE stream (spec §5.1 `SsePoll`). */
export type SsePoll =
  | {
      readonly kind: 'event';
      readonly event: SseEvent;
      /** Size of the whole frame on the wire, in bytes (a modeltap addition). */
      readonly bytes: number;
    }
  | { readonly kind: 'decode_error'; readonly error: string }
  | { readonly kind: 'end' }
  | { readonly kind: 'idle_timeout' };

/** The result of one poll of a Responses WebSocket (spec §5.1 `WsPoll`). */
export type WsPoll =
  | {
      readonly kind: 'message';
      readonly message: {
        readonly type: 'text' | 'binary' | 'ping' | 'pong' | 'close' | 'frame';
        readonly data?: string;
        /** Size of the frame payload in bytes (a modeltap addition). */
        readonly bytes?: number;
        /** A text frame's JSON `type`, read once by the core (a modeltap addition); absent when it has none. */
        readonly frameType?: string | undefined;
      };
    }
  | { readonly kind: 'read_error'; readonly error: string }
  | { readonly kind: 'end' }
  | { readonly kind: 'error'; readonly error: { readonly kind: string; readonly message: string } };

/**
 * The four hooks. Every one is optional; a hook that throws is caught and ignored by the core (and
 * counted, when the proxy calls it), so telemetry can never break a request.
 */
export interface TelemetryHooks {
  /**
   * Just before attempt `attempt` of an HTTP call is sent (a modeltap addition, so that an attempt
   * span exists before the send). Headers it returns (e.g. `traceparent`) are added to that attempt.
   */
  onAttemptStart?(attempt: number, request: { readonly method: string; readonly url: string }): Readonly<Record<string, string>> | undefined;
  /** The client switched from WebSocket to HTTP for the rest of the session (§4.7; a modeltap addition). */
  onWsFallback?(reason: 'upgrade_required' | 'retries_exhausted'): void;
  /** After each 401 recovery step (§4.5), with its 1-based number and outcome (a modeltap addition). */
  onAuthRecovery?(step: number, outcome: 'success' | 'failure'): void;
  /**
   * Once per transport attempt of an HTTP call (stream start, unary, compact); never for WebSocket.
   * `attempt` is 0-based within the retry loop and restarts at 0 after a 401 recovery.
   * `durationMs` runs from just before the send to the response head (streams) or the full body
   * (error responses and unary calls).
   */
  onRequest?(
    attempt: number,
    status: number | null,
    error: TransportError | null,
    durationMs: number,
  ): void;
  /** Once per poll of an SSE reader, including the final `end` and an `idle_timeout`. */
  onSsePoll?(result: SsePoll, durationMs: number): void;
  /** Once per WebSocket request frame sent, after the send completes or fails. */
  onWsRequest?(durationMs: number, error: { readonly kind: string; readonly message: string } | null): void;
  /** Once per WebSocket read poll, including pings, pongs, close, end and the idle timeout. */
  onWsEvent?(result: WsPoll, durationMs: number): void;
}
