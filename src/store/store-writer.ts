import { errorTypeOf } from '../telemetry/guarded-telemetry.js';
import type { PriceTable } from '../cost/price-table.js';
import { RowBuilder } from './row-builder.js';
import { Store, type StoreFaultCode } from './store.js';

/** Where and how long the store keeps what modeltap saw (the CLI's `--store`, `--retention`, `--store-max-mb`). */
export interface StoreConfig {
  /** A file path, or `:memory:`. */
  readonly location: string;
  /** Default 7 days. */
  readonly retentionMs: number;
  /** Default 512 MiB. */
  readonly maxBytes: number;
}

/** How often retention and the size limit are enforced, in ms. */
const LIMITS_EVERY_MS = 60_000;

/**
 * The telemetry thread's side of the store: builds rows from each batch of facts and writes them
 * in one transaction per batch, enforces retention and the size limit once a minute, counts what a
 * failing store dropped (`onDropped`) and tells `onStored` the last id of each batch it wrote (the
 * live view's push). Never throws at its caller.
 */
export class StoreWriter {
  readonly store: Store;
  readonly #builder: RowBuilder;
  readonly #onDropped: (rows: number, code: StoreFaultCode) => void;
  readonly #onError: (method: string, errorType: string) => void;
  readonly #onStored: ((lastId: number) => void) | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(config: StoreConfig, options: { readonly captureContent: boolean; readonly timeOrigin: number; readonly log?: (line: string) => void; readonly onDropped: (rows: number, code: StoreFaultCode) => void; readonly onError: (method: string, errorType: string) => void; readonly onStored?: (lastId: number) => void; readonly prices?: PriceTable }) {
    this.store = new Store(config.location, { retentionMs: config.retentionMs, maxBytes: config.maxBytes, ...(options.log ? { log: options.log } : {}) });
    this.#builder = new RowBuilder(options.timeOrigin, options.captureContent, options.prices);
    this.#onDropped = options.onDropped;
    this.#onError = options.onError;
    this.#onStored = options.onStored;
    this.store.enforceLimits();
    this.#timer = setInterval(() => this.store.enforceLimits(), LIMITS_EVERY_MS);
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
    if (this.store.write(rows) === 0) this.#onDropped(rows.length, this.store.fault?.code ?? 'store_write_failed');
    else this.#onStored?.(this.store.lastId);
  }

  close(): void {
    clearInterval(this.#timer);
    this.store.close();
  }
}
