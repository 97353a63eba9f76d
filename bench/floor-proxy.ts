import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { Agent, request, type Dispatcher } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';

// Hop-by-hop headers (RFC 9110 §7.6.1) are not relayed.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);

function strip(headers: IncomingMessage['headers'] | Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) if (!HOP_BY_HOP.has(name) && headers[name] !== undefined) out[name] = headers[name];
  return out;
}

async function relay(upstream: string, agent: Dispatcher, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const controller = new AbortController();
  res.on('close', () => controller.abort());
  const up = await request(`${upstream}${(req.url ?? '/').replace(/^\/v1/, '')}`, {
    method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
    headers: strip(req.headers) as Record<string, string>,
    body: chunks.length === 0 ? null : Buffer.concat(chunks),
    dispatcher: agent,
    signal: controller.signal,
  });
  res.writeHead(up.statusCode, strip(up.headers));
  // As modeltap does: a stream's head at once, any other head with the body's first bytes.
  if (String(up.headers['content-type']).startsWith('text/event-stream')) res.flushHeaders();
  for await (const chunk of up.body) {
    if (!res.write(chunk as Buffer)) await new Promise((resolve) => res.once('drain', resolve));
  }
  res.end();
}

/**
 * The benchmark's "Node floor": the least a relay on the mandated stack can do — `node:http`,
 * undici's `request()` and `ws`, passing bytes through with no routing, parsing, retries or
 * telemetry. It is not modeltap; it shows how much of modeltap's cost is the stack's own.
 */
export function createFloorProxy(upstream: string): Server {
  const agent = new Agent({ keepAliveTimeout: 4_000, connections: 256 });
  const server = createServer((req, res) => {
    relay(upstream, agent, req, res).catch(() => res.destroy());
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const headers = strip(req.headers);
    for (const name of Object.keys(headers)) if (name.startsWith('sec-websocket-')) delete headers[name];
    const up = new WebSocket(`${upstream.replace(/^http/, 'ws')}${(req.url ?? '/').replace(/^\/v1/, '')}`, { headers: headers as Record<string, string>, perMessageDeflate: false });
    up.once('error', () => socket.destroy());
    up.once('open', () =>
      wss.handleUpgrade(req, socket, head, (client) => {
        client.on('message', (data, binary) => up.send(data, { binary }));
        up.on('message', (data, binary) => client.send(data, { binary }));
        client.once('close', () => up.close());
        up.once('close', () => client.close());
      }),
    );
  });
  return server;
}
