import type { ServerResponse } from 'node:http';
import type { StoreLive } from '../telemetry/store-live.js';
import type { StoreApi } from './view-routes.js';

/** Operations one query reads for a client; a fuller page is followed by another at once. */
const PAGE = 200;
/**
 * This often, while a page is open, a comment line keeps proxies and browsers from closing an idle
 * stream and the store's state is read: a store that starts or stops failing is pushed as `store`.
 */
const KEEPALIVE_MS = 15_000;

interface Client {
  readonly res: ServerResponse;
  /** The newest operation id this client has been sent. */
  cursor: number;
  pumping: boolean;
  /** A write was announced while a query ran: query again when it ends. */
  again: boolean;
  closed: boolean;
}

/**
 * The live view's push (`GET /modeltap/api/live`, Server-Sent Events): each open page gets every
 * operation stored after its cursor, as `event: operations` with `{"operations": [...]}` oldest
 * first, as soon as the store has written it. The store announces each batch it wrote
 * ({@link StoreLive}); only then is it queried, once per client with a cursor of its own, so a
 * slow or new page never misses or repeats an operation and nothing is polled. Without open pages
 * an announcement costs one call.
 */
export class LiveFeed {
  readonly #api: StoreApi;
  readonly #clients = new Set<Client>();
  readonly #unsubscribe: () => void;
  readonly #keepalive: NodeJS.Timeout;
  /** The store's fault as last read (JSON), to push only a change. */
  #fault = 'null';

  constructor(api: StoreApi, live: StoreLive | undefined, keepaliveMs = KEEPALIVE_MS) {
    this.#api = api;
    this.#unsubscribe = live?.subscribe(() => {
      for (const client of this.#clients) this.#pump(client);
    }) ?? (() => undefined);
    this.#keepalive = setInterval(() => {
      if (this.#clients.size === 0) return;
      for (const client of this.#clients) client.res.write(': keepalive\n\n');
      this.#api('store', '').then(
        (answer) => {
          const fault = JSON.stringify((answer.body as { fault?: unknown }).fault ?? null);
          if (fault === this.#fault) return;
          this.#fault = fault;
          for (const client of this.#clients) client.res.write(`event: store\ndata: ${JSON.stringify(answer.body)}\n\n`);
        },
        () => undefined,
      );
    }, keepaliveMs);
    this.#keepalive.unref();
  }

  /** Open pages. */
  get clients(): number {
    return this.#clients.size;
  }

  /**
   * Serves one page's stream. `after` is the newest id it already has; without it the stream
   * starts at the store's newest, which the first event (`ready`, `{"cursor": id}`) names, so the
   * page can load what came before it with `before=cursor+1` and miss nothing in between.
   */
  serve(res: ServerResponse, after: number | undefined): void {
    res.on('error', () => undefined);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    const client: Client = { res, cursor: after ?? 0, pumping: true, again: false, closed: false };
    this.#clients.add(client);
    res.once('close', () => {
      client.closed = true;
      this.#clients.delete(client);
    });
    const start = after === undefined ? this.#api('store', '').then((a) => Number((a.body as { newestId?: unknown }).newestId ?? 0) || 0) : Promise.resolve(after);
    start.then(
      (cursor) => {
        client.cursor = cursor;
        if (client.closed) return;
        res.write(`event: ready\ndata: ${JSON.stringify({ cursor })}\n\n`);
        client.pumping = false;
        // A write announced before the cursor was known is not lost: the cursor predates it.
        this.#pump(client);
      },
      () => res.end(),
    );
  }

  #pump(client: Client): void {
    if (client.closed) return;
    if (client.pumping) {
      client.again = true;
      return;
    }
    client.pumping = true;
    client.again = false;
    this.#api('operations', `after=${client.cursor}&limit=${PAGE}`).then(
      (answer) => {
        client.pumping = false;
        if (client.closed) return;
        const operations = answer.status === 200 ? (answer.body as { operations?: { id: number }[] }).operations ?? [] : [];
        const last = operations.at(-1);
        if (last !== undefined) {
          client.cursor = last.id;
          client.res.write(`event: operations\ndata: ${JSON.stringify({ operations })}\n\n`);
        }
        if (client.again || operations.length === PAGE) this.#pump(client);
      },
      () => {
        client.pumping = false;
        if (client.again) this.#pump(client);
      },
    );
  }

  /** Ends every stream and stops listening to the store. */
  close(): void {
    this.#unsubscribe();
    clearInterval(this.#keepalive);
    for (const client of this.#clients) client.res.end();
    this.#clients.clear();
  }
}
