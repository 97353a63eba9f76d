import type { IncomingHttpHeaders } from 'node:http';
import { decodeContent, MAX_DECODED_BYTES } from '../util/decode-content.js';
import { ProxyError } from './proxy-error.js';

/** What the proxy reads from a model request: routing and telemetry facts, never its content. */
export interface RequestFacts {
  readonly model: string | undefined;
  readonly stream: boolean;
  /** Chat: `stream_options.include_usage`. */
  readonly includeUsage: boolean;
  /** Codex's conversation id: `session-id`, `session_id`, `thread-id`, `conversation_id`, else the body's `prompt_cache_key`. */
  readonly conversationId: string | undefined;
  /** Codex's `request_kind` (`turn`, `prewarm`, `compaction`, …) from `x-codex-turn-metadata` or `client_metadata`. */
  readonly requestKind: string | undefined;
  readonly turnId: string | undefined;
  /** Codex's thread: `thread-id`, else the turn metadata's `thread_id`; and a sub-agent's `parent_thread_id`. */
  readonly threadId: string | undefined;
  readonly parentThreadId: string | undefined;
  readonly originator: string | undefined;
  /** What telemetry reads from the body ({@link telemetryBody}): never the whole body, which is let go. */
  readonly telemetryBody: Readonly<Record<string, unknown>>;
}

/** Options of {@link inspectRequest}. */
export interface InspectOptions {
  /** Keep the content fields for telemetry (content capture). Default false. */
  readonly content?: boolean;
}

// The request parameters telemetry records (`gen_ai.request.*`, `openai.request.service_tier`).
const PARAMETER_FIELDS = ['max_output_tokens', 'max_completion_tokens', 'max_tokens', 'temperature', 'top_p', 'service_tier'] as const;
// What content capture records: Responses `input` and `instructions`, Chat `messages`.
const CONTENT_FIELDS = ['input', 'messages', 'instructions'] as const;

/**
 * What telemetry needs from a parsed request body, as `OperationInfo.body`: its scalar request
 * parameters and, only with `content`, its content fields. A small object, so that a stream does
 * not keep its (up to 64 MiB) body alive for telemetry.
 */
export function telemetryBody(body: Readonly<Record<string, unknown>>, content: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of PARAMETER_FIELDS) {
    const value = body[key];
    if (typeof value === 'number' || typeof value === 'string') out[key] = value;
  }
  if (content) {
    for (const key of CONTENT_FIELDS) if (body[key] !== undefined) out[key] = body[key];
  }
  return out;
}

const CONVERSATION_HEADERS = ['session-id', 'session_id', 'thread-id', 'conversation_id'] as const;

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The conversation key of a request, from its headers alone. */
export function conversationFromHeaders(headers: IncomingHttpHeaders): string | undefined {
  for (const name of CONVERSATION_HEADERS) {
    const value = first(headers[name]);
    if (value) return value;
  }
  return undefined;
}

/** Codex's `thread-id` header (fixtures/codex-cli-0.169/run1.jsonl), or undefined. */
export function threadFromHeaders(headers: IncomingHttpHeaders): string | undefined {
  return first(headers['thread-id']) || undefined;
}

function turnMetadata(headers: IncomingHttpHeaders, body: Record<string, unknown>): Record<string, unknown> | undefined {
  const fromHeader = first(headers['x-codex-turn-metadata']);
  const clientMetadata = body['client_metadata'];
  const fromBody =
    clientMetadata !== null && typeof clientMetadata === 'object'
      ? (clientMetadata as Record<string, unknown>)['x-codex-turn-metadata']
      : undefined;
  const text = fromHeader ?? (typeof fromBody === 'string' ? fromBody : undefined);
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Decodes (zstd, gzip, …) and parses a JSON request body to read its facts. The bytes forwarded
 * upstream are the original ones; this only looks. Throws a 400 `ProxyError` for a body that
 * cannot be decoded or is not a JSON object, a 413 `body_too_large` for one that decodes to more
 * than {@link MAX_DECODED_BYTES}.
 */
export function inspectRequest(headers: IncomingHttpHeaders, raw: Uint8Array, options: InspectOptions = {}): RequestFacts {
  let decoded: Uint8Array;
  try {
    decoded = decodeContent(raw, first(headers['content-encoding']));
  } catch (cause) {
    if (cause instanceof RangeError) {
      throw new ProxyError('body_too_large', 413, `the decoded request body is larger than the limit of ${MAX_DECODED_BYTES} bytes`, { cause });
    }
    throw new ProxyError('unsupported_content_encoding', 400, `cannot decode the request body: ${(cause as Error).message}`, { cause });
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(decoded.buffer, decoded.byteOffset, decoded.byteLength).toString('utf8'));
  } catch (cause) {
    throw new ProxyError('invalid_json', 400, 'We could not parse the JSON body of your request.', { cause });
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ProxyError('invalid_body', 400, 'The request body must be a JSON object.');
  }
  const obj = body as Record<string, unknown>;
  const meta = turnMetadata(headers, obj);
  const streamOptions = obj['stream_options'];
  return {
    model: str(obj['model']),
    stream: obj['stream'] === true,
    includeUsage: streamOptions !== null && typeof streamOptions === 'object' && (streamOptions as Record<string, unknown>)['include_usage'] === true,
    conversationId: conversationFromHeaders(headers) ?? str(obj['prompt_cache_key']),
    requestKind: str(meta?.['request_kind']),
    turnId: str(meta?.['turn_id']),
    threadId: threadFromHeaders(headers) ?? str(meta?.['thread_id']),
    parentThreadId: str(meta?.['parent_thread_id']),
    originator: first(headers['originator']),
    telemetryBody: telemetryBody(obj, options.content === true),
  };
}
