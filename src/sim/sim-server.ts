import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeContent } from '../util/decode-content.js';
import { waitForDrain } from '../util/wait-for-drain.js';
import { DEFAULT_SIM_OPTIONS, parseSimFault, type SimFault, type SimOptions } from './sim-options.js';
import {
  chatChunk,
  chatCompletion,
  chatUsageChunk,
  modelList,
  responseObject,
  responsesEvents,
  simDelta,
  simIds,
  simUsage,
  type SimTurn,
} from './sim-payloads.js';

/** One request the simulator served, as `GET /__sim/log` lists it. */
export interface SimLogEntry {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly bodyBytes: number;
  readonly model: string | undefined;
  /** ms since the simulator started. */
  readonly startedAt: number;
  endedAt?: number;
  /** The caller closed the connection before the response was complete. */
  abortedByCaller?: boolean;
  /** Events (frames) written. */
  framesSent: number;
  /** The fault injected into this request, if any (`status`, `reset`, …). */
  fault?: SimFault['kind'];
  /** `http`, or `websocket` for a request frame on a Responses WebSocket. */
  transport: 'http' | 'websocket';
  /** WebSocket: which connection (0-based), its lane (`stream_id`), the frame type, `previous_response_id` and `generate`. */
  connection?: number;
  streamId?: string;
  frameType?: string;
  previousResponseId?: string;
  generate?: boolean;
}

/** A running simulator. */
export interface Sim {
  /** `http://127.0.0.1:<port>`; the OpenAI-compatible base URL is `${url}/v1`. */
  readonly url: string;
  readonly log: SimLogEntry[];
  readonly server: Server;
  close(): Promise<void>;
}

const encoder = new TextEncoder();

let stamping = false;

/** The event as JSON, with its monotonic send time when stamping. */
function eventJson(event: Record<string, unknown>): string {
  return stamping ? JSON.stringify({ ...event, t_ns: process.hrtime.bigint().toString() }) : JSON.stringify(event);
}

function sseFrame(event: Record<string, unknown>, named: boolean): string {
  return named ? `event: ${String(event['type'])}\ndata: ${eventJson(event)}\n\n` : `data: ${eventJson(event)}\n\n`;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const bytes = encoder.encode(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.length, 'x-request-id': 'req_sim' });
  res.end(bytes);
}

function errorBody(status: number, message: string): Record<string, unknown> {
  const type = status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return { error: { message, type, param: null, code: status === 429 ? 'rate_limit_exceeded' : null } };
}

/** What the real API rejects with a 400: a non-object body or fields of the wrong type. */
function invalidField(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'The body must be a JSON object.';
  const b = body as Record<string, unknown>;
  if (b['model'] !== undefined && typeof b['model'] !== 'string') return "Invalid type for 'model': expected a string.";
  if (b['stream'] !== undefined && typeof b['stream'] !== 'boolean') return "Invalid type for 'stream': expected a boolean.";
  const input = b['input'];
  if (input !== undefined && typeof input !== 'string' && !Array.isArray(input)) return "Invalid type for 'input': expected a string or an array.";
  if (Array.isArray(input) && !input.every((item) => item !== null && typeof item === 'object' && !Array.isArray(item))) return "Invalid 'input': each item must be an object.";
  if (b['messages'] !== undefined && !Array.isArray(b['messages'])) return "Invalid type for 'messages': expected an array.";
  return undefined;
}

const wait = (ms: number): Promise<void> => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

function headerNumber(req: IncomingMessage, name: string, fallback: number): number {
  const raw = req.headers[name];
  const value = typeof raw === 'string' ? Number(raw) : Number.NaN;
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}

/** Starts the simulated upstream on `host:port` (default 127.0.0.1, port 0). */
export async function startSim(options: Partial<SimOptions> = {}, listen: { host?: string; port?: number } = {}): Promise<Sim> {
  const config: SimOptions = { ...DEFAULT_SIM_OPTIONS, ...options };
  stamping = config.stamp;
  const log: SimLogEntry[] = [];
  const faultCounts = new Map<string, number>();
  /** Keeps the log bounded on long runs (benchmarks): the oldest half goes past 20,000 entries. */
  const record = (entry: SimLogEntry): void => {
    if (log.length >= 20_000) log.splice(0, 10_000);
    log.push(entry);
  };
  const sockets = new Set<Socket>();
  const started = performance.now();

  function takeFault(req: IncomingMessage): SimFault | undefined {
    const header = req.headers['x-sim-fault'];
    if (typeof header !== 'string') return undefined;
    const parsed = parseSimFault(header);
    if (!parsed) return undefined;
    const seen = faultCounts.get(header) ?? 0;
    faultCounts.set(header, seen + 1);
    return seen < parsed.times && (seen + 1) % parsed.every === 0 ? parsed.fault : undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = url.pathname.replace(/\/+$/, '');
    if (req.method === 'GET' && path === '/__sim/log') return sendJson(res, 200, log);
    if (req.method === 'GET' && path === '/__sim/stats') {
      const cpu = process.cpuUsage();
      return sendJson(res, 200, { cpuMs: (cpu.user + cpu.system) / 1000, eventLoopUtilization: performance.eventLoopUtilization().utilization, requests: log.length });
    }
    let body: Record<string, unknown> = {};
    if (raw.length > 0) {
      try {
        const decoded = decodeContent(raw, req.headers['content-encoding'] as string | undefined);
        body = JSON.parse(Buffer.from(decoded).toString('utf8')) as Record<string, unknown>;
      } catch {
        return sendJson(res, 400, errorBody(400, 'We could not parse the JSON body of your request.'));
      }
    }
    const invalid = invalidField(body);
    if (invalid !== undefined && req.method === 'POST') return sendJson(res, 400, { error: { message: invalid, type: 'invalid_request_error', param: null, code: 'invalid_type' } });
    const model = typeof body['model'] === 'string' ? body['model'] : undefined;
    const entry: SimLogEntry = { method: req.method ?? '', path: url.pathname + url.search, headers: req.headers, bodyBytes: raw.length, model, startedAt: performance.now() - started, framesSent: 0, transport: 'http' };
    record(entry);
    res.once('close', () => {
      entry.endedAt = performance.now() - started;
      if (!res.writableFinished && entry.fault !== 'reset') entry.abortedByCaller = true;
    });
    const fault = takeFault(req);
    if (fault) entry.fault = fault.kind;
    if (fault?.kind === 'slow-head') await wait(fault.ms);
    if (fault?.kind === 'status') return sendJson(res, fault.status, errorBody(fault.status, `simulated ${fault.status}`));
    if (fault?.kind === 'reset' && fault.after === 0) {
      req.socket.destroy();
      return;
    }
    const events = headerNumber(req, 'x-sim-events', config.events);
    const turn: SimTurn = { ids: simIds(raw), model: model ?? 'gpt-5.1-codex', events, usage: simUsage(raw.length, events, config.usage) };
    const timing = { ttfbMs: headerNumber(req, 'x-sim-ttfb-ms', config.ttfbMs), gapMs: headerNumber(req, 'x-sim-gap-ms', config.gapMs) };

    if (req.method === 'GET' && path === '/v1/models') return sendJson(res, 200, modelList());
    if (req.method !== 'POST') return sendJson(res, 404, errorBody(404, `Invalid URL (${req.method} ${url.pathname})`));
    await wait(timing.ttfbMs);
    if (path === '/v1/responses/compact') {
      return sendJson(res, 200, { output: [{ type: 'compaction', encrypted_content: `sim-${turn.ids.response}` }] });
    }
    if (path === '/v1/responses') {
      if (body['stream'] !== true) return sendJson(res, 200, responseObject(turn, 'completed'));
      const script = responsesEvents(turn);
      const frames: (() => string)[] = [];
      let seq = script.head.length;
      for (const e of script.head) frames.push(() => sseFrame(e, true));
      for (let i = 0; i < turn.events; i++) {
        const s = seq++;
        frames.push(() => sseFrame(script.delta(i, s), true));
      }
      for (const e of script.tail(seq)) frames.push(() => sseFrame(e, true));
      return stream(res, req, entry, frames, timing.gapMs, fault, script.head.length);
    }
    if (path === '/v1/chat/completions') {
      if (body['stream'] !== true) return sendJson(res, 200, chatCompletion(turn));
      const streamOptions = body['stream_options'] as { include_usage?: unknown } | undefined;
      const includeUsage = streamOptions?.include_usage === true;
      const frames: (() => string)[] = [() => sseFrame(chatChunk(turn, { role: 'assistant', content: '', refusal: null }, null, includeUsage), false)];
      for (let i = 0; i < turn.events; i++) frames.push(() => sseFrame(chatChunk(turn, { content: simDelta(i) }, null, includeUsage), false));
      frames.push(() => sseFrame(chatChunk(turn, {}, 'stop', includeUsage), false));
      if (includeUsage) frames.push(() => sseFrame(chatUsageChunk(turn), false));
      frames.push(() => 'data: [DONE]\n\n');
      return stream(res, req, entry, frames, timing.gapMs, fault, 1);
    }
    return sendJson(res, 404, errorBody(404, `Invalid URL (${req.method} ${url.pathname})`));
  }

  /** Writes SSE frames; the gap applies between the streamed deltas, which start at `firstDelta`. */
  async function stream(
    res: ServerResponse,
    req: IncomingMessage,
    entry: SimLogEntry,
    frames: readonly (() => string)[],
    gapMs: number,
    fault: SimFault | undefined,
    firstDelta: number,
  ): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': 'req_sim' });
    res.flushHeaders();
    for (let i = 0; i < frames.length; i++) {
      if (res.destroyed) return;
      if (fault && fault.kind !== 'slow-head' && fault.kind !== 'status' && fault.after === i) {
        if (fault.kind === 'reset') {
          // Let what was written reach the socket first, then cut the connection.
          await new Promise<void>((resolve) => res.write('', () => resolve()));
          req.socket.destroy();
          return;
        }
        if (fault.kind === 'stall') return; // keep the connection open, send nothing more
        res.write('data: {"type":"response.output_text.delta","delta":\n\n');
      }
      if (gapMs > 0 && i > firstDelta) await wait(gapMs);
      // Respect back-pressure as a real upstream's TCP stack would.
      if (!res.write((frames[i] as () => string)())) await waitForDrain(res);
      entry.framesSent++;
    }
    res.end();
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch(() => res.destroy());
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
  let connections = 0;
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://sim').pathname;
    if (path !== '/v1/responses' || !config.websocket || req.headers['x-sim-websocket'] === 'refuse') {
      const status = path !== '/v1/responses' ? '404 Not Found' : '426 Upgrade Required';
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveWebSocket(ws, req, connections++));
  });

  /**
   * A Responses WebSocket: each `response.create` / `response.append` gets one streamed response.
   * Lanes as the API has them: a frame's `stream_id` picks its lane (none: the default lane), each
   * lane answers its requests in order, different lanes at the same time (their events interleave),
   * and every event of a lane's response carries its `stream_id`.
   */
  function serveWebSocket(ws: WebSocket, req: IncomingMessage, connection: number): void {
    const chains = new Map<string | undefined, Promise<void>>();
    const busy = { lanes: 0 };
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      let frame: Record<string, unknown> | undefined;
      try {
        const parsed: unknown = JSON.parse(data.toString('utf8'));
        frame = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
      } catch {
        frame = undefined;
      }
      const lane = typeof frame?.['stream_id'] === 'string' ? frame['stream_id'] : undefined;
      const before = chains.get(lane) ?? Promise.resolve();
      const next = before.then(async () => {
        busy.lanes++;
        try {
          await answerFrame(ws, req, connection, data, isBinary, frame, lane, busy);
        } finally {
          busy.lanes--;
        }
      });
      const chained = next.catch(() => ws.terminate());
      chains.set(lane, chained);
      void chained.then(() => {
        if (chains.get(lane) === chained) chains.delete(lane);
      });
    });
  }

  async function answerFrame(
    ws: WebSocket,
    req: IncomingMessage,
    connection: number,
    data: Buffer,
    isBinary: boolean,
    frame: Record<string, unknown> | undefined,
    lane: string | undefined,
    busy: { readonly lanes: number },
  ): Promise<void> {
    const send = (event: Record<string, unknown>): void => ws.send(eventJson(lane === undefined ? event : { ...event, stream_id: lane }));
    if (frame === undefined) {
      send({ type: 'error', status: 400, error: { type: 'invalid_request_error', message: 'invalid JSON frame', code: 'invalid_json' } });
      return;
    }
    if (isBinary || (frame['type'] !== 'response.create' && frame['type'] !== 'response.append')) {
      send({ type: 'error', status: 400, error: { type: 'invalid_request_error', message: `unsupported frame type ${String(frame['type'])}`, code: 'unknown_event' } });
      return;
    }
    const generate = frame['generate'] !== false;
    const model = typeof frame['model'] === 'string' ? frame['model'] : undefined;
    const entry: SimLogEntry = {
      method: 'WS',
      path: '/v1/responses',
      headers: req.headers,
      bodyBytes: data.length,
      model,
      startedAt: performance.now() - started,
      framesSent: 0,
      transport: 'websocket',
      connection,
      ...(lane === undefined ? {} : { streamId: lane }),
      frameType: String(frame['type']),
      ...(typeof frame['previous_response_id'] === 'string' ? { previousResponseId: frame['previous_response_id'] } : {}),
      generate,
    };
    record(entry);
    const events = generate ? headerNumber(req, 'x-sim-events', config.events) : 0;
    const usage = generate ? simUsage(data.length, events, config.usage) : { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, reasoningTokens: 0 };
    const turn: SimTurn = { ids: simIds(data), model: model ?? 'gpt-5.1-codex', events, usage };
    const gapMs = headerNumber(req, 'x-sim-gap-ms', config.gapMs);
    await wait(headerNumber(req, 'x-sim-ttfb-ms', config.ttfbMs));
    const script = responsesEvents(turn);
    const out: Record<string, unknown>[] = generate ? [...script.head] : [script.head[0] as Record<string, unknown>];
    let seq = out.length;
    for (let i = 0; i < events; i++) out.push(script.delta(i, seq++));
    out.push(...(generate ? script.tail(seq) : script.tail(seq).slice(-1)));
    for (let i = 0; i < out.length; i++) {
      if (ws.readyState !== ws.OPEN) return;
      if (gapMs > 0 && i > 4) await wait(gapMs);
      // With other lanes answering too, a turn of the event loop between events lets theirs in.
      else if (busy.lanes > 1) await new Promise<void>((resolve) => setImmediate(resolve));
      if (ws.readyState !== ws.OPEN) return;
      send(out[i] as Record<string, unknown>);
      entry.framesSent++;
    }
    entry.endedAt = performance.now() - started;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port ?? 0, listen.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    log,
    server,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
