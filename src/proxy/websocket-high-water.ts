/**
 * Bytes queued for one WebSocket peer (its `bufferedAmount`) at which modeltap stops reading what
 * feeds it, 1 MiB; it reads on once they fell below half. Larger than any usual frame, so a peer
 * that keeps up never waits; small enough that a peer that stops reading costs a bounded amount.
 */
export const WS_HIGH_WATER_BYTES = 1024 * 1024;

/** Where reading resumes: half of {@link WS_HIGH_WATER_BYTES}. */
export const WS_LOW_WATER_BYTES = WS_HIGH_WATER_BYTES / 2;
