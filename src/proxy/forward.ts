import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { ModelClientError } from '../client/errors.js';
import { isHopByHop, type HeaderMap } from '../client/header-map.js';
import type { ResponseHead, ResponseStream } from '../client/response-stream.js';
import { UpstreamTiming } from '../client/upstream-timing.js';
import type { ErrorDetail, RequestTelemetry } from '../telemetry/proxy-telemetry.js';
import type { ModelClient } from '../client/model-client.js';
import { errorType, fromClientError, ProxyError, sendError } from './proxy-error.js';
import { readBody } from './read-body.js';
import { isRetryableRequest } from './retryable-request.js';
import { waitForDrain } from '../util/wait-for-drain.js';
import { inspectRequest, type RequestFacts } from './request-facts.js';

/** Which API a route speaks; `passthrough` is any other `/v1/*` request. */
export type RouteKind = 'responses' | 'chat' | 'compact' | 'passthrough';

/** What forwarding needs from the server. */
export interface ForwardContext {
  /** The one ModelClient every request goes through. */
  readonly client: ModelClient;
  /** Largest request body accepted, in bytes. */
  readonly maxBodyBytes: number;
  /** Longest gap while receiving a request body, in ms. */
  readonly bodyTimeoutMs: number;
  /** Registers an in-flight request for graceful shutdown; returns its unregister function. */
  readonly track: (controller: AbortController) => () => void;
  /** The upstream host and port, for telemetry. */
  readonly upstream: { readonly address: string; readonly port: number };
}

/** One request to forward. */
export interface ForwardRequest {
  readonly route: RouteKind;
  /** Path below the upstream base URL, e.g. `responses`. */
  readonly path: string;
  readonly query: string;
  /** `performance.now()` when the request arrived. */
  readonly arrival: number;
  readonly telemetry: RequestTelemetry;
}

function relayHeaders(upstream: HeaderMap): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value !== undefined && !isHopByHop(name)) headers[name] = value;
  }
  return headers;
}

/** Adds modeltap's `Server-Timing` after the upstream's own, if it sent one. */
function withServerTiming(headers: OutgoingHttpHeaders, serverTiming: string): OutgoingHttpHeaders {
  const existing = headers['server-timing'];
  headers['server-timing'] = existing === undefined ? serverTiming : `${String(existing)}, ${serverTiming}`;
  return headers;
}

/** `Server-Timing` per the telemetry contract: modeltap's own time and the upstream's, in ms. */
export function serverTiming(overheadMs: number, upstreamMs: number): string {
  return `modeltap;dur=${overheadMs.toFixed(3)}, upstream;dur=${upstreamMs.toFixed(3)}`;
}

/**
 * `Server-Timing` for a head about to be written, from one clock: everything since the request's
 * `arrival` is modeltap's, but the `upstreamMs` the upstream took (0 when it was never sent).
 */
function serverTimingNow(arrival: number, upstreamMs: number): string {
  return serverTiming(performance.now() - arrival - upstreamMs, upstreamMs);
}

/** The SSE event that tells a caller the stream broke after it started, in the API's own shape. */
function streamErrorFrame(route: RouteKind, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = /idle timeout/.test(message) ? 'upstream_timeout' : 'upstream_disconnected';
  if (route === 'chat') {
    return `data: ${JSON.stringify({ error: { message, type: errorType(502), param: null, code } })}\n\n`;
  }
  return `event: error\ndata: ${JSON.stringify({ type: 'error', code, message, param: null })}\n\n`;
}

function outgoingHeaders(incoming: IncomingMessage, route: RouteKind): HeaderMap {
  const headers: HeaderMap = { ...incoming.headers };
  // modeltap's own access key never leaves modeltap.
  delete headers['x-modeltap-key'];
  // Model responses must arrive unencoded so that they can be parsed as they are relayed.
  if (route !== 'passthrough') headers['accept-encoding'] = 'identity';
  return headers;
}

/**
 * Forwards one request through the ModelClient core and relays the answer to `res`: the upstream
 * status and headers (minus hop-by-hop ones, plus `Server-Timing`), then every upstream byte as it
 * arrives, honouring back-pressure. A caller that disconnects aborts the upstream request.
 * Before the first byte, failures are OpenAI-shaped JSON errors (upstream error responses pass
 * through as they are); after it, an SSE error event in the API's shape, then a clean close.
 */
export async function forward(ctx: ForwardContext, req: IncomingMessage, res: ServerResponse, target: ForwardRequest): Promise<void> {
  const controller = new AbortController();
  const untrack = ctx.track(controller);
  const onClose = (): void => {
    if (!res.writableFinished) controller.abort();
  };
  res.on('close', onClose);
  try {
    await forwardTracked(ctx, req, res, target, controller.signal);
  } finally {
    res.off('close', onClose);
    untrack();
  }
}

/** What the store keeps of an error: the client's message (the upstream's own, mapped) and the upstream's request id. */
function errorDetail(error: unknown): ErrorDetail {
  return error instanceof ModelClientError ? { message: error.message, requestId: error.requestId } : { message: 'internal error' };
}

async function forwardTracked(
  ctx: ForwardContext,
  req: IncomingMessage,
  res: ServerResponse,
  target: ForwardRequest,
  signal: AbortSignal,
): Promise<void> {
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  let body: Buffer | undefined;
  let facts: RequestFacts | undefined;
  try {
    if (hasBody) body = await readBody(req, ctx.maxBodyBytes, ctx.bodyTimeoutMs);
    if (target.route !== 'passthrough') facts = inspectRequest(req.headers, body ?? Buffer.alloc(0), { content: target.telemetry.allEvents === true });
  } catch (error) {
    const proxyError = error instanceof ProxyError ? error : new ProxyError('invalid_body', 400, 'could not read the request body', { cause: error });
    target.telemetry.onError(proxyError.code, { message: proxyError.message });
    const timing = { 'server-timing': serverTiming(performance.now() - target.arrival, 0) };
    // After refusing a body we did not read, close the connection rather than drain it.
    const unread = proxyError.code === 'body_too_large' || proxyError.code === 'body_timeout';
    sendError(res, proxyError, unread ? { ...timing, connection: 'close' } : timing);
    return;
  }
  const rt = target.telemetry;
  if (facts !== undefined) {
    rt.startOperation({
      apiType: target.route === 'chat' ? 'chat_completions' : 'responses',
      requestKind: facts.requestKind ?? (target.route === 'compact' ? 'compaction' : undefined),
      model: facts.model,
      stream: facts.stream,
      conversationId: facts.conversationId,
      turnId: facts.turnId,
      threadId: facts.threadId,
      parentThreadId: facts.parentThreadId,
      originator: facts.originator,
      serverAddress: ctx.upstream.address,
      serverPort: ctx.upstream.port,
      body: facts.telemetryBody,
    });
  }
  const timing = new UpstreamTiming();
  const stream = ctx.client.newSession().stream(
    {
      raw: {
        path: target.path,
        method,
        query: target.query,
        headers: outgoingHeaders(req, target.route),
        ...(body === undefined ? {} : { body }),
        ...(isRetryableRequest(target.route !== 'passthrough', method, req.headers) ? {} : { maxRetries: 0 }),
      },
    },
    { signal, telemetry: rt.hooks, allEvents: rt.allEvents === true, timing },
  );
  // The stream holds the body until the upstream head arrives (for retries); nothing else may.
  body = undefined;
  facts = undefined;
  let head;
  try {
    head = await stream.head();
  } catch (error) {
    if (signal.aborted) {
      rt.onError('aborted');
      return;
    }
    rt.onError(error instanceof ModelClientError ? (error.upstream === undefined ? error.kind : String(error.upstream.status)) : 'internal_error', errorDetail(error));
    if (error instanceof ModelClientError && error.upstream !== undefined) {
      const { status, headers, body: errorBody } = error.upstream;
      const relayed = relayHeaders(headers);
      relayed['content-length'] = errorBody.length;
      res.writeHead(status, withServerTiming(relayed, serverTimingNow(target.arrival, timing.upstreamMs())));
      res.end(errorBody);
      return;
    }
    const proxyError = error instanceof ModelClientError ? fromClientError(error) : new ProxyError('internal_error', 500, 'internal error', { cause: error });
    sendError(res, proxyError, { 'server-timing': serverTimingNow(target.arrival, timing.upstreamMs()) });
    return;
  }
  const relayed = relayHeaders(head.headers);
  // A buffering reverse proxy in front (nginx) would hold events back: ask it not to.
  if (head.transport === 'http_sse') relayed['x-accel-buffering'] = 'no';
  const writeHead = callerHead(res, head, relayed, target.arrival, timing, rt);
  if (head.transport !== 'http_json') {
    // A stream's head goes out at once: the caller may show progress on it.
    writeHead(timing.answeredAt, () => {
      res.flushHeaders();
      return true;
    });
    await relay(stream, res, target.route, head.transport === 'http_sse', signal, rt, undefined);
    return;
  }
  // A JSON head waits for the body's first bytes, which follow at once, so both leave in one write
  // instead of two; until they are read the upstream is still answering.
  res.statusCode = head.status;
  await relay(stream, res, target.route, false, signal, rt, writeHead);
}

/** Writes the caller's head, then `first` (what leaves with it), with the upstream's answer in hand since `answeredAt`. */
type HeadWriter = (answeredAt: number, first: () => boolean) => boolean;

/**
 * The caller's head, written once from one clock: everything since the request's arrival is
 * modeltap's, but what the upstream took until `answeredAt`. `Server-Timing` is in the head, so
 * it is taken just before `writeHead`; the overhead telemetry records is taken after the write.
 */
function callerHead(res: ServerResponse, head: ResponseHead, headers: OutgoingHttpHeaders, arrival: number, timing: UpstreamTiming, rt: RequestTelemetry): HeadWriter {
  return (answeredAt, first) => {
    const upstreamMs = timing.upstreamMs(answeredAt);
    res.writeHead(head.status, withServerTiming(headers, serverTimingNow(arrival, upstreamMs)));
    const flushed = first();
    rt.onHead(head.status, head.transport, performance.now() - arrival - upstreamMs, upstreamMs);
    return flushed;
  };
}

async function relay(
  stream: ResponseStream,
  res: ServerResponse,
  route: RouteKind,
  sse: boolean,
  signal: AbortSignal,
  rt: RequestTelemetry,
  headWithBody: HeadWriter | undefined,
): Promise<void> {
  let pendingHead = headWithBody;
  try {
    await stream.pipeTo({
      write: (chunk, readAt) => {
        let flushed: boolean;
        if (pendingHead === undefined) flushed = res.write(chunk);
        else {
          const writeHead = pendingHead;
          pendingHead = undefined;
          flushed = writeHead(readAt, () => res.write(chunk));
        }
        rt.onWrite(readAt);
        return flushed;
      },
      drain: () => waitForDrain(res),
      event: (event) => rt.onEvent(event),
    });
    // An empty body: the head was waiting for its end.
    pendingHead?.(performance.now(), () => true);
    res.end();
  } catch (error) {
    if (signal.aborted) rt.onError('aborted');
    else rt.onError(error instanceof ModelClientError ? error.kind : 'internal_error', errorDetail(error));
    if (signal.aborted || res.destroyed) return;
    if (!sse) {
      // A JSON body cut short cannot be flagged in-band: close so the caller sees it truncated.
      res.destroy();
      return;
    }
    // The upstream's own `response.failed` (or Chat error) was relayed as is; nothing to add.
    if (!(error instanceof ModelClientError && error.source === 'upstream_event')) res.write(streamErrorFrame(route, error));
    res.end();
  }
}
