import type { OperationRow } from '../../src/store/operation-row.js';

/** The arrival time of the next {@link row}: each row arrives 1 ms after the one before. */
export let nextArrival = 1_700_000_000_000;
/** A stored model operation as the row builder makes one (a stream of two events), with `over` applied. */
export function row(over: Partial<OperationRow> = {}): OperationRow {
  const arrivalMs = nextArrival++;
  return {
    kind: 'model',
    arrivalMs,
    sentMs: arrivalMs + 0.4,
    headMs: arrivalMs + 50,
    firstEventMs: arrivalMs + 51,
    firstWriteMs: arrivalMs + 51.1,
    endMs: arrivalMs + 120,
    method: 'POST',
    route: '/v1/responses',
    path: '/v1/responses',
    transport: 'http_sse',
    api: 'responses',
    stream: true,
    requestModel: 'gpt-5.1',
    responseModel: 'gpt-5.1-2025-11-13',
    status: 200,
    errorType: null,
    errorMessage: null,
    upstreamRequestId: null,
    retries: 0,
    authRecoveries: 0,
    attempts: [{ attempt: 0, atMs: 0.4, ms: 49.5, status: 200, error: null, aborted: false, recovery: null }],
    ttfcMs: 51,
    durationMs: 120,
    overheadMs: 0.31,
    upstreamMs: 49.5,
    inputTokens: 42,
    cachedInputTokens: 8,
    outputTokens: 4,
    reasoningTokens: 2,
    totalTokens: 46,
    // gpt-5.1's price: 34 uncached × 1.25 + 8 cached × 0.125 + 4 output × 10 USD per million.
    costPicos: 83_500_000,
    responseId: `resp_${arrivalMs}`,
    serviceTier: 'default',
    conversationId: 'conv-1',
    threadId: 'conv-1',
    parentThreadId: null,
    turnId: `turn-${arrivalMs}`,
    requestKind: 'turn',
    originator: 'codex_exec',
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    eventCount: 2,
    events: [
      { kind: 'response.created', offsetMs: 50.6, bytes: 120, ok: true },
      { kind: 'response.completed', offsetMs: 119.2, bytes: 400, ok: true },
    ],
    content: null,
    replica: null,
    ...over,
  };
}
