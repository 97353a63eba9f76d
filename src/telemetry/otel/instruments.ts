import type { FastInstrument, FastMetrics } from './fast-metrics.js';

/** GenAI operation and first-chunk ladder (semconv advice): 0.01 … 81.92 s, doubling. */
export const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
/** Token ladder (semconv advice): 1 … 67108864, ×4. */
export const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
/** `gen_ai.server.time_to_first_token` (semconv advice). */
export const SERVER_TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** HTTP semconv advice. */
export const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** modeltap's fine ladder for its own overhead, relay delay, SSE waits and WebSocket frames: from 50 µs. */
export const FINE_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** One entry of the metric catalogue: what the README documents and a test checks against. */
export interface MetricSpec {
  readonly name: string;
  readonly kind: 'histogram' | 'counter' | 'updowncounter';
  readonly unit: string;
  readonly description: string;
  readonly buckets?: readonly number[];
  /** Attribute keys it carries. */
  readonly attributes: readonly string[];
}

const OPERATION_ATTRS = [
  'gen_ai.operation.name',
  'gen_ai.provider.name',
  'gen_ai.request.model',
  'gen_ai.response.model',
  'server.address',
  'server.port',
  'openai.api.type',
  'modeltap.transport',
];

const STREAM_ATTRS = OPERATION_ATTRS.filter((a) => a !== 'gen_ai.response.model');

/** Every metric modeltap records. */
export const METRICS = {
  operationDuration: { name: 'gen_ai.client.operation.duration', kind: 'histogram', unit: 's', description: 'Duration of a model operation, from the upstream send to the end of its stream.', buckets: DURATION_BUCKETS, attributes: [...OPERATION_ATTRS, 'error.type'] },
  tokenUsage: { name: 'gen_ai.client.token.usage', kind: 'histogram', unit: '{token}', description: 'Tokens used by an operation, as the upstream reported them.', buckets: TOKEN_BUCKETS, attributes: [...OPERATION_ATTRS, 'gen_ai.token.type'] },
  // Recorded while the stream runs, before the response model is known: no gen_ai.response.model.
  timeToFirstChunk: { name: 'gen_ai.client.operation.time_to_first_chunk', kind: 'histogram', unit: 's', description: 'Streaming: time from the upstream send to the first event.', buckets: DURATION_BUCKETS, attributes: STREAM_ATTRS },
  timePerOutputChunk: { name: 'gen_ai.client.operation.time_per_output_chunk', kind: 'histogram', unit: 's', description: 'Streaming: gap before each event after the first.', buckets: DURATION_BUCKETS, attributes: STREAM_ATTRS },
  serverRequestDuration: { name: 'gen_ai.server.request.duration', kind: 'histogram', unit: 's', description: "The caller's view of a model request: arrival to last byte written.", buckets: DURATION_BUCKETS, attributes: [...OPERATION_ATTRS, 'error.type'] },
  serverTimeToFirstToken: { name: 'gen_ai.server.time_to_first_token', kind: 'histogram', unit: 's', description: "The caller's view: arrival to the first event written.", buckets: SERVER_TTFT_BUCKETS, attributes: STREAM_ATTRS },
  httpServerDuration: { name: 'http.server.request.duration', kind: 'histogram', unit: 's', description: 'Every request to modeltap, a stream until its end.', buckets: HTTP_BUCKETS, attributes: ['http.request.method', 'http.route', 'http.response.status_code', 'error.type', 'url.scheme'] },
  httpServerActive: { name: 'http.server.active_requests', kind: 'updowncounter', unit: '{request}', description: 'Requests in flight.', attributes: ['http.request.method', 'http.route'] },
  httpClientDuration: { name: 'http.client.request.duration', kind: 'histogram', unit: 's', description: 'Each upstream attempt, to its response head.', buckets: HTTP_BUCKETS, attributes: ['http.request.method', 'server.address', 'server.port', 'http.response.status_code', 'error.type'] },
  apiRequest: { name: 'modeltap.api_request', kind: 'counter', unit: '{request}', description: 'Upstream attempts (Codex codex.api_request).', attributes: ['status', 'success', 'attempt'] },
  sseEvent: { name: 'modeltap.sse_event', kind: 'counter', unit: '{event}', description: 'SSE events read from the upstream (Codex codex.sse_event).', attributes: ['kind', 'success'] },
  sseEventDuration: { name: 'modeltap.sse_event.duration', kind: 'histogram', unit: 's', description: 'Wait for each SSE event.', buckets: FINE_BUCKETS, attributes: ['kind', 'success'] },
  wsRequest: { name: 'modeltap.websocket.request', kind: 'counter', unit: '{frame}', description: 'WebSocket request frames sent upstream.', attributes: ['success'] },
  wsRequestDuration: { name: 'modeltap.websocket.request.duration', kind: 'histogram', unit: 's', description: 'Time to send a WebSocket request frame.', buckets: FINE_BUCKETS, attributes: ['success'] },
  wsEvent: { name: 'modeltap.websocket.event', kind: 'counter', unit: '{frame}', description: 'WebSocket frames read from the upstream.', attributes: ['kind', 'success'] },
  wsEventDuration: { name: 'modeltap.websocket.event.duration', kind: 'histogram', unit: 's', description: 'Wait for each WebSocket frame.', buckets: FINE_BUCKETS, attributes: ['kind', 'success'] },
  operations: { name: 'modeltap.operations', kind: 'counter', unit: '{operation}', description: "Model operations by Codex's request kind and originator (bounded label values).", attributes: ['gen_ai.request.model', 'modeltap.request_kind', 'modeltap.client.originator', 'modeltap.transport'] },
  usageTokens: { name: 'modeltap.usage.tokens', kind: 'counter', unit: '{token}', description: 'Tokens by type: input, output, cache_read, reasoning.', attributes: ['gen_ai.request.model', 'gen_ai.token.type'] },
  usageUnreported: { name: 'modeltap.usage.unreported', kind: 'counter', unit: '{operation}', description: 'Model operations whose usage the upstream did not report (a Chat stream without include_usage, a failed or cut-short one): their tokens are unknown, in no token metric.', attributes: ['gen_ai.request.model', 'openai.api.type', 'modeltap.transport'] },
  cost: { name: 'modeltap.cost', kind: 'counter', unit: 'USD', description: 'What model operations cost: the usage the upstream reported at the price table\'s prices (prices/openai.json, --prices) and the service tier it answered with.', attributes: ['gen_ai.request.model', 'gen_ai.response.model', 'modeltap.transport', 'modeltap.request_kind'] },
  costUnpriced: { name: 'modeltap.cost.unpriced', kind: 'counter', unit: '{operation}', description: 'Model operations with usage whose cost is unknown (no price for the model, or a service tier without a multiplier): in no cost metric, never counted as 0.', attributes: ['gen_ai.request.model', 'gen_ai.response.model'] },
  proxyOverhead: { name: 'modeltap.proxy.overhead', kind: 'histogram', unit: 's', description: "Time modeltap adds before the caller's head: arrival to upstream dispatch, plus upstream head (JSON: first body bytes) to the caller's head written; retries and backoff are the upstream's.", buckets: FINE_BUCKETS, attributes: ['http.route', 'modeltap.transport'] },
  relayDelay: { name: 'modeltap.relay.delay', kind: 'histogram', unit: 's', description: 'Per relayed chunk or frame: upstream bytes read to written to the caller.', buckets: FINE_BUCKETS, attributes: ['modeltap.transport'] },
  upstreamRetries: { name: 'modeltap.upstream.retries', kind: 'counter', unit: '{retry}', description: 'Upstream retries by reason.', attributes: ['reason'] },
  authRecoveries: { name: 'modeltap.auth.recoveries', kind: 'counter', unit: '{step}', description: '401 recovery steps.', attributes: ['step', 'outcome'] },
  wsFallbacks: { name: 'modeltap.websocket.fallbacks', kind: 'counter', unit: '{fallback}', description: 'WebSocket to HTTP fallbacks.', attributes: ['reason'] },
  telemetryDropped: { name: 'modeltap.telemetry.dropped', kind: 'counter', unit: '{item}', description: 'Spans and metric exports dropped because the exporter was full, down or slow; requests whose telemetry was dropped before the telemetry thread (signal records: its hand-off full, or the thread lost); rows the request store could not write (signal store, reason its failure).', attributes: ['signal', 'reason'] },
  telemetryErrors: { name: 'modeltap.telemetry.errors', kind: 'counter', unit: '{error}', description: 'Telemetry calls that threw: caught, the request unaffected (the first of each kind is logged).', attributes: ['modeltap.telemetry.method', 'error.type'] },
} as const satisfies Record<string, MetricSpec>;

/** The created instruments, by the keys of {@link METRICS}. */
export type Instruments = { readonly [K in keyof typeof METRICS]: FastInstrument };

/** Creates every instrument of the catalogue, with the bucket boundaries of its spec. */
export function createInstruments(metrics: FastMetrics): Instruments {
  const out: Record<string, FastInstrument> = {};
  for (const [key, spec] of Object.entries(METRICS) as [string, MetricSpec][]) out[key] = metrics.instrument(spec);
  return out as Instruments;
}
