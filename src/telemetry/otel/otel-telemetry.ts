import {
  context as contextApi,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapPropagator,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { costPicos, usdOf } from '../../cost/cost.js';
import type { PriceTable } from '../../cost/price-table.js';
import { completedResponse, type CompletedEvent, type ResponseEvent, type TokenUsage } from '../../client/events.js';
import type { SsePoll, TelemetryHooks, TransportError, WsPoll } from '../hooks.js';
import { classifySse, kindSuccess, transportErrorType, wsKind } from './event-kinds.js';
import type { OperationInfo, ProxyTelemetry, RequestOutcome, RequestTelemetry, ServerRequestInfo, TurnTelemetry } from '../proxy-telemetry.js';
import { AttributeSets } from './attribute-sets.js';
import { chatCompletionOutput, chatOutput, inputMessages, responsesOutput, systemInstructions } from './content.js';
import type { FastMetrics } from './fast-metrics.js';
import { createInstruments, type Instruments } from './instruments.js';

/** How much of each SSE poll and WebSocket frame goes on the spans (telemetry contract). */
export type TraceDetail = 'milestones' | 'events' | 'spans' | 'none';

/** Options of {@link createOtelTelemetry}. */
export interface OtelTelemetryOptions {
  readonly tracer: Tracer;
  /** Where the catalogue's metrics are aggregated. */
  readonly metrics: FastMetrics;
  /** Default `milestones`. */
  readonly detail?: TraceDetail;
  /** Record prompts and outputs (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT). Default false. */
  readonly captureContent?: boolean;
  /** The prices operations are costed at (`modeltap.cost.usd`, `modeltap.cost`). Default: none, no cost recorded. */
  readonly prices?: PriceTable;
  /** `gen_ai.provider.name`. Default `openai`. */
  readonly providerName?: string;
  /** Reads the caller's trace context and writes the upstream's (OTEL_PROPAGATORS). Default W3C `traceparent`. */
  readonly propagator?: TextMapPropagator;
  /**
   * The time of what is being recorded, in ms on the `performance` clock of `timeOrigin`. Default
   * `this.#s.clock()`; a replay of recorded facts gives each fact's own time.
   */
  readonly clock?: () => number;
  /** The origin of {@link OtelTelemetryOptions.clock}'s times (epoch ms). Default `performance.timeOrigin`. */
  readonly timeOrigin?: number;
}

/**
 * The trace and span id the next span gets, when they were chosen before it is started: the
 * relay's thread picks them (its `traceparent` has gone upstream already) and the span built later
 * from its facts must carry them. Installed as the SDK tracer's id generator; without a pending id,
 * it makes random ones like the SDK's.
 */
export class ScriptedIds {
  #traceId: string | undefined;
  #spanId: string | undefined;
  readonly #fallback: { generateTraceId(): string; generateSpanId(): string };

  constructor(fallback: { generateTraceId(): string; generateSpanId(): string }) {
    this.#fallback = fallback;
  }

  /** The ids of the next span started (the trace id is used only by a root span). */
  next(traceId: string, spanId: string): void {
    this.#traceId = traceId === '' ? undefined : traceId;
    this.#spanId = spanId;
  }

  generateTraceId(): string {
    const id = this.#traceId;
    this.#traceId = undefined;
    return id ?? this.#fallback.generateTraceId();
  }

  generateSpanId(): string {
    const id = this.#spanId;
    // A root span asks for its span id first, then its trace id: the trace id stays until then.
    this.#spanId = undefined;
    if (id === undefined) this.#traceId = undefined;
    return id ?? this.#fallback.generateSpanId();
  }
}


const headerGetter = {
  get: (carrier: Record<string, string | string[] | undefined>, key: string) => carrier[key],
  keys: (carrier: Record<string, string | string[] | undefined>) => Object.keys(carrier),
};
const headerSetter = { set: (carrier: Record<string, string>, key: string, value: string) => (carrier[key] = value) };

/**
 * A label value a caller controls (Codex's request kind, originator), kept bounded: simple tokens
 * only, and at most 32 distinct values per label; anything else is `_OTHER`.
 */
const boundedValues = new Map<string, Set<string>>();
function bounded(label: string, value: string | undefined): string {
  if (value === undefined || value === '') return 'unknown';
  if (!/^[A-Za-z0-9_.:-]{1,48}$/.test(value)) return '_OTHER';
  let seen = boundedValues.get(label);
  if (seen === undefined) boundedValues.set(label, (seen = new Set()));
  if (seen.has(value)) return value;
  if (seen.size >= 32) return '_OTHER';
  seen.add(value);
  return value;
}

/** Distinct model names kept as metric label values; further ones are `_OTHER`. */
const MAX_MODELS = 256;
const models = new Set<string>();

/**
 * A model name as a metric label value. The name comes from the caller's body (or the upstream's
 * answer), so it is bounded like the other caller-controlled labels: at most {@link MAX_MODELS}
 * distinct names of model-name characters, else `_OTHER`. Spans keep the name as sent.
 */
function modelLabel(model: string): string {
  if (models.has(model)) return model;
  if (models.size >= MAX_MODELS || !/^[A-Za-z0-9_.:/@+-]{1,128}$/.test(model)) return '_OTHER';
  models.add(model);
  return model;
}

/** Sets a span attribute when the value is a string or a number (request parameters are unchecked JSON). */
function setScalar(attrs: Attributes, key: string, value: unknown): void {
  if (typeof value === 'string' || typeof value === 'number') attrs[key] = value;
}

function attemptBucket(attempt: number): string {
  return attempt === 0 ? '0' : attempt === 1 ? '1' : '2+';
}

function urlWithoutSecrets(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** Creates modeltap's OpenTelemetry implementation of the proxy lifecycle and the core's hooks. */
export function createOtelTelemetry(options: OtelTelemetryOptions): OtelProxyTelemetry {
  const instruments = createInstruments(options.metrics);
  const sets = new AttributeSets();
  const providerName = options.providerName ?? 'openai';
  const shared: Shared = {
    tracer: options.tracer,
    propagator: options.propagator ?? new W3CTraceContextPropagator(),
    m: instruments,
    detail: options.detail ?? 'milestones',
    captureContent: options.captureContent ?? false,
    providerName,
    sets,
    chat: sets.with(sets.with(sets.empty, 'gen_ai.operation.name', 'chat'), 'gen_ai.provider.name', providerName),
    urls: new Map(),
    clock: options.clock ?? (() => performance.now()),
    timeOrigin: options.timeOrigin ?? performance.timeOrigin,
    prices: options.prices,
  };
  return { startRequest: (info, parent?: Context) => new OtelRequest(shared, info, parent) };
}

/** modeltap's OpenTelemetry telemetry, whose requests may be given their caller's context already read. */
export interface OtelProxyTelemetry extends ProxyTelemetry {
  startRequest(info: ServerRequestInfo, parent?: Context): OtelRequestTelemetry;
}

/** One request's telemetry, with what a replay of recorded facts calls beyond the proxy's interface. */
export interface OtelRequestTelemetry extends RequestTelemetry, Required<TelemetryHooks> {
  /** An SSE poll already classified (see `classifySse`): its kind and success, what it was, its bytes and wait. */
  ssePoll(attrs: Attributes, poll: 'event' | 'decode_error' | 'idle_timeout', bytes: number, ms: number): void;
}

interface Shared {
  readonly tracer: Tracer;
  readonly propagator: TextMapPropagator;
  readonly m: Instruments;
  readonly detail: TraceDetail;
  readonly captureContent: boolean;
  readonly providerName: string;
  /** Attribute objects shared across requests (see AttributeSets). */
  readonly sets: AttributeSets;
  /** The shared set every GenAI metric starts from: operation and provider names. */
  readonly chat: Attributes;
  /** Upstream URLs already parsed for attempt spans, by URL string (bounded). */
  readonly urls: Map<string, UrlFacts>;
  readonly clock: () => number;
  readonly timeOrigin: number;
  readonly prices: PriceTable | undefined;
}

/** What an attempt span needs from an upstream URL. */
interface UrlFacts {
  /** `http.request.method` is added per attempt; this holds `server.address` and `server.port`. */
  readonly server: Attributes;
  readonly full: string | undefined;
}

const MAX_URLS = 1024;

function urlFacts(urls: Map<string, UrlFacts>, raw: string): UrlFacts {
  let facts = urls.get(raw);
  if (facts !== undefined) return facts;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  facts =
    url === undefined
      ? { server: {}, full: undefined }
      : { server: { 'server.address': url.hostname, 'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)) }, full: urlWithoutSecrets(url) };
  if (urls.size < MAX_URLS) urls.set(raw, facts);
  return facts;
}

const WS_OK: Attributes = { success: 'true' };
const WS_FAILED: Attributes = { success: 'false' };

const TRANSPORT_ATTRS: Readonly<Record<'http_sse' | 'http_json' | 'websocket', Attributes>> = {
  http_sse: { 'modeltap.transport': 'http_sse' },
  http_json: { 'modeltap.transport': 'http_json' },
  websocket: { 'modeltap.transport': 'websocket' },
};

/**
 * One GenAI operation and what is measured of it: an HTTP request's, or one WebSocket turn's (several
 * turns of a connection may be open at once, so none of this lives on the request).
 */
interface Operation {
  readonly span: Span;
  readonly ctx: Context;
  readonly info: OperationInfo;
  /** Attributes of metrics recorded while streaming. */
  readonly streamAttrs: Attributes;
  /** When the caller's view of it starts: the request's arrival, or the turn's frame read. */
  readonly arrival: number;
  /** The first upstream send (an HTTP attempt, or the turn's frame relayed). */
  sendAt: number | undefined;
  firstChunkAt: number | undefined;
  /** WebSocket: the previous chunk of this turn, for the gap before the next. */
  lastChunkAt: number | undefined;
  firstWriteAt: number | undefined;
  events: number;
  usage: TokenUsage | null;
  responseId: string | undefined;
  /** The `completed` event (its raw frame or body is read again only to capture content). */
  completed: CompletedEvent | undefined;
  /** A streamed Chat answer, with content capture on. */
  text: string;
  ended: boolean;
}

class OtelRequest implements OtelRequestTelemetry {
  readonly hooks: TelemetryHooks = this;
  readonly allEvents: boolean;
  readonly #s: Shared;
  readonly #info: ServerRequestInfo;
  readonly #serverSpan: Span;
  readonly #serverCtx: Context;
  readonly #activeAttrs: Attributes;
  /** The HTTP request's operation (WebSocket turns are in {@link OtelRequest.#turns}). */
  #op: Operation | undefined;
  /** WebSocket turns not ended yet. */
  readonly #turns = new Set<Operation>();
  #attemptSpan: Span | undefined;
  #attemptAttrs: Attributes | undefined;
  #retryReason: string | undefined;
  #retries = 0;
  #firstWriteAt: number | undefined;
  #transport: 'http_sse' | 'http_json' | 'websocket' | undefined;
  #transportAttrs: Attributes | undefined;
  #errorType: string | undefined;
  #ended = false;

  constructor(shared: Shared, info: ServerRequestInfo, given: Context | undefined) {
    this.#s = shared;
    this.#info = info;
    // Captured content includes a streamed Chat answer, which only the text deltas carry.
    this.allEvents = shared.captureContent;
    const parent = given ?? shared.propagator.extract(ROOT_CONTEXT, info.headers, headerGetter);
    const name = info.route === undefined ? info.method : `${info.method} ${info.route}`;
    // Assigned one by one, not spread from temporaries: this runs for every request.
    const attributes: Attributes = {
      'http.request.method': info.method,
      'url.path': info.path,
      'url.scheme': info.scheme,
      'network.protocol.version': info.protocolVersion,
    };
    if (info.route !== undefined) attributes['http.route'] = info.route;
    if (info.clientAddress !== undefined) attributes['client.address'] = info.clientAddress;
    if (info.userAgent !== undefined) attributes['user_agent.original'] = info.userAgent;
    this.#serverSpan = shared.tracer.startSpan(name, { kind: SpanKind.SERVER, startTime: this.#s.timeOrigin + info.arrival, attributes }, parent);
    this.#serverCtx = trace.setSpan(parent, this.#serverSpan);
    const sets = shared.sets;
    const active = sets.with(sets.empty, 'http.request.method', info.method);
    this.#activeAttrs = info.route === undefined ? active : sets.with(active, 'http.route', info.route);
    shared.m.httpServerActive.add(1, this.#activeAttrs);
  }

  /** The time of what is recorded now, as the epoch ms spans take. */
  #at(): number {
    return this.#s.timeOrigin + this.#s.clock();
  }

  // The core's hooks are methods of this object (`hooks` is `this`): no closures per request.

  onWsRequest(ms: number, error: { readonly kind: string; readonly message: string } | null): void {
    const attrs = error === null ? WS_OK : WS_FAILED;
    this.#s.m.wsRequest.add(1, attrs);
    this.#s.m.wsRequestDuration.record(ms / 1000, attrs);
  }

  onWsEvent(poll: WsPoll, ms: number): void {
    const k = wsKind(poll);
    if (k === undefined) return;
    const attrs = kindSuccess(k.kind, k.success);
    this.#s.m.wsEvent.add(1, attrs);
    this.#s.m.wsEventDuration.record(ms / 1000, attrs);
    // Chunk timing is per turn, from the relay's attribution (TurnTelemetry.onChunk): a frame's poll knows no lane.
  }

  onWsFallback(reason: string): void {
    this.onFallback(reason);
  }

  startOperation(info: OperationInfo): void {
    this.#op = this.#newOperation(info, this.#info.arrival);
  }

  #newOperation(info: OperationInfo, arrival: number): Operation {
    const model = info.model ?? 'unknown';
    const body = info.body;
    const attrs: Attributes = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': this.#s.providerName,
      'gen_ai.request.model': model,
      'gen_ai.request.stream': info.stream,
      'server.address': info.serverAddress,
      'server.port': info.serverPort,
      'openai.api.type': info.apiType,
    };
    setScalar(attrs, 'gen_ai.conversation.id', info.conversationId);
    setScalar(attrs, 'modeltap.request_kind', info.requestKind);
    setScalar(attrs, 'modeltap.turn_id', info.turnId);
    setScalar(attrs, 'modeltap.client.originator', info.originator);
    setScalar(attrs, 'gen_ai.request.max_tokens', body['max_output_tokens'] ?? body['max_completion_tokens'] ?? body['max_tokens']);
    setScalar(attrs, 'gen_ai.request.temperature', body['temperature']);
    setScalar(attrs, 'gen_ai.request.top_p', body['top_p']);
    setScalar(attrs, 'openai.request.service_tier', body['service_tier']);
    if (this.#s.captureContent) {
      attrs['gen_ai.input.messages'] = JSON.stringify(inputMessages(body, info.apiType));
      const system = info.apiType === 'responses' ? systemInstructions(body) : undefined;
      if (system) attrs['gen_ai.system_instructions'] = JSON.stringify(system);
    }
    const span = this.#s.tracer.startSpan(`chat ${model}`, { kind: SpanKind.CLIENT, startTime: this.#at(), attributes: attrs }, this.#serverCtx);
    return {
      span,
      ctx: trace.setSpan(this.#serverCtx, span),
      info,
      streamAttrs: this.#streamAttrs(modelLabel(model), info.serverAddress, info.serverPort, info.apiType, info.transport ?? (info.stream ? 'http_sse' : 'http_json')),
      arrival,
      sendAt: undefined,
      firstChunkAt: undefined,
      lastChunkAt: undefined,
      firstWriteAt: undefined,
      events: 0,
      usage: null,
      responseId: undefined,
      completed: undefined,
      text: '',
      ended: false,
    };
  }

  #streamAttrs(model: string, address: string, port: number, apiType: string, transport: string): Attributes {
    const sets = this.#s.sets;
    const withModel = sets.with(this.#s.chat, 'gen_ai.request.model', model);
    const withServer = sets.with(sets.with(withModel, 'server.address', address), 'server.port', port);
    return sets.with(sets.with(withServer, 'openai.api.type', apiType), 'modeltap.transport', transport);
  }

  startTurn(info: OperationInfo): TurnTelemetry {
    const now = this.#s.clock();
    this.#transport = 'websocket';
    this.#transportAttrs = TRANSPORT_ATTRS.websocket;
    // The caller's frame is relayed as it is read: the turn's send is its arrival.
    const op = this.#newOperation({ ...info, transport: 'websocket' }, now);
    op.sendAt = now;
    this.#turns.add(op);
    return new OtelTurn(this, op);
  }

  /** @internal A parsed event of `op` (the HTTP operation or a turn). */
  opEvent(op: Operation, event: ResponseEvent): void {
    if (op.ended) return;
    switch (event.type) {
      case 'created':
        if (this.#s.detail !== 'none') op.span.addEvent('response.created', this.#at());
        break;
      case 'output_item_done':
        if (this.#s.detail !== 'none') op.span.addEvent('response.output_item.done', { 'gen_ai.output.item.type': event.item.type }, this.#at());
        break;
      case 'output_text_delta':
        if (this.#s.captureContent) op.text += event.delta;
        break;
      case 'completed':
        op.usage = event.tokenUsage;
        if (event.responseId !== '') op.responseId = event.responseId;
        op.completed = event;
        if (this.#s.detail !== 'none') op.span.addEvent('response.completed', this.#at());
        break;
      default:
        break;
    }
  }

  /** @internal A text frame of a turn, read at `readAt`. */
  turnChunk(op: Operation, readAt: number): void {
    if (op.ended) return;
    const gap = readAt - (op.lastChunkAt ?? readAt);
    op.lastChunkAt = readAt;
    this.#chunk(op, gap, readAt);
  }

  /** @internal A frame of a turn was written to the caller. */
  turnWrite(op: Operation): void {
    if (op.ended || op.firstWriteAt !== undefined) return;
    const now = this.#s.clock();
    op.firstWriteAt = now;
    this.#s.m.serverTimeToFirstToken.record((now - op.arrival) / 1000, op.streamAttrs);
  }

  /** @internal A turn is over. */
  endTurn(op: Operation, errorType: string | undefined): void {
    if (op.ended) return;
    this.#turns.delete(op);
    this.#endOperation(op, this.#s.clock(), errorType);
  }

  onFallback(reason: string): void {
    this.#s.m.wsFallbacks.add(1, { reason });
  }

  onHead(_statusCode: number, transport: 'http_sse' | 'http_json' | 'websocket', overheadMs: number): void {
    this.#transport = transport;
    this.#transportAttrs = TRANSPORT_ATTRS[transport];
    const route = this.#info.route;
    this.#s.m.proxyOverhead.record(
      overheadMs / 1000,
      route === undefined ? TRANSPORT_ATTRS[transport] : this.#s.sets.with(TRANSPORT_ATTRS[transport], 'http.route', route),
    );
  }

  onEvent(event: ResponseEvent): void {
    if (this.#op !== undefined) this.opEvent(this.#op, event);
  }

  onWrite(readAt: number): void {
    const now = this.#s.clock();
    if (this.#firstWriteAt === undefined) {
      this.#firstWriteAt = now;
      // A WebSocket turn records its own first write (TurnTelemetry.onWrite).
      if (this.#op !== undefined) this.#s.m.serverTimeToFirstToken.record((now - this.#info.arrival) / 1000, this.#op.streamAttrs);
    }
    if (this.#transportAttrs !== undefined) this.#s.m.relayDelay.record((now - readAt) / 1000, this.#transportAttrs);
  }

  onError(errorType: string): void {
    this.#errorType ??= errorType;
  }

  end(outcome: RequestOutcome): void {
    if (this.#ended) return;
    this.#ended = true;
    const now = this.#s.clock();
    const errorType = outcome.errorType ?? this.#errorType ?? (outcome.statusCode >= 500 ? String(outcome.statusCode) : undefined);
    if (this.#attemptSpan !== undefined) {
      // An attempt still open when the request ends was cut short (the caller left).
      this.#attemptSpan.setAttribute('error.type', errorType ?? 'aborted');
      this.#attemptSpan.setStatus({ code: SpanStatusCode.ERROR });
      this.#attemptSpan.end(this.#s.timeOrigin + now);
      this.#attemptSpan = undefined;
    }
    if (this.#op !== undefined) this.#endOperation(this.#op, now, errorType);
    // Turns the relay did not end (it ends each with its own cause): cut short with the connection.
    for (const op of this.#turns) this.#endOperation(op, now, errorType ?? 'aborted');
    this.#turns.clear();
    const sets = this.#s.sets;
    const info = this.#info;
    // The active-requests set (method, route) plus the scheme and the status.
    const base = sets.with(sets.with(this.#activeAttrs, 'url.scheme', info.scheme), 'http.response.status_code', outcome.statusCode);
    const serverAttrs = errorType === undefined ? base : sets.with(base, 'error.type', errorType);
    this.#s.m.httpServerDuration.record((now - this.#info.arrival) / 1000, serverAttrs);
    this.#s.m.httpServerActive.add(-1, this.#activeAttrs);
    const span = this.#serverSpan;
    span.setAttribute('http.response.status_code', outcome.statusCode);
    if (errorType !== undefined) {
      span.setAttribute('error.type', errorType);
      // HTTP semconv: a server span is an error only for 5xx (or no status at all).
      if (outcome.statusCode >= 500 || outcome.errorType !== undefined) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end(this.#s.timeOrigin + now);
  }

  onAttemptStart(attempt: number, request: { readonly method: string; readonly url: string }): Record<string, string> {
    const now = this.#s.clock();
    if (this.#op !== undefined) this.#op.sendAt ??= now;
    if (this.#retryReason !== undefined) {
      this.#s.m.upstreamRetries.add(1, { reason: this.#retryReason });
      this.#retries++;
      if (this.#s.detail !== 'none') this.#op?.span.addEvent('retry', { reason: this.#retryReason, attempt }, this.#s.timeOrigin + now);
      this.#retryReason = undefined;
    }
    const url = urlFacts(this.#s.urls, request.url);
    const attemptAttrs = this.#s.sets.with(url.server, 'http.request.method', request.method);
    this.#attemptAttrs = attemptAttrs;
    // Samplers see only the attributes given at creation: the shared set plus this attempt's own, in one object.
    const attributes: Attributes = { ...attemptAttrs };
    if (url.full !== undefined) attributes['url.full'] = url.full;
    if (attempt > 0 || this.#retries > 0) attributes['http.request.resend_count'] = Math.max(attempt, this.#retries);
    const span = this.#s.tracer.startSpan(request.method, { kind: SpanKind.CLIENT, startTime: this.#s.timeOrigin + now, attributes }, this.#op?.ctx ?? this.#serverCtx);
    this.#attemptSpan = span;
    const headers: Record<string, string> = {};
    this.#s.propagator.inject(trace.setSpan(contextApi.active(), span), headers, headerSetter);
    return headers;
  }

  onRequest(attempt: number, status: number | null, error: TransportError | null, ms: number): void {
    const success = status !== null && status >= 200 && status <= 299 && error === null;
    const errorType = error === null ? undefined : transportErrorType(error);
    const span = this.#attemptSpan;
    if (span !== undefined) {
      if (status !== null) span.setAttribute('http.response.status_code', status);
      if (errorType !== undefined) {
        span.setAttribute('error.type', errorType);
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end(this.#at());
      this.#attemptSpan = undefined;
    }
    const sets = this.#s.sets;
    let clientAttrs = this.#attemptAttrs ?? {};
    if (status !== null) clientAttrs = sets.with(clientAttrs, 'http.response.status_code', status);
    if (errorType !== undefined) clientAttrs = sets.with(clientAttrs, 'error.type', errorType);
    this.#s.m.httpClientDuration.record(ms / 1000, clientAttrs);
    const statusText = status === null ? 'none' : String(status);
    const bucket = attemptBucket(attempt);
    this.#s.m.apiRequest.add(
      1,
      sets.with(sets.with(sets.with(sets.empty, 'status', statusText), 'success', success ? 'true' : 'false'), 'attempt', bucket),
    );
    if (error !== null) {
      this.#retryReason = error.kind === 'http' ? (status !== null && status >= 500 ? 'status_5xx' : undefined) : error.kind === 'timeout' ? 'timeout' : 'network';
    }
  }

  onAuthRecovery(step: number, outcome: 'success' | 'failure'): void {
    this.#s.m.authRecoveries.add(1, { step: String(step), outcome });
    if (this.#s.detail !== 'none') this.#op?.span.addEvent('auth.recovery', { step, outcome }, this.#at());
    if (outcome === 'success') this.#retryReason = 'unauthorized';
  }

  onSsePoll(poll: SsePoll, ms: number): void {
    const attrs = classifySse(poll);
    if (attrs !== undefined && poll.kind !== 'end') this.ssePoll(attrs, poll.kind, poll.kind === 'event' ? poll.bytes : 0, ms);
  }

  ssePoll(attrs: Attributes, kind: 'event' | 'decode_error' | 'idle_timeout', bytes: number, ms: number): void {
    const m = this.#s.m;
    m.sseEvent.add(1, attrs);
    m.sseEventDuration.record(ms / 1000, attrs);
    const op = this.#op;
    if (op === undefined) return;
    const now = this.#s.clock();
    if (kind === 'event') this.#chunk(op, ms, now);
    const detail = this.#s.detail;
    if (detail === 'events') {
      op.span.addEvent('sse.poll', { kind: attrs['kind'] as string, success: attrs['success'] as string, bytes, 'wait.s': ms / 1000 }, this.#s.timeOrigin + now);
    } else if (detail === 'spans') {
      const child = this.#s.tracer.startSpan(
        `sse ${attrs['kind'] as string}`,
        { kind: SpanKind.INTERNAL, startTime: this.#s.timeOrigin + now - ms, attributes: { kind: attrs['kind'] as string, success: attrs['success'] as string, bytes } },
        op.ctx,
      );
      child.end(this.#s.timeOrigin + now);
    } else if (detail === 'milestones' && kind !== 'event') {
      op.span.addEvent(kind, this.#s.timeOrigin + now);
    }
  }

  /** One streamed chunk (an SSE event or a WebSocket text frame) of `op`, `ms` after its previous one. */
  #chunk(op: Operation, ms: number, now: number): void {
    op.events++;
    const m = this.#s.m;
    if (op.firstChunkAt === undefined) {
      op.firstChunkAt = now;
      const ttfc = (now - (op.sendAt ?? now)) / 1000;
      m.timeToFirstChunk.record(ttfc, op.streamAttrs);
      op.span.setAttribute('gen_ai.response.time_to_first_chunk', ttfc);
      if (this.#s.detail !== 'none') op.span.addEvent('gen_ai.first_chunk', this.#s.timeOrigin + now);
    } else {
      m.timePerOutputChunk.record(ms / 1000, op.streamAttrs);
    }
  }

  /** What the model answered, for content capture: from the JSON body, the completed frame, or the streamed Chat text. */
  #outputMessages(completed: CompletedEvent | undefined, apiType: 'responses' | 'chat_completions', text: string): unknown[] | undefined {
    if (completed?.body !== undefined) return apiType === 'responses' ? responsesOutput(completed.body) : chatCompletionOutput(completed.body);
    // The mapper parsed the completed frame already; a frame without a response object has no output.
    const response = completed?.raw === undefined || apiType !== 'responses' ? undefined : (completedResponse(completed) ?? {});
    if (response !== undefined) return responsesOutput(response);
    return text !== '' ? chatOutput(text) : undefined;
  }

  #endOperation(op: Operation, now: number, errorType: string | undefined): void {
    op.ended = true;
    const span = op.span;
    const completed = op.completed;
    const responseModel = completed?.model;
    const transport = this.#transport ?? (op.info.stream ? 'http_sse' : 'http_json');
    const sets = this.#s.sets;
    const withTransport = op.streamAttrs['modeltap.transport'] === transport ? op.streamAttrs : sets.with(op.streamAttrs, 'modeltap.transport', transport);
    const attrs = responseModel === undefined ? withTransport : sets.with(withTransport, 'gen_ai.response.model', modelLabel(responseModel));
    span.setAttribute('modeltap.transport', transport);
    span.setAttribute('modeltap.retries', this.#retries);
    if (transport === 'http_sse') span.setAttribute('modeltap.sse.events', op.events);
    else if (transport === 'websocket') span.setAttribute('modeltap.websocket.events', op.events);
    if (responseModel !== undefined) span.setAttribute('gen_ai.response.model', responseModel);
    if (op.responseId !== undefined) span.setAttribute('gen_ai.response.id', op.responseId);
    // The mapper read these from the completed frame already: no second parse on the hot path.
    if (completed?.status !== undefined) span.setAttribute('gen_ai.response.finish_reasons', [completed.status === 'completed' ? 'stop' : completed.status]);
    if (completed?.serviceTier !== undefined) span.setAttribute('openai.response.service_tier', completed.serviceTier);
    if (this.#s.captureContent && errorType === undefined) {
      const output = this.#outputMessages(completed, op.info.apiType, op.text);
      if (output !== undefined) span.setAttribute('gen_ai.output.messages', JSON.stringify(output));
    }
    const usage = op.usage;
    if (usage !== null) {
      span.setAttribute('gen_ai.usage.input_tokens', usage.inputTokens);
      span.setAttribute('gen_ai.usage.output_tokens', usage.outputTokens);
      span.setAttribute('gen_ai.usage.cache_read.input_tokens', usage.cachedInputTokens);
      span.setAttribute('gen_ai.usage.reasoning.output_tokens', usage.reasoningOutputTokens);
      const m = this.#s.m;
      m.tokenUsage.record(usage.inputTokens, sets.with(attrs, 'gen_ai.token.type', 'input'));
      m.tokenUsage.record(usage.outputTokens, sets.with(attrs, 'gen_ai.token.type', 'output'));
      const model = op.streamAttrs['gen_ai.request.model'] as string;
      const byModel = sets.with(sets.empty, 'gen_ai.request.model', model);
      m.usageTokens.add(usage.inputTokens, sets.with(byModel, 'gen_ai.token.type', 'input'));
      m.usageTokens.add(usage.outputTokens, sets.with(byModel, 'gen_ai.token.type', 'output'));
      m.usageTokens.add(usage.cachedInputTokens, sets.with(byModel, 'gen_ai.token.type', 'cache_read'));
      m.usageTokens.add(usage.reasoningOutputTokens, sets.with(byModel, 'gen_ai.token.type', 'reasoning'));
      const prices = this.#s.prices;
      if (prices !== undefined) {
        const picos = costPicos(prices, responseModel ?? model, usage, completed?.serviceTier);
        const withResponse = sets.with(byModel, 'gen_ai.response.model', modelLabel(responseModel ?? model));
        if (picos === undefined) m.costUnpriced.add(1, withResponse);
        else {
          span.setAttribute('modeltap.cost.usd', usdOf(picos));
          m.cost.add(usdOf(picos), sets.with(sets.with(withResponse, 'modeltap.transport', transport), 'modeltap.request_kind', bounded('request_kind', op.info.requestKind)));
        }
      }
    } else {
      // Unknown is not 0: no token attribute or sample, but counted so a dashboard can show what is unmeasured.
      const byModel = sets.with(sets.empty, 'gen_ai.request.model', op.streamAttrs['gen_ai.request.model'] as string);
      this.#s.m.usageUnreported.add(1, sets.with(sets.with(byModel, 'openai.api.type', op.info.apiType), 'modeltap.transport', transport));
    }
    const opModel = op.streamAttrs['gen_ai.request.model'] as string;
    const kind = bounded('request_kind', op.info.requestKind);
    const originator = bounded('originator', op.info.originator);
    this.#s.m.operations.add(
      1,
      sets.with(sets.with(sets.with(sets.with(sets.empty, 'gen_ai.request.model', opModel), 'modeltap.request_kind', kind), 'modeltap.client.originator', originator), 'modeltap.transport', transport),
    );
    const failed = errorType === undefined ? attrs : sets.with(attrs, 'error.type', errorType);
    this.#s.m.operationDuration.record((now - (op.sendAt ?? op.arrival)) / 1000, failed);
    this.#s.m.serverRequestDuration.record((now - op.arrival) / 1000, failed);
    if (errorType !== undefined) {
      span.setAttribute('error.type', errorType);
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end(this.#s.timeOrigin + now);
  }
}

/** A WebSocket turn's handle: its state is its own {@link Operation}, recorded by its request. */
class OtelTurn implements TurnTelemetry {
  readonly #request: OtelRequest;
  readonly #op: Operation;

  constructor(request: OtelRequest, op: Operation) {
    this.#request = request;
    this.#op = op;
  }

  onEvent(event: ResponseEvent): void {
    this.#request.opEvent(this.#op, event);
  }

  onChunk(readAt: number): void {
    this.#request.turnChunk(this.#op, readAt);
  }

  onWrite(): void {
    this.#request.turnWrite(this.#op);
  }

  end(errorType?: string): void {
    this.#request.endTurn(this.#op, errorType);
  }
}
