/** One request as the store keeps it: a model operation in full, another request briefly (`kind: 'other'`). */
export interface OperationRow {
  readonly kind: 'model' | 'other';
  /** Epoch milliseconds: arrival, upstream send, response head, first event, end. */
  readonly arrivalMs: number;
  readonly sentMs: number | null;
  readonly headMs: number | null;
  readonly firstEventMs: number | null;
  /** When the first bytes of the answer were written to the caller. */
  readonly firstWriteMs: number | null;
  readonly endMs: number;
  readonly method: string;
  readonly route: string | null;
  readonly path: string;
  /** `http_sse`, `http_json`, `websocket`, or null before a head. */
  readonly transport: string | null;
  /** `responses` or `chat_completions` for a model operation. */
  readonly api: string | null;
  readonly stream: boolean | null;
  readonly requestModel: string | null;
  readonly responseModel: string | null;
  readonly status: number | null;
  readonly errorType: string | null;
  /** What the error said (the upstream's message, or modeltap's), credentials masked, at most {@link MAX_ERROR_MESSAGE} characters. */
  readonly errorMessage: string | null;
  /** The upstream's `x-request-id` of a failed request, to quote to the provider. */
  readonly upstreamRequestId: string | null;
  /** Upstream attempts after the first. */
  readonly retries: number;
  readonly authRecoveries: number;
  /** Each upstream attempt in order, the first {@link MAX_ATTEMPTS} (empty for a WebSocket turn and a request never sent). */
  readonly attempts: readonly AttemptRow[];
  /** Milliseconds: time to first chunk (from arrival), whole duration, modeltap's own share, the upstream's. */
  readonly ttfcMs: number | null;
  readonly durationMs: number;
  readonly overheadMs: number | null;
  readonly upstreamMs: number | null;
  readonly inputTokens: number | null;
  readonly cachedInputTokens: number | null;
  readonly outputTokens: number | null;
  readonly reasoningTokens: number | null;
  readonly totalTokens: number | null;
  /** What it cost in pico-USD (1e-12 USD, an integer: sums stay exact), or null: unknown (no usage, no price). */
  readonly costPicos: number | null;
  readonly responseId: string | null;
  readonly serviceTier: string | null;
  /** Codex's session (conversation) and turn ids, request kind and originator, when it sent them. */
  readonly conversationId: string | null;
  /** Codex's thread (`thread-id`, else the turn metadata's `thread_id`) and, for a sub-agent, the thread that spawned it. */
  readonly threadId: string | null;
  readonly parentThreadId: string | null;
  readonly turnId: string | null;
  readonly requestKind: string | null;
  readonly originator: string | null;
  readonly traceId: string | null;
  readonly spanId: string | null;
  /** Events seen in all; `events` holds at most the first {@link MAX_EVENTS}. */
  readonly eventCount: number;
  readonly events: readonly EventRow[];
  /** Prompts and outputs as JSON, only with content capture on. */
  readonly content: string | null;
  /** The modeltap replica that served it (`--replica`, default the host name); null in rows written before replicas were recorded. */
  readonly replica: string | null;
}

/** One SSE event or WebSocket frame of an operation. */
export interface EventRow {
  /** The event's type (`response.output_text.delta`, …), as the metrics classify it. */
  readonly kind: string;
  /** Milliseconds after the upstream send (after arrival when nothing was sent). */
  readonly offsetMs: number;
  readonly bytes: number;
  readonly ok: boolean;
}

/** How many events of one operation the store keeps (the rest are counted). */
export const MAX_EVENTS = 2000;

/** One upstream attempt of an operation: the first, each retry, the one after a 401 recovery. */
export interface AttemptRow {
  /** The client's attempt number (0 for the first). */
  readonly attempt: number;
  /** Milliseconds after arrival that it was sent. */
  readonly atMs: number;
  /** Milliseconds from its send to its response head or its failure; null when it never ended. */
  readonly ms: number | null;
  readonly status: number | null;
  /** The transport's error kind (`timeout`, `network`, …), or null. */
  readonly error: string | null;
  readonly aborted: boolean;
  /** The 401 recovery that followed it: milliseconds after arrival, and whether it got new credentials. */
  readonly recovery: { readonly atMs: number; readonly outcome: 'success' | 'failure' } | null;
}

/** How many attempts of one operation the store keeps (`retries` counts them all). */
export const MAX_ATTEMPTS = 20;

/** The longest error message the store keeps. */
export const MAX_ERROR_MESSAGE = 1000;
