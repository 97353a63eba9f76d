import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { conversationPage } from './conversation-page.js';
import { operationWhere } from './operation-where.js';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { MAX_EVENTS, type EventRow, type OperationRow } from './operation-row.js';
import { MIGRATIONS, SCHEMA_VERSION } from './store-schema.js';
import { COLUMNS, columnValue, FIELDS, fieldValue, type RowField } from './store-columns.js';
import { statsPoints, type StatsRow } from './store-stats.js';

/** Where the store lives: a file, or `:memory:` (kept only while the process runs). */
export type StoreLocation = string;

/** How a {@link Store} is opened. */
export interface StoreOptions {
  /** Rows older than this are deleted by {@link Store.enforceLimits}. Default 7 days. */
  readonly retentionMs?: number;
  /** The database's size beyond which the oldest rows are deleted. Default 512 MiB. */
  readonly maxBytes?: number;
  /** Told one line when the store starts failing, and when it works again. Default: not logged. */
  readonly log?: (line: string) => void;
  /** For tests: SQLite's own page limit, so that a write finds the "disk" full. */
  readonly maxPageCount?: number;
  /** Open an existing database for reading only (`modeltap export`): nothing is created, migrated or written. */
  readonly readOnly?: boolean;
}

/** Why the store is not working; null while it works. */
export type StoreFault = null | { readonly code: StoreFaultCode; readonly message: string };

/** Stable codes of a store's failures. */
export type StoreFaultCode = 'store_unavailable' | 'store_corrupt' | 'store_newer_schema' | 'store_full' | 'store_locked' | 'store_write_failed' | 'store_queue_full' | 'store_timeout';

/** What {@link Store.listOperations} filters by; every field optional, all given ones must hold. */
export interface OperationFilter {
  /** Rows with an id below this (the previous page's `next`). */
  readonly before?: number;
  /** Oldest first instead, from the row after this id (the previous page's `next`); 0 for the first page. */
  readonly after?: number;
  /** At most this many rows (1 to 500). Default 100. */
  readonly limit?: number;
  /** The request or response model. */
  readonly model?: string;
  readonly route?: string;
  readonly status?: number;
  /** An error type, or `any` for every failed request. */
  readonly error?: string;
  readonly conversation?: string;
  /** Operations of sub-agents spawned by this thread (their turn metadata's `parent_thread_id`). */
  readonly parentThread?: string;
  /** Arrival at or after / before, epoch ms. */
  readonly since?: number;
  readonly until?: number;
  /** A response, trace, conversation or turn id, matched exactly. */
  readonly search?: string;
  /** The replica that served it (`--replica`). */
  readonly replica?: string;
}

/** A stored operation as read back: its row id beside the row. */
export type StoredOperation = Omit<OperationRow, 'events'> & { readonly id: number };

/** A Codex session's (conversation's) totals. */
export interface ConversationSummary {
  readonly conversationId: string;
  readonly operations: number;
  readonly errors: number;
  readonly firstArrivalMs: number;
  readonly lastEndMs: number;
  readonly durationMs: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly totalTokens: number;
  /** What its priced operations cost, pico-USD; `unpriced` operations had usage but no price (their cost is unknown, not in it). */
  readonly costPicos: number;
  readonly unpriced: number;
  /** The newest operation's id: the key of the next page. */
  readonly lastId: number;
}

/** One time bucket of one model in {@link Store.stats}: counts, latency percentiles (ms, null without values) and tokens. */
export interface StatsPoint {
  /** The bucket's start, epoch ms. */
  readonly t: number;
  /** The request model, or null for requests that named none. */
  readonly model: string | null;
  readonly requests: number;
  readonly errors: number;
  readonly ttfcMs: { readonly p50: number | null; readonly p95: number | null; readonly p99: number | null };
  readonly durationMs: { readonly p50: number | null; readonly p95: number | null; readonly p99: number | null };
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** What the bucket's priced operations cost, pico-USD. */
  readonly costPicos: number;
}

/** At most this many operations are read for one {@link Store.stats} answer (it says when it stopped short). */
export const MAX_STATS_ROWS = 200_000;

const DAY_MS = 86_400_000;
/** SQLite's primary result codes the store tells apart (the low byte of an extended code). */
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_NOTADB = 26;

function sqliteCode(error: unknown): number | undefined {
  const code = (error as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' ? code & 0xff : undefined;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A store fault from an error SQLite (or the file system) raised. */
function faultOf(error: unknown, writing: boolean): NonNullable<StoreFault> {
  const code = sqliteCode(error);
  const message = messageOf(error);
  if (code === SQLITE_FULL) return { code: 'store_full', message };
  if (code === SQLITE_BUSY || code === SQLITE_LOCKED) return { code: 'store_locked', message };
  if (code === SQLITE_CORRUPT || code === SQLITE_NOTADB) return { code: 'store_corrupt', message };
  return { code: writing ? 'store_write_failed' : 'store_unavailable', message };
}

/**
 * modeltap's request store over `node:sqlite` (WAL, one connection, writes batched in one
 * transaction each). A store that cannot be opened or written never throws at its caller: the rows
 * are dropped and counted ({@link Store.dropped}), its fault is readable ({@link Store.fault}), and
 * one line is logged when it starts failing and one when it works again.
 */
export class Store {
  readonly location: StoreLocation;
  /** Rows written since it opened. */
  written = 0;
  /** Rows dropped because the store was failing. */
  dropped = 0;
  /** The id of the last operation this store wrote (0 before the first). */
  lastId = 0;
  readonly #options: StoreOptions;
  #db: DatabaseSync | undefined;
  #fault: StoreFault = null;
  #insertOperation: StatementSync | undefined;
  #insertEvent: StatementSync | undefined;
  #upsertConversation: StatementSync | undefined;

  constructor(location: StoreLocation, options: StoreOptions = {}) {
    this.location = location;
    this.#options = options;
    try {
      this.#db = openDatabase(location, options);
      if (options.readOnly === true) return;
      this.#insertOperation = this.#db.prepare(`INSERT INTO operations (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`);
      this.#insertEvent = this.#db.prepare('INSERT INTO events (operation_id, seq, kind, offset_ms, bytes, ok) VALUES (?, ?, ?, ?, ?, ?)');
      this.#upsertConversation = this.#db.prepare('INSERT INTO conversations (conversation_id, last_id) VALUES (?, ?) ON CONFLICT (conversation_id) DO UPDATE SET last_id = excluded.last_id');
    } catch (error) {
      try {
        this.#db?.close();
      } catch {
        // already unusable
      }
      this.#db = undefined;
      this.#setFault(error instanceof NewerSchemaError ? { code: 'store_newer_schema', message: error.message } : faultOf(error, false));
    }
  }

  /** Why the store is failing, or null. A store that could not be opened stays failed. */
  get fault(): StoreFault {
    return this.#fault;
  }

  /** Whether the database is open (it may still fail a write). */
  get open(): boolean {
    return this.#db !== undefined;
  }

  /** Writes `rows` in one transaction; a failure drops and counts them all. Returns how many were written. */
  write(rows: readonly OperationRow[]): number {
    if (rows.length === 0) return 0;
    const db = this.#db;
    const insert = this.#insertOperation;
    const insertEvent = this.#insertEvent;
    const upsertConversation = this.#upsertConversation;
    if (db === undefined || insert === undefined || insertEvent === undefined || upsertConversation === undefined) {
      this.dropped += rows.length;
      return 0;
    }
    let last = this.lastId;
    try {
      db.exec('BEGIN IMMEDIATE');
      try {
        for (const row of rows) {
          const id = insert.run(...valuesOf(row)).lastInsertRowid;
          last = Number(id);
          if (row.conversationId !== null) upsertConversation.run(row.conversationId, id);
          const events = row.events.length > MAX_EVENTS ? row.events.slice(0, MAX_EVENTS) : row.events;
          for (let seq = 0; seq < events.length; seq++) {
            const e = events[seq] as EventRow;
            insertEvent.run(id, seq, e.kind, e.offsetMs, e.bytes, e.ok ? 1 : 0);
          }
        }
        db.exec('COMMIT');
      } catch (error) {
        rollback(db);
        throw error;
      }
    } catch (error) {
      this.dropped += rows.length;
      this.#setFault(faultOf(error, true));
      return 0;
    }
    this.written += rows.length;
    this.lastId = last;
    this.#setFault(null);
    return rows.length;
  }

  /**
   * Deletes what is older than the retention, then the oldest rows while the database is larger
   * than its limit, and gives the freed pages back to the file system. Runs between batches.
   */
  enforceLimits(nowMs: number = Date.now()): { readonly deleted: number } {
    const db = this.#db;
    if (db === undefined) return { deleted: 0 };
    let deleted = 0;
    try {
      const retentionMs = this.#options.retentionMs ?? 7 * DAY_MS;
      deleted += Number(db.prepare('DELETE FROM operations WHERE arrival_ms < ?').run(nowMs - retentionMs).changes);
      const maxBytes = this.#options.maxBytes ?? 512 * 1024 * 1024;
      // Each round deletes the oldest tenth (at least 100 rows), so a store far over its limit gets
      // under it in a few rounds without one huge transaction.
      for (let round = 0; round < 50 && usedBytes(db) > maxBytes; round++) {
        const count = Number((db.prepare('SELECT count(*) AS n FROM operations').get() as { n: number }).n);
        if (count === 0) break;
        const batch = Math.max(100, Math.ceil(count / 10));
        deleted += Number(db.prepare('DELETE FROM operations WHERE id IN (SELECT id FROM operations ORDER BY id LIMIT ?)').run(batch).changes);
      }
      if (deleted > 0) {
        db.exec('DELETE FROM conversations WHERE NOT EXISTS (SELECT 1 FROM operations o WHERE o.conversation_id = conversations.conversation_id)');
        db.exec('PRAGMA incremental_vacuum');
        db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      }
    } catch (error) {
      this.#setFault(faultOf(error, true));
    }
    return { deleted };
  }

  /** The newest operation's id, whoever wrote it (0 when there is none or the store is not open). */
  newestId(): number {
    const row = this.#db?.prepare('SELECT max(id) AS id FROM operations').get() as { id: number | null } | undefined;
    return Number(row?.id ?? 0);
  }

  /** The database's size in bytes without its free pages (0 when it is not open). */
  sizeBytes(): number {
    return this.#db === undefined ? 0 : usedBytes(this.#db);
  }

  /** Operations newest first, with the id to pass as `before` for the next page (null on the last). */
  listOperations(filter: OperationFilter = {}): { readonly operations: StoredOperation[]; readonly next: number | null } {
    const db = this.#db;
    if (db === undefined) return { operations: [], next: null };
    const { clauses: where, values: params, limit, order } = operationWhere(filter);
    const page = (clauses: readonly string[], values: readonly (string | number)[]): Record<string, unknown>[] =>
      db.prepare(`SELECT id, ${COLUMNS.join(', ')} FROM operations${clauses.length > 0 ? ` WHERE ${clauses.join(' AND ')}` : ''} ORDER BY id ${order} LIMIT ?`).all(...values, limit + 1) as Record<string, unknown>[];
    let rows: Record<string, unknown>[];
    if (filter.model === undefined) rows = page(where, params);
    else {
      // The request's or the response's model: one keyset page through each one's index, merged.
      // An OR made SQLite sort every match of a common model (350 ms in a million rows).
      const byId = new Map<number, Record<string, unknown>>();
      for (const column of ['request_model', 'response_model']) for (const row of page([...where, `${column} = ?`], [...params, filter.model])) byId.set(row['id'] as number, row);
      rows = [...byId.values()].sort((a, b) => (order === 'DESC' ? (b['id'] as number) - (a['id'] as number) : (a['id'] as number) - (b['id'] as number))).slice(0, limit + 1);
    }
    const operations = rows.slice(0, limit).map(storedOf);
    return { operations, next: rows.length > limit ? (operations.at(-1)?.id ?? null) : null };
  }

  /** One operation with its stored events, or undefined. */
  getOperation(id: number): (StoredOperation & { readonly events: EventRow[] }) | undefined {
    const db = this.#db;
    if (db === undefined) return undefined;
    const row = db.prepare(`SELECT id, ${COLUMNS.join(', ')} FROM operations WHERE id = ?`).get(id) as Record<string, unknown> | undefined;
    if (row === undefined) return undefined;
    const events = (db.prepare('SELECT kind, offset_ms, bytes, ok FROM events WHERE operation_id = ? ORDER BY seq').all(id) as Record<string, unknown>[]).map((e) => ({
      kind: e['kind'] as string,
      offsetMs: e['offset_ms'] as number,
      bytes: e['bytes'] as number,
      ok: e['ok'] === 1,
    }));
    return { ...storedOf(row), events };
  }

  /** Conversations (Codex sessions) by their latest operation, newest first. */
  listConversations(filter: { readonly before?: number; readonly limit?: number } = {}): { readonly conversations: ConversationSummary[]; readonly next: number | null } {
    const db = this.#db;
    if (db === undefined) return { conversations: [], next: null };
    const limit = Math.min(500, Math.max(1, Math.floor(filter.limit ?? 100)));
    // A page of the conversations table (newest first), then each one's totals through its index
    // (CROSS JOIN keeps that order: without ANALYZE statistics SQLite may scan operations first).
    const rows = db
      .prepare(
        `SELECT o.conversation_id, c.last_id, count(*) AS operations, sum(o.error_type IS NOT NULL) AS errors, min(o.arrival_ms) AS first_arrival_ms,
           max(o.end_ms) AS last_end_ms, sum(o.duration_ms) AS duration_ms, total(o.input_tokens) AS input_tokens, total(o.output_tokens) AS output_tokens, total(o.total_tokens) AS total_tokens,
           total(o.cost_picos) AS cost_picos, sum(o.cost_picos IS NULL AND o.input_tokens IS NOT NULL) AS unpriced
         FROM (SELECT conversation_id, last_id FROM conversations ${filter.before === undefined ? '' : 'WHERE last_id < ?'} ORDER BY last_id DESC LIMIT ?) c
         CROSS JOIN operations o ON o.conversation_id = c.conversation_id
         GROUP BY c.conversation_id, c.last_id ORDER BY c.last_id DESC`,
      )
      .all(...(filter.before === undefined ? [] : [filter.before]), limit + 1) as Record<string, unknown>[];
    return conversationPage(rows, limit);
  }

  /**
   * Model operations between `since` and `until` (epoch ms, by arrival) in buckets of `bucketMs`,
   * per request model: requests, errors, time to first chunk and duration percentiles, tokens.
   * Reads at most {@link MAX_STATS_ROWS} operations (`truncated` says when there were more).
   */
  stats(range: { readonly since: number; readonly until: number; readonly bucketMs: number }): { readonly points: StatsPoint[]; readonly truncated: boolean } {
    const db = this.#db;
    if (db === undefined) return { points: [], truncated: false };
    const statement = db.prepare(
      `SELECT arrival_ms, request_model, error_type, ttfc_ms, duration_ms, input_tokens, output_tokens, cost_picos FROM operations
       WHERE kind = 'model' AND arrival_ms >= ? AND arrival_ms < ? ORDER BY arrival_ms LIMIT ?`,
    );
    // Rows as arrays: a third of the time of an object per row (200,000 rows: 150 ms against 400).
    statement.setReturnArrays(true);
    const rows = statement.all(range.since, range.until, MAX_STATS_ROWS + 1) as unknown as StatsRow[];
    const truncated = rows.length > MAX_STATS_ROWS;
    const points = statsPoints(rows, Math.min(rows.length, MAX_STATS_ROWS), range);
    return { points, truncated };
  }

  /** Closes the database (idempotent). */
  close(): void {
    const db = this.#db;
    this.#db = undefined;
    try {
      db?.close();
    } catch {
      // closing is best effort
    }
  }

  #setFault(fault: StoreFault): void {
    const before = this.#fault;
    this.#fault = fault;
    if (fault === null) {
      if (before !== null) this.#options.log?.(`modeltap: the store ${this.location} works again`);
    } else if (before?.code !== fault.code) {
      this.#options.log?.(`modeltap: the store ${this.location} failed (${fault.code}: ${fault.message}); requests are still relayed, their rows are dropped and counted`);
    }
  }
}

class NewerSchemaError extends Error {}

let sqlite: typeof import('node:sqlite') | undefined;

/**
 * `node:sqlite`, loaded when a store is first opened, not when this module is: Node 22 prints an
 * ExperimentalWarning on loading it (Node 24 does not), which is not the user's concern, and
 * without a store nothing should load it.
 */
function loadSqlite(): typeof import('node:sqlite') {
  if (sqlite !== undefined) return sqlite;
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (String(warning).includes('SQLite is an experimental feature')) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    sqlite = createRequire(import.meta.url)('node:sqlite') as typeof import('node:sqlite');
  } finally {
    process.emitWarning = emitWarning;
  }
  return sqlite;
}

function usedBytes(db: DatabaseSync): number {
  const page = db.prepare('SELECT page_count - freelist_count AS pages, page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()').get() as { pages: number; page_size: number };
  return page.pages * page.page_size;
}

/**
 * `mkdir -p`, one level at a time. Not `mkdirSync(dir, { recursive: true })`: under a file system
 * that answers ENOENT for a directory it will not create (`/proc`), Node's loops forever, which
 * hung the telemetry thread on a bad `--store` path.
 */
function makeDirectories(dir: string): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) makeDirectories(parent);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

function openDatabase(location: StoreLocation, options: StoreOptions): DatabaseSync {
  if (options.readOnly === true) {
    if (location === ':memory:' || !existsSync(location)) throw new Error(`no store at ${location}`);
    const db = new (loadSqlite().DatabaseSync)(location, { readOnly: true });
    try {
      const version = Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
      if (version > SCHEMA_VERSION) throw new NewerSchemaError(`schema version ${version} is newer than this modeltap's (${SCHEMA_VERSION})`);
      if (version < SCHEMA_VERSION) throw new Error(`schema version ${version} is older than this modeltap's (${SCHEMA_VERSION}): open it once with modeltap serve --store to migrate it`);
      return db;
    } catch (error) {
      db.close();
      throw error;
    }
  }
  if (location !== ':memory:') {
    makeDirectories(dirname(location));
    // Created with 0600 before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
    if (!existsSync(location)) closeSync(openSync(location, 'a', 0o600));
    chmodSync(location, 0o600);
  }
  const db = new (loadSqlite().DatabaseSync)(location);
  try {
    db.exec('PRAGMA busy_timeout = 2000');
    // Before the first table: only then does SQLite set it. Freed pages can then be given back.
    db.exec('PRAGMA auto_vacuum = INCREMENTAL');
    if (location !== ':memory:') db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec('PRAGMA foreign_keys = ON');
    if (options.maxPageCount !== undefined) db.exec(`PRAGMA max_page_count = ${Math.floor(options.maxPageCount)}`);
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Brings the schema up to {@link SCHEMA_VERSION}, each migration in its own transaction. */
function migrate(db: DatabaseSync): void {
  const version = Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
  if (version > SCHEMA_VERSION) throw new NewerSchemaError(`schema version ${version} is newer than this modeltap's (${SCHEMA_VERSION})`);
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.exec('BEGIN IMMEDIATE');
    try {
      // Another process may have migrated while this one waited for the lock.
      const now = Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
      if (now === v) {
        for (const statement of MIGRATIONS[v] ?? []) db.exec(statement);
        db.exec(`PRAGMA user_version = ${v + 1}`);
      }
      db.exec('COMMIT');
    } catch (error) {
      rollback(db);
      throw error;
    }
  }
}

/** Rolls back what is open; SQLite may have rolled back already (a full disk does). */
function rollback(db: DatabaseSync): void {
  try {
    if (db.isTransaction) db.exec('ROLLBACK');
  } catch {
    // nothing left to undo
  }
}

function valuesOf(r: OperationRow): (string | number | null)[] {
  return FIELDS.map((f) => {
    const v = columnValue(r, f);
    return typeof v === 'boolean' ? (v ? 1 : 0) : v;
  });
}

function storedOf(r: Record<string, unknown>): StoredOperation {
  const out: Record<string, unknown> = { id: Number(r['id']) };
  for (let i = 0; i < FIELDS.length; i++) out[FIELDS[i] as RowField] = fieldValue(FIELDS[i] as RowField, r[COLUMNS[i] as string]);
  // SQLite has no booleans: `stream` is stored as 0 or 1.
  out['stream'] = out['stream'] === null ? null : out['stream'] === 1;
  return out as unknown as StoredOperation;
}
