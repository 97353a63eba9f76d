import type { IncomingHttpHeaders } from 'node:http';
import { classifyResponseFailed } from '../client/errors.js';
import { completedFrameEvent } from '../client/events.js';
import { ResponsesFrameMapper } from '../client/responses-mapper.js';
import { errorFromFrame } from '../client/websocket-frames.js';
import type { OperationInfo, TurnTelemetry } from '../telemetry/proxy-telemetry.js';
import { conversationFromHeaders, telemetryBody, threadFromHeaders } from './request-facts.js';

type Obj = Record<string, unknown>;

function parseObject(data: Buffer): Obj | undefined {
  try {
    const parsed: unknown = JSON.parse(data.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Obj) : undefined;
  } catch {
    return undefined;
  }
}

function turnMetadataOf(frame: Obj): Obj | undefined {
  const meta = frame['client_metadata'];
  const text = meta !== null && typeof meta === 'object' ? (meta as Obj)['x-codex-turn-metadata'] : undefined;
  if (typeof text !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' ? (parsed as Obj) : undefined;
  } catch {
    return undefined;
  }
}

/** The operation a parsed caller frame starts, when it is a `response.create` or `response.append`. */
function operationOf(headers: IncomingHttpHeaders, frame: Obj, upstream: { address: string; port: number }, content: boolean): OperationInfo | undefined {
  if (frame['type'] !== 'response.create' && frame['type'] !== 'response.append') return undefined;
  const meta = turnMetadataOf(frame);
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const originator = headers['originator'];
  return {
    apiType: 'responses',
    requestKind: str(meta?.['request_kind']) ?? (frame['generate'] === false ? 'prewarm' : undefined),
    model: str(frame['model']),
    stream: true,
    conversationId: conversationFromHeaders(headers) ?? str(frame['prompt_cache_key']),
    turnId: str(meta?.['turn_id']),
    threadId: threadFromHeaders(headers) ?? str(meta?.['thread_id']),
    parentThreadId: str(meta?.['parent_thread_id']),
    originator: typeof originator === 'string' ? originator : undefined,
    serverAddress: upstream.address,
    serverPort: upstream.port,
    // Like an HTTP body: its parameters, and its content only with content capture on.
    body: telemetryBody(frame, content),
    transport: 'websocket',
  };
}

/** A caller's frame that starts a turn: the operation, and its lane (`stream_id`; undefined: the default lane). */
export interface TurnStart {
  readonly info: OperationInfo;
  readonly lane: string | undefined;
}

/**
 * The turn a caller's frame starts, when it is a `response.create` or `response.append`, with its
 * lane; `content`: keep the frame's content for telemetry (content capture is on).
 */
export function turnStart(headers: IncomingHttpHeaders, data: Buffer, upstream: { address: string; port: number }, content: boolean): TurnStart | undefined {
  // Cheap check first: most caller frames are requests, but only those start a turn.
  if (data.indexOf('response.') === -1) return undefined;
  const frame = parseObject(data);
  if (frame === undefined) return undefined;
  const info = operationOf(headers, frame, upstream, content);
  if (info === undefined) return undefined;
  const lane = frame['stream_id'];
  return { info, lane: typeof lane === 'string' ? lane : undefined };
}

const WATCHED = new Set(['response.created', 'response.output_item.done', 'response.completed', 'response.done', 'response.incomplete', 'response.failed', 'error']);

const STREAM_ID = Buffer.from('"stream_id"');
/** How much of a frame's head and tail is searched for its `stream_id` (1 KiB each). */
const STREAM_ID_WINDOW = 1024;
/** Longest lane id read from an unparsed frame (the SDK allows 256 characters). */
const MAX_STREAM_ID = 256;

/**
 * The `stream_id` of an upstream frame that is not parsed (a delta), by a bounded search: the frame's
 * first and last {@link STREAM_ID_WINDOW} bytes (a lane id sits beside `type` or after the payload,
 * not inside a long text), and a plain string value only. Undefined when not found.
 */
export function findStreamId(data: Buffer): string | undefined {
  const long = data.length > 2 * STREAM_ID_WINDOW + STREAM_ID.length;
  let at = long ? data.subarray(0, STREAM_ID_WINDOW + STREAM_ID.length).indexOf(STREAM_ID) : data.indexOf(STREAM_ID);
  if (at === -1 && long) at = data.indexOf(STREAM_ID, data.length - STREAM_ID_WINDOW - STREAM_ID.length);
  if (at === -1) return undefined;
  let i = at + STREAM_ID.length;
  const space = (c: number | undefined): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
  while (space(data[i])) i++;
  if (data[i] !== 0x3a) return undefined; // ':'
  i++;
  while (space(data[i])) i++;
  if (data[i] !== 0x22) return undefined; // '"'
  const from = i + 1;
  const to = data.indexOf(0x22, from);
  if (to === -1 || to - from > MAX_STREAM_ID) return undefined;
  const value = data.toString('latin1', from, to);
  // An escaped lane id is not one the SDK sends; not guessed at.
  return value.includes('\\') ? undefined : value;
}

/** One open turn of a connection: its lane and its telemetry. */
export interface OpenTurn {
  readonly lane: string | undefined;
  readonly telemetry: TurnTelemetry;
  /** A frame of it was written to the caller. */
  written: boolean;
}

/**
 * The turns of one WebSocket connection, followed by the ids the protocol carries: lanes keyed by
 * `stream_id` (undefined: the default lane), each a FIFO of turns (the API answers a lane's
 * requests in order; different lanes run concurrently, their frames interleaved). An upstream frame
 * belongs to the head of its `stream_id`'s lane; a frame without one to the default lane's head,
 * else the oldest open turn (order, for an upstream that does not echo `stream_id`).
 */
export class TurnTracker {
  readonly #lanes = new Map<string | undefined, OpenTurn[]>();
  /** Every open turn, oldest first. */
  readonly #open: OpenTurn[] = [];
  /** A lane id was seen on this connection: only then are unparsed frames searched for one. */
  #named = false;

  /** Open turns. */
  get size(): number {
    return this.#open.length;
  }

  /** A caller's frame started a turn in `lane`. */
  start(lane: string | undefined, telemetry: TurnTelemetry): void {
    if (lane !== undefined) this.#named = true;
    const turn: OpenTurn = { lane, telemetry, written: false };
    const queue = this.#lanes.get(lane);
    if (queue === undefined) this.#lanes.set(lane, [turn]);
    else queue.push(turn);
    this.#open.push(turn);
  }

  /** The turn an unparsed upstream frame belongs to (its `stream_id` searched for only once lanes were seen). */
  attribute(data: Buffer): OpenTurn | undefined {
    if (!this.#named) return this.#open[0];
    return this.#headOf(findStreamId(data));
  }

  /** The turn of an upstream frame whose `stream_id` was read from its parsed JSON. */
  attributeParsed(streamId: unknown): OpenTurn | undefined {
    if (typeof streamId === 'string') {
      this.#named = true;
      return this.#headOf(streamId);
    }
    return this.#headOf(undefined);
  }

  /** Ends `turn` (with no error type: completed) and dequeues it from its lane. */
  end(turn: OpenTurn, errorType?: string): void {
    const queue = this.#lanes.get(turn.lane);
    const at = queue?.indexOf(turn) ?? -1;
    if (at === -1) return;
    queue?.splice(at, 1);
    if (queue?.length === 0) this.#lanes.delete(turn.lane);
    const open = this.#open.indexOf(turn);
    if (open !== -1) this.#open.splice(open, 1);
    turn.telemetry.end(errorType);
  }

  /** Ends every open turn with `errorType` (the connection is over). */
  endAll(errorType: string): void {
    for (const turn of [...this.#open]) this.end(turn, errorType);
  }

  #headOf(lane: string | undefined): OpenTurn | undefined {
    if (lane !== undefined) return this.#lanes.get(lane)?.[0];
    return this.#lanes.get(undefined)?.[0] ?? this.#open[0];
  }
}

/**
 * Reads what telemetry needs from an upstream text frame, written to the caller at `readAt`: which
 * turn it belongs to, milestones, usage at completion, and the end of the turn. Only the few frame
 * types that matter are parsed (`type` as the core read it); deltas are not.
 */
export function watchUpstreamFrame(data: Buffer, type: string | undefined, readAt: number, turns: TurnTracker): void {
  if (type === undefined || !WATCHED.has(type)) {
    const turn = turns.attribute(data);
    if (turn !== undefined) chunk(turn, readAt);
    return;
  }
  const frame = parseObject(data);
  const turn = frame === undefined ? turns.attribute(data) : turns.attributeParsed(frame['stream_id']);
  if (turn === undefined) return;
  chunk(turn, readAt);
  if (frame === undefined) return;
  if (type === 'error') {
    turns.end(turn, errorFromFrame(frame, data.toString('utf8')).kind);
    return;
  }
  if (type === 'response.failed') {
    turns.end(turn, classifyResponseFailed(frame).kind);
    return;
  }
  // An incomplete response (max_output_tokens, content filter) is a result, like a completed one:
  // its usage counts and its status is the finish reason.
  const response = frame['response'];
  const event =
    type === 'response.incomplete'
      ? response !== null && typeof response === 'object'
        ? completedFrameEvent(response as Obj, { raw: data })
        : undefined
      : new ResponsesFrameMapper().mapJson(frame, data);
  if (event !== undefined) turn.telemetry.onEvent(event);
  if (event?.type === 'completed') turns.end(turn);
}

function chunk(turn: OpenTurn, readAt: number): void {
  turn.telemetry.onChunk(readAt);
  if (!turn.written) {
    // Written: handed to the caller's socket, just now (the relay writes before it looks).
    turn.written = true;
    turn.telemetry.onWrite(readAt);
  }
}
