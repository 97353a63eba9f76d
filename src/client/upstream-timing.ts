/**
 * When one call was sent to the upstream and answered, on the `performance.now()` clock: what a
 * caller of the core needs to tell its own time from the upstream's. Pass one in
 * `StreamOptions.timing`; the core fills it in as it goes (every attempt of the retry and 401
 * loops of a raw HTTP request, or the handshake of `openWebSocket`).
 *
 * The upstream's time is every attempt from its dispatch to its answer, plus the backoff waits
 * between attempts (the upstream's failures cost them, not the caller's work); building requests,
 * loading credentials and refreshing them after a 401 are the caller's.
 */
export class UpstreamTiming {
  /**
   * When the latest attempt was handed to the transport, after its synchronous part (undici writes
   * a request one event-loop turn later on a reused connection, and after connecting on a new one:
   * that wait counts as the upstream's); NaN before any.
   */
  dispatchedAt = Number.NaN;
  /** When the latest attempt was answered: its head, the whole body of an error answer, or its network failure or timeout; NaN until then. */
  answeredAt = Number.NaN;
  /** The upstream's time before the latest attempt, in ms: earlier attempts, dispatch to answer, and the backoff after them. */
  earlierMs = 0;

  /** Records that an attempt was dispatched, now. */
  dispatched(): void {
    // The previous attempt's wait moves to earlierMs; one never answered (refused before it was sent) adds nothing.
    if (this.answeredAt >= this.dispatchedAt) this.earlierMs += this.answeredAt - this.dispatchedAt;
    this.dispatchedAt = performance.now();
    this.answeredAt = Number.NaN;
  }

  /** Records that the latest attempt was answered, now. */
  answered(): void {
    this.answeredAt = performance.now();
  }

  /** Adds a wait on the upstream's behalf (a retry's backoff), in ms. */
  waited(ms: number): void {
    this.earlierMs += ms;
  }

  /**
   * The upstream's time in ms until `until` (default: the latest answer; later when the caller
   * also waited for the first body bytes): {@link earlierMs} plus the latest attempt's wait.
   * 0 before any dispatch; an attempt with no answer adds nothing.
   */
  upstreamMs(until: number = this.answeredAt): number {
    if (Number.isNaN(this.dispatchedAt) || Number.isNaN(until)) return this.earlierMs;
    return this.earlierMs + (until - this.dispatchedAt);
  }
}
