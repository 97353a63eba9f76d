import { SummaryRecorder, type RunSummary } from '../summary/summary-recorder.js';
import { PgStore } from './pg-store.js';
import { redactPostgresUrl } from './pg-url.js';
import { Store, type StoredOperation } from './store.js';
import type { StoreQueries } from './store-queries.js';

/** What a summary is built from so far: the recorder, and the span from the first arrival to the last end. */
interface Summing {
  readonly recorder: SummaryRecorder;
  first: number;
  last: number;
}

const summing = (): Summing => ({ recorder: new SummaryRecorder('proxy'), first: Number.POSITIVE_INFINITY, last: Number.NEGATIVE_INFINITY });

/**
 * Records one page of stored operations: the model operations as the proxy records them (time to
 * first chunk from arrival to the first bytes written to the caller, errors as the error type or
 * the status).
 */
function record(s: Summing, operations: readonly StoredOperation[]): void {
  for (const op of operations) {
    if (op.kind !== 'model') continue;
    s.first = Math.min(s.first, op.arrivalMs);
    s.last = Math.max(s.last, op.endMs);
    s.recorder.record({
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
}

/** The summary of every operation `store` holds, read in pages of 500 oldest first, over the span from the first arrival to the last end. */
async function summaryOfStore(store: StoreQueries): Promise<RunSummary> {
  const s = summing();
  for (let after = 0; ; ) {
    const page = await store.listOperations({ after, limit: 500 });
    record(s, page.operations);
    if (page.next === null) break;
    after = page.next;
  }
  const summary = s.recorder.summary();
  return Number.isFinite(s.first) ? { ...summary, startedAt: new Date(s.first).toISOString(), endedAt: new Date(s.last).toISOString() } : summary;
}

/**
 * The run summary of what a SQLite store holds (`modeltap report --from PATH`); see
 * {@link record}. Rejects with the store's fault when it cannot be read.
 */
export async function summaryFromStore(path: string): Promise<RunSummary> {
  const store = new Store(path, { readOnly: true });
  try {
    if (store.fault !== null) throw new Error(`cannot read the store ${path}: ${store.fault.message}`);
    return await summaryOfStore(store);
  } finally {
    store.close();
  }
}

/**
 * The run summary of what a PostgreSQL store holds (`modeltap report --from postgres://…`), read
 * only (no migration, no writes); see {@link record}. Rejects with the store's fault when it
 * cannot be read (unreachable, or at another schema version).
 */
export async function summaryFromPostgres(url: string): Promise<RunSummary> {
  const store = new PgStore(url, { readOnly: true, reconnectMs: 60_000 });
  try {
    await store.ready;
    if (store.fault !== null) throw new Error(`cannot read the store ${redactPostgresUrl(url)}: ${store.fault.message}`);
    return await summaryOfStore(store);
  } finally {
    await store.close();
  }
}
