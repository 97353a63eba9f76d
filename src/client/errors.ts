import type { RateLimitSnapshot } from './events.js';
import { parseRateLimitHeaders } from './rate-limits.js';
import { headerValue, type HeaderMap } from './header-map.js';

/**
 * The snake_case names of Codex's `CodexErr` variants (spec §4.8), plus `connection_failed`
 * (Codex's `ConnectionFailed`, which we use for network errors before the response head so that
 * a proxy can answer 502 rather than a generic stream error) and `aborted` (the caller's signal).
 */
export type ModelClientErrorKind =
  | 'context_window_exceeded'
  | 'quota_exceeded'
  | 'usage_not_included'
  | 'usage_limit_reached'
  | 'invalid_request'
  | 'invalid_image_request'
  | 'stream'
  | 'unexpected_status'
  | 'retry_limit'
  | 'server_overloaded'
  | 'internal_server_error'
  | 'timeout'
  | 'connection_failed'
  | 'refresh_token_failed'
  | 'io'
  | 'env_var'
  | 'unsupported_operation'
  | 'aborted';

/** Where an error came from: an upstream HTTP status, an upstream stream event, the transport, or us. */
export type ModelClientErrorSource = 'upstream_status' | 'upstream_event' | 'transport' | 'client';

/** The upstream response behind an error, kept whole so a proxy can pass it through unchanged. */
export interface UpstreamErrorResponse {
  readonly status: number;
  readonly headers: HeaderMap;
  readonly body: Uint8Array;
}

/** Options for {@link ModelClientError}. */
export interface ModelClientErrorOptions {
  readonly kind: ModelClientErrorKind;
  readonly message: string;
  readonly source: ModelClientErrorSource;
  /** HTTP status a proxy should answer with; defaults from the kind or the upstream status. */
  readonly status?: number;
  readonly upstream?: UpstreamErrorResponse;
  readonly requestId?: string;
  /** A server-requested delay before retrying (from "try again in …"), in milliseconds. */
  readonly delayMs?: number;
  readonly rateLimits?: RateLimitSnapshot;
  readonly cause?: unknown;
}

// §4.6: which CodexErr variants the turn loop retries.
const RETRYABLE: ReadonlySet<ModelClientErrorKind> = new Set<ModelClientErrorKind>([
  'stream',
  'timeout',
  'unexpected_status',
  'internal_server_error',
  'connection_failed',
  'io',
]);

const DEFAULT_STATUS: Record<ModelClientErrorKind, number> = {
  context_window_exceeded: 400,
  quota_exceeded: 429,
  usage_not_included: 403,
  usage_limit_reached: 429,
  invalid_request: 400,
  invalid_image_request: 400,
  stream: 502,
  unexpected_status: 502,
  retry_limit: 429,
  server_overloaded: 503,
  internal_server_error: 500,
  timeout: 504,
  connection_failed: 502,
  refresh_token_failed: 401,
  io: 502,
  env_var: 500,
  unsupported_operation: 400,
  aborted: 499,
};

/**
 * The one error class of the client core. `kind` is the stable code; `status` is the HTTP status a
 * proxy should answer with; `retryable` follows Codex's `is_retryable` (spec §4.6).
 */
export class ModelClientError extends Error {
  override readonly name = 'ModelClientError';
  readonly kind: ModelClientErrorKind;
  readonly source: ModelClientErrorSource;
  readonly status: number;
  readonly retryable: boolean;
  readonly upstreamStatus: number | undefined;
  readonly upstream: UpstreamErrorResponse | undefined;
  readonly requestId: string | undefined;
  readonly delayMs: number | undefined;
  readonly rateLimits: RateLimitSnapshot | undefined;

  constructor(options: ModelClientErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = options.kind;
    this.source = options.source;
    this.upstream = options.upstream;
    this.upstreamStatus = options.upstream?.status;
    this.status = options.status ?? options.upstream?.status ?? DEFAULT_STATUS[options.kind];
    this.retryable = RETRYABLE.has(options.kind);
    this.requestId = options.requestId;
    this.delayMs = options.delayMs;
    this.rateLimits = options.rateLimits;
  }

  /** The stable code, identical to {@link ModelClientError.kind}. */
  get code(): ModelClientErrorKind {
    return this.kind;
  }
}

/** Display texts pinned by Codex's tests (spec §4.8). */
export const MESSAGES = {
  contextWindowExceeded:
    "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.",
  quotaExceeded: 'Quota exceeded. Check your plan and billing details.',
  usageNotIncluded:
    'To use Codex with your ChatGPT plan, upgrade to Plus: https://openai.com/chatgpt/pricing.',
  internalServerError:
    "We're currently experiencing high demand, which may cause temporary errors.",
  serverOverloaded: 'Selected model is at capacity. Please try a different model.',
  streamClosed: 'stream closed before response.completed',
  idleTimeoutSse: 'idle timeout waiting for SSE',
  responseFailed: 'response.failed event received',
} as const;

/** A `Stream` error: the text gets Codex's "stream disconnected before completion: " prefix. */
export function streamError(
  detail: string,
  options: { delayMs?: number; cause?: unknown; source?: ModelClientErrorSource } = {},
): ModelClientError {
  return new ModelClientError({
    kind: 'stream',
    message: `stream disconnected before completion: ${detail}`,
    source: options.source ?? 'transport',
    ...(options.delayMs === undefined ? {} : { delayMs: options.delayMs }),
    ...(options.cause === undefined ? {} : { cause: options.cause }),
  });
}

/** The upstream request id: the first present of `cf-ray`, `x-request-id`, `x-oai-request-id` (§4.8). */
export function upstreamRequestId(headers: HeaderMap): string | undefined {
  return (
    headerValue(headers, 'cf-ray') ??
    headerValue(headers, 'x-request-id') ??
    headerValue(headers, 'x-oai-request-id')
  );
}

const RETRY_DELAY = /try again in\s*(\d+(?:\.\d+)?)\s*(ms|seconds?|s)\b/i;

/**
 * The server-requested delay in a `rate_limit_exceeded` message, in milliseconds (§2.2.3):
 * "try again in 11.054s" → 11054, "try again in 28ms" → 28, "Try again in 35 seconds" → 35000.
 */
export function parseRetryDelayMs(message: string): number | undefined {
  const match = RETRY_DELAY.exec(message);
  if (!match?.[1] || !match[2]) return undefined;
  const value = Number(match[1]);
  if (!Number.isFinite(value)) return undefined;
  return match[2].toLowerCase() === 'ms' ? Math.trunc(value) : value * 1000;
}

interface ResponseErrorBody {
  type?: unknown;
  code?: unknown;
  message?: unknown;
}

/** Classifies the `response.error` object of a `response.failed` event (spec §2.2.3). */
export function classifyResponseFailed(event: { response?: unknown }): ModelClientError {
  const response = event.response;
  const error =
    response !== null && typeof response === 'object'
      ? (response as { error?: unknown }).error
      : undefined;
  if (error === null || typeof error !== 'object' || Array.isArray(error)) {
    return streamError(MESSAGES.responseFailed, { source: 'upstream_event' });
  }
  const { code, message } = error as ResponseErrorBody;
  const text = typeof message === 'string' ? message : undefined;
  const fromEvent = { source: 'upstream_event' as const };
  switch (code) {
    case 'context_length_exceeded':
      return new ModelClientError({ kind: 'context_window_exceeded', message: MESSAGES.contextWindowExceeded, ...fromEvent });
    case 'insufficient_quota':
      return new ModelClientError({ kind: 'quota_exceeded', message: MESSAGES.quotaExceeded, ...fromEvent });
    case 'usage_not_included':
      return new ModelClientError({ kind: 'usage_not_included', message: MESSAGES.usageNotIncluded, ...fromEvent });
    case 'invalid_prompt':
      return new ModelClientError({ kind: 'invalid_request', message: text ?? 'Invalid request.', ...fromEvent });
    default: {
      const delayMs = code === 'rate_limit_exceeded' && text ? parseRetryDelayMs(text) : undefined;
      return streamError(text ?? '', { ...fromEvent, ...(delayMs === undefined ? {} : { delayMs }) });
    }
  }
}

const decoder = new TextDecoder();

function parseErrorObject(body: string): ResponseErrorBody | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    const error = (parsed as { error?: unknown } | null)?.error;
    return error !== null && typeof error === 'object' ? (error as ResponseErrorBody) : undefined;
  } catch {
    return undefined;
  }
}

function usageLimitMessage(error: Record<string, unknown>): string {
  const resetsAt = typeof error['resets_at'] === 'number' ? error['resets_at'] : undefined;
  const when =
    resetsAt === undefined ? 'Try again later.' : `Try again at ${new Date(resetsAt * 1000).toISOString()}.`;
  return `You've hit your usage limit. ${when}`;
}

/**
 * Maps a non-2xx upstream response to the core error (spec §4.8, "HTTP errors"). The upstream
 * status, headers and body are kept on the error so that a proxy can relay them unchanged.
 */
export function mapHttpError(upstream: UpstreamErrorResponse): ModelClientError {
  const { status, headers, body } = upstream;
  const text = decoder.decode(body);
  const requestId = upstreamRequestId(headers);
  const base = {
    source: 'upstream_status' as const,
    upstream,
    ...(requestId === undefined ? {} : { requestId }),
  };
  const error = parseErrorObject(text);
  if (status === 503 && (error?.code === 'server_is_overloaded' || error?.code === 'slow_down')) {
    return new ModelClientError({ kind: 'server_overloaded', message: MESSAGES.serverOverloaded, ...base });
  }
  if (status === 400) {
    if (text.includes('The image data you provided does not represent a valid image')) {
      return new ModelClientError({ kind: 'invalid_image_request', message: 'Image poisoning', ...base });
    }
    return new ModelClientError({ kind: 'invalid_request', message: text, ...base });
  }
  if (status === 500) {
    return new ModelClientError({ kind: 'internal_server_error', message: MESSAGES.internalServerError, ...base });
  }
  if (status === 429) {
    if (error?.type === 'usage_limit_reached') {
      return new ModelClientError({
        kind: 'usage_limit_reached',
        message: usageLimitMessage(error as Record<string, unknown>),
        rateLimits: parseRateLimitHeaders(headers),
        ...base,
      });
    }
    if (error?.type === 'usage_not_included') {
      return new ModelClientError({ kind: 'usage_not_included', message: MESSAGES.usageNotIncluded, ...base });
    }
    return new ModelClientError({
      kind: 'retry_limit',
      message: `exceeded retry limit, last status: ${status} Too Many Requests`,
      ...base,
    });
  }
  const detail = typeof error?.message === 'string' ? error.message : text;
  return new ModelClientError({ kind: 'unexpected_status', message: `unexpected status ${status}: ${detail}`, ...base });
}
