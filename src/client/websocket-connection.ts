import type { ResponseItem } from './events.js';
import { headerValue } from './header-map.js';
import type { UpstreamWebSocket } from './upstream-websocket.js';

/**
 * A Responses WebSocket kept by a `ModelClient` across turns (spec §1.3, L): the socket, what the
 * last request sent and got back (for the incremental-input rule, §2.4.4), and what its handshake
 * said. One response in flight at a time: requests take the lock.
 */
export class WsConnection {
  readonly socket: UpstreamWebSocket;
  readonly reasoningIncluded: boolean;
  readonly modelsEtag: string | undefined;
  lastInput: ResponseItem[] = [];
  lastOutput: ResponseItem[] = [];
  lastResponseId: string | undefined;
  /** The non-input fields of the last request, serialised: a change forces a full create. */
  lastFields: string | undefined;
  #tail: Promise<void> = Promise.resolve();

  constructor(socket: UpstreamWebSocket) {
    this.socket = socket;
    this.reasoningIncluded = headerValue(socket.headers, 'x-reasoning-included') !== undefined;
    this.modelsEtag = headerValue(socket.headers, 'x-models-etag');
  }

  /** Waits for the previous request on this socket to finish; resolves with the release function. */
  async lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const previous = this.#tail;
    this.#tail = previous.then(() => next);
    await previous;
    return release;
  }

  /** Forgets the incremental state (after an error, or on a new socket). */
  reset(): void {
    this.lastInput = [];
    this.lastOutput = [];
    this.lastResponseId = undefined;
    this.lastFields = undefined;
  }
}
