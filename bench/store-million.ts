/**
 * The store with a million requests (issue 20: "a store with a million rows still opens the first
 * page in under 300 ms"): fills a temporary database with 1,000,000 operations (6 models, 4 routes,
 * 2 % errors, a conversation per 20 requests, one hour of arrivals) and times each query the view
 * makes, through the store's JSON API as the view calls it (`npm run bench:store`).
 */
import { createRequire } from 'node:module';
import { storeApi } from '../src/store/store-api.js';
import { Store } from '../src/store/store.js';

/** The queries the view makes on its first pages, as `[name, API path, query]`. */
export const VIEW_QUERIES: readonly (readonly [string, string, string])[] = [
  ['Requests, first page', 'operations', 'limit=100'],
  ['Requests, next page', 'operations', 'limit=100&before=500000'],
  ['Requests, a common model', 'operations', 'limit=100&model=gpt-5.1'],
  ['Requests, a rare model', 'operations', 'limit=100&model=rare-model'],
  ['Requests, a route', 'operations', 'limit=100&route=/v1/chat/completions'],
  ['Requests, errors', 'operations', 'limit=100&error=any'],
  ['Requests, status 500', 'operations', 'limit=100&status=500'],
  ['Requests, one conversation', 'operations', 'limit=100&conversation=conv-4242'],
  ['Requests, search a response id', 'operations', 'limit=100&q=resp_777777'],
  ['Requests, last 5 minutes', 'operations', `limit=100&since=${Date.now() - 300_000}`],
  ['Conversations, first page', 'conversations', 'limit=100'],
  ['One conversation', 'conversations/conv-4242', 'limit=500'],
  ['One request with its events', 'operations/999999', ''],
  ['Overview, last 15 minutes', 'stats', `since=${Date.now() - 900_000}&until=${Date.now()}&bucket_ms=8000`],
];

/** Fills `path` (a new store) with `rows` operations in one statement. */
export function fill(path: string, rows: number): void {
  new Store(path).close();
  const { DatabaseSync } = createRequire(import.meta.url)('node:sqlite') as typeof import('node:sqlite');
  const db = new DatabaseSync(path);
  const now = Date.now();
  db.exec(`
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows})
    INSERT INTO operations (kind, arrival_ms, sent_ms, head_ms, first_event_ms, end_ms, method, route, path, transport, api, stream,
      request_model, response_model, status, error_type, ttfc_ms, duration_ms, overhead_ms, upstream_ms, input_tokens, output_tokens, total_tokens,
      response_id, conversation_id, turn_id, trace_id, span_id, event_count)
    SELECT 'model', ${now} - 3600000 + i * 3600000.0 / ${rows}, 0, 0, 0, ${now} - 3600000 + i * 3600000.0 / ${rows} + 900, 'POST',
      CASE i % 4 WHEN 0 THEN '/v1/chat/completions' ELSE '/v1/responses' END, '/v1/responses', 'http_sse', 'responses', 1,
      CASE WHEN i = 17 THEN 'rare-model' ELSE 'gpt-' || (i % 6) || '.1' END, 'gpt-' || (i % 6) || '.1',
      CASE WHEN i % 50 = 0 THEN 500 ELSE 200 END, CASE WHEN i % 50 = 0 THEN '500' END,
      100 + i % 300, 900 + i % 500, 0.2, 899, 1000 + i % 900, 100 + i % 90, 1100 + i % 990,
      'resp_' || i, 'conv-' || (i / 20), 'turn-' || i, printf('%032x', i), printf('%016x', i), 12
    FROM n`);
  // What the store's writer keeps as it writes (store-schema.ts, version 3).
  db.exec('INSERT INTO conversations (conversation_id, last_id) SELECT conversation_id, max(id) FROM operations WHERE conversation_id IS NOT NULL GROUP BY conversation_id');
  db.close();
}

/** Runs each query `times` times; the median ms of each. */
export async function timeQueries(store: Store, times = 5): Promise<{ name: string; ms: number; status: number }[]> {
  const out: { name: string; ms: number; status: number }[] = [];
  for (const [name, path, query] of VIEW_QUERIES) {
    const ms: number[] = [];
    let status = 0;
    for (let k = 0; k < times; k++) {
      const start = performance.now();
      status = (await storeApi(store, path, query)).status;
      ms.push(performance.now() - start);
    }
    ms.sort((a, b) => a - b);
    out.push({ name, ms: ms[Math.floor(times / 2)] as number, status });
  }
  return out;
}
