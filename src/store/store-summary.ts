import { SummaryRecorder, type RunSummary } from '../summary/summary-recorder.js';
import { Store } from './store.js';

/**
 * The run summary of what a store holds (`modeltap report --from PATH`): its model operations
 * recorded as the proxy records them (time to first chunk from arrival to the first bytes written
 * to the caller, errors as the error type or the status), over the span from the first arrival to
 * the last end. Throws with the store's fault when it cannot be read.
 */
export function summaryFromStore(path: string): RunSummary {
  const store = new Store(path, { readOnly: true });
  try {
    if (store.fault !== null) throw new Error(`cannot read the store ${path}: ${store.fault.message}`);
    const recorder = new SummaryRecorder('proxy');
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (let after = 0; ; ) {
      const page = store.listOperations({ after, limit: 500 });
      for (const op of page.operations) {
        if (op.kind !== 'model') continue;
        first = Math.min(first, op.arrivalMs);
        last = Math.max(last, op.endMs);
        recorder.record({
          route: op.route ?? op.path,
          model: op.requestModel ?? undefined,
          transport: op.transport ?? 'http',
          requestKind: op.requestKind ?? undefined,
          error: op.errorType ?? (op.status !== null && op.status >= 400 ? String(op.status) : undefined),
          ttfcMs: op.firstWriteMs === null ? undefined : op.firstWriteMs - op.arrivalMs,
          durationMs: op.durationMs,
          overheadMs: op.overheadMs ?? undefined,
          tokens: op.inputTokens === null ? undefined : { input: op.inputTokens, output: op.outputTokens ?? 0, cached: op.cachedInputTokens ?? 0 },
          // Costed when it was written, at the prices the proxy ran with.
          costPicos: op.costPicos ?? undefined,
        });
      }
      if (page.next === null) break;
      after = page.next;
    }
    const summary = recorder.summary();
    return Number.isFinite(first) ? { ...summary, startedAt: new Date(first).toISOString(), endedAt: new Date(last).toISOString() } : summary;
  } finally {
    store.close();
  }
}
