import { errorTypeOf } from '../telemetry/guarded-telemetry.js';
import type { PriceTable } from '../cost/price-table.js';
import { PgStore } from './pg-store.js';
import { isPostgresUrl } from './pg-url.js';
import { RowBuilder } from './row-builder.js';
import type { StoreQueries } from './store-queries.js';
import { Store, type StoreFaultCode } from './store.js';

/** Where and how long the store keeps what modeltap saw (the CLI's `--store`, `--retention`, `--store-max-mb`, `--replica`). */
export interface StoreConfig {
  /** A file path, `:memory:`, or a PostgreSQL URL (`postgres://…`, `postgresql://…`). */
  readonly location: string;
  /** Default 7 days. */
  readonly retentionMs: number;
  /** Default 512 MiB. SQLite only: a PostgreSQL database's size is its operator's. */
  readonly maxBytes: number;
  /** The name on every row this replica writes. Default: none (the rows' replica is null). */
  readonly replica?: string;
}

/** How often retention and the size limit are enforced, in ms. */
const LIMITS_EVERY_MS = 60_000;

/** What {@link StoreWriter} is told and counts with. */
export interface StoreWriterOptions {
  readonly captureContent: boolean;
  readonly timeOrigin: number;
  readonly log?: (line: string) => void;
  readonly onDropped: (rows: number, code: StoreFaultCode) => void;
  readonly onError: (method: string, errorType: string) => void;
  /** Told the newest id after each batch written: this process's, and on PostgreSQL every replica's. */
  readonly onStored?: (lastId: number) => void;
  readonly prices?: PriceTable;
}

/**
 * The telemetry thread's side of the store: builds rows from each batch of facts and writes them
 * in one transaction per batch (SQLite: at once; PostgreSQL: queued and written off this call,
 * see `pg-store.ts`), enforces retention (and SQLite's size limit) once a minute, counts what a
 * failing store dropped (`onDropped`) and tells `onStored` the last id of each batch written (the
 * live view's push). Never throws at its caller.
 */
export class StoreWriter {
  /** What the JSON API reads. */
  readonly store: StoreQueries;
  readonly #sqlite: Store | undefined;
  readonly #pg: PgStore | undefined;
  readonly #builder: RowBuilder;
  readonly #onDropped: (rows: number, code: StoreFaultCode) => void;
  readonly #onError: (method: string, errorType: string) => void;
  readonly #onStored: ((lastId: number) => void) | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(config: StoreConfig, options: StoreWriterOptions) {
    this.#builder = new RowBuilder(options.timeOrigin, options.captureContent, options.prices, config.replica ?? null);
    this.#onDropped = options.onDropped;
    this.#onError = options.onError;
    this.#onStored = options.onStored;
    if (isPostgresUrl(config.location)) {
      const pg = new PgStore(config.location, {
        retentionMs: config.retentionMs,
        onDropped: options.onDropped,
        ...(options.log ? { log: options.log } : {}),
        ...(options.onStored ? { onStored: options.onStored } : {}),
      });
      this.#pg = pg;
      this.store = pg;
      void pg.ready.then(() => pg.enforceLimits());
      this.#timer = setInterval(() => void pg.enforceLimits(), LIMITS_EVERY_MS);
    } else {
      const sqlite = new Store(config.location, { retentionMs: config.retentionMs, maxBytes: config.maxBytes, ...(options.log ? { log: options.log } : {}) });
      this.#sqlite = sqlite;
      this.store = sqlite;
      sqlite.enforceLimits();
      this.#timer = setInterval(() => sqlite.enforceLimits(), LIMITS_EVERY_MS);
    }
    this.#timer.unref();
  }

  /** Writes the rows of what ended in this batch. */
  apply(facts: readonly unknown[]): void {
    let rows;
    try {
      rows = this.#builder.apply(facts);
    } catch (error) {
      // A malformed batch costs its rows, never the telemetry thread; counted like a telemetry call that threw.
      this.#onError('store.rows', errorTypeOf(error));
      return;
    }
    if (rows.length === 0) return;
    if (this.#pg !== undefined) {
      // Dropped rows are counted by the store itself, whenever it drops them.
      this.#pg.enqueue(rows);
      return;
    }
    const sqlite = this.#sqlite as Store;
    if (sqlite.write(rows) === 0) this.#onDropped(rows.length, sqlite.fault?.code ?? 'store_write_failed');
    else this.#onStored?.(sqlite.lastId);
  }

  /** Closes the store; PostgreSQL's writes what is queued first (bounded by its query timeout). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#sqlite?.close();
    await this.#pg?.close();
  }
}
