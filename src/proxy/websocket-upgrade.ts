import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { ModelClientError } from '../client/errors.js';
import { headerValue } from '../client/header-map.js';
import { UpstreamTiming } from '../client/upstream-timing.js';
import type { UpstreamWebSocket, WsFrame } from '../client/upstream-websocket.js';
import type { ProxyTelemetry, RequestTelemetry } from '../telemetry/proxy-telemetry.js';
import type { AccessKey } from './access-key.js';
import { MISSING_KEY_MESSAGE } from './access-key.js';
import type { ModelClient } from '../client/model-client.js';
import { bridgeToHttp } from './websocket-http-bridge.js';
import type { Drain } from './drain.js';
import { errorBody } from './proxy-error.js';
import { callerSender, upstreamSender, WebSocketSink } from './websocket-sink.js';
import { TurnTracker, turnStart, watchUpstreamFrame } from './websocket-turns.js';

/** What the upgrade handler needs from the server. */
export interface UpgradeContext {
  /** The one ModelClient every upstream socket is opened through. */
  readonly client: ModelClient;
  readonly telemetry: ProxyTelemetry;
  readonly accessKey: AccessKey;
  /** Serve WebSocket callers from an HTTP-only upstream (`--ws-bridge`). */
  readonly httpBridge: boolean;
  readonly upstream: { readonly address: string; readonly port: number };
  /** Registers an open connection for shutdown; returns its unregister function. */
  readonly track: (controller: AbortController) => () => void;
  /** The server's drain: once it closes, a connection closes (1001) as soon as it has no turn in flight. */
  readonly drain: Drain;
  readonly log: ((line: string) => void) | undefined;
  /** Largest frame a caller may send (a larger one closes the socket with 1009). */
  readonly maxFrameBytes: number;
}

// Upstream handshake headers a WebSocket caller needs to see on its own 101.
const HANDSHAKE_HEADERS = ['x-codex-turn-state', 'x-reasoning-included', 'x-models-etag', 'x-request-id', 'openai-model', 'openai-processing-ms'];

/** Codes a close frame may carry (RFC 6455 §7.4); 1005/1006 describe a missing or lost close. */
export function sendableCloseCode(code: number): number {
  if (code === 1005) return 1000;
  if (code === 1006) return 1011;
  return code === 1000 || (code >= 1001 && code <= 1014 && code !== 1004) || (code >= 3000 && code <= 4999) ? code : 1011;
}

function refuse(socket: Duplex, status: number, code: string, message: string, extra = ''): void {
  const body = errorBody(status, code, message);
  const reason = status === 426 ? 'Upgrade Required' : status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : 'Bad Gateway';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`);
}

const ignore = (): void => undefined;

/**
 * Early bytes kept from a caller before its 101 (64 KiB): a caller must wait for the handshake
 * before it sends (RFC 6455 §4.1), so more than this is not a WebSocket client; it is dropped.
 */
const MAX_EARLY_BYTES = 64 * 1024;

/**
 * Watches a caller's socket from Node's `'upgrade'` until `ws` owns it. Node removes its own error
 * listener before emitting `'upgrade'` and nothing reads the socket then, so a reset would be an
 * uncaught `'error'` (the process dies) and a close would go unnoticed for as long as the upstream
 * takes to answer. Reading it notices both (`onGone`). Returns `release`: stops watching and gives
 * the head plus what arrived early (for `ws`), or undefined when the caller is already gone.
 */
function watchHandshake(socket: Duplex, head: Buffer, onGone: () => void): () => Buffer | undefined {
  let early = head;
  let gone = false;
  const leave = (): void => {
    if (gone) return;
    gone = true;
    onGone();
  };
  const onData = (chunk: Buffer): void => {
    early = Buffer.concat([early, chunk]);
    if (early.length > MAX_EARLY_BYTES) socket.destroy();
  };
  socket.on('data', onData);
  socket.on('end', leave);
  socket.on('close', leave);
  return () => {
    socket.off('data', onData);
    socket.off('end', leave);
    socket.off('close', leave);
    return gone || socket.destroyed ? undefined : early;
  };
}

/**
 * Handles WebSocket upgrades on `/v1/responses`: opens the upstream socket through the core (the
 * caller's headers, modeltap's credentials, 401 recovery), answers the caller's handshake only
 * once the upstream accepted (so a refusal reaches it as 426 at once, and Codex falls back without
 * retrying), then relays frames both ways unchanged and in order and mirrors closes.
 */
export function createUpgradeHandler(ctx: UpgradeContext): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: ctx.maxFrameBytes });
  let pendingHeaders: string[] = [];
  wss.on('headers', (headers) => headers.push(...pendingHeaders));

  return (req, socket, head) => {
    // For the socket's whole life (refusals included): a caller's reset is never an uncaught error.
    socket.on('error', ignore);
    const arrival = performance.now();
    const url = new URL(req.url ?? '/', 'http://modeltap');
    if (url.pathname !== '/v1/responses') {
      refuse(socket, 404, 'not_found', `Invalid URL (GET ${url.pathname})`);
      return;
    }
    if (!ctx.accessKey.admits(req.headers)) {
      refuse(socket, 401, 'missing_access_key', MISSING_KEY_MESSAGE);
      return;
    }
    const rt = ctx.telemetry.startRequest({
      method: 'GET',
      route: '/v1/responses',
      path: url.pathname,
      scheme: 'http',
      clientAddress: req.socket.remoteAddress,
      userAgent: req.headers['user-agent'],
      protocolVersion: req.httpVersion,
      headers: req.headers,
      arrival,
    });
    // Aborted when the caller leaves before its 101: the upstream handshake is given up at once.
    const handshake = new AbortController();
    const release = watchHandshake(socket, head, () => handshake.abort());
    let settled = false;
    // The caller left before it had an answer: no status was sent (499, as in "client closed request").
    const callerGone = (): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      rt.onError('aborted');
      rt.end({ statusCode: 499 });
    };
    /** Answers the caller's handshake; false when it could not be (the caller left, or `ws` refused it). */
    const accept = (headers: string[], onOpen: (caller: WebSocket) => void): boolean => {
      const early = release();
      if (early === undefined) {
        callerGone();
        return false;
      }
      settled = true;
      let opened = false;
      pendingHeaders = headers;
      // Synchronous without `verifyClient`: when it returns without calling back, `ws` answered an
      // invalid handshake (400) itself, or the socket was no longer usable.
      wss.handleUpgrade(req, socket, early, (caller) => {
        opened = true;
        onOpen(caller);
      });
      pendingHeaders = [];
      if (!opened) {
        socket.destroy();
        rt.onError('invalid_handshake');
        rt.end({ statusCode: 400 });
      }
      return opened;
    };
    if (ctx.httpBridge) {
      accept([], (caller) => {
        rt.onHead(101, 'websocket', performance.now() - arrival, 0);
        bridgeToHttp(ctx, req, caller, rt);
      });
      return;
    }
    const headers = { ...req.headers };
    delete headers['x-modeltap-key'];
    const timing = new UpstreamTiming();
    let opened: UpstreamWebSocket | undefined;
    ctx.client.openWebSocket({ path: 'responses', query: url.search.slice(1), headers }, { telemetry: rt.hooks, signal: handshake.signal, timing }).then(
      (upstream) => {
        opened = upstream;
        if (handshake.signal.aborted) {
          upstream.terminate();
          callerGone();
          return;
        }
        const relayed = HANDSHAKE_HEADERS.flatMap((name) => {
          const value = headerValue(upstream.headers, name);
          return value === undefined ? [] : [`${name}: ${value}`];
        });
        const accepted = accept(relayed, (caller) => {
          // ws has written the caller's 101 before it calls back: everything since arrival that was
          // not the upstream's handshake is modeltap's.
          const upstreamMs = timing.upstreamMs();
          rt.onHead(101, 'websocket', performance.now() - arrival - upstreamMs, upstreamMs);
          relay(ctx, req, caller, upstream, rt);
        });
        if (!accepted) upstream.close(1001, 'caller handshake failed');
      },
      (error: unknown) => {
        if (handshake.signal.aborted) {
          callerGone();
          return;
        }
        // The caller is still there: it gets the answer below, on the socket it sent the upgrade on.
        release();
        settled = true;
        const status = error instanceof ModelClientError ? error.upstreamStatus : undefined;
        // The upstream does not speak WebSocket: tell the caller to use HTTP, at once.
        if (status === 426 || status === 404 || status === 405 || status === 400 || (status !== undefined && status >= 200 && status < 300)) {
          ctx.log?.(`upstream refused the WebSocket upgrade (${status}); answered 426`);
          rt.onFallback('upstream_refused');
          rt.onError('426');
          refuse(socket, 426, 'upgrade_required', 'The upstream does not accept WebSockets; use HTTP.');
          rt.end({ statusCode: 426 });
          return;
        }
        if (error instanceof ModelClientError && error.upstream !== undefined) {
          const { body } = error.upstream;
          rt.onError(String(error.upstream.status));
          const head = `HTTP/1.1 ${error.upstream.status} Upstream\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
          socket.end(Buffer.concat([Buffer.from(head), Buffer.from(body)]));
          rt.end({ statusCode: error.upstream.status });
          return;
        }
        const kind = error instanceof ModelClientError ? error.kind : 'internal_error';
        rt.onError(kind);
        refuse(socket, kind === 'timeout' ? 504 : 502, kind === 'timeout' ? 'upstream_timeout' : 'upstream_unreachable', `upstream WebSocket failed: ${(error as Error).message}`);
        rt.end({ statusCode: kind === 'timeout' ? 504 : 502 });
      },
    ).catch((error: unknown) => {
      // A fault of modeltap's own while answering (the upstream's are answered above): this
      // connection is dropped, both ends, and the process lives on.
      ctx.log?.(`websocket upgrade failed: ${error instanceof Error ? error.message : String(error)}`);
      opened?.terminate();
      socket.destroy();
    });
  };
}

/**
 * Relays frames both ways, in order and unchanged, and mirrors closes in both directions. Each
 * side is read only while the other's send queue is below the high-water mark
 * ({@link WebSocketSink}): a peer that stops reading makes modeltap stop reading too (its TCP
 * window then holds the sender back), instead of buffering without limit.
 *
 * Turns are followed by lane ({@link TurnTracker}). A turn still open when the connection ends was
 * cut short: `aborted` when the caller left (closed or failed) or modeltap shut down (as an HTTP
 * request cut short by either is), `websocket_closed` when the upstream closed (any code, 1000
 * included: a turn without its terminal event did not complete) or failed.
 */
function relay(ctx: UpgradeContext, req: IncomingMessage, caller: WebSocket, upstream: UpstreamWebSocket, rt: RequestTelemetry): void {
  const controller = new AbortController();
  const untrack = ctx.track(controller);
  const toUpstream = new WebSocketSink(upstreamSender(upstream));
  const toCaller = new WebSocketSink(callerSender(caller), (readAt) => rt.onWrite(readAt));
  const turns = new TurnTracker();
  let ended = false;
  // Set once the drain closes while a turn is in flight: the connection closes after the last one.
  let closeWhenIdle = false;
  /** The connection is over; `cause` is what cut its open turns short, `errorType` the connection's own. */
  const end = (cause: 'aborted' | 'websocket_closed', errorType?: string): void => {
    if (ended) return;
    ended = true;
    untrack();
    stopWatchingDrain();
    const cutShort = turns.size > 0;
    turns.endAll(cause);
    // Like HTTP: a caller that left mid-answer makes the request `aborted` (its status stays 101).
    if (cutShort && cause === 'aborted') rt.onError('aborted');
    const type = errorType ?? (cutShort && cause === 'websocket_closed' ? cause : undefined);
    rt.end({ statusCode: 101, ...(type === undefined ? {} : { errorType: type }) });
  };
  /** modeltap ends the connection: what is still open was cut short by it, `aborted`. */
  const goAway = (): void => {
    end('aborted');
    toUpstream.close();
    caller.close(1001, 'modeltap is shutting down');
    upstream.close(1001, 'modeltap is shutting down');
  };
  // Shutdown after the grace period.
  controller.signal.addEventListener('abort', goAway);
  // A drain closes an idle connection now (its caller reconnects, to another replica) and a busy
  // one after its last turn, so no turn is cut short by it.
  const stopWatchingDrain = ctx.drain.onClose(() => {
    if (turns.size === 0) goAway();
    else closeWhenIdle = true;
  });
  caller.on('message', (data: RawData, isBinary: boolean) => {
    const buffer = data as Buffer;
    if (!isBinary && !ended) {
      const start = turnStart(req.headers, buffer, ctx.upstream, rt.allEvents === true);
      if (start !== undefined) turns.start(start.lane, rt.startTurn(start.info));
    }
    if (!toUpstream.write(buffer, isBinary)) toUpstream.hold(caller);
  });
  caller.on('close', (code: number, reason: Buffer) => {
    // The upstream's close handshake needs its close frame read: a held upstream reads on.
    toCaller.close();
    upstream.close(sendableCloseCode(code), reason.toString('utf8'));
    end('aborted');
  });
  caller.on('error', () => {
    upstream.terminate();
    end('aborted');
  });
  upstream.onFrame((frame: WsFrame) => {
    if (frame.kind === 'message') {
      // The caller is gone: what the upstream still sends until it sees the close is dropped (and
      // must not pause the upstream again, or its close frame would go unread).
      if (ended) return;
      const readAt = performance.now();
      const room = toCaller.write(frame.data, frame.isBinary, readAt);
      if (!frame.isBinary) watchUpstreamFrame(frame.data, frame.type, readAt, turns);
      if (!room) toCaller.hold(upstream);
      if (closeWhenIdle && turns.size === 0) goAway();
      return;
    }
    // The upstream closed or died: mirror its close code (a lost connection becomes 1011). The
    // close handshake needs the caller's close frame: a held caller reads on.
    const code = frame.kind === 'close' ? sendableCloseCode(frame.code) : 1011;
    const reason = frame.kind === 'close' ? frame.reason : 'upstream connection lost';
    toUpstream.close();
    caller.close(code, reason);
    end('websocket_closed', frame.kind === 'close' && (frame.code === 1000 || frame.code === 1001 || frame.code === 1005) ? undefined : 'websocket_closed');
  });
}
