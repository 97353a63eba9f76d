import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter as OtlpMetricsJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OtlpMetricsProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter as OtlpTracesJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpTracesProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricProducer,
  type MetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  BatchSpanProcessor,
  TracerProvider,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import type { ProxyTelemetry } from '../proxy-telemetry.js';
import { FastMetrics, type FastInstrument } from './fast-metrics.js';
import { METRICS } from './instruments.js';
import { prometheusHandler } from './prometheus-handler.js';
import { createOtelTelemetry, type TraceDetail } from './otel-telemetry.js';

/** OTLP over HTTP: protobuf (the OpenTelemetry default) or JSON. */
export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** Resolved telemetry settings; the CLI builds them from flags and the standard OTEL_* variables. */
export interface TelemetryConfig {
  /** OTEL_SDK_DISABLED=true: no spans, no metrics, no /metrics. */
  readonly disabled: boolean;
  /** modeltap's version, as `service.version`. */
  readonly serviceVersion: string;
  /** Export traces over OTLP (the exporter reads its endpoint, headers and timeout from OTEL_*). */
  readonly otlpTraces: OtlpProtocol | undefined;
  /** Export metrics over OTLP. */
  readonly otlpMetrics: OtlpProtocol | undefined;
  /** OTEL_METRIC_EXPORT_INTERVAL, ms. Default 60000. */
  readonly metricExportIntervalMs: number;
  /** Serve Prometheus text on /metrics. */
  readonly prometheus: boolean;
  readonly detail: TraceDetail;
  readonly captureContent: boolean;
  /** The span batch processor (the standard OTEL_BSP_* variables). Defaults: {@link DEFAULT_SPAN_BATCH}. */
  readonly spanBatch?: Partial<SpanBatchConfig>;
  /** For tests: exporters that replace OTLP; readers are built with the producers they must read. */
  readonly spanExporter?: SpanExporter;
  readonly metricReaders?: (producers: MetricProducer[]) => MetricReader[];
}

/** How finished spans are queued and exported. */
export interface SpanBatchConfig {
  /** OTEL_BSP_MAX_QUEUE_SIZE: spans held before new ones are dropped (and counted). */
  readonly maxQueueSize: number;
  /** OTEL_BSP_MAX_EXPORT_BATCH_SIZE: spans per export request. */
  readonly maxExportBatchSize: number;
  /** OTEL_BSP_SCHEDULE_DELAY: longest wait before a partial batch is exported, ms. */
  readonly scheduledDelayMillis: number;
  /** OTEL_BSP_EXPORT_TIMEOUT: longest an export may take, ms. */
  readonly exportTimeoutMillis: number;
}

/**
 * Span batching defaults: the SDK's, except a queue of 2048 (the SDK's) that is counted, so drops
 * show in `modeltap.telemetry.dropped`. Smaller batches (64, 128) were tried in the overhead
 * benchmark and changed neither the relay's tail latency nor its memory beyond the noise.
 */
export const DEFAULT_SPAN_BATCH: SpanBatchConfig = { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 5000, exportTimeoutMillis: 30000 };

/** What {@link startTelemetry} returns. */
export interface TelemetryRuntime {
  readonly telemetry: ProxyTelemetry | undefined;
  /** Serves Prometheus text, when enabled. */
  readonly metricsHandler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  /** Counts a telemetry call that threw, in `modeltap.telemetry.errors` (the guard's `count`). */
  readonly onTelemetryError: (method: string, errorType: string) => void;
  /** Exports what is buffered now. */
  forceFlush(): Promise<void>;
  /** Flushes and stops every exporter (bounded by their timeouts). */
  shutdown(): Promise<void>;
}

/** Counts spans the batch processor will drop (queue full) or that fail to export. */
class CountingSpanProcessor implements SpanProcessor {
  readonly #inner: SpanProcessor;
  readonly #pending: { count: number };
  readonly #dropped: () => FastInstrument;
  readonly #maxQueue: number;

  constructor(inner: SpanProcessor, pending: { count: number }, dropped: () => FastInstrument, maxQueue: number) {
    this.#inner = inner;
    this.#maxQueue = maxQueue;
    this.#pending = pending;
    this.#dropped = dropped;
  }
  onStart(span: Span, parentContext: Context): void {
    this.#inner.onStart(span, parentContext);
  }
  onEnd(span: ReadableSpan): void {
    if (this.#pending.count >= this.#maxQueue) {
      this.#dropped().add(1, { signal: 'traces', reason: 'queue_full' });
    } else {
      this.#pending.count++;
    }
    this.#inner.onEnd(span);
  }
  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}

/** Wraps a span exporter to count what it failed to deliver. */
function countingSpanExporter(inner: SpanExporter, pending: { count: number }, dropped: () => FastInstrument): SpanExporter {
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
      inner.export(spans, (result) => {
        pending.count = Math.max(0, pending.count - spans.length);
        if (result.code !== ExportResultCode.SUCCESS) dropped().add(spans.length, { signal: 'traces', reason: 'export_failed' });
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    ...(inner.forceFlush ? { forceFlush: () => (inner.forceFlush as () => Promise<void>)() } : {}),
  };
}

/** Wraps a metric exporter to count the data points it failed to deliver. */
function countingMetricExporter(inner: PushMetricExporter, dropped: () => FastInstrument): PushMetricExporter {
  return {
    export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
      inner.export(metrics, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) {
          let points = 0;
          for (const scope of metrics.scopeMetrics) for (const metric of scope.metrics) points += metric.dataPoints.length;
          dropped().add(points, { signal: 'metrics', reason: 'export_failed' });
        }
        done(result);
      });
    },
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
    ...(inner.selectAggregationTemporality ? { selectAggregationTemporality: inner.selectAggregationTemporality.bind(inner) } : {}),
    ...(inner.selectAggregation ? { selectAggregation: inner.selectAggregation.bind(inner) } : {}),
  };
}

/**
 * Starts OpenTelemetry: a tracer and a meter provider of our own (nothing global), OTLP/HTTP
 * exporters behind bounded batch queues, and an optional Prometheus reader. The resource carries
 * `service.name` (default `modeltap`, OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES win),
 * `service.version` and a `service.instance.id`. A collector that is down or hangs only costs
 * dropped telemetry, counted in `modeltap.telemetry.dropped`.
 */
export function startTelemetry(config: TelemetryConfig): TelemetryRuntime {
  if (config.disabled) return { telemetry: undefined, metricsHandler: undefined, onTelemetryError: () => undefined, forceFlush: async () => undefined, shutdown: async () => undefined };
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': 'modeltap', 'service.version': config.serviceVersion, 'service.instance.id': randomUUID() }))
    .merge(detectResources({ detectors: [envDetector] }));

  const fast = new FastMetrics({ name: 'modeltap', version: config.serviceVersion });
  const droppedCounter = fast.instrument(METRICS.telemetryDropped);
  const dropped = (): FastInstrument => droppedCounter;
  const errorsCounter = fast.instrument(METRICS.telemetryErrors);
  const pending = { count: 0 };
  const traceExporter = config.spanExporter ?? (config.otlpTraces === undefined ? undefined : config.otlpTraces === 'http/json' ? new OtlpTracesJson() : new OtlpTracesProto());
  const batch: SpanBatchConfig = { ...DEFAULT_SPAN_BATCH, ...config.spanBatch };
  const spanProcessors: SpanProcessor[] =
    traceExporter === undefined
      ? []
      : [
          new CountingSpanProcessor(
            new BatchSpanProcessor({ exporter: countingSpanExporter(traceExporter, pending, dropped), ...batch }),
            pending,
            dropped,
            batch.maxQueueSize,
          ),
        ];
  const tracerProvider = new TracerProvider({ resource, spanProcessors });

  const producers: MetricProducer[] = [fast];
  const readers: MetricReader[] = [...(config.metricReaders?.(producers) ?? [])];
  let prometheus: PrometheusExporter | undefined;
  if (config.prometheus) {
    prometheus = new PrometheusExporter({ preventServerStart: true, metricProducers: producers });
    readers.push(prometheus);
  }
  if (config.otlpMetrics !== undefined) {
    const exporter = config.otlpMetrics === 'http/json' ? new OtlpMetricsJson() : new OtlpMetricsProto();
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: countingMetricExporter(exporter, dropped),
        exportIntervalMillis: config.metricExportIntervalMs,
        exportTimeoutMillis: Math.min(30_000, config.metricExportIntervalMs),
        metricProducers: producers,
      }),
    );
  }
  // The provider binds the readers; the catalogue's data comes from `fast`, its producer.
  const meterProvider = new MeterProvider({ resource, readers });
  const telemetry = createOtelTelemetry({
    tracer: tracerProvider.getTracer('modeltap', config.serviceVersion),
    metrics: fast,
    detail: config.detail,
    captureContent: config.captureContent,
  });
  return {
    telemetry,
    metricsHandler: prometheus === undefined ? undefined : prometheusHandler(prometheus),
    onTelemetryError: (method, errorType) => errorsCounter.add(1, { 'modeltap.telemetry.method': method, 'error.type': errorType }),
    forceFlush: async () => {
      await Promise.allSettled([tracerProvider.forceFlush(), meterProvider.forceFlush()]);
    },
    shutdown: async () => {
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}
