import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The message every refused caller gets, on HTTP, WebSocket and the metrics port alike. */
export const MISSING_KEY_MESSAGE = 'This modeltap requires its access key in the x-modeltap-key header.';

/**
 * modeltap's access key check, the one every listener uses: the key in `x-modeltap-key`, compared
 * in constant time. Without a key every request is admitted.
 */
export class AccessKey {
  readonly #expected: Buffer | undefined;
  readonly #cookie: string | undefined;

  /** @param key the key callers must send; undefined admits everyone. */
  constructor(key: string | undefined) {
    this.#expected = key === undefined ? undefined : Buffer.from(key);
    this.#cookie = key === undefined ? undefined : `${VIEW_COOKIE}=${createHmac('sha256', key).update('modeltap view').digest('base64url')}`;
  }

  /**
   * The `Set-Cookie` value a browser gets for `?key=KEY` on the view: a digest of the key, never
   * the key itself, so that what a browser keeps admits the view and its API and nothing else.
   */
  viewCookie(secure: boolean): string | undefined {
    return this.#cookie === undefined ? undefined : `${this.#cookie}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  }

  /** Whether `key` (from a `?key=` query) is the access key. */
  isKey(key: string): boolean {
    return this.#expected !== undefined && matches(this.#expected, key);
  }

  /** Whether a key is required at all. */
  get required(): boolean {
    return this.#expected !== undefined;
  }

  /**
   * Whether a request with these headers may pass. `bearer`: also accept the key as
   * `Authorization: Bearer KEY`, for Prometheus, which can send nothing else (only `/metrics`).
   */
  admits(headers: IncomingHttpHeaders, bearer = false, viewCookie = false): boolean {
    const expected = this.#expected;
    if (expected === undefined) return true;
    if (matches(expected, headers['x-modeltap-key'])) return true;
    if (viewCookie && hasCookie(headers.cookie, this.#cookie as string)) return true;
    if (!bearer) return false;
    const authorization = headers.authorization;
    return authorization !== undefined && authorization.startsWith('Bearer ') && matches(expected, authorization.slice(7));
  }
}

/** The view's cookie, `modeltap_view`. */
export const VIEW_COOKIE = 'modeltap_view';

function hasCookie(header: string | undefined, expected: string): boolean {
  if (header === undefined) return false;
  const want = Buffer.from(expected);
  for (const part of header.split(';')) {
    const cookie = Buffer.from(part.trim());
    if (cookie.length === want.length && timingSafeEqual(cookie, want)) return true;
  }
  return false;
}

function matches(expected: Buffer, given: string | string[] | undefined): boolean {
  if (typeof given !== 'string') return false;
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
