import type { ResponseEvent } from '../client/events.js';
import { costPicos } from '../cost/cost.js';
import type { PriceTable } from '../cost/price-table.js';
import type { SummaryRecorder } from '../summary/summary-recorder.js';
import type { OperationInfo, ProxyTelemetry, RequestOutcome, RequestTelemetry, ServerRequestInfo, TurnTelemetry } from '../telemetry/proxy-telemetry.js';

/**
 * Feeds the run summary from the proxy's own exact measurements (not from histogram buckets):
 * per model request, the caller's time to first chunk (arrival to first relayed byte), duration,
 * modeltap's overhead, errors, the upstream's usage and what it cost at `prices` (unknown without
 * them). A WebSocket connection's turns are recorded one by one, each with its own measurements
 * (several may be open at once).
 */
export function summaryTelemetry(recorder: SummaryRecorder, prices?: PriceTable): ProxyTelemetry {
  return { startRequest: (info) => new SummaryRequest(recorder, info, prices) };
}

/** What is measured of one model request (HTTP) or one WebSocket turn. */
interface Measured {
  op: OperationInfo | undefined;
  transport: string;
  firstWriteAt: number | undefined;
  usage: { input: number; output: number; cached: number } | undefined;
  /** The completed event's model and service tier, for the cost. */
  completed: { readonly model: string | undefined; readonly serviceTier: string | undefined } | undefined;
  error: string | undefined;
}

const measured = (op: OperationInfo | undefined, transport: string): Measured => ({ op, transport, firstWriteAt: undefined, usage: undefined, completed: undefined, error: undefined });

/** Keeps what a completed event says of usage, model and tier; other events change nothing. */
function onCompleted(m: Measured, event: ResponseEvent): void {
  if (event.type !== 'completed') return;
  m.completed = { model: event.model, serviceTier: event.serviceTier };
  if (event.tokenUsage) m.usage = { input: event.tokenUsage.inputTokens, output: event.tokenUsage.outputTokens, cached: event.tokenUsage.cachedInputTokens };
}

class SummaryRequest implements RequestTelemetry {
  readonly hooks = {};
  readonly #recorder: SummaryRecorder;
  readonly #info: ServerRequestInfo;
  readonly #prices: PriceTable | undefined;
  readonly #m: Measured = measured(undefined, 'http');
  #overheadMs: number | undefined;
  #turns = 0;

  constructor(recorder: SummaryRecorder, info: ServerRequestInfo, prices: PriceTable | undefined) {
    this.#recorder = recorder;
    this.#info = info;
    this.#prices = prices;
  }

  startOperation(info: OperationInfo): void {
    this.#m.op = info;
    this.#m.transport = info.transport ?? (info.stream ? 'http_sse' : 'http_json');
  }
  onHead(_status: number, transport: 'http_sse' | 'http_json' | 'websocket', overheadMs: number): void {
    this.#m.transport = transport;
    this.#overheadMs = overheadMs;
  }
  onEvent(event: ResponseEvent): void {
    onCompleted(this.#m, event);
  }
  onWrite(): void {
    this.#m.firstWriteAt ??= performance.now();
  }
  onError(errorType: string): void {
    this.#m.error ??= errorType;
  }
  startTurn(info: OperationInfo): TurnTelemetry {
    this.#turns++;
    return new SummaryTurn(this, measured(info, 'websocket'));
  }
  onFallback(): void {}
  end(outcome: RequestOutcome): void {
    if (this.#turns !== 0) return; // a WebSocket connection: its turns were recorded one by one
    if (this.#m.op === undefined) return; // not a model request
    const error = outcome.errorType ?? this.#m.error ?? (outcome.statusCode >= 400 ? String(outcome.statusCode) : undefined);
    this.flush(this.#m, this.#info.arrival, error);
  }

  /** @internal Records one request or turn that started at `start`. */
  flush(m: Measured, start: number, error: string | undefined): void {
    const now = performance.now();
    const u = m.usage;
    // The model that answered, else the one asked for (as the span's cost: otel-telemetry.ts).
    const cost = u === undefined || this.#prices === undefined ? undefined : costPicos(this.#prices, m.completed?.model ?? m.op?.model, { inputTokens: u.input, cachedInputTokens: u.cached, outputTokens: u.output }, m.completed?.serviceTier);
    this.#recorder.record({
      route: this.#info.route ?? this.#info.path,
      model: m.op?.model,
      transport: m.transport,
      requestKind: m.op?.requestKind,
      error,
      ttfcMs: m.firstWriteAt === undefined ? undefined : m.firstWriteAt - start,
      durationMs: now - start,
      overheadMs: this.#overheadMs,
      tokens: u,
      costPicos: cost,
    });
  }
}

/** One WebSocket turn, recorded when it ends. */
class SummaryTurn implements TurnTelemetry {
  readonly #request: SummaryRequest;
  readonly #m: Measured;
  readonly #start = performance.now();
  #ended = false;

  constructor(request: SummaryRequest, m: Measured) {
    this.#request = request;
    this.#m = m;
  }

  onEvent(event: ResponseEvent): void {
    onCompleted(this.#m, event);
  }
  onChunk(): void {}
  onWrite(): void {
    this.#m.firstWriteAt ??= performance.now();
  }
  end(errorType?: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#request.flush(this.#m, this.#start, errorType);
  }
}
