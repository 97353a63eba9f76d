import { applyCredentials, withUnauthorizedRecovery, type ClientContext } from './client-context.js';
import { streamError } from './errors.js';
import type { ResponseEvent, ResponseItem } from './events.js';
import type { HookFanout } from './hook-fanout.js';
import { prepareInput } from './responses-body.js';
import { buildUrl } from './provider.js';
import { parseJsonData, ResponsesFrameMapper } from './responses-mapper.js';
import type { OpenedStream } from './response-stream.js';
import { openUpstreamWebSocket, type UpstreamWebSocket } from './upstream-websocket.js';
import { WsConnection } from './websocket-connection.js';
import { errorFromFrame, incrementalInput, rateLimitsFromFrame } from './websocket-frames.js';

/** The `OpenAI-Beta` handshake values (§3.1, M+). */
export const WS_BETA = { v1: 'responses_websockets=2026-02-04', v2: 'responses_websockets=2026-02-06' } as const;

/** What a turn adds to the handshake: its turn-state and turn metadata, when known. */
export interface TurnHeaders {
  readonly turnState: string | undefined;
  readonly turnMetadata: string | undefined;
}

/**
 * Opens the Responses WebSocket with the handshake headers of §2.4.2 (provider headers, beta
 * features, turn state and metadata, `session_id`, timing metrics, `OpenAI-Beta`, then auth), with
 * the 401 recovery loop. A 426 surfaces as an error whose `upstreamStatus` is 426.
 */
export function handshake(
  ctx: ClientContext,
  turn: TurnHeaders,
  hooks: HookFanout,
  signal: AbortSignal | undefined,
): Promise<UpstreamWebSocket> {
  return withUnauthorizedRecovery(ctx, hooks, true, (creds) => {
    const headers: Record<string, string | string[]> = { ...ctx.provider.headers };
    if (ctx.betaFeatures.length > 0) headers['x-codex-beta-features'] = ctx.betaFeatures.join(',');
    if (turn.turnState !== undefined) headers['x-codex-turn-state'] = turn.turnState;
    if (turn.turnMetadata !== undefined) headers['x-codex-turn-metadata'] = turn.turnMetadata;
    headers['session_id'] = ctx.conversationId;
    if (ctx.includeTimingMetrics) headers['x-responsesapi-include-timing-metrics'] = 'true';
    headers['openai-beta'] = WS_BETA[ctx.websocketVersion];
    applyCredentials(headers, creds);
    return openUpstreamWebSocket({
      url: buildUrl(ctx.provider, 'responses'),
      headers,
      hooks,
      handshakeTimeoutMs: ctx.provider.streamIdleTimeoutMs,
      signal,
    });
  });
}

/** The connection a request uses: the cached one while it is open, else a new one. */
export async function connectionFor(
  ctx: ClientContext,
  turn: TurnHeaders,
  hooks: HookFanout,
  signal: AbortSignal | undefined,
): Promise<{ connection: WsConnection; fresh: boolean }> {
  const cached = ctx.ws.connection;
  if (cached !== undefined && !cached.socket.closed) {
    cached.socket.useHooks(hooks);
    return { connection: cached, fresh: false };
  }
  const socket = await handshake(ctx, turn, hooks, signal);
  // M: a new socket starts with a full response.create.
  const connection = new WsConnection(socket);
  ctx.ws.connection = connection;
  return { connection, fresh: true };
}

/** The request frame of one turn, by the incremental-input rules of §2.4.4 (L baseline). */
export function requestFrame(
  connection: WsConnection,
  body: Record<string, unknown>,
  version: 'v1' | 'v2',
  options: { prewarm: boolean; turnMetadata: string | undefined },
): { frame: Record<string, unknown>; fields: string } {
  const { input: rawInput, previous_response_id: _ignored, ...rest } = body;
  const input = (rawInput ?? []) as ResponseItem[];
  const fields = JSON.stringify(rest);
  const sameFields = connection.lastFields === fields;
  const delta = sameFields ? incrementalInput([...connection.lastInput, ...connection.lastOutput], input) : undefined;
  const metadata = options.turnMetadata === undefined ? {} : { client_metadata: { 'x-codex-turn-metadata': options.turnMetadata } };
  if (version === 'v1' && delta !== undefined) {
    return { frame: { type: 'response.append', input: delta, ...metadata }, fields };
  }
  const previous = version === 'v2' && delta !== undefined && connection.lastResponseId ? connection.lastResponseId : undefined;
  const frame: Record<string, unknown> = { type: 'response.create', model: rest['model'], instructions: rest['instructions'] };
  if (previous !== undefined) frame['previous_response_id'] = previous;
  frame['input'] = previous !== undefined ? delta : input;
  for (const [key, value] of Object.entries(rest)) if (!(key in frame)) frame[key] = value;
  // The WebSocket body is never stored (§2.2.1).
  frame['store'] = false;
  Object.assign(frame, metadata);
  if (options.prewarm) frame['generate'] = false;
  return { frame, fields };
}

/**
 * Sends one request on the connection and reads its events (§2.4.5): the same dispatcher as SSE,
 * `codex.rate_limits` frames as `rate_limits`, `error` frames mapped, a `response.failed` returned
 * at once. On completion the connection keeps what the next request's rule needs; on any error
 * the socket is closed and forgotten, so the next request reconnects with a full create.
 */
export async function streamOnConnection(
  ctx: ClientContext,
  connection: WsConnection,
  body: Record<string, unknown>,
  options: { prewarm: boolean; turnMetadata: string | undefined },
): Promise<OpenedStream> {
  const release = await connection.lock();
  const socket = connection.socket;
  const discard = (): void => {
    connection.reset();
    socket.close();
    if (ctx.ws.connection === connection) ctx.ws.connection = undefined;
    release();
  };
  const fail = (error: unknown): never => {
    discard();
    throw error;
  };
  const { frame, fields } = requestFrame(connection, body, ctx.websocketVersion, options);
  try {
    await socket.send(JSON.stringify(frame));
  } catch (error) {
    fail(error);
  }
  const input = (body['input'] ?? []) as ResponseItem[];
  const idle = ctx.provider.streamIdleTimeoutMs;
  const events = (async function* read(): AsyncGenerator<ResponseEvent> {
    const mapper = new ResponsesFrameMapper();
    const output: ResponseItem[] = [];
    let done = false;
    try {
      if (connection.reasoningIncluded) yield { type: 'server_reasoning_included', included: true };
      if (connection.modelsEtag !== undefined) yield { type: 'models_etag', etag: connection.modelsEtag };
      for (;;) {
        const next = await socket.next(idle);
        if (next === undefined) throw streamError('idle timeout waiting for websocket');
        if (next.kind === 'close') throw streamError('websocket closed by server before response.completed');
        if (next.kind === 'error') throw streamError(next.error.message, { cause: next.error });
        if (next.isBinary) throw streamError('unexpected binary websocket event');
        const text = next.data.toString('utf8');
        const parsed = parseJsonData(text);
        if (parsed === null || typeof parsed !== 'object') {
          yield { type: 'raw', raw: next.data };
          continue;
        }
        const type = (parsed as { type?: unknown }).type;
        if (type === 'codex.rate_limits') {
          yield { type: 'rate_limits', rateLimits: rateLimitsFromFrame(parsed as Record<string, unknown>), raw: next.data };
          continue;
        }
        if (type === 'error') throw errorFromFrame(parsed as Record<string, unknown>, text);
        const event = mapper.mapJson(parsed as Record<string, unknown>, next.data);
        if (mapper.pendingError) throw mapper.pendingError;
        if (event === undefined) {
          yield { type: 'raw', raw: next.data };
          continue;
        }
        if (event.type === 'output_item_done') output.push(event.item);
        yield event;
        if (event.type === 'completed') {
          connection.lastInput = input;
          // Compared with later inputs in their wire form, where ids are not serialised.
          connection.lastOutput = prepareInput(output, false);
          connection.lastResponseId = event.responseId || undefined;
          connection.lastFields = fields;
          done = true;
          release();
          return;
        }
      }
    } catch (error) {
      done = true;
      fail(error);
    } finally {
      // A consumer that stops early leaves the socket mid-response: it cannot be reused.
      if (!done) discard();
    }
  })();
  return {
    head: { status: 101, headers: socket.headers, transport: 'websocket' },
    events,
    close: () => socket.close(),
  };
}
