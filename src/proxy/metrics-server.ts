import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccessKey, MISSING_KEY_MESSAGE } from './access-key.js';
import { errorBody } from './proxy-error.js';

/** A `/metrics` endpoint on its own port. */
export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `GET /metrics` with `handler`, enforcing the access key when one is set. */
export async function startMetricsServer(options: {
  host: string;
  port: number;
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  accessKey?: string;
}): Promise<MetricsServer> {
  const accessKey = new AccessKey(options.accessKey);
  const server: Server = createServer((req, res) => {
    if (!accessKey.admits(req.headers, true)) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(errorBody(401, 'missing_access_key', MISSING_KEY_MESSAGE));
      return;
    }
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(errorBody(404, 'not_found', `Invalid URL (${req.method} ${req.url})`));
      return;
    }
    options.handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
