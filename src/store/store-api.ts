import type { OperationFilter } from './store.js';
import type { StoreQueries } from './store-queries.js';

/** An answer of the store's JSON API: its status and body (errors OpenAI-shaped). */
export interface StoreApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** OpenAI-shaped, as the proxy's own errors (`proxy-error.ts`, which this layer may not import). */
const error = (status: 400 | 404 | 503, code: string, message: string): StoreApiAnswer => ({
  status,
  body: { error: { message, type: status === 404 ? 'not_found_error' : status === 503 ? 'server_error' : 'invalid_request_error', param: null, code } },
});

class BadParameter extends Error {}

/** A query parameter as an integer, or undefined when absent. */
function integer(query: URLSearchParams, name: string): number | undefined {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new BadParameter(`'${name}' must be an integer, not '${text}'`);
  return n;
}

/** A time given as epoch milliseconds or an ISO 8601 date, in epoch ms; NaN when it is neither. */
export function parseTime(text: string): number {
  return /^\d+(\.\d+)?$/.test(text) ? Number(text) : Date.parse(text);
}

function time(query: URLSearchParams, name: string): number | undefined {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  const n = parseTime(text);
  if (!Number.isFinite(n)) throw new BadParameter(`'${name}' must be epoch milliseconds or an ISO 8601 time, not '${text}'`);
  return n;
}

function filterOf(query: URLSearchParams): OperationFilter {
  const out: Record<string, string | number> = {};
  const set = (key: string, value: string | number | null | undefined): void => {
    if (value !== null && value !== undefined && value !== '') out[key] = value;
  };
  set('before', integer(query, 'before'));
  set('after', integer(query, 'after'));
  set('limit', integer(query, 'limit'));
  set('model', query.get('model'));
  set('route', query.get('route'));
  set('status', integer(query, 'status'));
  set('error', query.get('error'));
  set('conversation', query.get('conversation'));
  set('parentThread', query.get('parent_thread'));
  set('since', time(query, 'since'));
  set('until', time(query, 'until'));
  set('search', query.get('q'));
  set('replica', query.get('replica'));
  return out as OperationFilter;
}

/**
 * The store's JSON API under `/modeltap/api/` (`path` is what follows it, `query` the query string):
 * `operations` (filters `model`, `route`, `status`, `error` (a type or `any`), `conversation`,
 * `parent_thread` (the sub-agents a thread spawned), `since`, `until`, `q` (an id), `replica`; pages by `before` and `limit`, newest first, or from `after`, oldest first), `operations/ID` (with its events),
 * `conversations`, `conversations/ID` (its operations, newest first), `stats` (`since`, `until`,
 * `bucket_ms`: per bucket and model, requests, errors, latency percentiles, tokens) and `store`.
 */
export async function storeApi(store: StoreQueries | undefined, path: string, query: string): Promise<StoreApiAnswer> {
  if (store === undefined) return error(404, 'store_off', 'the request store is off: start modeltap serve with --store PATH, default or memory');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter((p) => p !== '');
  try {
    if (parts.length === 1 && parts[0] === 'store') {
      return { status: 200, body: { location: store.location, open: store.open, fault: store.fault, written: store.written, dropped: store.dropped, sizeBytes: await store.sizeBytes(), newestId: await store.newestId() } };
    }
    if (parts[0] === 'operations' && parts.length === 1) return { status: 200, body: await store.listOperations(filterOf(params)) };
    if (parts[0] === 'operations' && parts.length === 2) {
      const id = Number(parts[1]);
      const op = Number.isSafeInteger(id) ? await store.getOperation(id) : undefined;
      return op === undefined ? error(404, 'not_found', `no operation ${parts[1]}`) : { status: 200, body: op };
    }
    if (parts.length === 1 && parts[0] === 'stats') {
      const until = time(params, 'until') ?? Date.now();
      const since = time(params, 'since') ?? until - 3_600_000;
      const bucketMs = integer(params, 'bucket_ms') ?? 60_000;
      if (bucketMs < 1000) throw new BadParameter("'bucket_ms' must be at least 1000");
      if (until <= since) throw new BadParameter("'until' must be after 'since'");
      if ((until - since) / bucketMs > 10_000) throw new BadParameter('at most 10000 buckets: give a larger bucket_ms or a shorter range');
      return { status: 200, body: { since, until, bucketMs, ...(await store.stats({ since, until, bucketMs })) } };
    }
    if (parts[0] === 'conversations' && parts.length === 1) {
      const before = integer(params, 'before');
      const limit = integer(params, 'limit');
      return { status: 200, body: await store.listConversations({ ...(before === undefined ? {} : { before }), ...(limit === undefined ? {} : { limit }) }) };
    }
    if (parts[0] === 'conversations' && parts.length === 2) {
      return { status: 200, body: await store.listOperations({ ...filterOf(params), conversation: decodeURIComponent(parts[1] as string) }) };
    }
  } catch (e) {
    if (e instanceof BadParameter) return error(400, 'invalid_parameter', e.message);
    return error(503, 'store_failed', e instanceof Error ? e.message : String(e));
  }
  return error(404, 'not_found', `no API at /modeltap/api/${path}`);
}
