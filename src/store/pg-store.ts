import pg from 'pg';
import { conversationPage } from './conversation-page.js';
import { operationWhere } from './operation-where.js';
import type { EventRow, OperationRow } from './operation-row.js';
import { PG_CHANNEL, writeBatch } from './pg-batch.js';
import { isStatementError, isTimeout, messageOf } from './pg-errors.js';
import { checkPostgresVersion, migratePostgres, NewerSchemaError } from './pg-migrate.js';
import { redactPostgresUrl } from './pg-url.js';
import { COLUMNS, FIELDS, fieldValue, type RowField } from './store-columns.js';
import type { StoreQueries } from './store-queries.js';
import { statsPoints, type StatsRow } from './store-stats.js';
export { PG_CHANNEL, PG_WRITE_LOCK } from './pg-batch.js';
import { MAX_STATS_ROWS, type ConversationSummary, type OperationFilter, type StatsPoint, type StoredOperation, type StoreFault, type StoreFaultCode } from './store.js';

/** How a {@link PgStore} is opened. */
export interface PgStoreOptions {
  /** Rows older than this are deleted by {@link PgStore.enforceLimits}. Default 7 days. */
  readonly retentionMs?: number;
  /** Told one line when the store starts failing, and when it works again. Default: not logged. */
  readonly log?: (line: string) => void;
  /** Only read (`modeltap report --from`): nothing is created, migrated, written or listened to. Default false. */
  readonly readOnly?: boolean;
  /** Rows waiting for the database beyond which new rows are dropped (counted). Default 10000. */
  readonly maxQueueRows?: number;
  /** Rows written per transaction. Default 500. */
  readonly batchRows?: number;
  /** Told how many rows were dropped, and why. Default: only counted in {@link PgStore.dropped}. */
  readonly onDropped?: (rows: number, code: StoreFaultCode) => void;
  /** Told the newest operation id after each batch committed, by this store or (through LISTEN) any other on the database. Default: nobody. */
  readonly onStored?: (lastId: number) => void;
  /** Longest wait for a connection and for one statement, in ms. Default 5000 and 10000. */
  readonly connectTimeoutMs?: number;
  readonly queryTimeoutMs?: number;
  /** First wait before reconnecting, in ms; doubles up to 5 s. Default 250. */
  readonly reconnectMs?: number;
}

const DAY_MS = 86_400_000;
const MAX_RECONNECT_MS = 5000;

/** int8 (ids, tokens, cost) as numbers: the store's values are all safe integers. */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text'))) as typeof pg.types.getTypeParser,
};

const noop = (): void => undefined;

/**
 * modeltap's request store on PostgreSQL (`--store postgres://…`), shared by every replica that
 * names the same database. Rows are queued ({@link PgStore.enqueue} never waits) and written in
 * batches, one transaction each, under an advisory lock so that ids are committed in order (the
 * live feed's cursor never skips a row another replica committed later); each batch is announced
 * with NOTIFY, and a LISTEN connection of its own tells {@link PgStoreOptions.onStored} of every
 * replica's batches. A database that is down or slow never reaches the caller: the queue is
 * bounded, what it cannot take or write is dropped and counted ({@link PgStore.dropped}), one line
 * is logged when it fails and one when it works again, and it reconnects with backoff.
 */
export class PgStore implements StoreQueries {
  /** The URL without its password. */
  readonly location: string;
  /** Rows this store wrote since it opened. */
  written = 0;
  /** Rows this store dropped (database away or slow, queue full, a batch refused); each also told to `onDropped`. */
  dropped = 0;
  /** The id of the last operation this store wrote (0 before the first). */
  lastId = 0;
  /** Settles when the first attempt to open (and migrate) the database ended, whether or not it worked. */
  readonly ready: Promise<void>;
  readonly #options: PgStoreOptions;
  readonly #pool: pg.Pool;
  readonly #config: pg.ClientConfig;
  #state: 'starting' | 'up' | 'down' | 'closed' = 'starting';
  /** close() was called: nothing new is taken, what is queued is still written. */
  #closing = false;
  #fault: StoreFault = null;
  #queue: OperationRow[] = [];
  #flushing: Promise<void> | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #backoffMs: number;
  #listener: pg.Client | undefined;
  #listenTimer: NodeJS.Timeout | undefined;
  #listenBackoffMs: number;
  #listening = false;
  #newest = 0;

  constructor(url: string, options: PgStoreOptions = {}) {
    this.location = redactPostgresUrl(url);
    this.#options = options;
    this.#backoffMs = options.reconnectMs ?? 250;
    this.#listenBackoffMs = this.#backoffMs;
    this.#config = {
      connectionString: url,
      application_name: 'modeltap',
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      // The server cancels a slow statement (its locks go with it); the client gives up a little
      // later on a server that does not answer at all.
      statement_timeout: options.queryTimeoutMs ?? 10_000,
      query_timeout: (options.queryTimeoutMs ?? 10_000) + 2000,
      keepAlive: true,
      types: TYPES,
    };
    this.#pool = new pg.Pool({ ...this.#config, max: 4, idleTimeoutMillis: 10_000 });
    // An idle client's error (the server restarted) is the pool's; a checked-out one's, its own listener's.
    this.#pool.on('error', noop);
    this.#pool.on('connect', (client) => client.on('error', noop));
    this.ready = this.#open();
  }

  /** Why the store is failing, or null. */
  get fault(): StoreFault {
    return this.#fault;
  }

  /** Whether the database is reachable and at this modeltap's schema. */
  get open(): boolean {
    return this.#state === 'up';
  }

  /** Rows waiting to be written. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Queues rows to be written; never waits and never throws. Rows the store cannot take now are dropped and counted. */
  enqueue(rows: readonly OperationRow[]): void {
    if (rows.length === 0) return;
    if (this.#options.readOnly === true || this.#closing || this.#state === 'down' || this.#state === 'closed') {
      this.#drop(rows.length, this.#fault?.code ?? 'store_unavailable');
      return;
    }
    const room = Math.max(0, (this.#options.maxQueueRows ?? 10_000) - this.#queue.length);
    if (rows.length > room) {
      this.#drop(rows.length - room, 'store_queue_full');
      if (this.#fault === null) this.#setFault({ code: 'store_queue_full', message: `more than ${this.#options.maxQueueRows ?? 10_000} rows wait for the database` });
    }
    for (let i = 0; i < Math.min(room, rows.length); i++) this.#queue.push(rows[i] as OperationRow);
    this.#kick();
  }

  /** Resolves when every row queued so far has been written or dropped (bounded by the query timeout). */
  async drain(): Promise<void> {
    for (let round = 0; round < 1000 && (this.#flushing !== undefined || (this.#queue.length > 0 && this.#state === 'up')); round++) {
      this.#kick();
      await this.#flushing;
    }
  }

  /** Deletes what is older than the retention (in rounds of 10,000 rows). Never throws. */
  async enforceLimits(nowMs: number = Date.now()): Promise<{ readonly deleted: number }> {
    if (this.#state !== 'up' || this.#options.readOnly === true) return { deleted: 0 };
    let deleted = 0;
    try {
      const before = nowMs - (this.#options.retentionMs ?? 7 * DAY_MS);
      for (let round = 0; round < 100; round++) {
        const result = await this.#pool.query('DELETE FROM operations WHERE id IN (SELECT id FROM operations WHERE arrival_ms < $1 ORDER BY id LIMIT 10000)', [before]);
        deleted += result.rowCount ?? 0;
        if ((result.rowCount ?? 0) < 10_000) break;
      }
      if (deleted > 0) await this.#pool.query('DELETE FROM conversations c WHERE NOT EXISTS (SELECT 1 FROM operations o WHERE o.conversation_id = c.conversation_id)');
    } catch (error) {
      this.#failed(error, 'store_write_failed');
    }
    return { deleted };
  }

  /** The newest operation's id, whoever wrote it (the last known one while the database is away). */
  async newestId(): Promise<number> {
    try {
      const row = (await this.#pool.query<{ id: number | null }>('SELECT max(id) AS id FROM operations')).rows[0];
      this.#newest = Number(row?.id ?? 0);
    } catch {
      // the last known
    }
    return this.#newest;
  }

  /** The tables' size in bytes, indexes included (0 while the database is away). */
  async sizeBytes(): Promise<number> {
    try {
      const row = (await this.#pool.query<{ n: string }>("SELECT (pg_total_relation_size('operations') + pg_total_relation_size('events') + pg_total_relation_size('conversations'))::text AS n")).rows[0];
      return Number(row?.n ?? 0);
    } catch {
      return 0;
    }
  }

  /** As the SQLite store's `listOperations`: newest first by `before`, or oldest first from `after`. */
  async listOperations(filter: OperationFilter = {}): Promise<{ readonly operations: StoredOperation[]; readonly next: number | null }> {
    const { clauses, values, limit, order } = operationWhere(filter);
    if (filter.model !== undefined) {
      clauses.push('(request_model = ? OR response_model = ?)');
      values.push(filter.model, filter.model);
    }
    // PostgreSQL numbers its placeholders.
    let at = 0;
    const where = clauses.join(' AND ').replace(/\?/g, () => `$${++at}`);
    const rows = (
      await this.#pool.query<Record<string, unknown>>(`SELECT id, ${COLUMNS.join(', ')} FROM operations${where === '' ? '' : ` WHERE ${where}`} ORDER BY id ${order} LIMIT $${at + 1}`, [...values, limit + 1])
    ).rows;
    const operations = rows.slice(0, limit).map(storedOf);
    return { operations, next: rows.length > limit ? (operations.at(-1)?.id ?? null) : null };
  }

  /** One operation with its stored events, or undefined. */
  async getOperation(id: number): Promise<(StoredOperation & { readonly events: EventRow[] }) | undefined> {
    const row = (await this.#pool.query<Record<string, unknown>>(`SELECT id, ${COLUMNS.join(', ')} FROM operations WHERE id = $1`, [id])).rows[0];
    if (row === undefined) return undefined;
    const events = (await this.#pool.query<{ kind: string; offset_ms: number; bytes: number; ok: boolean }>('SELECT kind, offset_ms, bytes, ok FROM events WHERE operation_id = $1 ORDER BY seq', [id])).rows.map((e) => ({
      kind: e.kind,
      offsetMs: e.offset_ms,
      bytes: e.bytes,
      ok: e.ok,
    }));
    return { ...storedOf(row), events };
  }

  /** Conversations by their latest operation, newest first (as the SQLite store's). */
  async listConversations(filter: { readonly before?: number; readonly limit?: number } = {}): Promise<{ readonly conversations: ConversationSummary[]; readonly next: number | null }> {
    const limit = Math.min(500, Math.max(1, Math.floor(filter.limit ?? 100)));
    const params = filter.before === undefined ? [limit + 1] : [filter.before, limit + 1];
    const rows = (
      await this.#pool.query<Record<string, unknown>>(
        `SELECT c.conversation_id, c.last_id, count(*) AS operations, count(*) FILTER (WHERE o.error_type IS NOT NULL) AS errors, min(o.arrival_ms) AS first_arrival_ms,
           max(o.end_ms) AS last_end_ms, sum(o.duration_ms) AS duration_ms, coalesce(sum(o.input_tokens), 0)::float8 AS input_tokens, coalesce(sum(o.output_tokens), 0)::float8 AS output_tokens,
           coalesce(sum(o.total_tokens), 0)::float8 AS total_tokens, coalesce(sum(o.cost_picos), 0)::float8 AS cost_picos, count(*) FILTER (WHERE o.cost_picos IS NULL AND o.input_tokens IS NOT NULL) AS unpriced
         FROM (SELECT conversation_id, last_id FROM conversations ${filter.before === undefined ? '' : 'WHERE last_id < $1'} ORDER BY last_id DESC LIMIT $${params.length}) c
         JOIN operations o ON o.conversation_id = c.conversation_id
         GROUP BY c.conversation_id, c.last_id ORDER BY c.last_id DESC`,
        params,
      )
    ).rows;
    return conversationPage(rows, limit);
  }

  /** As the SQLite store's `stats` (the same buckets and percentiles, from at most {@link MAX_STATS_ROWS} operations). */
  async stats(range: { readonly since: number; readonly until: number; readonly bucketMs: number }): Promise<{ readonly points: StatsPoint[]; readonly truncated: boolean }> {
    const rows = (
      await this.#pool.query({
        text: `SELECT arrival_ms, request_model, error_type, ttfc_ms, duration_ms, input_tokens, output_tokens, cost_picos FROM operations
               WHERE kind = 'model' AND arrival_ms >= $1 AND arrival_ms < $2 ORDER BY arrival_ms LIMIT $3`,
        values: [range.since, range.until, MAX_STATS_ROWS + 1],
        rowMode: 'array',
      })
    ).rows as unknown as StatsRow[];
    return { points: statsPoints(rows, Math.min(rows.length, MAX_STATS_ROWS), range), truncated: rows.length > MAX_STATS_ROWS };
  }

  /** Writes what is queued (waiting at most about the query timeout), then closes every connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearTimeout(this.#listenTimer);
    // The flush loop writes while the store is up: it finishes what is queued.
    if (this.#state === 'up') await this.drain();
    this.#state = 'closed';
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#listenTimer);
    if (this.#queue.length > 0) this.#drop(this.#queue.splice(0).length, 'store_unavailable');
    const listener = this.#listener;
    this.#listener = undefined;
    await Promise.allSettled([this.#pool.end(), listener?.end()]);
  }

  async #open(): Promise<void> {
    try {
      if (this.#options.readOnly === true) await checkPostgresVersion(this.#pool);
      else await migratePostgres(this.#pool);
    } catch (error) {
      this.#failed(error, 'store_unavailable');
      return;
    }
    if (this.#state !== 'starting' && this.#state !== 'down') return;
    this.#state = 'up';
    this.#backoffMs = this.#options.reconnectMs ?? 250;
    this.#setFault(null);
    if (this.#options.readOnly !== true) {
      // Started once: it reconnects by itself (with backoff) for as long as the store is open.
      if (!this.#listening) {
        this.#listening = true;
        this.#listen();
      }
      this.#kick();
    }
  }

  #kick(): void {
    if (this.#flushing !== undefined || this.#state !== 'up' || this.#queue.length === 0) return;
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = undefined;
    });
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0 && this.#state === 'up') {
      const batch = this.#queue.splice(0, this.#options.batchRows ?? 500);
      try {
        this.lastId = await writeBatch(this.#pool, batch);
        this.written += batch.length;
        this.#newest = Math.max(this.#newest, this.lastId);
        if (this.#fault !== null) this.#setFault(null);
        this.#tell(this.lastId);
      } catch (error) {
        this.#drop(batch.length, isTimeout(error) ? 'store_timeout' : isStatementError(error) ? 'store_write_failed' : 'store_unavailable');
        this.#failed(error, 'store_write_failed');
      }
    }
  }

  /** LISTENs on a connection of its own for as long as the store is open, again after every loss (with backoff). */
  #listen(): void {
    if (this.#state === 'closed' || this.#closing) return;
    const client = new pg.Client(this.#config);
    this.#listener = client;
    let lost = false;
    const retry = (): void => {
      if (lost) return;
      lost = true;
      if (this.#listener === client) this.#listener = undefined;
      client.end().catch(noop);
      if (this.#state === 'closed' || this.#closing) return;
      const wait = this.#listenBackoffMs;
      this.#listenBackoffMs = Math.min(MAX_RECONNECT_MS, wait * 2);
      this.#listenTimer = setTimeout(() => this.#listen(), wait);
      this.#listenTimer.unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', (message) => {
      const id = Number(message.payload);
      if (Number.isSafeInteger(id)) {
        this.#newest = Math.max(this.#newest, id);
        this.#tell(id);
      }
    });
    client
      .connect()
      .then(() => client.query(`LISTEN ${PG_CHANNEL}`))
      .then(() => {
        this.#listenBackoffMs = this.#options.reconnectMs ?? 250;
        // What other replicas committed while nobody listened: the live feed's cursor catches up.
        void this.newestId().then((id) => this.#tell(id));
      }, retry);
  }

  #tell(id: number): void {
    try {
      this.#options.onStored?.(id);
    } catch {
      // a listener's fault is its own
    }
  }

  #drop(rows: number, code: StoreFaultCode): void {
    this.dropped += rows;
    this.#options.onDropped?.(rows, code);
  }

  /** A failure: a statement's costs its batch alone; the database's sets the store down until a reconnect works. */
  #failed(error: unknown, statementCode: StoreFaultCode): void {
    if (error instanceof NewerSchemaError) {
      this.#setFault({ code: 'store_newer_schema', message: error.message });
    } else if (isTimeout(error) && this.#state === 'up') {
      // Slow, not gone: the next batch tries again (while rows wait, the bounded queue drops the rest).
      this.#setFault({ code: 'store_timeout', message: messageOf(error) });
      return;
    } else if (isStatementError(error) && this.#state === 'up') {
      this.#setFault({ code: statementCode, message: messageOf(error) });
      return;
    } else {
      this.#setFault({ code: 'store_unavailable', message: messageOf(error) });
    }
    if (this.#state === 'closed') return;
    this.#state = 'down';
    if (this.#queue.length > 0) this.#drop(this.#queue.splice(0).length, this.#fault?.code ?? 'store_unavailable');
    if (this.#reconnectTimer !== undefined) return;
    const wait = this.#backoffMs;
    this.#backoffMs = Math.min(MAX_RECONNECT_MS, wait * 2);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      void this.#open();
    }, wait);
    this.#reconnectTimer.unref();
  }

  /** One line when the store starts failing, one when it works again: a failure that changes its reason (slow, then down) is not a second outage. */
  #setFault(fault: StoreFault): void {
    const before = this.#fault;
    this.#fault = fault;
    if (fault === null) {
      if (before !== null) this.#options.log?.(`modeltap: the store ${this.location} works again`);
    } else if (before === null) {
      this.#options.log?.(`modeltap: the store ${this.location} failed (${fault.code}: ${fault.message}); requests are still relayed, their rows are dropped and counted`);
    }
  }
}

function storedOf(r: Record<string, unknown>): StoredOperation {
  const out: Record<string, unknown> = { id: Number(r['id']) };
  for (let i = 0; i < FIELDS.length; i++) out[FIELDS[i] as RowField] = fieldValue(FIELDS[i] as RowField, r[COLUMNS[i] as string]);
  return out as unknown as StoredOperation;
}
