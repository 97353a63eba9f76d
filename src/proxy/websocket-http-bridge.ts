import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import { ModelClientError } from '../client/errors.js';
import type { ResponseItem } from '../client/events.js';
import { parseSseFields } from '../client/sse.js';
import type { RequestTelemetry } from '../telemetry/proxy-telemetry.js';
import { WS_HIGH_WATER_BYTES } from './websocket-high-water.js';
import { callerSender, WebSocketSink } from './websocket-sink.js';
import type { UpgradeContext } from './websocket-upgrade.js';
import { turnInfo } from './websocket-turns.js';

type Obj = Record<string, unknown>;

function asItems(input: unknown): ResponseItem[] {
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: input }] }];
  return Array.isArray(input) ? (input as ResponseItem[]) : [];
}

function errorFrame(status: number, message: string, code: string): string {
  return JSON.stringify({ type: 'error', status, error: { type: status >= 500 ? 'server_error' : 'invalid_request_error', code, message } });
}

/** The `error.message` of an upstream error body, if it has one. */
function upstreamMessage(error: ModelClientError | undefined): string | undefined {
  if (error?.upstream === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(error.upstream.body).toString('utf8')) as { error?: { message?: unknown } };
    return typeof parsed.error?.message === 'string' ? parsed.error.message : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Responses whose history the bridge keeps per connection. Codex chains each turn on the one
 * before, so a few are plenty; without a bound a long session would hold every turn's copy of the
 * growing conversation.
 */
export const BRIDGE_HISTORY = 8;

/**
 * Frames a bridged connection holds unanswered, the turn in progress included (8). Codex sends one
 * `response.create` at a time (a prewarm just before at most); a frame beyond this is answered with
 * a 429 `too_many_pending_turns` error frame and dropped, so a caller cannot queue without bound.
 */
export const BRIDGE_MAX_PENDING_TURNS = 8;

/**
 * `--ws-bridge`: serves a Responses WebSocket caller from an upstream that only speaks HTTP. Each
 * `response.create` (or v1 `response.append`) becomes a streamed `POST /responses`, and each SSE
 * event's data a text frame. Because an HTTP upstream may not store responses, the bridge keeps
 * the full history (input plus output items) of the last {@link BRIDGE_HISTORY} responses of the
 * connection and expands `previous_response_id` into it (an id it no longer or never held gets
 * OpenAI's `previous_response_not_found`); a `generate: false` prewarm is answered without a call.
 * Turns run one at a time, at most {@link BRIDGE_MAX_PENDING_TURNS} held; while the caller's send
 * queue is over {@link WS_HIGH_WATER_BYTES} the bridge stops reading both the upstream's stream
 * and the caller's frames.
 */
export function bridgeToHttp(ctx: UpgradeContext, req: IncomingMessage, caller: WebSocket, rt: RequestTelemetry): void {
  const controller = new AbortController();
  const untrack = ctx.track(controller);
  const history = new Map<string, ResponseItem[]>();
  let lastId: string | undefined;
  let warmups = 0;
  // Frames received and not yet started; `running` while one is being answered.
  const pending: Buffer[] = [];
  let running = false;
  const toCaller = new WebSocketSink(callerSender(caller), (readAt) => rt.onWrite(readAt));
  /**
   * Sends a frame to the caller (a relayed one with the time it was read, for telemetry); when the
   * caller's queue is full, stops reading its frames until it drained.
   */
  const send = (data: string, readAt?: number): boolean => {
    const room = toCaller.write(data, false, readAt);
    if (!room) toCaller.hold(caller);
    return room;
  };
  const headers = { ...req.headers };
  delete headers['x-modeltap-key'];
  for (const name of Object.keys(headers)) if (name.startsWith('sec-websocket-')) delete headers[name];
  const remember = (id: string, items: ResponseItem[]): void => {
    history.delete(id);
    history.set(id, items);
    if (history.size > BRIDGE_HISTORY) history.delete(history.keys().next().value as string);
  };

  const turn = async (data: Buffer): Promise<void> => {
    let frame: Obj;
    try {
      frame = JSON.parse(data.toString('utf8')) as Obj;
    } catch {
      send(errorFrame(400, 'invalid JSON frame', 'invalid_json'));
      return;
    }
    const type = frame['type'];
    if (type !== 'response.create' && type !== 'response.append') {
      send(errorFrame(400, `unsupported frame type ${String(type)}`, 'unknown_event'));
      return;
    }
    const previous = type === 'response.append' ? lastId : typeof frame['previous_response_id'] === 'string' ? frame['previous_response_id'] : undefined;
    const before = previous === undefined ? [] : history.get(previous);
    if (before === undefined) {
      send(errorFrame(400, `Previous response with id '${String(previous)}' not found.`, 'previous_response_not_found'));
      return;
    }
    const input = [...before, ...asItems(frame['input'])];
    const info = turnInfo(req.headers, data, ctx.upstream, rt.allEvents === true);
    if (info !== undefined) rt.startTurn(info);
    if (frame['generate'] === false) {
      const id = `resp_bridge_warmup_${++warmups}`;
      remember(id, input);
      lastId = id;
      const response = { id, object: 'response', status: 'completed', model: frame['model'], output: [], usage: null };
      send(JSON.stringify({ type: 'response.created', sequence_number: 0, response: { ...response, status: 'in_progress' } }));
      send(JSON.stringify({ type: 'response.completed', sequence_number: 1, response }));
      rt.endTurn();
      return;
    }
    const { type: _t, generate: _g, previous_response_id: _p, client_metadata: _c, ...rest } = frame;
    const body = { ...rest, input, stream: true };
    const stream = ctx.client.newSession().stream({ raw: { path: 'responses', headers, body } }, { telemetry: rt.hooks, signal: controller.signal });
    const output: ResponseItem[] = [];
    try {
      await stream.head();
      for await (const event of stream) {
        if (event.type === 'output_item_done') output.push(event.item);
        if (event.type !== 'raw' && event.type !== 'reconnecting') rt.onEvent(event);
        const raw = (event as { raw?: Uint8Array }).raw;
        if (raw === undefined) continue;
        const sse = parseSseFields(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
        if (sse === undefined || sse.data.trim() === '[DONE]') continue;
        const room = send(sse.data, performance.now());
        if (event.type === 'completed' && event.responseId !== '') {
          remember(event.responseId, [...input, ...output]);
          lastId = event.responseId;
        }
        // Back-pressure: the upstream's body is not read on (undici holds it) until the caller drained.
        if (!room) await toCaller.drain();
      }
      rt.endTurn();
    } catch (error) {
      if (controller.signal.aborted) return;
      const err = error instanceof ModelClientError ? error : undefined;
      if (err?.source !== 'upstream_event') {
        const status = err?.upstream?.status ?? err?.status ?? 502;
        send(errorFrame(status, upstreamMessage(err) ?? err?.message ?? 'bridge failed', err?.kind ?? 'internal_error'));
      }
      rt.endTurn(err === undefined ? 'internal_error' : err.upstream === undefined ? err.kind : String(err.upstream.status));
    }
  };

  const pump = async (): Promise<void> => {
    running = true;
    try {
      for (let data = pending.shift(); data !== undefined && !controller.signal.aborted; data = pending.shift()) await turn(data);
    } finally {
      running = false;
    }
  };
  caller.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) {
      caller.close(1003, 'binary frames are not supported');
      return;
    }
    if (pending.length + (running ? 1 : 0) >= BRIDGE_MAX_PENDING_TURNS) {
      send(errorFrame(429, `Too many pending requests on this connection (at most ${BRIDGE_MAX_PENDING_TURNS}); wait for a response before sending more.`, 'too_many_pending_turns'));
      return;
    }
    pending.push(data as Buffer);
    if (running) return;
    pump().catch((error: unknown) => {
      // A fault of the bridge itself: the caller learns the connection is unusable, the process lives on.
      ctx.log?.(`ws bridge failed: ${error instanceof Error ? error.message : String(error)}`);
      caller.close(1011, 'internal error');
    });
  });
  // `ws` reports a bad or oversized frame here (and closes with 1002/1009); without a listener it would throw.
  caller.on('error', () => undefined);
  controller.signal.addEventListener('abort', () => {
    toCaller.close();
    caller.close(1001, 'modeltap is shutting down');
  });
  caller.on('close', () => {
    pending.length = 0;
    controller.abort();
    toCaller.close();
    untrack();
    rt.endTurn('aborted');
    rt.end({ statusCode: 101 });
  });
}
