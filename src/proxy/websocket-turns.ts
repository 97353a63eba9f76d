import type { IncomingHttpHeaders } from 'node:http';
import { classifyResponseFailed } from '../client/errors.js';
import { ResponsesFrameMapper } from '../client/responses-mapper.js';
import { errorFromFrame } from '../client/websocket-frames.js';
import type { OperationInfo, RequestTelemetry } from '../telemetry/proxy-telemetry.js';
import { conversationFromHeaders, telemetryBody } from './request-facts.js';

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

/**
 * The operation a caller's frame starts, when it is a `response.create` or `response.append`;
 * `content`: keep the frame's content for telemetry (content capture is on).
 */
export function turnInfo(headers: IncomingHttpHeaders, data: Buffer, upstream: { address: string; port: number }, content: boolean): OperationInfo | undefined {
  // Cheap check first: most caller frames are requests, but only those start a turn.
  if (data.indexOf('response.') === -1) return undefined;
  const frame = parseObject(data);
  if (frame === undefined || (frame['type'] !== 'response.create' && frame['type'] !== 'response.append')) return undefined;
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
    originator: typeof originator === 'string' ? originator : undefined,
    serverAddress: upstream.address,
    serverPort: upstream.port,
    // Like an HTTP body: its parameters, and its content only with content capture on.
    body: telemetryBody(frame, content),
    transport: 'websocket',
  };
}

const WATCHED = new Set(['response.created', 'response.output_item.done', 'response.completed', 'response.done', 'response.failed', 'error']);

/**
 * Reads what telemetry needs from an upstream frame: milestones, usage at completion, and the end
 * of the turn. Only the few frame types that matter are parsed (`type` as the core read it); deltas
 * are not.
 */
export function watchUpstreamFrame(data: Buffer, type: string | undefined, rt: RequestTelemetry): void {
  if (type === undefined || !WATCHED.has(type)) return;
  const frame = parseObject(data);
  if (frame === undefined) return;
  if (type === 'error') {
    rt.endTurn(errorFromFrame(frame, data.toString('utf8')).kind);
    return;
  }
  if (type === 'response.failed') {
    rt.endTurn(classifyResponseFailed(frame).kind);
    return;
  }
  const event = new ResponsesFrameMapper().mapJson(frame, data);
  if (event !== undefined) rt.onEvent(event);
  if (event?.type === 'completed') rt.endTurn();
}
