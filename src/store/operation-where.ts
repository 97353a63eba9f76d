import type { OperationFilter } from './store.js';

/** A filter's SQL, with `?` placeholders: its clauses and values, the page size and order (both stores read it). */
export interface OperationWhere {
  readonly clauses: string[];
  readonly values: (string | number)[];
  /** Rows per page, 1 to 500 (default 100). */
  readonly limit: number;
  /** Newest first, or oldest first from `after`. */
  readonly order: 'ASC' | 'DESC';
}

/**
 * The clauses of every filter but `model`, which each store matches its own way (SQLite one
 * keyset page per model column, PostgreSQL one OR): the SQLite and the PostgreSQL store must
 * answer a filter alike, so it is written once.
 */
export function operationWhere(filter: OperationFilter): OperationWhere {
  const clauses: string[] = [];
  const values: (string | number)[] = [];
  const add = (clause: string, ...v: (string | number)[]): void => {
    clauses.push(clause);
    values.push(...v);
  };
  if (filter.before !== undefined) add('id < ?', filter.before);
  if (filter.after !== undefined) add('id > ?', filter.after);
  if (filter.route !== undefined) add('route = ?', filter.route);
  if (filter.status !== undefined) add('status = ?', filter.status);
  if (filter.error === 'any') add('error_type IS NOT NULL');
  else if (filter.error !== undefined) add('error_type = ?', filter.error);
  if (filter.conversation !== undefined) add('conversation_id = ?', filter.conversation);
  if (filter.parentThread !== undefined) add('parent_thread_id = ?', filter.parentThread);
  if (filter.since !== undefined) add('arrival_ms >= ?', filter.since);
  if (filter.until !== undefined) add('arrival_ms < ?', filter.until);
  if (filter.replica !== undefined) add('replica = ?', filter.replica);
  if (filter.search !== undefined) add('(response_id = ? OR trace_id = ? OR conversation_id = ? OR turn_id = ?)', filter.search, filter.search, filter.search, filter.search);
  return { clauses, values, limit: Math.min(500, Math.max(1, Math.floor(filter.limit ?? 100))), order: filter.after === undefined ? 'DESC' : 'ASC' };
}
