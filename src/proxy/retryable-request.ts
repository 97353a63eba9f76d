import type { IncomingHttpHeaders } from 'node:http';

// RFC 9110 §9.2.2: PUT, DELETE and the safe methods. PUT is included because its semantics are a
// full replacement, so a repeat leaves the same state; OpenAI's API defines no PUT today.
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Whether a request may be re-sent after a 5xx, a network error or a timeout. Model calls
 * (`POST /v1/responses`, `/v1/chat/completions`, `/v1/responses/compact`) are retried as Codex
 * retries them; any other request only when its method is idempotent or the caller sent an
 * `Idempotency-Key`, so that e.g. `POST /v1/files` or `/v1/batches` can never create two objects.
 */
export function isRetryableRequest(modelCall: boolean, method: string, headers: IncomingHttpHeaders): boolean {
  return modelCall || IDEMPOTENT_METHODS.has(method) || headers['idempotency-key'] !== undefined;
}
