import type { WebSocket } from 'ws';
import type { UpstreamWebSocket } from '../client/upstream-websocket.js';
import { WS_HIGH_WATER_BYTES, WS_LOW_WATER_BYTES } from './websocket-high-water.js';

/** What a {@link WebSocketSink} sends through: a caller's `ws` socket or the core's upstream socket. */
export interface FrameSender {
  /** Bytes queued and not yet written to the socket. */
  readonly bufferedAmount: number;
  /** Whether frames can still be sent (after a close `ws` would queue them forever). */
  readonly open: boolean;
  /** Sends one frame; `written` runs once, when it left the queue (or could not be sent). */
  send(data: Buffer | string, binary: boolean, written: () => void): void;
}

/** Something whose reading can be stopped: the other side of a relay. */
export interface Pausable {
  pause(): void;
  resume(): void;
}

/** A caller's socket as a {@link FrameSender}. */
export function callerSender(caller: WebSocket): FrameSender {
  return {
    get bufferedAmount() {
      return caller.bufferedAmount;
    },
    get open() {
      return caller.readyState === caller.OPEN;
    },
    send: (data, binary, written) => caller.send(data, { binary }, written),
  };
}

/** The upstream socket as a {@link FrameSender}; a failed send is reported by the core itself. */
export function upstreamSender(upstream: UpstreamWebSocket): FrameSender {
  return {
    get bufferedAmount() {
      return upstream.bufferedAmount;
    },
    get open() {
      return !upstream.closed;
    },
    send: (data, binary, written) => void upstream.send(data, binary).then(written, written),
  };
}

/**
 * The WebSocket side of the relay's back-pressure, shared by the relay (both ways) and the bridge:
 * frames go out at once, and once the peer's queue passes {@link WS_HIGH_WATER_BYTES} the source
 * that feeds it is paused ({@link WebSocketSink.hold}) or awaited ({@link WebSocketSink.drain})
 * until the queue fell below {@link WS_LOW_WATER_BYTES}. A peer that stops reading thus costs a
 * bounded amount of memory: its TCP window holds the sender back, not modeltap. The write
 * callbacks are the drain events: no timers, and one callback for every frame (the read times of
 * frames in flight wait in a queue, in send order, which is the order `ws` calls back in).
 */
export class WebSocketSink {
  readonly #peer: FrameSender;
  readonly #onWrite: ((readAt: number) => void) | undefined;
  readonly #readAts: number[] = [];
  #next = 0;
  #held: Pausable | undefined;
  #waiters: (() => void)[] = [];
  readonly #written = (): void => {
    if (this.#onWrite !== undefined) {
      const readAt = this.#readAts[this.#next++];
      if (this.#next === this.#readAts.length) {
        this.#readAts.length = 0;
        this.#next = 0;
      }
      if (readAt !== undefined) this.#onWrite(readAt);
    }
    if (this.#peer.bufferedAmount < WS_LOW_WATER_BYTES) this.#release();
  };

  /** @param onWrite called with a frame's read time once it was written (telemetry); default none. */
  constructor(peer: FrameSender, onWrite?: (readAt: number) => void) {
    this.#peer = peer;
    this.#onWrite = onWrite;
  }

  /**
   * Sends one frame unchanged. Returns false when the peer's queue is now over the high-water mark:
   * read nothing more for it until {@link WebSocketSink.drain} resolves (or hand the source to
   * {@link WebSocketSink.hold}). After the peer closed, frames are dropped and it returns true.
   */
  write(data: Buffer | string, binary: boolean, readAt = 0): boolean {
    if (!this.#peer.open) return true;
    if (this.#onWrite !== undefined) this.#readAts.push(readAt);
    this.#peer.send(data, binary, this.#written);
    return this.#peer.bufferedAmount < WS_HIGH_WATER_BYTES;
  }

  /** Pauses `source` until the peer drained (one source at a time; a second call changes nothing). */
  hold(source: Pausable): void {
    if (this.#held !== undefined) return;
    this.#held = source;
    source.pause();
  }

  /** Resolves once the peer's queue is below the low-water mark (at once if it is), or it closed. */
  drain(): Promise<void> {
    if (!this.#peer.open || this.#peer.bufferedAmount < WS_LOW_WATER_BYTES) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The peer is gone: resumes a held source and releases every wait. */
  close(): void {
    this.#release();
  }

  #release(): void {
    const held = this.#held;
    this.#held = undefined;
    held?.resume();
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }
}
