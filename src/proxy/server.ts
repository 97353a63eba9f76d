import type { StoreApi } from './app.js';
import type { StoreLive } from '../telemetry/store-live.js';
import { LiveFeed } from './live-feed.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProxyTelemetry } from '../telemetry/proxy-telemetry.js';
import { AccessKey } from './access-key.js';
import type { ModelClient } from '../client/model-client.js';
import { createProxyListener } from './app.js';
import { noopTelemetry } from './noop-telemetry.js';
import { createUpgradeHandler } from './websocket-upgrade.js';
import { errorBody } from './proxy-error.js';
import { Drain } from './drain.js';

/**
 * Options of {@link startProxy}: the server's own settings, and the parts it is given. It builds
 * nothing itself: the composition root (`createProxy` in `src/cli/create-proxy.ts`) makes the
 * client, the telemetry and the summary.
 */
export interface ProxyOptions {
  /** Upstream base URL, e.g. `https://api.openai.com/v1` (for telemetry's server address). */
  readonly upstream: string;
  /**
   * The one ModelClient every request goes through. One is enough: what a ModelClient keeps per
   * conversation (its own WebSocket, the fallback flag, the ids it puts in prompts it builds) is
   * never used for relayed requests, whose headers and body are the caller's own.
   */
  readonly client: ModelClient;
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Default 8787; 0 picks a free port. */
  readonly port?: number;
  /** Required to listen beyond loopback; callers send it as `x-modeltap-key`. */
  readonly accessKey?: string;
  /** Largest request body, in bytes. Default 64 MiB (long Codex histories with images fit). */
  readonly maxBodyBytes?: number;
  /** Longest pause while receiving a request body, in ms. Default 30000. */
  readonly bodyTimeoutMs?: number;
  /** Records every request and upstream call, already composed (OTel, summary, guard). Default: nothing. */
  readonly telemetry?: ProxyTelemetry;
  /** Serves `GET /metrics` on the proxy's port when set. */
  readonly metricsHandler?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Served at `GET /modeltap/summary` when set. */
  readonly summary?: { summary(): unknown };
  /** Served at `GET /modeltap/event-loop` (`?reset=1` starts a new window) when set. Default: none. */
  readonly eventLoopDelay?: { read(reset: boolean): unknown };
  /** Answers `GET /modeltap/api/*` (the request store's JSON API); with it, the live view is served at `/`. */
  readonly storeApi?: StoreApi;
  /** The store's announcements of what it wrote, pushed to open views. Default: the view does not update by itself. */
  readonly storeLive?: StoreLive;
  /** The view's link to a trace, `{trace_id}` where its id goes (`--trace-url`). Default: none. */
  readonly traceUrl?: string;
  /** Serve WebSocket callers from an HTTP-only upstream. Default false. */
  readonly wsBridge?: boolean;
  /** Operational messages (one line each). Default: none. */
  readonly log?: (line: string) => void;
}

/** A running proxy. */
export interface ProxyServer {
  /** `http://host:port` */
  readonly url: string;
  readonly server: Server;
  /** Requests in flight. */
  readonly inFlight: number;
  /** Whether a drain has begun (`/readyz` answers 503). */
  readonly draining: boolean;
  /**
   * Drains, then stops: `/readyz` answers 503 at once while everything is still served for
   * `drainDelayMs` (default 0; time for load balancers to notice), then the listener closes,
   * in-flight requests and WebSocket turns get up to `graceMs` (default 30000) to finish, and the
   * rest are aborted and every connection closed. A later call with a shorter grace (a second
   * signal) cuts both waits short.
   */
  shutdown(graceMs?: number, drainDelayMs?: number): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|\[::1\])$/i;

/** Whether an address is loopback-only. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

function upstreamEndpoint(upstream: string): { address: string; port: number } {
  const url = new URL(upstream);
  return { address: url.hostname, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
}

/** Thrown when options are unsafe or invalid; the CLI prints it and exits 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Starts the proxy and resolves once it listens. */
export async function startProxy(options: ProxyOptions): Promise<ProxyServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host) && !options.accessKey) {
    throw new ConfigError(
      `refusing to listen on ${host} without an access key: anyone who can reach it could spend your credentials. Set --access-key (or MODELTAP_ACCESS_KEY), or listen on 127.0.0.1.`,
    );
  }
  const client = options.client;
  const active = new Set<AbortController>();
  const telemetry = options.telemetry ?? noopTelemetry;
  const accessKey = new AccessKey(options.accessKey);
  const track = (controller: AbortController): (() => void) => {
    active.add(controller);
    return () => active.delete(controller);
  };
  const drain = new Drain();
  const storeApi = options.storeApi;
  const live = storeApi ? { api: storeApi, feed: new LiveFeed(storeApi, options.storeLive) } : undefined;
  const listener = createProxyListener({
    client,
    maxBodyBytes: options.maxBodyBytes ?? 64 * 1024 * 1024,
    bodyTimeoutMs: options.bodyTimeoutMs ?? 30_000,
    track,
    upstream: upstreamEndpoint(options.upstream),
    accessKey,
    telemetry,
    drain,
    ...(options.summary ? { summary: options.summary } : {}),
    ...(options.metricsHandler ? { metricsHandler: options.metricsHandler } : {}),
    ...(options.eventLoopDelay ? { eventLoopDelay: options.eventLoopDelay } : {}),
    ...(live ? { view: { storeApi: live.api, live: live.feed, ...(options.traceUrl ? { traceUrl: options.traceUrl } : {}) } } : {}),
  });
  const sockets = new Set<Socket>();
  const server = await new Promise<Server>((resolve, reject) => {
    const s = createServer(listener);
    s.once('error', reject);
    s.listen(options.port ?? 8787, host, () => resolve(s));
  });
  // Requests Node's parser rejects (bad header characters, bad framing) still get an OpenAI-shaped
  // 400 (or 413/431) instead of Node's empty one; the connection is then closed.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const body = errorBody(status, 'invalid_http', `malformed HTTP request: ${error.code ?? 'parse error'}`);
    socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on(
    'upgrade',
    createUpgradeHandler({
      client,
      telemetry,
      accessKey,
      httpBridge: options.wsBridge ?? false,
      upstream: upstreamEndpoint(options.upstream),
      track,
      drain,
      log: options.log,
      maxFrameBytes: options.maxBodyBytes ?? 64 * 1024 * 1024,
    }),
  );
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let stopping: Promise<void> | undefined;
  let deadline = Number.POSITIVE_INFINITY;
  let cutDelay: (() => void) | undefined;
  return {
    url: `http://${urlHost}:${address.port}`,
    server,
    get inFlight() {
      return active.size;
    },
    get draining() {
      return drain.draining;
    },
    shutdown(graceMs = 30_000, drainDelayMs = 0) {
      const now = Date.now();
      // A later call with a shorter grace (a second SIGTERM) shortens the wait of the first.
      if (stopping !== undefined && now + graceMs < deadline) cutDelay?.();
      deadline = Math.min(deadline, now + (stopping === undefined ? drainDelayMs : 0) + graceMs);
      stopping ??= (async () => {
        drain.begin();
        if (drainDelayMs > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, drainDelayMs);
            cutDelay = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        cutDelay = undefined;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        drain.close();
        // Open views hold no work: their streams end now, so their connections close as idle.
        live?.feed.close();
        server.closeIdleConnections();
        while (active.size > 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
          server.closeIdleConnections();
        }
        for (const controller of active) controller.abort();
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
        await closed;
      })();
      return stopping;
    },
  };
}
