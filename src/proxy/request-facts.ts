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
  readonly originator: string | undefined;
  /** The parsed (decoded) JSON body. */
  readonly body: Record<string, unknown>;
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
export function inspectRequest(headers: IncomingHttpHeaders, raw: Uint8Array): RequestFacts {
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
    originator: first(headers['originator']),
    body: obj,
  };
}
