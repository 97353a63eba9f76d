import type { ResponseItem } from './events.js';
import type { ModelInfo, ReasoningEffort, ReasoningSummary, Verbosity } from './model-info.js';

/**
 * A Codex-style prompt: what the turn wants to send. The client builds the wire body from it
 * exactly as spec §2.2.1 (Responses) or §2.3.1 (Chat) says.
 */
export interface Prompt {
  /** Model slug; default the client's `model`. */
  readonly model?: string;
  /** Base instructions (the system prompt); may be empty. */
  readonly instructions: string;
  /** The conversation history for this request. */
  readonly input: readonly ResponseItem[];
  /** Tool specs in Responses format. Default `[]`. */
  readonly tools?: readonly unknown[];
  /** Default false. */
  readonly parallelToolCalls?: boolean;
  /** A JSON schema the final answer must follow (sent as `text.format`). */
  readonly outputSchema?: unknown;
  /** Default: the client's, else the model's default. */
  readonly reasoningEffort?: ReasoningEffort;
  /** Default: the client's, else `auto`. */
  readonly reasoningSummary?: ReasoningSummary;
  /** Default: the client's, else the model's default (only for models that support it). */
  readonly verbosity?: Verbosity;
  /** Continue from a stored response. */
  readonly previousResponseId?: string;
  /** Overrides of the built-in model facts. */
  readonly modelInfo?: Partial<ModelInfo>;
}

/** A request forwarded as the caller sent it (the proxy's way in). */
export interface RawRequest {
  /** Path below the provider's base URL, e.g. `responses` or `chat/completions`. */
  readonly path: string;
  /** Default `POST`. */
  readonly method?: string;
  /** The caller's query string, without `?`, appended as sent. */
  readonly query?: string;
  /** The caller's headers (lower-case names). Hop-by-hop headers are dropped. */
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
  /**
   * The body: the exact bytes (with any `content-encoding` named in `headers`), or a JSON value that
   * is serialised once.
   */
  readonly body?: Uint8Array | object;
  /**
   * Transport retries for this request, in place of the provider's `requestMaxRetries`: 0 sends it
   * exactly once (for a request that is not safe to repeat). Default: the provider's.
   */
  readonly maxRetries?: number;
}

/** What `ModelClientSession.stream()` accepts: a prompt, or `{ raw }` to forward a request as-is. */
export type StreamRequest = Prompt | { readonly raw: RawRequest };

/** Whether a request is a raw pass-through. */
export function isRawRequest(request: StreamRequest): request is { readonly raw: RawRequest } {
  return 'raw' in request;
}
