import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** One WebSocket connection the fake upstream accepted. */
export interface FakeWsConnection {
  readonly headers: IncomingMessage['headers'];
  /** Resolves with the close code when the connection closes. */
  readonly closed: Promise<number>;
  readonly frames: unknown[];
  readonly socket: WebSocket;
}

/** Answers one request frame on a connection: send frames back with `send`. */
export type WsScript = (request: Record<string, unknown>, send: (frame: unknown) => void, connection: FakeWsConnection) => void;

/** A loopback WebSocket server on port 0 that answers each request frame with a script. */
export interface FakeWsUpstream {
  readonly url: string;
  readonly connections: FakeWsConnection[];
  /** Upgrades refused before the handshake, by status. */
  readonly refused: number[];
  close(): Promise<void>;
}

export async function startFakeWsUpstream(
  script: WsScript,
  options: {
    handshakeHeaders?: Record<string, string>;
    refuse?: (attempt: number) => number | undefined;
    http?: (req: IncomingMessage, res: import('node:http').ServerResponse) => void;
  } = {},
): Promise<FakeWsUpstream> {
  const connections: FakeWsConnection[] = [];
  const refused: number[] = [];
  const sockets = new Set<Socket>();
  const wss = new WebSocketServer({ noServer: true });
  wss.on('headers', (headers) => {
    for (const [k, v] of Object.entries(options.handshakeHeaders ?? {})) headers.push(`${k}: ${v}`);
  });
  const server = createServer((req, res) => {
    if (options.http) req.resume().on('end', () => options.http?.(req, res));
    else res.writeHead(404).end();
  });
  let attempts = 0;
  server.on('upgrade', (req, socket, head) => {
    const status = options.refuse?.(attempts++);
    if (status !== undefined) {
      refused.push(status);
      const body = JSON.stringify({ error: { message: `refused with ${status}` } });
      socket.end(`HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      const connection: FakeWsConnection = { headers: req.headers, frames: [], socket: ws, closed };
      connections.push(connection);
      ws.on('message', (data) => {
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(data.toString()) as Record<string, unknown>;
        } catch {
          // Not JSON: recorded as the text that arrived.
          connection.frames.push(data.toString());
          return;
        }
        connection.frames.push(parsed);
        script(parsed, (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)), connection);
      });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections,
    refused,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A script that answers each request with created, one message item, then completed as resp-<n>. */
export function simpleTurns(options: { usage?: Record<string, number>; extra?: unknown[] } = {}): WsScript {
  let n = 0;
  return (_request, send) => {
    n++;
    const id = `resp-${n}`;
    send({ type: 'response.created', response: { id } });
    for (const frame of options.extra ?? []) send(frame);
    send({ type: 'response.output_item.done', item: { type: 'message', role: 'assistant', id: `msg-${n}`, content: [{ type: 'output_text', text: `answer ${n}` }] } });
    send({ type: 'response.completed', response: { id, usage: options.usage ?? { input_tokens: 5, output_tokens: 2, total_tokens: 7 } } });
  };
}
