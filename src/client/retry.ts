/**
 * Codex's `backoff(base, n)` (spec §4.1): `base × 2^(n−1) × U[0.9, 1.1)`, and `base` for n = 0.
 * `random` returns a number in [0, 1).
 */
export function backoffMs(baseMs: number, n: number, random: () => number = Math.random): number {
  if (n <= 0) return baseMs;
  return baseMs * 2 ** (n - 1) * (0.9 + random() * 0.2);
}

/** What ended a transport attempt, for the retry decision. */
export type AttemptOutcome =
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'network' }
  | { readonly kind: 'timeout' };

/**
 * The transport retry rule (spec §4.1): retry while `attempt < maxRetries` on 5xx, network errors
 * and timeouts; never on 429 or other 4xx.
 */
export function shouldRetryAttempt(outcome: AttemptOutcome, attempt: number, maxRetries: number): boolean {
  if (attempt >= maxRetries) return false;
  if (outcome.kind !== 'status') return true;
  return outcome.status >= 500 && outcome.status <= 599;
}
