import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import { ModelClientError } from '../client/errors.js';
import type { ResponseItem } from '../client/events.js';
import { parseSseFields } from '../client/sse.js';
import type { RequestTelemetry, TurnTelemetry } from '../telemetry/proxy-telemetry.js';
import { WS_HIGH_WATER_BYTES } from './websocket-high-water.js';
import { callerSender, WebSocketSink } from './websocket-sink.js';
import type { UpgradeContext } from './websocket-upgrade.js';
import { turnStart } from './websocket-turns.js';

type Obj = Record<string, unknown>;

function asItems(input: unknown): ResponseItem[] {
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: input }] }];
  return Array.isArray(input) ? (input as ResponseItem[]) : [];
}

function errorFrame(status: number, message: string, code: string, lane?: string): string {
  return JSON.stringify({ type: 'error', status, error: { type: status >= 500 ? 'server_error' : 'invalid_request_error', code, message }, ...(lane === undefined ? {} : { stream_id: lane }) });
}

/**
 * An event's JSON with its lane's `stream_id` added (as the API echoes it), without parsing it:
 * the field goes before the closing brace. Unchanged for the default lane or a non-object.
 */
export function withStreamId(json: string, lane: string | undefined): string {
  if (lane === undefined) return json;
  const end = json.trimEnd();
  if (!end.endsWith('}') || !json.trimStart().startsWith('{')) return json;
  const body = end.slice(0, -1);
  const empty = body.trimEnd().endsWith('{');
  return `${body}${empty ? '' : ','}"stream_id":${JSON.stringify(lane)}}`;
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
 * Frames a bridged connection holds unanswered, the turns in progress included, over all its lanes
 * (8). Codex sends one `response.create` at a time (a prewarm just before at most); a frame beyond
 * this is answered with a 429 `too_many_pending_turns` error frame and dropped, so a caller cannot
 * queue without bound.
 */
export const BRIDGE_MAX_PENDING_TURNS = 8;

/**
 * `--ws-bridge`: serves a Responses WebSocket caller from an upstream that only speaks HTTP. Each
 * `response.create` (or v1 `response.append`) becomes a streamed `POST /responses`, and each SSE
 * event's data a text frame. Because an HTTP upstream may not store responses, the bridge keeps
 * the full history (input plus output items) of the last {@link BRIDGE_HISTORY} responses of the
 * connection and expands `previous_response_id` into it (an id it no longer or never held gets
 * OpenAI's `previous_response_not_found`); a `generate: false` prewarm is answered without a call.
 * Lanes are the API's: a frame's `stream_id` picks its lane (none: the default lane), each lane's
 * turns run one at a time in order, different lanes concurrently, and every event of a lane's turn
 * carries its `stream_id`. At most {@link BRIDGE_MAX_PENDING_TURNS} frames are held; while the
 * caller's send queue is over {@link WS_HIGH_WATER_BYTES} the bridge stops reading both the
 * upstreams' streams and the caller's frames.
 */
export function bridgeToHttp(ctx: UpgradeContext, req: IncomingMessage, caller: WebSocket, rt: RequestTelemetry): void {
  const controller = new AbortController();
  const untrack = ctx.track(controller);
  const history = new Map<string, ResponseItem[]>();
  // `response.append` continues the lane's last response.
  const lastIds = new Map<string | undefined, string>();
  let warmups = 0;
  // Per lane, the frames received and not yet answered (the one being answered first).
  const lanes = new Map<string | undefined, Buffer[]>();
  let held = 0;
  const open = new Set<TurnTelemetry>();
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

  /** Answers one frame of `lane`; its turn's telemetry is ended here, however it ends. */
  const turn = async (data: Buffer, lane: string | undefined): Promise<void> => {
    let frame: Obj;
    try {
      frame = JSON.parse(data.toString('utf8')) as Obj;
    } catch {
      send(errorFrame(400, 'invalid JSON frame', 'invalid_json'));
      return;
    }
    const type = frame['type'];
    if (type !== 'response.create' && type !== 'response.append') {
      send(errorFrame(400, `unsupported frame type ${String(type)}`, 'unknown_event', lane));
      return;
    }
    const previous = type === 'response.append' ? lastIds.get(lane) : typeof frame['previous_response_id'] === 'string' ? frame['previous_response_id'] : undefined;
    const before = previous === undefined ? [] : history.get(previous);
    if (before === undefined) {
      send(errorFrame(400, `Previous response with id '${String(previous)}' not found.`, 'previous_response_not_found', lane));
      return;
    }
    const input = [...before, ...asItems(frame['input'])];
    const start = turnStart(req.headers, data, ctx.upstream, rt.allEvents === true);
    if (start === undefined) return;
    const tt = rt.startTurn(start.info);
    open.add(tt);
    const endTurn = (errorType?: string): void => {
      open.delete(tt);
      tt.end(errorType);
    };
    let written = false;
    /** Sends one of this turn's events (with the lane's id) to the caller. */
    const sendEvent = (json: string, readAt: number): boolean => {
      const room = send(withStreamId(json, lane), readAt);
      tt.onChunk(readAt);
      if (!written) {
        written = true;
        tt.onWrite(readAt);
      }
      return room;
    };
    if (frame['generate'] === false) {
      const id = `resp_bridge_warmup_${++warmups}`;
      remember(id, input);
      lastIds.set(lane, id);
      const response = { id, object: 'response', status: 'completed', model: frame['model'], output: [], usage: null };
      sendEvent(JSON.stringify({ type: 'response.created', sequence_number: 0, response: { ...response, status: 'in_progress' } }), performance.now());
      sendEvent(JSON.stringify({ type: 'response.completed', sequence_number: 1, response }), performance.now());
      endTurn();
      return;
    }
    const { type: _t, generate: _g, previous_response_id: _p, client_metadata: _c, stream_id: _s, ...rest } = frame;
    const body = { ...rest, input, stream: true };
    const stream = ctx.client.newSession().stream({ raw: { path: 'responses', headers, body } }, { telemetry: rt.hooks, signal: controller.signal });
    const output: ResponseItem[] = [];
    try {
      await stream.head();
      for await (const event of stream) {
        if (event.type === 'output_item_done') output.push(event.item);
        if (event.type !== 'raw' && event.type !== 'reconnecting') tt.onEvent(event);
        const raw = (event as { raw?: Uint8Array }).raw;
        if (raw === undefined) continue;
        const sse = parseSseFields(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
        if (sse === undefined || sse.data.trim() === '[DONE]') continue;
        const room = sendEvent(sse.data, performance.now());
        if (event.type === 'completed' && event.responseId !== '') {
          remember(event.responseId, [...input, ...output]);
          lastIds.set(lane, event.responseId);
        }
        // Back-pressure: the upstream's body is not read on (undici holds it) until the caller drained.
        if (!room) await toCaller.drain();
      }
      endTurn();
    } catch (error) {
      // The connection is over: its close ended this turn (`aborted`).
      if (controller.signal.aborted) return;
      const err = error instanceof ModelClientError ? error : undefined;
      if (err?.source !== 'upstream_event') {
        const status = err?.upstream?.status ?? err?.status ?? 502;
        send(errorFrame(status, upstreamMessage(err) ?? err?.message ?? 'bridge failed', err?.kind ?? 'internal_error', lane));
      }
      endTurn(err === undefined ? 'internal_error' : err.upstream === undefined ? err.kind : String(err.upstream.status));
    }
  };

  // Set once the drain closes while frames are unanswered: the connection closes after the last one.
  let closeWhenIdle = false;
  /** Answers `lane`'s frames in order until its queue is empty. */
  const pump = async (lane: string | undefined, queue: Buffer[]): Promise<void> => {
    try {
      for (let data = queue[0]; data !== undefined && !controller.signal.aborted; data = queue[0]) {
        await turn(data, lane);
        queue.shift();
        held--;
        if (closeWhenIdle && held === 0) goAway();
      }
    } finally {
      if (lanes.get(lane) === queue) lanes.delete(lane);
    }
  };
  caller.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) {
      caller.close(1003, 'binary frames are not supported');
      return;
    }
    const buffer = data as Buffer;
    // Only a lane id is read here (the frame is parsed again when its turn comes): a bad frame is answered in the default lane.
    let lane: string | undefined;
    try {
      const id = (JSON.parse(buffer.toString('utf8')) as { stream_id?: unknown } | null)?.stream_id;
      lane = typeof id === 'string' ? id : undefined;
    } catch {
      lane = undefined;
    }
    if (held >= BRIDGE_MAX_PENDING_TURNS) {
      send(errorFrame(429, `Too many pending requests on this connection (at most ${BRIDGE_MAX_PENDING_TURNS}); wait for a response before sending more.`, 'too_many_pending_turns', lane));
      return;
    }
    held++;
    const queue = lanes.get(lane);
    if (queue !== undefined) {
      queue.push(buffer);
      return;
    }
    const fresh = [buffer];
    lanes.set(lane, fresh);
    pump(lane, fresh).catch((error: unknown) => {
      // A fault of the bridge itself: the caller learns the connection is unusable, the process lives on.
      ctx.log?.(`ws bridge failed: ${error instanceof Error ? error.message : String(error)}`);
      caller.close(1011, 'internal error');
    });
  });
  // `ws` reports a bad or oversized frame here (and closes with 1002/1009); without a listener it would throw.
  caller.on('error', () => undefined);
  /** The caller left, or modeltap shut down, before these turns' terminal events: `aborted`. */
  const abortTurns = (): void => {
    if (open.size === 0) return;
    for (const tt of open) tt.end('aborted');
    open.clear();
    rt.onError('aborted');
  };
  /** modeltap ends the connection: turns still open were cut short by it. */
  const goAway = (): void => {
    abortTurns();
    toCaller.close();
    caller.close(1001, 'modeltap is shutting down');
  };
  // Shutdown after the grace period.
  controller.signal.addEventListener('abort', goAway);
  // A drain closes an idle connection now and a busy one after its last answer (as the relay does).
  const stopWatchingDrain = ctx.drain.onClose(() => {
    if (held === 0) goAway();
    else closeWhenIdle = true;
  });
  caller.on('close', () => {
    stopWatchingDrain();
    lanes.clear();
    abortTurns();
    controller.abort();
    toCaller.close();
    untrack();
    rt.end({ statusCode: 101 });
  });
}
