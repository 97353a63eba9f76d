// Back-pressure on the Responses WebSocket, measured on the built `modeltap serve` (a child
// process, so the RSS is modeltap's own): a caller that stops reading while the upstream sends up
// to 200 MB as fast as the upstream's own buffer allows. modeltap must stop reading the upstream
// instead of holding what the caller does not take: its RSS stays within 64 MB of where it started,
// and the upstream is held back before it sent everything.
import { readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { startCli, type RunningCli } from './cli.js';

const TOTAL_BYTES = 200 * 1024 * 1024;
const RSS_BOUND = 64 * 1024 * 1024;
// The upstream sends while its own queue is below this.
const UPSTREAM_WINDOW = 1024 * 1024;
// One relayed frame: a text delta of about 64 KiB, as the Responses API sends them.
const DELTA = JSON.stringify({ type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'x'.repeat(64 * 1024) });
// The answer to the first request of a connection: a warm-up, so that what modeltap allocates once
// (the client, the upstream pool, compiled code) is in the RSS before the measurement starts.
const WARM_UP = [
  JSON.stringify({ type: 'response.created', response: { id: 'resp_warm', status: 'in_progress' } }),
  JSON.stringify({ type: 'response.completed', response: { id: 'resp_warm', status: 'completed', output: [] } }),
];

let cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

/** How far a sender got: the bytes it handed to its socket. */
interface Sender {
  sent: number;
}

async function listen(server: Server): Promise<string> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * Sends DELTA frames to `ws` until TOTAL_BYTES, never more than UPSTREAM_WINDOW queued (its own
 * back-pressure); the returned function goes on, from each send's callback.
 */
function flooder(ws: WebSocket, sender: Sender): () => void {
  let pumping = false;
  const pump = (): void => {
    if (pumping) return;
    pumping = true;
    while (sender.sent < TOTAL_BYTES && ws.readyState === WebSocket.OPEN && ws.bufferedAmount < UPSTREAM_WINDOW) {
      ws.send(DELTA, pump);
      sender.sent += DELTA.length;
    }
    pumping = false;
  };
  return pump;
}

/** A WebSocket upstream that answers a connection's first frame with {@link WARM_UP}, its second with deltas up to TOTAL_BYTES. */
async function wsUpstream(sender: Sender): Promise<string> {
  const { server } = wsServer((ws) => {
    const pump = flooder(ws, sender);
    ws.once('message', () => {
      for (const f of WARM_UP) ws.send(f);
      ws.once('message', pump);
    });
  });
  return `${await listen(server)}/v1`;
}

/** A server that upgrades every request to a WebSocket and hands each socket, error listeners on, to `onSocket`. */
function wsServer(onSocket: (ws: WebSocket) => void): { server: Server; wss: WebSocketServer } {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => undefined);
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => undefined);
      onSocket(ws);
    });
  });
  return { server, wss };
}

/** An HTTP upstream: the first `POST /v1/responses` gets {@link WARM_UP}, the next SSE deltas up to TOTAL_BYTES, honouring `drain`. */
async function sseUpstream(sender: Sender): Promise<string> {
  const event = `event: response.output_text.delta\ndata: ${DELTA}\n\n`;
  let requests = 0;
  const server = createServer((req, res: ServerResponse) => {
    req.resume().on('end', () => {
      res.on('error', () => undefined);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (requests++ === 0) {
        res.end(WARM_UP.map((data) => `event: ${(JSON.parse(data) as { type: string }).type}\ndata: ${data}\n\n`).join(''));
        return;
      }
      const pump = (): void => {
        while (sender.sent < TOTAL_BYTES && !res.destroyed) {
          sender.sent += event.length;
          if (!res.write(event)) {
            res.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
  });
  return `${await listen(server)}/v1`;
}

async function serve(args: string[]): Promise<RunningCli> {
  const proxy = await startCli(['serve', '--port', '0', ...args]);
  cleanup.push(() => proxy.stop());
  return proxy;
}

/**
 * Connects a caller, has it complete a warm-up turn, stops reading, asks for a response, and follows modeltap's RSS until the
 * upstream sent everything or made no progress for 2 s (it is held back: the bound is the bytes,
 * the 2 s only tell that it will not move again). Returns the RSS growth and the bytes sent.
 */
async function slowReader(proxy: RunningCli, sender: Sender): Promise<{ growth: number; sent: number }> {
  const pid = proxy.proc.pid ?? 0;
  const caller = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`, { headers: { authorization: 'Bearer sk-slow' } });
  caller.on('error', () => undefined);
  cleanup.push(async () => caller.terminate());
  await new Promise<void>((resolve) => caller.once('open', () => resolve()));
  await new Promise<void>((resolve) => {
    caller.on('message', (data) => {
      if (data.toString().includes('"response.completed"')) resolve();
    });
    caller.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.1', input: 'warm up' }));
  });
  const before = rssBytes(pid);
  caller.pause();
  caller.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.1', input: 'a long answer, please' }));
  return { growth: await followRss(pid, sender, before), sent: sender.sent };
}

/** Follows modeltap's RSS until `sender` sent everything or made no progress for 2 s; the growth. */
async function followRss(pid: number, sender: Sender, before: number): Promise<number> {
  let peak = before;
  let last = -1;
  let still = 0;
  for (let i = 0; i < 1200 && sender.sent < TOTAL_BYTES && still < 20; i++) {
    await new Promise((r) => setTimeout(r, 100));
    peak = Math.max(peak, rssBytes(pid));
    still = sender.sent === last ? still + 1 : 0;
    last = sender.sent;
  }
  return Math.max(peak, rssBytes(pid)) - before;
}

describe('a WebSocket caller that stops reading', () => {
  it('relay to a WebSocket upstream: modeltap stops reading the upstream; its RSS stays within 64 MB', { timeout: 180_000 }, async () => {
    const sender: Sender = { sent: 0 };
    const proxy = await serve(['--upstream', await wsUpstream(sender)]);
    const { growth, sent } = await slowReader(proxy, sender);
    expect(growth).toBeLessThan(RSS_BOUND);
    expect(sent).toBeLessThan(TOTAL_BYTES);
    expect(sent).toBeGreaterThan(0);
  });

  it('--ws-bridge to an HTTP upstream: modeltap stops reading the SSE body; its RSS stays within 64 MB', { timeout: 180_000 }, async () => {
    const sender: Sender = { sent: 0 };
    const proxy = await serve(['--ws-bridge', '--upstream', await sseUpstream(sender)]);
    const { growth, sent } = await slowReader(proxy, sender);
    expect(growth).toBeLessThan(RSS_BOUND);
    expect(sent).toBeLessThan(TOTAL_BYTES);
    expect(sent).toBeGreaterThan(0);
  });
});

describe('a WebSocket upstream that stops reading', () => {
  it('the caller sends up to 200 MB: modeltap stops reading the caller; its RSS stays within 64 MB', { timeout: 180_000 }, async () => {
    // The upstream accepts and never reads a frame.
    const { server, wss } = wsServer((ws) => ws.pause());
    const proxy = await serve(['--upstream', `${await listen(server)}/v1`]);
    const pid = proxy.proc.pid ?? 0;
    const caller = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`, { headers: { authorization: 'Bearer sk-slow' }, perMessageDeflate: false });
    caller.on('error', () => undefined);
    // modeltap reads the caller only once the upstream drains: the upstream leaving ends the connection.
    cleanup.push(async () => {
      for (const ws of wss.clients) ws.terminate();
      caller.terminate();
    });
    await new Promise<void>((resolve) => caller.once('open', () => resolve()));
    const before = rssBytes(pid);
    const sender: Sender = { sent: 0 };
    const pump = flooder(caller, sender);
    pump();
    const growth = await followRss(pid, sender, before);
    expect(growth).toBeLessThan(RSS_BOUND);
    expect(sender.sent).toBeLessThan(TOTAL_BYTES);
    expect(sender.sent).toBeGreaterThan(0);
  });
});
