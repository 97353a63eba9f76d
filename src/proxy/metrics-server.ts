import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  const expected = options.accessKey === undefined ? undefined : Buffer.from(options.accessKey);
  const server: Server = createServer((req, res) => {
    // Prometheus can only send a bearer token: the access key is accepted that way too.
    const bearer = /^Bearer (.+)$/.exec(req.headers['authorization'] ?? '')?.[1];
    const given = req.headers['x-modeltap-key'] ?? bearer;
    const key = typeof given === 'string' ? Buffer.from(given) : undefined;
    if (expected !== undefined && (key === undefined || key.length !== expected.length || !timingSafeEqual(key, expected))) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(errorBody(401, 'missing_access_key', 'This modeltap requires its access key in the x-modeltap-key header.'));
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
