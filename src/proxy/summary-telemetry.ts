import type { ResponseEvent } from '../client/events.js';
import type { SummaryRecorder } from '../summary/summary-recorder.js';
import type { OperationInfo, ProxyTelemetry, RequestOutcome, RequestTelemetry, ServerRequestInfo } from '../telemetry/proxy-telemetry.js';

/**
 * Feeds the run summary from the proxy's own exact measurements (not from histogram buckets):
 * per model request, the caller's time to first chunk (arrival to first relayed byte), duration,
 * modeltap's overhead, errors and the upstream's usage.
 */
export function summaryTelemetry(recorder: SummaryRecorder): ProxyTelemetry {
  return { startRequest: (info) => new SummaryRequest(recorder, info) };
}

class SummaryRequest implements RequestTelemetry {
  readonly hooks = {};
  readonly #recorder: SummaryRecorder;
  readonly #info: ServerRequestInfo;
  #op: OperationInfo | undefined;
  #transport = 'http';
  #firstWriteAt: number | undefined;
  #overheadMs: number | undefined;
  #usage: { input: number; output: number; cached: number } | undefined;
  #error: string | undefined;
  #turnStart = 0;

  constructor(recorder: SummaryRecorder, info: ServerRequestInfo) {
    this.#recorder = recorder;
    this.#info = info;
  }

  startOperation(info: OperationInfo): void {
    this.#op = info;
    this.#transport = info.transport ?? (info.stream ? 'http_sse' : 'http_json');
  }
  onHead(_status: number, transport: 'http_sse' | 'http_json' | 'websocket', overheadMs: number): void {
    this.#transport = transport;
    this.#overheadMs = overheadMs;
  }
  onEvent(event: ResponseEvent): void {
    if (event.type === 'completed' && event.tokenUsage) {
      this.#usage = { input: event.tokenUsage.inputTokens, output: event.tokenUsage.outputTokens, cached: event.tokenUsage.cachedInputTokens };
    }
  }
  onWrite(): void {
    this.#firstWriteAt ??= performance.now();
  }
  onError(errorType: string): void {
    this.#error ??= errorType;
  }
  startTurn(info: OperationInfo): void {
    this.endTurn();
    this.startOperation({ ...info, transport: 'websocket' });
    this.#turnStart = performance.now();
    this.#firstWriteAt = undefined;
    this.#usage = undefined;
    this.#error = undefined;
  }
  endTurn(errorType?: string): void {
    if (this.#op === undefined || this.#turnStart === 0) return;
    this.#flush(this.#turnStart, errorType ?? this.#error);
    this.#op = undefined;
  }
  onFallback(): void {}
  end(outcome: RequestOutcome): void {
    if (this.#turnStart !== 0) return; // a WebSocket connection: its turns were recorded one by one
    if (this.#op === undefined) return; // not a model request
    const error = outcome.errorType ?? this.#error ?? (outcome.statusCode >= 400 ? String(outcome.statusCode) : undefined);
    this.#flush(this.#info.arrival, error);
  }

  #flush(start: number, error: string | undefined): void {
    const now = performance.now();
    this.#recorder.record({
      route: this.#info.route ?? this.#info.path,
      model: this.#op?.model,
      transport: this.#transport,
      requestKind: this.#op?.requestKind,
      error,
      ttfcMs: this.#firstWriteAt === undefined ? undefined : this.#firstWriteAt - start,
      durationMs: now - start,
      overheadMs: this.#overheadMs,
      tokens: this.#usage,
    });
  }
}
