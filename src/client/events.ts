/**
 * The normalised stream of a model response: the TypeScript counterpart of Codex's `ResponseEvent`
 * (spec §1.4), discriminated by `type`. Every event read from an upstream frame carries that
 * frame's exact bytes in `raw`; frames the spec maps to no event arrive as `{ type: 'raw' }`, so
 * concatenating every `raw` reproduces the upstream body byte for byte.
 */

/** A Responses API item (message, reasoning, function_call, …), kept as the JSON the server sent. */
export type ResponseItem = { readonly type: string } & Record<string, unknown>;

/** Token counts of one response (spec §1.4). */
export interface TokenUsage {
  readonly inputTokens: number;
  /** From `usage.input_tokens_details.cached_tokens`; 0 when absent. */
  readonly cachedInputTokens: number;
  readonly outputTokens: number;
  /** From `usage.output_tokens_details.reasoning_tokens`; 0 when absent. */
  readonly reasoningOutputTokens: number;
  readonly totalTokens: number;
}

/** One rate-limit window parsed from `x-codex-{primary,secondary}-*` (spec §3.5). */
export interface RateLimitWindow {
  readonly usedPercent: number;
  readonly windowMinutes: number | null;
  readonly resetsAt: number | null;
}

/** Credits parsed from `x-codex-credits-*` (spec §3.5). */
export interface CreditsSnapshot {
  readonly hasCredits: boolean;
  readonly unlimited: boolean;
  readonly balance: string | null;
}

/** The rate-limit snapshot (spec §3.5, B/E shape). */
export interface RateLimitSnapshot {
  readonly primary: RateLimitWindow | null;
  readonly secondary: RateLimitWindow | null;
  readonly credits: CreditsSnapshot | null;
  readonly planType: string | null;
}

/** Bytes of the upstream frame an event was read from. */
interface FromFrame {
  readonly raw?: Uint8Array;
}

export interface CreatedEvent extends FromFrame {
  readonly type: 'created';
}
export interface OutputItemAddedEvent extends FromFrame {
  readonly type: 'output_item_added';
  readonly item: ResponseItem;
}
export interface OutputItemDoneEvent extends FromFrame {
  readonly type: 'output_item_done';
  readonly item: ResponseItem;
}
export interface OutputTextDeltaEvent extends FromFrame {
  readonly type: 'output_text_delta';
  readonly delta: string;
}
export interface ReasoningSummaryDeltaEvent extends FromFrame {
  readonly type: 'reasoning_summary_delta';
  readonly delta: string;
  readonly summaryIndex: number;
}
export interface ReasoningContentDeltaEvent extends FromFrame {
  readonly type: 'reasoning_content_delta';
  readonly delta: string;
  readonly contentIndex: number;
}
export interface ReasoningSummaryPartAddedEvent extends FromFrame {
  readonly type: 'reasoning_summary_part_added';
  readonly summaryIndex: number;
}
export interface CompletedEvent extends FromFrame {
  readonly type: 'completed';
  readonly responseId: string;
  readonly tokenUsage: TokenUsage | null;
  /** The model that answered, when the upstream said (a modeltap addition). */
  readonly model?: string;
  /** The response's `status` (`completed`, `incomplete`, ...), when given (a modeltap addition). */
  readonly status?: string;
  /** The response's `service_tier`, when given (a modeltap addition). */
  readonly serviceTier?: string;
  /**
   * The whole parsed body, when the event was read from a non-streamed JSON response (a modeltap
   * addition): such a body has no completed frame in `raw` (its bytes went out as `raw` events), so
   * this is what a consumer reads the output from, without parsing the body a second time.
   */
  readonly body?: Readonly<Record<string, unknown>>;
}
export interface RateLimitsEvent extends FromFrame {
  readonly type: 'rate_limits';
  readonly rateLimits: RateLimitSnapshot;
}
export interface ModelsEtagEvent extends FromFrame {
  readonly type: 'models_etag';
  readonly etag: string;
}
export interface ServerReasoningIncludedEvent extends FromFrame {
  readonly type: 'server_reasoning_included';
  readonly included: true;
}
/** An upstream frame (or, for non-SSE bodies, a chunk) that maps to no other event. */
export interface RawEvent {
  readonly type: 'raw';
  readonly raw: Uint8Array;
}
/**
 * A turn-level retry is about to re-send the whole request (Codex's "Reconnecting... n/max"
 * notification, spec §4.6). Events already yielded belong to the abandoned attempt.
 */
export interface ReconnectingEvent {
  readonly type: 'reconnecting';
  readonly attempt: number;
  readonly maxRetries: number;
  readonly delayMs: number;
  readonly message: string;
}

/** Everything `ModelClientSession.stream()` yields. */
export type ResponseEvent =
  | CreatedEvent
  | OutputItemAddedEvent
  | OutputItemDoneEvent
  | OutputTextDeltaEvent
  | ReasoningSummaryDeltaEvent
  | ReasoningContentDeltaEvent
  | ReasoningSummaryPartAddedEvent
  | CompletedEvent
  | RateLimitsEvent
  | ModelsEtagEvent
  | ServerReasoningIncludedEvent
  | RawEvent
  | ReconnectingEvent;

/** The fields of a Responses `response` object (or a JSON response body) a `completed` event keeps. */
export interface ResponseFields {
  readonly id?: unknown;
  readonly usage?: unknown;
  readonly model?: unknown;
  readonly status?: unknown;
  readonly service_tier?: unknown;
}

/**
 * The `completed` event of a response object: its id ('' when absent), usage, and what else it says.
 * `from` holds the frame it was read from (`raw`, when there is one), or the non-streamed body it is (`body`).
 */
export function completedEvent(response: ResponseFields, from: { readonly raw?: Uint8Array } | { readonly body: Readonly<Record<string, unknown>> }): CompletedEvent {
  const { id, usage, model, status, service_tier: tier } = response;
  return {
    type: 'completed',
    responseId: typeof id === 'string' ? id : '',
    tokenUsage: parseTokenUsage(usage),
    ...(typeof model === 'string' ? { model } : {}),
    ...(typeof status === 'string' ? { status } : {}),
    ...(typeof tier === 'string' ? { serviceTier: tier } : {}),
    ...from,
  };
}

const parsedResponses = new WeakMap<CompletedEvent, Readonly<Record<string, unknown>>>();

/**
 * The `completed` event of a parsed Responses `response.completed` / `response.done` frame,
 * remembering the parsed `response` object for {@link completedResponse}.
 */
export function completedFrameEvent(response: Readonly<Record<string, unknown>>, from: { readonly raw?: Uint8Array }): CompletedEvent {
  const event = completedEvent(response, from);
  parsedResponses.set(event, response);
  return event;
}

/**
 * The parsed `response` object a completed event was read from, so that telemetry reads the output
 * without parsing the frame again. Kept beside the event, not on it, so the event's shape is unchanged.
 */
export function completedResponse(event: CompletedEvent): Readonly<Record<string, unknown>> | undefined {
  return parsedResponses.get(event);
}

/** Reads `usage` of a Responses `response` object (spec §1.4); null when absent or malformed. */
export function parseTokenUsage(usage: unknown): TokenUsage | null {
  if (usage === null || typeof usage !== 'object') return null;
  const u = usage as Record<string, unknown>;
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const details = (v: unknown, key: string): number =>
    v !== null && typeof v === 'object' ? num((v as Record<string, unknown>)[key]) : 0;
  if (typeof u['input_tokens'] === 'number' || typeof u['output_tokens'] === 'number') {
    return {
      inputTokens: num(u['input_tokens']),
      cachedInputTokens: details(u['input_tokens_details'], 'cached_tokens'),
      outputTokens: num(u['output_tokens']),
      reasoningOutputTokens: details(u['output_tokens_details'], 'reasoning_tokens'),
      totalTokens: num(u['total_tokens']),
    };
  }
  // Chat Completions names (a modeltap addition; B leaves Chat usage empty, spec §2.3.2).
  if (typeof u['prompt_tokens'] === 'number' || typeof u['completion_tokens'] === 'number') {
    return {
      inputTokens: num(u['prompt_tokens']),
      cachedInputTokens: details(u['prompt_tokens_details'], 'cached_tokens'),
      outputTokens: num(u['completion_tokens']),
      reasoningOutputTokens: details(u['completion_tokens_details'], 'reasoning_tokens'),
      totalTokens: num(u['total_tokens']),
    };
  }
  return null;
}
