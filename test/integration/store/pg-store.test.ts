// The PostgreSQL store against a real PostgreSQL (initdb and pg_ctl in a temporary directory):
// schema and migrations (from version 1, and three stores migrating at once), batched writes,
// the JSON API's answers equal to the SQLite store's on the same rows, NOTIFY to other stores,
// summaryFromPostgres, and the database stopped and started again under a writing store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_EVENTS, type OperationRow } from '../../../src/store/operation-row.js';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION, PG_VERSION_TABLE } from '../../../src/store/pg-schema.js';
import { PG_WRITE_LOCK, PgStore, type PgStoreOptions } from '../../../src/store/pg-store.js';
import { storeApi } from '../../../src/store/store-api.js';
import { summaryFromPostgres, summaryFromStore } from '../../../src/store/store-summary.js';
import { Store } from '../../../src/store/store.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { row } from '../../helpers/operation-row.js';
import { startPostgres, type TestPostgres } from '../../helpers/postgres.js';

let server: TestPostgres;
let databases = 0;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(() => server?.stop());

/** A fresh database on the test server, and its stores closed after the test. */
async function database(): Promise<{ url: string; open: (options?: PgStoreOptions) => Promise<PgStore>; close: () => Promise<void> }> {
  const url = await server.createDatabase(`t${++databases}`);
  const stores: PgStore[] = [];
  return {
    url,
    open: async (options = {}) => {
      const store = new PgStore(url, options);
      stores.push(store);
      await store.ready;
      return store;
    },
    close: async () => {
      await Promise.all(stores.map((s) => s.close()));
    },
  };
}

async function query<T extends Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Polls `check` (every 20 ms, at most `tries` times) until it holds. */
async function until(check: () => boolean | Promise<boolean>, tries = 500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the condition never held');
}

describe('the PostgreSQL store', () => {
  it('creates its schema at the current version, with the indexes of the SQLite store', async () => {
    const db = await database();
    try {
      const store = await db.open();
      expect(store.fault).toBeNull();
      expect(store.open).toBe(true);
      expect(await query(db.url, 'SELECT version FROM modeltap_schema')).toEqual([{ version: PG_SCHEMA_VERSION }]);
      const indexes = (await query<{ indexname: string }>(db.url, "SELECT indexname FROM pg_indexes WHERE tablename = 'operations' ORDER BY indexname")).map((r) => r.indexname);
      expect(indexes).toEqual(['operations_arrival', 'operations_conversation', 'operations_model', 'operations_parent_thread', 'operations_pkey', 'operations_replica', 'operations_response', 'operations_response_model', 'operations_status', 'operations_trace', 'operations_turn']);
    } finally {
      await db.close();
    }
  });

  it('migrates a database of version 1 forward, keeping its rows (their replica null)', async () => {
    const db = await database();
    try {
      await query(db.url, PG_VERSION_TABLE);
      for (const statement of PG_MIGRATIONS[0] ?? []) await query(db.url, statement);
      await query(db.url, 'INSERT INTO modeltap_schema (version) VALUES (1)');
      await query(db.url, "INSERT INTO operations (kind, arrival_ms, end_ms, method, path, duration_ms, request_model) VALUES ('model', 1000, 1100, 'POST', '/v1/responses', 100, 'old')");
      const store = await db.open();
      expect(store.fault).toBeNull();
      expect(await query(db.url, 'SELECT version FROM modeltap_schema')).toEqual([{ version: PG_SCHEMA_VERSION }]);
      const { operations } = await store.listOperations();
      expect(operations.map((o) => [o.requestModel, o.replica])).toEqual([['old', null]]);
    } finally {
      await db.close();
    }
  });

  it('three stores started at once on an empty database migrate it once, without an error', async () => {
    const db = await database();
    try {
      const lines: string[] = [];
      const stores = await Promise.all([1, 2, 3].map(() => db.open({ log: (l) => lines.push(l) })));
      expect(stores.map((s) => [s.open, s.fault])).toEqual([
        [true, null],
        [true, null],
        [true, null],
      ]);
      expect(lines).toEqual([]);
      expect(await query(db.url, 'SELECT version FROM modeltap_schema')).toEqual([{ version: PG_SCHEMA_VERSION }]);
      // Each writes: one id sequence, every row once.
      stores.forEach((s, i) => s.enqueue([row({ replica: `r${i}` }), row({ replica: `r${i}` })]));
      await Promise.all(stores.map((s) => s.drain()));
      const counts = await query<{ replica: string; n: number }>(db.url, 'SELECT replica, count(*)::int AS n FROM operations GROUP BY replica ORDER BY replica');
      expect(counts).toEqual([
        { replica: 'r0', n: 2 },
        { replica: 'r1', n: 2 },
        { replica: 'r2', n: 2 },
      ]);
    } finally {
      await db.close();
    }
  });

  it('refuses a database of a newer modeltap, and leaves it as it was', async () => {
    const db = await database();
    try {
      await query(db.url, PG_VERSION_TABLE);
      await query(db.url, 'INSERT INTO modeltap_schema (version) VALUES (99)');
      const lines: string[] = [];
      const store = await db.open({ log: (l) => lines.push(l) });
      expect(store.fault?.code).toBe('store_newer_schema');
      expect(lines).toHaveLength(1);
      store.enqueue([row()]);
      expect(store.dropped).toBe(1);
      expect(await query(db.url, 'SELECT version FROM modeltap_schema')).toEqual([{ version: 99 }]);
      expect(await query(db.url, "SELECT to_regclass('operations') AS t")).toEqual([{ t: null }]);
    } finally {
      await db.close();
    }
  });

  it('writes rows in batches with their events and conversations, and tells other stores through NOTIFY', async () => {
    const db = await database();
    try {
      const told: number[] = [];
      const reader = await db.open({ onStored: (id) => told.push(id) });
      const writer = await db.open({ batchRows: 3 });
      const many = Array.from({ length: MAX_EVENTS + 5 }, (_, i) => ({ kind: 'response.output_text.delta', offsetMs: i, bytes: 10, ok: i % 2 === 0 }));
      const rows: OperationRow[] = [row({ events: many, eventCount: many.length, content: '{"output":"it\'s \\"quoted\\" {a,b}"}', stream: false, replica: 'r"1' }), ...Array.from({ length: 6 }, () => row())];
      writer.enqueue(rows);
      await writer.drain();
      expect([writer.written, writer.dropped, writer.lastId]).toEqual([7, 0, 7]);
      // Three batches: the reader hears of the last one's newest id.
      await until(() => told.includes(7));
      const first = await reader.getOperation(1);
      const { events, ...fields } = rows[0] as OperationRow;
      expect(first).toMatchObject({ id: 1, ...fields });
      expect(first?.events).toHaveLength(MAX_EVENTS);
      expect(first?.events[3]).toEqual({ kind: 'response.output_text.delta', offsetMs: 3, bytes: 10, ok: false });
      expect(await query(db.url, 'SELECT conversation_id, last_id FROM conversations')).toEqual([{ conversation_id: 'conv-1', last_id: '7' }]);
      expect(await reader.newestId()).toBe(7);
    } finally {
      await db.close();
    }
  });

  it("answers the JSON API as the SQLite store does on the same rows", async () => {
    const db = await database();
    const sqlite = new Store(':memory:');
    try {
      const pg = await db.open();
      const rows = [
        row({ requestModel: 'a', replica: 'r1' }),
        row({ requestModel: 'b', status: 429, errorType: '429', conversationId: 'conv-2', replica: 'r2' }),
        row({ requestModel: 'a', status: 500, errorType: 'stream', replica: 'r1' }),
        row({ requestModel: 'a', responseId: 'resp_x', replica: 'r3', costPicos: null }),
        row({ requestModel: 'c', conversationId: null, ttfcMs: null }),
        row({ kind: 'other', route: null, transport: null, requestModel: null, responseModel: null, stream: null, inputTokens: null, events: [], eventCount: 0 }),
        row({ requestModel: 'mini', responseModel: 'a', conversationId: 'conv-3', totalTokens: 5 }),
        row({ conversationId: 'sub-1', threadId: 'sub-1', parentThreadId: 'conv-1', errorType: '400', errorMessage: 'bad', upstreamRequestId: 'req_1', attempts: [] }),
      ];
      sqlite.write(rows);
      pg.enqueue(rows);
      await pg.drain();
      const t = rows[2]?.arrivalMs ?? 0;
      const queries: [string, string][] = [
        ['operations', ''],
        ['operations', 'limit=2'],
        ['operations', 'limit=2&before=5'],
        ['operations', 'after=0&limit=3'],
        ['operations', 'after=3'],
        ['operations', 'model=a'],
        ['operations', 'model=a&limit=2'],
        ['operations', 'model=gpt-5.1-2025-11-13&limit=3&before=4'],
        ['operations', 'status=429'],
        ['operations', 'error=any'],
        ['operations', 'error=stream'],
        ['operations', 'conversation=conv-2'],
        ['operations', 'q=resp_x'],
        ['operations', 'q=conv-2'],
        ['operations', `since=${t}`],
        ['operations', `until=${t}`],
        ['operations', 'replica=r1'],
        ['operations', 'parent_thread=conv-1'],
        ['operations/8', ''],
        ['operations', 'route=%2Fv1%2Fresponses'],
        ['operations/1', ''],
        ['operations/6', ''],
        ['operations/99', ''],
        ['conversations', ''],
        ['conversations', 'limit=1'],
        ['conversations', 'before=7'],
        ['conversations/conv-1', ''],
        ['stats', `since=${t - 10_000}&until=${t + 10_000}&bucket_ms=1000`],
        ['stats', `since=${t - 60_000}&until=${t + 60_000}`],
        ['nothing', ''],
      ];
      for (const [path, q] of queries) expect([path, q, await storeApi(pg, path, q)]).toEqual([path, q, await storeApi(sqlite, path, q)]);
      const info = (await storeApi(pg, 'store', '')).body as Record<string, unknown>;
      expect(info).toMatchObject({ location: db.url, open: true, fault: null, written: 8, dropped: 0, newestId: 8 });
      expect(info['sizeBytes']).toBeGreaterThan(0);
    } finally {
      sqlite.close();
      await db.close();
    }
  });

  it('summaryFromPostgres gives the summary summaryFromStore gives of the same rows, reading only', async () => {
    const db = await database();
    const dir = mkdtempSync(join(tmpdir(), 'modeltap-pg-summary-'));
    try {
      await expect(summaryFromPostgres(db.url)).rejects.toThrow(/schema version 0 is older/);
      const rows = [row(), row({ requestModel: 'b', errorType: 'stream', status: 500 }), row({ kind: 'other' }), row({ inputTokens: null })];
      const sqlite = new Store(join(dir, 'run.db'));
      sqlite.write(rows);
      sqlite.close();
      const pg = await db.open();
      pg.enqueue(rows);
      await pg.drain();
      const summary = await summaryFromPostgres(db.url);
      expect(summary).toEqual(await summaryFromStore(join(dir, 'run.db')));
      expect(summary.startedAt).toBe(new Date(rows[0]?.arrivalMs ?? 0).toISOString());
      expect(pg.written).toBe(4);
      await expect(summaryFromPostgres(`postgres://postgres:secret@127.0.0.1:1/none`)).rejects.toThrow(/cannot read the store postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/none/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await db.close();
    }
  });

  it('deletes what is older than the retention', async () => {
    const db = await database();
    try {
      const store = await db.open({ retentionMs: 1000 });
      const now = Date.now();
      store.enqueue([row({ arrivalMs: now - 5000, conversationId: 'gone' }), row({ arrivalMs: now, conversationId: 'kept' })]);
      await store.drain();
      expect(await store.enforceLimits(now)).toEqual({ deleted: 1 });
      expect((await store.listOperations()).operations.map((o) => o.conversationId)).toEqual(['kept']);
      expect(await query(db.url, 'SELECT conversation_id FROM conversations')).toEqual([{ conversation_id: 'kept' }]);
      expect(await query(db.url, 'SELECT count(*)::int AS n FROM events')).toEqual([{ n: 2 }]);
    } finally {
      await db.close();
    }
  });
});

describe('a PostgreSQL store whose database is slow', () => {
  it('never waits: a write that takes too long is dropped, the queue beyond its bound drops and counts, one line each way', async () => {
    const db = await database();
    const { default: pg } = await import('pg');
    const holder = new pg.Client({ connectionString: db.url });
    holder.on('error', () => undefined);
    try {
      const lines: string[] = [];
      const drops: [number, string][] = [];
      const store = await db.open({ log: (l) => lines.push(l), onDropped: (n, code) => drops.push([n, code]), maxQueueRows: 3, batchRows: 1, queryTimeoutMs: 300 });
      await holder.connect();
      // Another session holds the write lock: each batch waits for it until its statement times out.
      await holder.query('SELECT pg_advisory_lock($1, $2)', [...PG_WRITE_LOCK]);
      // enqueue is synchronous: what the queue cannot hold is dropped and counted before it returns.
      store.enqueue([row(), row(), row(), row(), row()]);
      expect(drops).toEqual([[2, 'store_queue_full']]);
      await until(() => drops.some(([, code]) => code === 'store_timeout'));
      expect(store.fault?.code).toBe('store_timeout');
      expect(store.open).toBe(true);
      await holder.query('SELECT pg_advisory_unlock($1, $2)', [...PG_WRITE_LOCK]);
      await store.drain();
      store.enqueue([row({ requestModel: 'after' })]);
      await store.drain();
      expect(store.fault).toBeNull();
      expect((await store.listOperations({ model: 'after' })).operations).toHaveLength(1);
      expect(store.written + store.dropped).toBe(6);
      expect(drops.reduce((n, [k]) => n + k, 0)).toBe(store.dropped);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/failed \((store_queue_full|store_timeout): /);
      expect(lines[1]).toMatch(/works again$/);
    } finally {
      await holder.end().catch(() => undefined);
      await db.close();
    }
  });
});

describe('a PostgreSQL store whose database goes away', () => {
  it('drops and counts, logs one line down and one up, reconnects and writes again', async () => {
    const own = await startPostgres('away');
    const lines: string[] = [];
    const drops: [number, string][] = [];
    const told: number[] = [];
    const store = new PgStore(own.url.replace('postgres@', 'postgres:hunter2@'), { log: (l) => lines.push(l), onDropped: (n, code) => drops.push([n, code]), onStored: (id) => told.push(id), reconnectMs: 50, connectTimeoutMs: 1000, queryTimeoutMs: 2000 });
    try {
      await store.ready;
      store.enqueue([row()]);
      await store.drain();
      expect(store.written).toBe(1);
      own.stopServer();
      // Writes while it is away: the first finds it gone, the later ones are dropped at once.
      await until(async () => {
        store.enqueue([row()]);
        await store.drain();
        return store.fault !== null;
      });
      expect(store.fault?.code).toBe('store_unavailable');
      store.enqueue([row(), row()]);
      expect(store.dropped).toBeGreaterThanOrEqual(3);
      expect(drops.reduce((n, [k]) => n + k, 0)).toBe(store.dropped);
      expect(drops.every(([, code]) => code === 'store_unavailable')).toBe(true);
      expect((await storeApi(store, 'store', '')).body).toMatchObject({ open: false, fault: { code: 'store_unavailable' }, dropped: store.dropped });
      expect((await storeApi(store, 'operations', '')).status).toBe(503);
      own.start();
      await until(() => store.open, 1000);
      const before = store.written;
      store.enqueue([row({ requestModel: 'after' })]);
      await store.drain();
      expect(store.written).toBe(before + 1);
      expect((await store.listOperations({ model: 'after' })).operations).toHaveLength(1);
      // The LISTEN connection came back too: a batch of another store is heard.
      const other = new PgStore(own.url);
      await other.ready;
      told.length = 0;
      other.enqueue([row()]);
      await other.drain();
      await until(() => told.includes(other.lastId), 1000);
      await other.close();
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^modeltap: the store postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/away failed \(store_unavailable: .+\); requests are still relayed/);
      expect(lines[1]).toMatch(/the store .* works again$/);
      expect(lines.join('\n')).not.toContain('hunter2');
    } finally {
      await store.close();
      own.stop();
    }
  }, 120_000);

  it('a database that is not there at start: dropped and counted, then it opens when the database appears', async () => {
    const own = await startPostgres('late');
    own.stopServer();
    const lines: string[] = [];
    const store = new PgStore(own.url, { log: (l) => lines.push(l), reconnectMs: 50, connectTimeoutMs: 1000 });
    try {
      await store.ready;
      expect(store.fault?.code).toBe('store_unavailable');
      store.enqueue([row()]);
      expect(store.dropped).toBe(1);
      own.start();
      await until(() => store.open, 1000);
      store.enqueue([row()]);
      await store.drain();
      expect(store.written).toBe(1);
      expect(lines).toHaveLength(2);
    } finally {
      await store.close();
      own.stop();
    }
  }, 120_000);
});
