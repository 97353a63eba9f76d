import type { Operation } from './api.js';

/**
 * The page's one stream of new requests (`/modeltap/api/live`, Server-Sent Events). `cursor` is the
 * newest id the stream has delivered: a page that loads its first rows with `before=cursor+1`
 * and then takes what `listen` gives it misses and repeats nothing. Reconnects from its cursor.
 */
export class Live {
  cursor: number | undefined;
  /** 'connecting', 'live', 'stored' (a view of a database: nothing arrives) or 'lost'. */
  state: 'connecting' | 'live' | 'stored' | 'lost' = 'connecting';
  readonly ready: Promise<void>;
  readonly #listeners = new Set<(operations: Operation[]) => void>();
  readonly #onState: (state: Live['state']) => void;
  /** Told when the server says the store started or stopped failing. */
  onStore: () => void = () => undefined;
  #source: EventSource | undefined;
  #resolve: () => void = () => undefined;

  constructor(enabled: boolean, onState: (state: Live['state']) => void) {
    this.#onState = onState;
    this.ready = new Promise((resolve) => (this.#resolve = resolve));
    if (!enabled) {
      this.#set('stored');
      this.#resolve();
      return;
    }
    this.#open();
  }

  /** Calls `listener` with each batch of new operations (oldest first) until the returned function is called. */
  listen(listener: (operations: Operation[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #set(state: Live['state']): void {
    this.state = state;
    this.#onState(state);
  }

  #open(): void {
    const source = new EventSource(`/modeltap/api/live${this.cursor === undefined ? '' : `?after=${this.cursor}`}`);
    this.#source = source;
    source.addEventListener('ready', (event) => {
      const { cursor } = JSON.parse((event as MessageEvent<string>).data) as { cursor: number };
      this.cursor = cursor;
      this.#set('live');
      this.#resolve();
    });
    source.addEventListener('operations', (event) => {
      const { operations } = JSON.parse((event as MessageEvent<string>).data) as { operations: Operation[] };
      const last = operations.at(-1);
      if (last !== undefined) this.cursor = last.id;
      for (const listener of this.#listeners) listener(operations);
    });
    source.addEventListener('store', () => this.onStore());
    source.addEventListener('error', () => {
      // EventSource would reconnect to the first URL, whose cursor is stale: reopen from ours.
      source.close();
      this.#set('lost');
      this.#resolve();
      setTimeout(() => this.#open(), 2000);
    });
  }
}
