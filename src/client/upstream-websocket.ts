import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import type { WsPoll } from '../telemetry/hooks.js';
import { mapHttpError, ModelClientError, streamError } from './errors.js';
import type { HeaderMap } from './header-map.js';
import type { HookFanout } from './hook-fanout.js';
import type { UpstreamTiming } from './upstream-timing.js';

/**
 * One frame read from the upstream socket, or how reading ended. A text frame's `type` (its JSON
 * `type` field) is read once here, for everyone who needs it: the relay, telemetry, the hooks.
 */
export type WsFrame =
  | { readonly kind: 'message'; readonly data: Buffer; readonly isBinary: boolean; readonly type: string | undefined }
  | { readonly kind: 'close'; readonly code: number; readonly reason: string }
  | { readonly kind: 'error'; readonly error: Error };

/** The `ws(s)://` URL of an `http(s)://` one (§2.1). */
export function toWebSocketUrl(url: string): string {
  return url.replace(/^http(s?):\/\//i, (_m, s: string) => `ws${s}://`);
}

const TYPE = /"type"\s*:\s*"([^"]{1,64})"/;
/** How far into a frame its `type` is looked for first: the API writes it as the first field. */
const TYPE_PREFIX = 512;

/** The `type` field of a JSON text frame, or undefined when it has none (a bounded look first, then the whole frame). */
export function frameType(data: Buffer): string | undefined {
  const head = TYPE.exec(data.toString('latin1', 0, Math.min(data.length, TYPE_PREFIX)));
  if (head !== null || data.length <= TYPE_PREFIX) return head?.[1];
  return TYPE.exec(data.toString('latin1'))?.[1];
}

function pollOf(frame: WsFrame): WsPoll {
  if (frame.kind === 'error') return { kind: 'read_error', error: frame.error.message };
  if (frame.kind === 'close') return { kind: 'message', message: { type: 'close', data: frame.reason } };
  return frame.isBinary
    ? { kind: 'message', message: { type: 'binary', bytes: frame.data.length } }
    : { kind: 'message', message: { type: 'text', data: frame.data.toString('utf8'), bytes: frame.data.length, frameType: frame.type } };
}

/**
 * An open upstream Responses WebSocket. Every frame sent is reported to `onWsRequest` (time to
 * send) and every frame read to `onWsEvent` (the wait for it), as spec §5.2 says; pings are
 * answered by `ws` itself and reported as `ping`. Frames can be consumed as a pull queue
 * ({@link UpstreamWebSocket.next}) or pushed to a listener ({@link UpstreamWebSocket.onFrame}).
 */
export class UpstreamWebSocket {
  readonly headers: HeaderMap;
  readonly #ws: WebSocket;
  #hooks: HookFanout;
  readonly #queue: WsFrame[] = [];
  #waiter: ((frame: WsFrame | undefined) => void) | undefined;
  #listener: ((frame: WsFrame) => void) | undefined;
  #lastFrameAt = performance.now();
  #ended = false;

  /** @internal Use {@link openUpstreamWebSocket}. */
  constructor(ws: WebSocket, headers: HeaderMap, hooks: HookFanout) {
    this.#ws = ws;
    this.headers = headers;
    this.#hooks = hooks;
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#push({ kind: 'message', data, isBinary, type: isBinary ? undefined : frameType(data) }));
    ws.on('ping', (data: Buffer) => this.#report({ kind: 'message', message: { type: 'ping', bytes: data.length } }));
    ws.on('pong', (data: Buffer) => this.#report({ kind: 'message', message: { type: 'pong', bytes: data.length } }));
    ws.on('close', (code: number, reason: Buffer) => this.#push({ kind: 'close', code, reason: reason.toString('utf8') }));
    ws.on('error', (error: Error) => this.#push({ kind: 'error', error }));
  }

  /** Reports to other hooks from now on (a socket reused by a later call). */
  useHooks(hooks: HookFanout): void {
    this.#hooks = hooks;
  }

  /** True once the socket closed or failed. */
  get closed(): boolean {
    return this.#ended || this.#ws.readyState !== WebSocket.OPEN;
  }

  /** Bytes sent and not yet written to the socket (`ws`'s `bufferedAmount`). */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  /** Stops reading frames (back-pressure: the socket's buffers fill, then the peer's sends wait). */
  pause(): void {
    this.#ws.pause();
  }

  /** Reads frames again after {@link UpstreamWebSocket.pause}. */
  resume(): void {
    this.#ws.resume();
  }

  /** Sends one frame; resolves when it was written, rejects (and reports) when it could not be. */
  send(data: string | Buffer, binary = false): Promise<void> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      this.#ws.send(data, { binary }, (error) => {
        const ms = performance.now() - started;
        if (error) {
          const err = streamError(`failed to send websocket request: ${error.message}`, { cause: error });
          this.#hooks.onWsRequest(ms, { kind: err.kind, message: err.message });
          reject(err);
        } else {
          this.#hooks.onWsRequest(ms, null);
          resolve();
        }
      });
    });
  }

  /**
   * The next frame, waiting at most `idleMs`; undefined on timeout (reported as the idle-timeout
   * poll). After a close or error every call returns that same ending.
   */
  next(idleMs: number): Promise<WsFrame | undefined> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        this.#hooks.onWsEvent({ kind: 'error', error: { kind: 'stream', message: 'idle timeout waiting for websocket' } }, performance.now() - this.#lastFrameAt);
        resolve(undefined);
      }, idleMs);
      this.#waiter = (frame) => {
        clearTimeout(timer);
        resolve(frame);
      };
    });
  }

  /** Pushes every frame (queued ones first) to `listener` instead of queueing them. */
  onFrame(listener: (frame: WsFrame) => void): void {
    this.#listener = listener;
    for (let f = this.#queue.shift(); f !== undefined; f = this.#queue.shift()) listener(f);
  }

  /** Closes the socket (codes 1005/1006 cannot be sent and become 1000). */
  close(code = 1000, reason = ''): void {
    this.#ended = true;
    // The close handshake needs the peer's close frame: a paused socket would wait for ws's 30 s timer.
    this.#ws.resume();
    const sendable = code === 1000 || (code >= 3000 && code <= 4999) || (code >= 1001 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006);
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) {
      this.#ws.close(sendable ? code : 1000, reason);
    }
  }

  /** Drops the connection without a close handshake. */
  terminate(): void {
    this.#ended = true;
    this.#ws.terminate();
  }

  #report(poll: WsPoll): void {
    const now = performance.now();
    this.#hooks.onWsEvent(poll, now - this.#lastFrameAt);
    this.#lastFrameAt = now;
  }

  #push(frame: WsFrame): void {
    if (frame.kind !== 'message') {
      if (this.#ended && frame.kind === 'close' && this.#queue.some((f) => f.kind !== 'message')) return;
      this.#ended = true;
    }
    this.#report(pollOf(frame));
    if (this.#listener !== undefined) {
      this.#listener(frame);
      return;
    }
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter(frame);
    } else {
      this.#queue.push(frame);
    }
  }
}

/** Options of {@link openUpstreamWebSocket}. */
export interface OpenWebSocketOptions {
  readonly url: string;
  readonly headers: Record<string, string | string[]>;
  readonly hooks: HookFanout;
  readonly handshakeTimeoutMs: number;
  readonly signal: AbortSignal | undefined;
  /** Filled in with the handshake's dispatch and answer. Default: none. */
  readonly timing?: UpstreamTiming | undefined;
}

/**
 * Performs the WebSocket handshake (§2.4.2). A non-101 answer becomes the mapped HTTP error, with
 * its status, headers and body (so 401 can be recovered and 426 can trigger the HTTP fallback);
 * a socket that closes during the handshake is `Stream("websocket closed")`; anything else a
 * connection error.
 */
export function openUpstreamWebSocket(options: OpenWebSocketOptions): Promise<UpstreamWebSocket> {
  return new Promise((resolve, reject) => {
    // An abort before the call (the caller left while credentials resolved) never fires 'abort' again.
    if (options.signal?.aborted) {
      reject(new ModelClientError({ kind: 'aborted', message: 'request aborted by the caller', source: 'client' }));
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    const ws = new WebSocket(toWebSocketUrl(options.url), { headers, handshakeTimeout: options.handshakeTimeoutMs, perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
    // ws hands the handshake request to node:http from its constructor.
    options.timing?.dispatched();
    let settled = false;
    const fail = (error: ModelClientError): void => {
      if (settled) return;
      settled = true;
      if (error.kind !== 'aborted') options.timing?.answered();
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      reject(error);
    };
    const onAbort = (): void => fail(new ModelClientError({ kind: 'aborted', message: 'request aborted by the caller', source: 'client' }));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let handshakeHeaders: HeaderMap = {};
    ws.once('upgrade', (res: IncomingMessage) => {
      options.timing?.answered();
      handshakeHeaders = res.headers;
    });
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = new Uint8Array(Buffer.concat(chunks));
        fail(mapHttpError({ status: res.statusCode ?? 502, headers: res.headers, body }));
      });
      res.on('error', () => fail(mapHttpError({ status: res.statusCode ?? 502, headers: res.headers, body: new Uint8Array(0) })));
    });
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      resolve(new UpstreamWebSocket(ws, handshakeHeaders, options.hooks));
    });
    ws.once('error', (error: Error & { code?: string }) => {
      const message = /closed before the connection|socket hang up/i.test(error.message) ? 'websocket closed' : error.message;
      if (message === 'websocket closed') fail(streamError('websocket closed', { cause: error }));
      else if (/timeout/i.test(message)) fail(new ModelClientError({ kind: 'timeout', message: 'timed out opening the upstream websocket', source: 'transport', cause: error }));
      else fail(new ModelClientError({ kind: 'connection_failed', message: `network error: ${error.code ?? message}`, source: 'transport', cause: error }));
    });
  });
}
