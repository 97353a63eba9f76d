import type { ConversationSummary, OperationFilter, StatsPoint, StoredOperation, StoreFault } from './store.js';
import type { EventRow } from './operation-row.js';

type Awaitable<T> = T | Promise<T>;

/**
 * What the store's JSON API (`store-api.ts`) reads of a store: the SQLite {@link Store} answers at
 * once, the PostgreSQL store (`pg-store.ts`) with promises.
 */
export interface StoreQueries {
  /** Where it is (a PostgreSQL URL without its password). */
  readonly location: string;
  readonly open: boolean;
  readonly fault: StoreFault;
  readonly written: number;
  readonly dropped: number;
  sizeBytes(): Awaitable<number>;
  newestId(): Awaitable<number>;
  listOperations(filter?: OperationFilter): Awaitable<{ readonly operations: StoredOperation[]; readonly next: number | null }>;
  getOperation(id: number): Awaitable<(StoredOperation & { readonly events: EventRow[] }) | undefined>;
  listConversations(filter?: { readonly before?: number; readonly limit?: number }): Awaitable<{ readonly conversations: ConversationSummary[]; readonly next: number | null }>;
  stats(range: { readonly since: number; readonly until: number; readonly bucketMs: number }): Awaitable<{ readonly points: StatsPoint[]; readonly truncated: boolean }>;
}
