import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AccessKey, MISSING_KEY_MESSAGE } from './access-key.js';
import { errorBody } from './proxy-error.js';
import { ConfigError, isLoopback } from './server.js';
import { exchangeKey, isViewPath, serveView, type StoreApi } from './view-routes.js';

/** A running view of a stored database (`modeltap view`). */
export interface ViewServer {
  /** `http://host:port` */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves the live view and the store's JSON API over `storeApi` without proxying anything
 * (`modeltap view PATH`): the same page, routes and access rules as `modeltap serve`'s view,
 * with nothing arriving live. Beyond loopback it needs an access key, as the proxy does.
 */
export async function startViewServer(options: { readonly host: string; readonly port: number; readonly accessKey?: string; readonly storeApi: StoreApi; readonly traceUrl?: string }): Promise<ViewServer> {
  if (!isLoopback(options.host) && options.accessKey === undefined) {
    throw new ConfigError(`refusing to serve the view on ${options.host} without an access key: set --access-key (or MODELTAP_ACCESS_KEY), or listen on 127.0.0.1.`);
  }
  const accessKey = new AccessKey(options.accessKey);
  const view = { storeApi: options.storeApi, ...(options.traceUrl === undefined ? {} : { traceUrl: options.traceUrl }) };
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q + 1);
    const json = (status: 401 | 404, code: string, message: string): void => {
      const body = errorBody(status, code, message);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    };
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (!isViewPath(path)) return json(404, 'not_found', `Invalid URL (${req.method} ${path}): this is a view of a stored database; nothing is proxied`);
    if (accessKey.required && exchangeKey(accessKey, req, res, path, query)) return;
    if (!accessKey.admits(req.headers, false, true)) return json(401, 'missing_access_key', MISSING_KEY_MESSAGE);
    serveView(req, res, path, query, view);
  });
  server.on('clientError', (_error, socket: Socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
