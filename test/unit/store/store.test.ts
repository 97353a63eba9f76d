// The request store on real SQLite files in a temporary directory: schema and migrations, what a
// row keeps, pagination and filters, retention and size limits, and the failures that must never
// reach the relay (a location that cannot be created, a corrupt file, a full disk, a newer schema).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_EVENTS, type OperationRow } from '../../../src/store/operation-row.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../../src/store/store-schema.js';
import { Store } from '../../../src/store/store.js';
import { nextArrival, row } from '../../helpers/operation-row.js';

const dirs: string[] = [];
const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'modeltap-store-'));
  dirs.push(dir);
  return dir;
}

/** A database file at schema `version`, as that modeltap wrote it, holding one minimal model operation. */
function databaseAt(version: number): string {
  const path = join(tempDir(), `v${version}.db`);
  const db = new DatabaseSync(path);
  for (const migration of MIGRATIONS.slice(0, version)) for (const statement of migration) db.exec(statement);
  db.exec(`PRAGMA user_version = ${version}`);
  db.exec("INSERT INTO operations (kind, arrival_ms, end_ms, method, path, duration_ms) VALUES ('model', 1, 2, 'POST', '/v1/responses', 1)");
  db.close();
  return path;
}

function open(path: string, options: ConstructorParameters<typeof Store>[1] = {}): Store {
  const store = new Store(path, options);
  stores.push(store);
  return store;
}


describe('the store', () => {
  it('creates its schema in a new 0600 file, in WAL mode, at the current version', () => {
    const path = join(tempDir(), 'nested', 'modeltap.db');
    const store = open(path);
    expect(store.fault).toBeNull();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const db = new DatabaseSync(path);
    expect(db.prepare('PRAGMA user_version').get()).toEqual({ user_version: SCHEMA_VERSION });
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    db.close();
  });

  it('keeps every field of a row, and its events up to the bound with the full count', () => {
    const store = open(':memory:');
    const many = Array.from({ length: MAX_EVENTS + 5 }, (_, i) => ({ kind: 'response.output_text.delta', offsetMs: i, bytes: 10, ok: i % 2 === 0 }));
    const written = row({ events: many, eventCount: many.length, content: '{"output":"hi"}', stream: false });
    expect(store.write([written, row({ kind: 'other', route: null, transport: null, requestModel: null })])).toBe(2);
    const { operations } = store.listOperations();
    expect(operations).toHaveLength(2);
    const first = operations[1];
    if (first === undefined) throw new Error('no row');
    const { events, ...fields } = written;
    expect(first).toEqual({ id: first.id, ...fields });
    const one = store.getOperation(first.id);
    expect(one?.events).toHaveLength(MAX_EVENTS);
    expect(one?.events[3]).toEqual({ kind: 'response.output_text.delta', offsetMs: 3, bytes: 10, ok: false });
    expect(one?.eventCount).toBe(MAX_EVENTS + 5);
    expect(store.getOperation(9999)).toBeUndefined();
  });

  it('pages newest first by keyset, and filters by model, status, error, conversation, time and id', () => {
    const store = open(':memory:');
    const rows = [
      row({ requestModel: 'a' }),
      row({ requestModel: 'b', status: 429, errorType: '429', conversationId: 'conv-2' }),
      row({ requestModel: 'a', status: 500, errorType: 'stream' }),
      row({ requestModel: 'a', responseId: 'resp_x' }),
      row({ requestModel: 'c', conversationId: null }),
    ];
    store.write(rows);
    const first = store.listOperations({ limit: 2 });
    expect(first.operations.map((o) => o.requestModel)).toEqual(['c', 'a']);
    const second = store.listOperations({ limit: 2, before: first.next ?? 0 });
    expect(second.operations.map((o) => o.status)).toEqual([500, 429]);
    const last = store.listOperations({ limit: 2, before: second.next ?? 0 });
    expect(last.operations).toHaveLength(1);
    expect(last.next).toBeNull();
    expect(store.listOperations({ model: 'a' }).operations).toHaveLength(3);
    expect(store.listOperations({ model: 'gpt-5.1-2025-11-13' }).operations).toHaveLength(5);
    // The request's or the response's model, newest first, paged across both (one query each).
    const byResponse = store.listOperations({ model: 'gpt-5.1-2025-11-13', limit: 3 });
    expect(byResponse.operations.map((o) => o.id)).toEqual([5, 4, 3]);
    expect(store.listOperations({ model: 'gpt-5.1-2025-11-13', limit: 3, before: byResponse.next ?? 0 }).operations.map((o) => o.id)).toEqual([2, 1]);
    expect(store.listOperations({ status: 429 }).operations.map((o) => o.requestModel)).toEqual(['b']);
    expect(store.listOperations({ error: 'any' }).operations).toHaveLength(2);
    expect(store.listOperations({ error: 'stream' }).operations.map((o) => o.status)).toEqual([500]);
    expect(store.listOperations({ conversation: 'conv-2' }).operations).toHaveLength(1);
    expect(store.listOperations({ search: 'resp_x' }).operations.map((o) => o.requestModel)).toEqual(['a']);
    expect(store.listOperations({ search: 'conv-2' }).operations).toHaveLength(1);
    const middle = rows[2]?.arrivalMs ?? 0;
    expect(store.listOperations({ since: middle }).operations).toHaveLength(3);
    expect(store.listOperations({ until: middle }).operations).toHaveLength(2);
    store.write([row({ requestModel: 'mini', responseModel: 'a' })]);
    expect(store.listOperations({ model: 'a', limit: 2 }).operations.map((o) => [o.id, o.requestModel])).toEqual([[6, 'mini'], [4, 'a']]);
    expect(store.listOperations({ model: 'a', after: 3 }).operations.map((o) => o.id)).toEqual([4, 6]);
  });

  it('sums conversations, newest activity first', () => {
    const store = open(':memory:');
    store.write([row({ conversationId: 'x', totalTokens: 10, inputTokens: 7, outputTokens: 3 }), row({ conversationId: 'y' }), row({ conversationId: 'x', totalTokens: 5, inputTokens: 4, outputTokens: 1, errorType: 'stream', status: 500 })]);
    const { conversations, next } = store.listConversations();
    expect(next).toBeNull();
    expect(conversations.map((c) => [c.conversationId, c.operations, c.errors, c.totalTokens, c.inputTokens, c.outputTokens])).toEqual([
      ['x', 2, 1, 15, 11, 4],
      ['y', 1, 0, 46, 42, 4],
    ]);
    // Priced operations' costs summed exactly; one with usage and no price is counted, not summed.
    expect(conversations[0]?.costPicos).toBe(2 * 83_500_000);
    store.write([row({ conversationId: 'y', costPicos: null })]);
    expect(store.listConversations().conversations.find((c) => c.conversationId === 'y')).toMatchObject({ costPicos: 83_500_000, unpriced: 1 });
    expect(store.listConversations({ limit: 1 }).next).toBe(store.listConversations().conversations[0]?.lastId);
    expect(store.listConversations({ before: store.listConversations().conversations[0]?.lastId ?? 0 }).conversations.map((c) => c.conversationId)).toEqual(['x']);
  });

  it('sums model operations per time bucket and model, with nearest-rank percentiles', () => {
    const store = open(':memory:');
    const t0 = 1_800_000_000_000;
    const at = (offset: number, over: Partial<OperationRow>) => row({ arrivalMs: t0 + offset, ...over });
    store.write([
      ...Array.from({ length: 100 }, (_, i) => at(i * 10, { requestModel: 'a', ttfcMs: i + 1, durationMs: 100 + i, outputTokens: 2, inputTokens: 1 })),
      at(500, { requestModel: 'b', errorType: 'stream', ttfcMs: null }),
      at(61_000, { requestModel: 'a', ttfcMs: 7 }),
      at(30_000, { kind: 'other', requestModel: null }),
      at(-1, { requestModel: 'a' }),
    ]);
    const { points, truncated } = store.stats({ since: t0, until: t0 + 120_000, bucketMs: 60_000 });
    expect(truncated).toBe(false);
    const of = (t: number, model: string) => points.find((p) => p.t === t && p.model === model);
    expect(of(t0, 'a')).toEqual({ t: t0, model: 'a', requests: 100, errors: 0, ttfcMs: { p50: 50, p95: 95, p99: 99 }, durationMs: { p50: 149, p95: 194, p99: 198 }, inputTokens: 100, outputTokens: 200, costPicos: 100 * 83_500_000 });
    expect(of(t0, 'b')).toMatchObject({ requests: 1, errors: 1, ttfcMs: { p50: null, p95: null, p99: null } });
    expect(of(t0 + 60_000, 'a')).toMatchObject({ requests: 1, ttfcMs: { p50: 7, p95: 7, p99: 7 } });
    expect(points).toHaveLength(3);
  });

  it('migrates an empty database from the first version, and keeps the rows of a current one', () => {
    const path = join(tempDir(), 'old.db');
    new DatabaseSync(path).close();
    const store = open(path);
    expect(store.fault).toBeNull();
    store.write([row()]);
    store.close();
    const again = open(path);
    expect(again.fault).toBeNull();
    expect(again.listOperations().operations).toHaveLength(1);
  });

  it('migrates a database of version 4 forward to keep the replica: its rows read replica null, new rows filter by it', () => {
    const store = open(databaseAt(4));
    expect(store.fault).toBeNull();
    store.write([row({ replica: 'r1' }), row({ replica: 'r2' })]);
    expect(store.listOperations().operations.map((o) => o.replica)).toEqual(['r2', 'r1', null]);
    expect(store.listOperations({ replica: 'r1' }).operations.map((o) => o.id)).toEqual([2]);
  });

  it('migrates a database of version 5 forward to keep attempts, thread ids and error details: old rows read none, new rows round-trip', () => {
    const store = open(databaseAt(5));
    expect(store.fault).toBeNull();
    const attempts = [
      { attempt: 0, atMs: 0.5, ms: 12, status: 401, error: null, aborted: false, recovery: { atMs: 13, outcome: 'success' as const } },
      { attempt: 1, atMs: 14, ms: null, status: null, error: 'timeout', aborted: false, recovery: null },
    ];
    store.write([row({ attempts, threadId: 'thread-1', parentThreadId: 'thread-0', errorType: 'timeout', errorMessage: 'timed out', upstreamRequestId: 'req_1' }), row({ attempts: [] })]);
    const [none, detailed, old] = store.listOperations().operations;
    expect(old).toMatchObject({ attempts: [], threadId: null, parentThreadId: null, errorMessage: null, upstreamRequestId: null });
    expect(detailed).toMatchObject({ attempts, threadId: 'thread-1', parentThreadId: 'thread-0', errorMessage: 'timed out', upstreamRequestId: 'req_1' });
    expect(store.getOperation(detailed?.id ?? 0)?.attempts).toEqual(attempts);
    expect(none?.attempts).toEqual([]);
    // A thread's sub-agents, by their parent thread.
    expect(store.listOperations({ parentThread: 'thread-0' }).operations.map((o) => o.id)).toEqual([detailed?.id]);
    expect(store.listOperations({ parentThread: 'thread-1' }).operations).toEqual([]);
  });

  it('migrates a database of the first version forward, keeping its rows and listing its conversations', () => {
    const path = join(tempDir(), 'v1.db');
    const db = new DatabaseSync(path);
    for (const statement of MIGRATIONS[0] ?? []) db.exec(statement);
    db.exec('PRAGMA user_version = 1');
    db.exec("INSERT INTO operations (kind, arrival_ms, end_ms, method, path, duration_ms, conversation_id) VALUES ('model', 1, 2, 'POST', '/v1/responses', 1, 'old-conv')");
    db.close();
    const store = open(path);
    expect(store.fault).toBeNull();
    const [old] = store.listOperations().operations;
    expect(old).toMatchObject({ arrivalMs: 1, endMs: 2, firstWriteMs: null });
    expect(store.listConversations().conversations.map((c) => [c.conversationId, c.operations, c.lastId])).toEqual([['old-conv', 1, 1]]);
    store.write([row({ conversationId: 'old-conv' })]);
    expect(store.listOperations().operations[0]?.firstWriteMs).not.toBeNull();
    expect(store.listConversations().conversations.map((c) => [c.conversationId, c.operations, c.lastId])).toEqual([['old-conv', 2, 2]]);
    const check = new DatabaseSync(path);
    expect(check.prepare('PRAGMA user_version').get()).toEqual({ user_version: SCHEMA_VERSION });
    check.close();
  });

  it('deletes what is older than the retention, with its events', () => {
    const store = open(':memory:', { retentionMs: 1000 });
    const now = nextArrival + 10_000;
    store.write([row({ arrivalMs: now - 5000 }), row({ arrivalMs: now - 500 })]);
    expect(store.enforceLimits(now)).toEqual({ deleted: 1 });
    const left = store.listOperations().operations;
    expect(left.map((o) => o.arrivalMs)).toEqual([now - 500]);
    const old = store.getOperation((left[0]?.id ?? 0) - 1);
    expect(old).toBeUndefined();
  });

  it('a conversation whose every request was deleted leaves the list; one with requests left stays', () => {
    const store = open(':memory:', { retentionMs: 1000 });
    const now = nextArrival + 10_000;
    store.write([row({ arrivalMs: now - 5000, conversationId: 'gone' }), row({ arrivalMs: now - 5000, conversationId: 'kept' }), row({ arrivalMs: now - 500, conversationId: 'kept' })]);
    expect(store.listConversations().conversations.map((c) => c.conversationId)).toEqual(['kept', 'gone']);
    expect(store.enforceLimits(now)).toEqual({ deleted: 2 });
    expect(store.listConversations().conversations.map((c) => [c.conversationId, c.operations])).toEqual([['kept', 1]]);
  });

  it('deletes the oldest rows while the file is over its size limit, and shrinks the file', () => {
    const path = join(tempDir(), 'big.db');
    const store = open(path, { maxBytes: 256 * 1024 });
    const events = Array.from({ length: 50 }, (_, i) => ({ kind: 'response.output_text.delta', offsetMs: i, bytes: 30, ok: true }));
    for (let i = 0; i < 20; i++) store.write(Array.from({ length: 100 }, () => row({ events, eventCount: 50 })));
    const before = store.sizeBytes();
    expect(before).toBeGreaterThan(256 * 1024);
    const newest = store.listOperations({ limit: 1 }).operations[0]?.id;
    const { deleted } = store.enforceLimits(nextArrival);
    expect(deleted).toBeGreaterThan(0);
    expect(store.sizeBytes()).toBeLessThanOrEqual(256 * 1024);
    expect(statSync(path).size).toBeLessThan(before);
    // The newest rows are the ones kept.
    expect(store.listOperations({ limit: 1 }).operations[0]?.id).toBe(newest);
  });
});

describe('a read-only store (modeltap export)', () => {
  it('reads an existing store, writes nothing, and never creates a missing one', () => {
    const dir = tempDir();
    const path = join(dir, 'ro.db');
    const writer = open(path);
    writer.write([row(), row()]);
    writer.close();
    const reader = open(path, { readOnly: true });
    expect(reader.fault).toBeNull();
    const oldest = reader.listOperations({ after: 0, limit: 1 });
    expect(oldest.operations).toHaveLength(1);
    expect(reader.listOperations({ after: oldest.next ?? 0 }).operations).toHaveLength(1);
    expect(reader.write([row()])).toBe(0);
    expect(reader.listOperations().operations).toHaveLength(2);
    const missing = open(join(dir, 'missing.db'), { readOnly: true });
    expect(missing.fault?.message).toMatch(/no store at/);
    expect(existsSync(join(dir, 'missing.db'))).toBe(false);
  });
});

describe('a store that fails never throws at its caller', () => {
  it('a location that cannot be created: one line, every write dropped and counted', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), 'not a directory');
    const lines: string[] = [];
    const store = open(join(dir, 'file', 'modeltap.db'), { log: (l) => lines.push(l) });
    expect(store.open).toBe(false);
    expect(store.fault?.code).toBe('store_unavailable');
    expect(store.write([row(), row()])).toBe(0);
    expect(store.write([row()])).toBe(0);
    expect(store.dropped).toBe(3);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/store .*modeltap\.db failed \(store_unavailable: .*\); requests are still relayed/);
    expect(store.listOperations()).toEqual({ operations: [], next: null });
    expect(store.enforceLimits()).toEqual({ deleted: 0 });
  });

  it('a directory a file system will not create (under /proc): store_unavailable at once, no hang', () => {
    // In a child process, the built store: Node's recursive mkdir loops forever there, which a test
    // in this process could not interrupt.
    const built = new URL('../../../dist/store/store.js', import.meta.url).pathname;
    const script = `import(${JSON.stringify(built)}).then(({ Store }) => { const s = new Store('/proc/modeltap-cannot/run.db'); process.stdout.write(JSON.stringify(s.fault)); s.close(); });`;
    const child = spawnSync(process.execPath, ['-e', script], { timeout: 15_000, encoding: 'utf8' });
    expect(child.signal).toBeNull();
    expect(JSON.parse(child.stdout)).toMatchObject({ code: 'store_unavailable' });
  });

  it('a corrupt file: store_corrupt, the file left as it was', () => {
    const path = join(tempDir(), 'corrupt.db');
    writeFileSync(path, Buffer.alloc(8192, 0x5a));
    const lines: string[] = [];
    const store = open(path, { log: (l) => lines.push(l) });
    expect(store.fault?.code).toBe('store_corrupt');
    expect(store.write([row()])).toBe(0);
    expect(store.dropped).toBe(1);
    expect(lines).toHaveLength(1);
    expect(readFileSync(path).equals(Buffer.alloc(8192, 0x5a))).toBe(true);
  });

  it('a full disk: the batch dropped and counted, one line; writes that fit again work, one line', () => {
    const lines: string[] = [];
    const path = join(tempDir(), 'full.db');
    const store = open(path, { log: (l) => lines.push(l), maxPageCount: 40 });
    expect(store.fault).toBeNull();
    const big = Array.from({ length: 200 }, () => row({ content: 'x'.repeat(4000) }));
    expect(store.write(big)).toBe(0);
    expect(store.write(big)).toBe(0);
    expect(store.fault?.code).toBe('store_full');
    expect(store.dropped).toBe(400);
    expect(lines).toHaveLength(1);
    expect(store.write([row()])).toBe(1);
    expect(store.fault).toBeNull();
    expect(lines[1]).toMatch(/works again/);
    expect(store.listOperations().operations).toHaveLength(1);
  });

  it('a database from a newer modeltap: refused, not rewritten', () => {
    const path = join(tempDir(), 'newer.db');
    const db = new DatabaseSync(path);
    db.exec('PRAGMA user_version = 99');
    db.close();
    const store = open(path);
    expect(store.fault?.code).toBe('store_newer_schema');
    expect(store.write([row()])).toBe(0);
    const check = new DatabaseSync(path);
    expect(check.prepare('PRAGMA user_version').get()).toEqual({ user_version: 99 });
    check.close();
  });
});
