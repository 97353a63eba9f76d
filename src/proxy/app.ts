import { timingSafeEqual } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono, type Context } from 'hono';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProxyTelemetry, RequestTelemetry } from '../telemetry/proxy-telemetry.js';
import { forward, serverTiming, type ForwardContext, type RouteKind } from './forward.js';
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

/**
 * The proxy's Hono app: model routes go through {@link forward}, which writes to Node's response
 * directly (no Web-stream conversion on the relay path); everything else is plain Hono.
 */
export function createProxyApp(options: ProxyAppOptions): Hono<Env> {
  const app = new Hono<Env>();
  const expectedKey = options.accessKey === undefined ? undefined : Buffer.from(options.accessKey);

  const telemetry = options.telemetry ?? noopTelemetry;
  app.use('*', async (c, next) => {
    const arrival = performance.now();
    const incoming = c.env.incoming;
    const path = c.req.path;
    const rt = telemetry.startRequest({
      method: c.req.method,
      route: routeOf(path),
      path,
      scheme: 'http',
      clientAddress: incoming.socket.remoteAddress,
      userAgent: incoming.headers['user-agent'],
      protocolVersion: incoming.httpVersion,
      headers: incoming.headers,
      arrival,
    });
    c.set('arrival', arrival);
    c.set('rt', rt);
    try {
      const bearer = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1];
      // Prometheus can only send a bearer token: /metrics takes the access key that way too.
      const allowed = keyMatches(expectedKey ?? Buffer.alloc(0), c.req.header('x-modeltap-key')) || (path === '/metrics' && keyMatches(expectedKey ?? Buffer.alloc(0), bearer));
      if (expectedKey !== undefined && !allowed) {
        c.res = jsonError(c, 401, 'missing_access_key', 'This modeltap requires its access key in the x-modeltap-key header.');
      } else {
        await next();
      }
    } finally {
      // Relayed routes wrote to Node's response themselves and are over by now.
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

  const route = (kind: RouteKind) => async (c: Context<Env>) => {
    const url = c.req.url;
    const queryStart = url.indexOf('?');
    const pathname = c.req.path;
    await forward(options, c.env.incoming, c.env.outgoing, {
      route: kind,
      path: pathname.replace(/^\/v1\/?/, ''),
      query: queryStart === -1 ? '' : url.slice(queryStart + 1),
      arrival: c.get('arrival'),
      telemetry: c.get('rt'),
    });
    return RESPONSE_ALREADY_SENT;
  };

  app.post('/v1/responses', route('responses'));
  app.post('/v1/responses/compact', route('compact'));
  app.post('/v1/chat/completions', route('chat'));
  app.all('/v1/*', route('passthrough'));

  app.notFound((c) => jsonError(c, 404, 'not_found', `Invalid URL (${c.req.method} ${c.req.path})`));
  app.onError((_error, c) => jsonError(c, 500, 'internal_error', 'internal error'));
  return app;
}
