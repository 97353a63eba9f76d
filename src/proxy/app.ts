import { timingSafeEqual } from 'node:crypto';
import { getRequestListener, type HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono, type Context } from 'hono';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProxyTelemetry, RequestTelemetry } from '../telemetry/proxy-telemetry.js';
import { forward, serverTiming, type ForwardContext, type ForwardRequest, type RouteKind } from './forward.js';
import { errorBody } from './proxy-error.js';
import { noopTelemetry } from './noop-telemetry.js';

/** Options of {@link createProxyApp}. */
export interface ProxyAppOptions extends ForwardContext {
  /** When set, every request must carry it in `x-modeltap-key`. */
  readonly accessKey?: string;
  /** Records every request. Default: nothing. */
  readonly telemetry?: ProxyTelemetry;
  /** Served at `GET /modeltap/summary`. */
  readonly summary?: { summary(): unknown };
  /** Serves `GET /metrics` (Prometheus text) when set. */
  readonly metricsHandler?: (req: IncomingMessage, res: ServerResponse) => void;
}

type Env = { Bindings: HttpBindings; Variables: { arrival: number; rt: RequestTelemetry } };

const ROUTES: Readonly<Record<string, string>> = {
  '/healthz': '/healthz',
  '/metrics': '/metrics',
  '/modeltap/summary': '/modeltap/summary',
  '/v1/responses': '/v1/responses',
  '/v1/responses/compact': '/v1/responses/compact',
  '/v1/chat/completions': '/v1/chat/completions',
};

/** The route template of a path: low-cardinality, for `http.route`. */
function routeOf(path: string): string | undefined {
  return ROUTES[path] ?? (path.startsWith('/v1/') ? '/v1/*' : undefined);
}

function keyMatches(expected: Buffer, given: string | undefined): boolean {
  if (given === undefined) return false;
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function jsonError(c: Context<Env>, status: 401 | 404 | 500, code: string, message: string): Response {
  return c.body(errorBody(status, code, message), status, { 'content-type': 'application/json' });
}

function startRequestTelemetry(telemetry: ProxyTelemetry, incoming: IncomingMessage, path: string, arrival: number): RequestTelemetry {
  return telemetry.startRequest({
    method: incoming.method ?? 'GET',
    route: routeOf(path),
    path,
    scheme: 'http',
    clientAddress: incoming.socket.remoteAddress,
    userAgent: incoming.headers['user-agent'],
    protocolVersion: incoming.httpVersion,
    headers: incoming.headers,
    arrival,
  });
}

/** Whether a request may pass modeltap's access key check (always, when there is no key). */
function admitted(expectedKey: Buffer | undefined, incoming: IncomingMessage, path: string): boolean {
  if (expectedKey === undefined) return true;
  const header = incoming.headers['x-modeltap-key'];
  if (keyMatches(expectedKey, typeof header === 'string' ? header : undefined)) return true;
  // Prometheus can only send a bearer token: /metrics takes the access key that way too.
  return path === '/metrics' && keyMatches(expectedKey, /^Bearer (.+)$/.exec(incoming.headers.authorization ?? '')?.[1]);
}

const MISSING_KEY_MESSAGE = 'This modeltap requires its access key in the x-modeltap-key header.';

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

/**
 * modeltap's request listener. Every `/v1/*` request goes straight to {@link forward}, which reads
 * Node's request and writes Node's response itself: no router, no Request/Response objects, no
 * middleware chain on the hot path (they cost a tenth of a request's CPU), and the path is relayed
 * exactly as it arrived, percent-encoding included. `arrival` is taken as the request event fires,
 * so modeltap's measured overhead includes its own routing. Everything else (health, metrics,
 * summary, 404s) is the Hono app of {@link createProxyApp}.
 */
export function createProxyListener(options: ProxyAppOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const app = createProxyApp(options);
  const hono = getRequestListener(app.fetch, { overrideGlobalObjects: false });
  const telemetry = options.telemetry ?? noopTelemetry;
  const expectedKey = options.accessKey === undefined ? undefined : Buffer.from(options.accessKey);
  return (req, res) => {
    const arrival = performance.now();
    const url = originForm(req.url ?? '/');
    if (!url.startsWith('/v1/')) {
      arrivals.set(req, arrival);
      void hono(req, res);
      return;
    }
    const queryStart = url.indexOf('?');
    const path = queryStart === -1 ? url : url.slice(0, queryStart);
    void serveModelRoute(options, expectedKey, req, res, {
      route: routeKind(req.method, path),
      path: path.slice(4),
      query: queryStart === -1 ? '' : url.slice(queryStart + 1),
      arrival,
      telemetry: startRequestTelemetry(telemetry, req, path, arrival),
    });
  };
}

async function serveModelRoute(
  options: ProxyAppOptions,
  expectedKey: Buffer | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  target: ForwardRequest,
): Promise<void> {
  const rt = target.telemetry;
  try {
    if (!admitted(expectedKey, req, `/v1/${target.path}`)) {
      sendJsonError(res, 401, 'missing_access_key', MISSING_KEY_MESSAGE, target.arrival);
      return;
    }
    await forward(options, req, res, target);
  } catch {
    if (!res.headersSent) sendJsonError(res, 500, 'internal_error', 'internal error', target.arrival);
    else res.destroy();
  } finally {
    rt.end({ statusCode: res.statusCode });
  }
}

function sendJsonError(res: ServerResponse, status: 401 | 500, code: string, message: string, arrival: number): void {
  const body = errorBody(status, code, message);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'server-timing': serverTiming(performance.now() - arrival, 0) });
  res.end(body);
}

/** When each request handed to Hono arrived (taken in the listener, before Hono's own work). */
const arrivals = new WeakMap<IncomingMessage, number>();

/** The proxy's Hono app: everything but `/v1/*` (see {@link createProxyListener}). */
function createProxyApp(options: ProxyAppOptions): Hono<Env> {
  const app = new Hono<Env>();
  const expectedKey = options.accessKey === undefined ? undefined : Buffer.from(options.accessKey);

  const telemetry = options.telemetry ?? noopTelemetry;
  app.use('*', async (c, next) => {
    const incoming = c.env.incoming;
    const arrival = arrivals.get(incoming) ?? performance.now();
    const path = c.req.path;
    const rt = startRequestTelemetry(telemetry, incoming, path, arrival);
    c.set('arrival', arrival);
    c.set('rt', rt);
    try {
      if (!admitted(expectedKey, incoming, path)) {
        c.res = jsonError(c, 401, 'missing_access_key', MISSING_KEY_MESSAGE);
      } else {
        await next();
      }
    } finally {
      // Routes that wrote to Node's response themselves (/metrics) are over by now.
      const sent = c.res.headers.has('x-hono-already-sent');
      if (!sent) c.res.headers.set('server-timing', serverTiming(performance.now() - arrival, 0));
      rt.end({ statusCode: sent ? c.env.outgoing.statusCode : c.res.status });
    }
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  const recorder = options.summary;
  if (recorder !== undefined) app.get('/modeltap/summary', (c) => c.json(recorder.summary()));
  const metricsHandler = options.metricsHandler;
  if (metricsHandler !== undefined) {
    app.get('/metrics', (c) => {
      c.env.outgoing.setHeader('server-timing', serverTiming(performance.now() - c.get('arrival'), 0));
      metricsHandler(c.env.incoming, c.env.outgoing);
      return RESPONSE_ALREADY_SENT;
    });
  }

  app.notFound((c) => jsonError(c, 404, 'not_found', `Invalid URL (${c.req.method} ${c.req.path})`));
  app.onError((_error, c) => jsonError(c, 500, 'internal_error', 'internal error'));
  return app;
}
