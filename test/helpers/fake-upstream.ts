import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request the fake upstream received. */
export interface RecordedCall {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  /** Resolves when the caller's connection closed or the response finished. */
  readonly closed: Promise<void>;
}

/** Answers one request. */
export type Handler = (req: IncomingMessage, res: ServerResponse, call: RecordedCall) => void | Promise<void>;

/** A scripted HTTP server on 127.0.0.1, port 0: handler N answers request N (the last one repeats). */
export interface FakeUpstream {
  readonly url: string;
  readonly calls: RecordedCall[];
  close(): Promise<void>;
}

export async function startFakeUpstream(handlers: Handler | readonly Handler[]): Promise<FakeUpstream> {
  const list = Array.isArray(handlers) ? handlers : [handlers];
  const calls: RecordedCall[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const closed = new Promise<void>((resolve) => {
        res.once('close', () => resolve());
      });
      const call: RecordedCall = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), closed };
      const index = calls.length;
      calls.push(call);
      const handler = list[Math.min(index, list.length - 1)];
      if (handler === undefined) throw new Error('no handler');
      void Promise.resolve(handler(req, res, call)).catch((error: unknown) => {
        res.destroy(error as Error);
      });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An SSE frame for a JSON event, with an `event:` line naming its type. */
export function frame(data: Record<string, unknown>, eventName = String(data['type'])): string {
  return `event: ${eventName}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Writes an SSE response: `body` whole, or frames one write each; `end: false` leaves it open. */
export function sse(
  body: string | readonly string[],
  options: { headers?: Record<string, string>; end?: boolean; gapMs?: number } = {},
): Handler {
  return async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', ...options.headers });
    res.flushHeaders();
    const parts = typeof body === 'string' ? [body] : body;
    for (const part of parts) {
      if (res.destroyed) return;
      res.write(part);
      if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
    }
    if (options.end !== false) res.end();
  };
}

/** A JSON response. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
}

/** Destroys the connection without answering (a network error for the client). */
/** An SSE answer that writes `body` in `size`-byte pieces, all at once (the socket coalesces them as TCP would); `end`: then ends it. */
export function pieces(body: Buffer, size: number, end = true): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < body.length; i += size) res.write(body.subarray(i, i + size));
    if (end) res.end();
  };
}

export const reset: Handler = (req) => {
  req.socket.destroy();
};

/** A `response.completed` frame with an id and optional usage. */
export function completed(id = 'resp_1', usage?: Record<string, unknown>): string {
  return frame({ type: 'response.completed', response: usage === undefined ? { id } : { id, usage } });
}

/** A plain assistant message item. */
export function assistantMessage(text: string, id?: string): Record<string, unknown> {
  return {
    type: 'message',
    role: 'assistant',
    ...(id === undefined ? {} : { id }),
    content: [{ type: 'output_text', text }],
  };
}

/** A user message item. */
export function userMessage(text: string): { type: string } & Record<string, unknown> {
  return { type: 'message', role: 'user', content: [{ type: 'input_text', text }] };
}

/** Starts upstreams that `closeAll()` stops: for tests that need several at once. */
export function upstreamPool(): { start: typeof startFakeUpstream; closeAll: () => Promise<void> } {
  const servers: FakeUpstream[] = [];
  return {
    start: async (handlers) => {
      const server = await startFakeUpstream(handlers);
      servers.push(server);
      return server;
    },
    closeAll: async () => {
      await Promise.all(servers.splice(0).map((s) => s.close()));
    },
  };
}
