import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The message every refused caller gets, on HTTP, WebSocket and the metrics port alike. */
export const MISSING_KEY_MESSAGE = 'This modeltap requires its access key in the x-modeltap-key header.';

/**
 * modeltap's access key check, the one every listener uses: the key in `x-modeltap-key`, compared
 * in constant time. Without a key every request is admitted.
 */
export class AccessKey {
  readonly #expected: Buffer | undefined;

  /** @param key the key callers must send; undefined admits everyone. */
  constructor(key: string | undefined) {
    this.#expected = key === undefined ? undefined : Buffer.from(key);
  }

  /** Whether a key is required at all. */
  get required(): boolean {
    return this.#expected !== undefined;
  }

  /**
   * Whether a request with these headers may pass. `bearer`: also accept the key as
   * `Authorization: Bearer KEY`, for Prometheus, which can send nothing else (only `/metrics`).
   */
  admits(headers: IncomingHttpHeaders, bearer = false): boolean {
    const expected = this.#expected;
    if (expected === undefined) return true;
    if (matches(expected, headers['x-modeltap-key'])) return true;
    if (!bearer) return false;
    const authorization = headers.authorization;
    return authorization !== undefined && authorization.startsWith('Bearer ') && matches(expected, authorization.slice(7));
  }
}

function matches(expected: Buffer, given: string | string[] | undefined): boolean {
  if (typeof given !== 'string') return false;
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
