import { getRequestListener, type HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono, type Context } from 'hono';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProxyTelemetry } from '../telemetry/proxy-telemetry.js';
import { AccessKey, MISSING_KEY_MESSAGE } from './access-key.js';
import { forward, serverTiming, type ForwardContext, type ForwardRequest, type RouteKind } from './forward.js';
import { errorBody } from './proxy-error.js';
import { noopTelemetry } from './noop-telemetry.js';
import { exchangeKey, isViewPath, serveView, type ViewOptions } from './view-routes.js';
import { Drain } from './drain.js';

/** Options of {@link createProxyListener}. */
export interface ProxyAppOptions extends ForwardContext {
  /** The one access key check; default: admits everyone. */
  readonly accessKey?: AccessKey;
  /** Records every request. Default: nothing. */
  readonly telemetry?: ProxyTelemetry;
  /** Served at `GET /modeltap/summary`. */
  readonly summary?: { summary(): unknown };
  /** Serves `GET /metrics` (Prometheus text) when set. */
  readonly metricsHandler?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Served at `GET /modeltap/event-loop` (`?reset=1` starts a new window) when set. */
  readonly eventLoopDelay?: { read(reset: boolean): unknown };
  /** The drain `/readyz` reports and the listener follows. Default: never drains. */
  readonly drain?: Drain;
  /** Serves the live view at `/` and the store's JSON API at `/modeltap/api/*` when set. */
  readonly view?: ViewOptions;
}

export type { StoreApi } from './view-routes.js';

type Env = { Bindings: HttpBindings };

const ROUTES: Readonly<Record<string, string>> = {
  '/': '/',
  '/healthz': '/healthz',
  '/readyz': '/readyz',
  '/metrics': '/metrics',
  '/modeltap/summary': '/modeltap/summary',
  '/modeltap/event-loop': '/modeltap/event-loop',
  '/v1/responses': '/v1/responses',
  '/v1/responses/compact': '/v1/responses/compact',
  '/v1/chat/completions': '/v1/chat/completions',
};

/** The route template of a path: low-cardinality, for `http.route`. */
function routeOf(path: string): string | undefined {
  return ROUTES[path] ?? (path.startsWith('/v1/') ? '/v1/*' : path.startsWith('/modeltap/api/') ? '/modeltap/api/*' : path.startsWith('/modeltap/view/') ? '/modeltap/view/*' : undefined);
}

function jsonError(c: Context<Env>, status: 404 | 500 | 503, code: string, message: string): Response {
  return c.body(errorBody(status, code, message), status, { 'content-type': 'application/json' });
}

/**
 * The path and query of a request target. A target in absolute form (`POST http://host/v1/...`,
 * which RFC 9112 §3.2.2 says a server must accept) is served like its origin form: its authority
 * never chooses the upstream.
 */
function originForm(target: string): string {
  if (target.charCodeAt(0) === 0x2f) return target;
  const match = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  if (match === null) return target;
  const rest = target.slice(match[0].length);
  return rest.charCodeAt(0) === 0x2f ? rest : `/${rest}`;
}

/** The API a `/v1/*` request speaks, by method and path. */
function routeKind(method: string | undefined, path: string): RouteKind {
  if (method !== 'POST') return 'passthrough';
  return path === '/v1/responses' ? 'responses' : path === '/v1/responses/compact' ? 'compact' : path === '/v1/chat/completions' ? 'chat' : 'passthrough';
}

const admitAll = new AccessKey(undefined);

/**
 * Probes answer without the access key: kubelets and load balancers check them with no secret in
 * their spec, and they tell only "ok" or "draining".
 */
function isProbe(path: string): boolean {
  return path === '/healthz' || path === '/readyz';
}

/**
 * modeltap's one request pipeline. Every request takes the same steps here: its arrival time (taken
 * as the request event fires, so modeltap's measured overhead includes its own routing), its route,
 * its telemetry, the access key check; then `/v1/*` goes straight to {@link forward}, which reads
 * Node's request and writes Node's response itself (no router, no Request/Response objects, no
 * middleware chain on the hot path: they cost a tenth of a request's CPU), and the path is relayed
 * exactly as it arrived, percent-encoding included. Everything else (health, metrics, summary,
 * 404s) is routed by a small Hono app with no middleware of its own.
 */
export function createProxyListener(options: ProxyAppOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const hono = getRequestListener(createAdminApp(options).fetch, { overrideGlobalObjects: false });
  const telemetry = options.telemetry ?? noopTelemetry;
  const accessKey = options.accessKey ?? admitAll;
  const drain = options.drain ?? new Drain();
  return (req, res) => {
    const arrival = performance.now();
    // Once a drain begins, a connection ends with its response: a keep-alive caller opens its next
    // one afresh (through a Service or balancer, to a ready replica) instead of reusing one that
    // modeltap is about to close.
    if (drain.draining) res.shouldKeepAlive = false;
    const url = originForm(req.url ?? '/');
    const queryStart = url.indexOf('?');
    const path = queryStart === -1 ? url : url.slice(0, queryStart);
    const rt = telemetry.startRequest({
      method: req.method ?? 'GET',
      route: routeOf(path),
      path,
      scheme: 'http',
      clientAddress: req.socket.remoteAddress,
      userAgent: req.headers['user-agent'],
      protocolVersion: req.httpVersion,
      headers: req.headers,
      arrival,
    });
    const view = options.view !== undefined && isViewPath(path);
    if (view && accessKey.required && queryStart !== -1 && exchangeKey(accessKey, req, res, path, url.slice(queryStart + 1))) {
      rt.end({ statusCode: res.statusCode });
      return;
    }
    if (!accessKey.admits(req.headers, path === '/metrics', view) && !isProbe(path)) {
      sendJsonError(res, 401, 'missing_access_key', MISSING_KEY_MESSAGE, arrival);
      rt.end({ statusCode: 401 });
      return;
    }
    if (path.startsWith('/v1/')) {
      void serveModelRoute(options, req, res, {
        route: routeKind(req.method, path),
        path: path.slice(4),
        query: queryStart === -1 ? '' : url.slice(queryStart + 1),
        arrival,
        telemetry: rt,
      });
      return;
    }
    // Set before Hono writes its head: Node merges it into the head Hono writes. /metrics writes
    // Node's response itself, possibly later, so telemetry ends when the response is over.
    res.setHeader('server-timing', serverTiming(performance.now() - arrival, 0));
    res.once('close', () => rt.end({ statusCode: res.statusCode }));
    if (view) {
      serveView(req, res, path, queryStart === -1 ? '' : url.slice(queryStart + 1), options.view as ViewOptions);
      return;
    }
    hono(req, res).catch(() => {
      if (!res.headersSent) sendJsonError(res, 500, 'internal_error', 'internal error', arrival);
      else res.destroy();
    });
  };
}

async function serveModelRoute(options: ProxyAppOptions, req: IncomingMessage, res: ServerResponse, target: ForwardRequest): Promise<void> {
  try {
    await forward(options, req, res, target);
  } catch {
    if (!res.headersSent) sendJsonError(res, 500, 'internal_error', 'internal error', target.arrival);
    else res.destroy();
  } finally {
    target.telemetry.end({ statusCode: res.statusCode });
  }
}

function sendJsonError(res: ServerResponse, status: 401 | 500, code: string, message: string, arrival: number): void {
  const body = errorBody(status, code, message);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'server-timing': serverTiming(performance.now() - arrival, 0) });
  res.end(body);
}

/** The routes that are not `/v1/*`: the listener has done arrival, telemetry and the key check. */
function createAdminApp(options: ProxyAppOptions): Hono<Env> {
  const app = new Hono<Env>();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  const drain = options.drain;
  app.get('/readyz', (c) => (drain?.draining === true ? c.json({ status: 'draining' }, 503) : c.json({ status: 'ready' })));
  const recorder = options.summary;
  if (recorder !== undefined) app.get('/modeltap/summary', (c) => c.json(recorder.summary()));
  const loop = options.eventLoopDelay;
  if (loop !== undefined) app.get('/modeltap/event-loop', (c) => c.json(loop.read(c.req.query('reset') === '1')));
  const metricsHandler = options.metricsHandler;
  if (metricsHandler !== undefined) {
    app.get('/metrics', (c) => {
      metricsHandler(c.env.incoming, c.env.outgoing);
      return RESPONSE_ALREADY_SENT;
    });
  }
  app.notFound((c) => jsonError(c, 404, 'not_found', `Invalid URL (${c.req.method} ${c.req.path})`));
  app.onError((_error, c) => jsonError(c, 500, 'internal_error', 'internal error'));
  return app;
}
