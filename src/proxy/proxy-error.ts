import type { ServerResponse } from 'node:http';
import type { ModelClientError } from '../client/errors.js';

/** Stable codes of errors the proxy itself answers with. */
export type ProxyErrorCode =
  | 'invalid_json'
  | 'invalid_http'
  | 'invalid_body'
  | 'unsupported_content_encoding'
  | 'body_too_large'
  | 'body_timeout'
  | 'missing_access_key'
  | 'not_found'
  | 'upgrade_required'
  | 'shutting_down'
  | 'upstream_unreachable'
  | 'upstream_timeout'
  | 'upstream_error'
  | 'internal_error';

/** An error the proxy answers with: a stable code, the status it returns, and the cause. */
export class ProxyError extends Error {
  override readonly name = 'ProxyError';
  constructor(
    readonly code: ProxyErrorCode,
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** OpenAI's error `type` for a status. */
export function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

/** The OpenAI-shaped body `{"error": {"message", "type", "param", "code"}}`. */
export function errorBody(status: number, code: string, message: string): string {
  return JSON.stringify({ error: { message, type: errorType(status), param: null, code } });
}

/** The proxy's answer for a core error that happened before the upstream answered. */
export function fromClientError(error: ModelClientError): ProxyError {
  switch (error.kind) {
    case 'connection_failed':
      return new ProxyError('upstream_unreachable', 502, `upstream unreachable: ${error.message}`, { cause: error });
    case 'timeout':
      return new ProxyError('upstream_timeout', 504, 'upstream timed out before answering', { cause: error });
    case 'invalid_request':
      if (error.source === 'client') return new ProxyError('invalid_body', 400, error.message, { cause: error });
      return new ProxyError('upstream_error', error.status, error.message, { cause: error });
    default:
      return new ProxyError('upstream_error', error.status, error.message, { cause: error });
  }
}

/** Writes an error response, unless the head already went out. */
export function sendError(res: ServerResponse, error: ProxyError, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const body = errorBody(error.status, error.code, error.message);
  res.writeHead(error.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...extraHeaders,
  });
  res.end(body);
}
