import { timingSafeEqual } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono, type Context } from 'hono';
import { forward, serverTiming, type ForwardContext, type RouteKind } from './forward.js';
import { errorBody } from './proxy-error.js';

/** Options of {@link createProxyApp}. */
export interface ProxyAppOptions extends ForwardContext {
  /** When set, every request must carry it in `x-modeltap-key`. */
  readonly accessKey?: string;
}

type Env = { Bindings: HttpBindings; Variables: { arrival: number } };

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

  app.use('*', async (c, next) => {
    c.set('arrival', performance.now());
    if (expectedKey !== undefined && !keyMatches(expectedKey, c.req.header('x-modeltap-key'))) {
      c.res = jsonError(c, 401, 'missing_access_key', 'This modeltap requires its access key in the x-modeltap-key header.');
    } else {
      await next();
    }
    if (!c.res.headers.has('x-hono-already-sent')) {
      c.res.headers.set('server-timing', serverTiming(performance.now() - c.get('arrival'), 0));
    }
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  const route = (kind: RouteKind) => async (c: Context<Env>) => {
    const url = c.req.url;
    const queryStart = url.indexOf('?');
    const pathname = c.req.path;
    await forward(options, c.env.incoming, c.env.outgoing, {
      route: kind,
      path: pathname.replace(/^\/v1\/?/, ''),
      query: queryStart === -1 ? '' : url.slice(queryStart + 1),
      arrival: c.get('arrival'),
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
