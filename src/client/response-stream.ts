import type { ResponseEvent } from './events.js';
import type { HeaderMap } from './header-map.js';
import type { ResponseSink } from './stream-reader.js';

/** The upstream response head, available before the first event. */
export interface ResponseHead {
  readonly status: number;
  readonly headers: HeaderMap;
  /** `http_sse` when the body is an event stream, `websocket` for the Responses WebSocket, else `http_json`. */
  readonly transport: 'http_sse' | 'http_json' | 'websocket';
}

/** What opening a stream produces: the head, and the events read from its body. */
export interface OpenedStream {
  readonly head: ResponseHead;
  readonly events: AsyncGenerator<ResponseEvent>;
  /** Closes the upstream connection (idempotent). */
  readonly close: () => void;
  /** The chunk-level path for relays (raw HTTP streams); see {@link ResponseStream.pipeTo}. */
  readonly pump?: (sink: ResponseSink) => Promise<void>;
}

/**
 * The result of `ModelClientSession.stream()`: an async iterable of {@link ResponseEvent}s. Nothing
 * is sent until the first iteration or {@link ResponseStream.head} is called. Breaking out of the
 * iteration, or aborting the signal given to `stream()`, closes the upstream connection at once.
 */
export class ResponseStream implements AsyncIterable<ResponseEvent> {
  // Dropped once called: it holds the request (its body), which only the opening needs.
  #open: (() => Promise<OpenedStream>) | undefined;
  #opened: Promise<OpenedStream> | undefined;
  #iterated = false;

  /** @internal Built by the client; `open` sends the request. */
  constructor(open: () => Promise<OpenedStream>) {
    this.#open = open;
  }

  /**
   * Sends the request (if not yet sent) and resolves with the upstream head once a 2xx arrives,
   * after any retries and 401 recovery; rejects with a `ModelClientError` otherwise.
   */
  head(): Promise<ResponseHead> {
    return this.#start().then((opened) => opened.head);
  }

  /** Closes the upstream connection without reading further. */
  async cancel(): Promise<void> {
    if (this.#opened === undefined) return;
    const opened = await this.#opened.catch(() => undefined);
    opened?.close();
    await opened?.events.return(undefined);
  }

  /**
   * Relays the stream into `sink`, the fast path for a proxy: every upstream chunk is written as
   * it arrives, and only the events telemetry needs are parsed beside it. Use it instead of
   * iterating. Rejects with the error the stream ends with.
   */
  async pipeTo(sink: ResponseSink): Promise<void> {
    if (this.#iterated) throw new TypeError('a ResponseStream can be consumed only once');
    this.#iterated = true;
    const opened = await this.#start();
    if (opened.pump !== undefined) return opened.pump(sink);
    for await (const event of opened.events) {
      if (event.type !== 'raw') sink.event(event);
      const raw = (event as { raw?: Uint8Array }).raw;
      if (raw !== undefined && !sink.write(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), performance.now())) await sink.drain();
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<ResponseEvent> {
    if (this.#iterated) throw new TypeError('a ResponseStream can be iterated only once');
    this.#iterated = true;
    return this.#iterate();
  }

  #start(): Promise<OpenedStream> {
    if (this.#opened === undefined) {
      const open = this.#open as () => Promise<OpenedStream>;
      this.#open = undefined;
      this.#opened = open();
    }
    return this.#opened;
  }

  async *#iterate(): AsyncGenerator<ResponseEvent> {
    const opened = await this.#start();
    yield* opened.events;
  }
}
