import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, diag, logs, metrics, propagation, ProxyTracerProvider, trace, type Attributes, type Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { defaultResource, resourceFromAttributes, serviceNameEnvDetector, type Resource } from '@opentelemetry/resources';
import {
  MeterProvider,
  MetricReader,
  PeriodicExportingMetricReader,
  type CollectionResult,
  type MetricProducer,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { startNodeSdk } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  NoopSpanProcessor,
  RandomIdGenerator,
  TracerProvider,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import type { StoreQueries } from '../../store/store-queries.js';
import { StoreWriter, type StoreConfig } from '../../store/store-writer.js';
import { shippedPrices, withOverrides } from '../../cost/price-table.js';
import { FactReplayer } from './fact-replayer.js';
import { FastMetrics, type FastInstrument } from './fast-metrics.js';
import { METRICS } from './instruments.js';
import { prometheusText } from './prometheus-text.js';
import { createOtelTelemetry, ScriptedIds, type TraceDetail } from './otel-telemetry.js';

/** What the telemetry pipeline is built from: modeltap's choices; the SDK reads the OTEL_* variables itself. */
export interface PipelineConfig {
  /** modeltap's version, as `service.version`. */
  readonly serviceVersion: string;
  /** `service.instance.id`: one per process, kept when a telemetry thread is replaced. */
  readonly instanceId: string;
  /** Let the SDK build the trace exporters the environment names (else spans are built and exported nowhere). */
  readonly exportTraces: boolean;
  /** Let the SDK build the metric readers the environment names. */
  readonly exportMetrics: boolean;
  /** Prometheus text for /metrics. */
  readonly prometheus: boolean;
  readonly detail: TraceDetail;
  readonly captureContent: boolean;
  /** The relay thread's `performance.timeOrigin`: the facts' times are on its clock. */
  readonly timeOrigin: number;
  /** For tests: an exporter that replaces the environment's (batched and counted like the SDK's). */
  readonly spanExporter?: SpanExporter;
  /** The request store, when on: written here, from the same facts. */
  readonly store?: StoreConfig;
  /** A `--prices` file over the shipped price table (its text and name: it crosses to the thread as data). Default: the shipped table alone. */
  readonly prices?: { readonly text: string; readonly name: string };
}

/** The OpenTelemetry side: builds spans and metrics from facts and exports them (in the telemetry thread, or in-process). */
export interface TelemetryPipeline {
  /** Applies a batch of facts, with the requests the relay dropped (hand-off full) and lost (a thread replaced) since the last. */
  apply(facts: readonly unknown[], dropped: number, lost: number): void;
  /** Requests whose end was applied. */
  readonly ended: number;
  /** The request store, when on. */
  readonly store: StoreQueries | undefined;
  /** The Prometheus text of /metrics, when enabled. */
  prometheusText: (() => Promise<string>) | undefined;
  /** modeltap's metrics as the SDK's data (what a reader collects). */
  collect(): Promise<CollectionResult>;
  /** Exports what is buffered now. */
  forceFlush(): Promise<void>;
  /** Flushes and stops every exporter (bounded by their timeouts). */
  shutdown(): Promise<void>;
}

/** Counts spans the batch processor will drop (queue full) or that fail to export. */
class CountingSpanProcessor implements SpanProcessor {
  readonly #inner: SpanProcessor;
  readonly #pending: { count: number };
  readonly #dropped: FastInstrument;
  readonly #maxQueue: number;

  constructor(inner: SpanProcessor, pending: { count: number }, dropped: FastInstrument, maxQueue: number) {
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
      this.#dropped.add(1, { signal: 'traces', reason: 'queue_full' });
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
function countingSpanExporter(inner: SpanExporter, pending: { count: number }, dropped: FastInstrument): SpanExporter {
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
      inner.export(spans, (result) => {
        pending.count = Math.max(0, pending.count - spans.length);
        if (result.code !== ExportResultCode.SUCCESS) dropped.add(spans.length, { signal: 'traces', reason: 'export_failed' });
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    ...(inner.forceFlush ? { forceFlush: () => (inner.forceFlush as () => Promise<void>)() } : {}),
  };
}

/** Wraps a metric exporter to count the data points it failed to deliver. */
function countingMetricExporter(inner: PushMetricExporter, dropped: FastInstrument): PushMetricExporter {
  return {
    export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
      inner.export(metrics, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) {
          let points = 0;
          for (const scope of metrics.scopeMetrics) for (const metric of scope.metrics) points += metric.dataPoints.length;
          dropped.add(points, { signal: 'metrics', reason: 'export_failed' });
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

// sdk-node 0.301 exports only NodeSDK and startNodeSdk, and neither hands back what it builds from
// the environment nor lets a caller wrap it: it registers the providers as the API globals. So
// modeltap takes them from the globals and adopts them in place, through the few fields below (the
// versions are pinned; the e2e drop-counting and OTLP tests fail if these fields move).
interface TracerProviderFields {
  readonly _resource: Resource;
  readonly _activeSpanProcessor: { _spanProcessors: SpanProcessor[] };
}
interface BatchSpanProcessorFields {
  _exporter: SpanExporter;
  readonly _maxQueueSize: number;
}
interface MeterProviderFields {
  readonly _sharedState: { readonly resource: Resource; readonly metricCollectors: readonly { readonly _metricReader: MetricReader }[] };
}
interface MetricReaderFields {
  readonly _metricProducers: MetricProducer[];
}
interface PeriodicReaderFields {
  _exporter: PushMetricExporter;
}

function sdkInternals<T>(value: unknown, what: string, valid: (v: T) => boolean): T {
  if (!valid(value as T)) throw new Error(`@opentelemetry/sdk-node built a ${what} modeltap does not know how to adopt (an SDK upgrade changed its fields)`);
  return value as T;
}

/** Counts what the SDK's batch processors drop; the SDK's own processor list is edited in place. */
function adoptSpanProcessors(provider: TracerProvider, dropped: FastInstrument): void {
  const multi = sdkInternals<TracerProviderFields>(provider, 'TracerProvider', (p) => Array.isArray(p._activeSpanProcessor?._spanProcessors));
  const processors = multi._activeSpanProcessor._spanProcessors;
  for (let i = 0; i < processors.length; i++) {
    const processor = processors[i];
    if (!(processor instanceof BatchSpanProcessor)) continue;
    const batch = sdkInternals<BatchSpanProcessorFields>(processor, 'BatchSpanProcessor', (p) => typeof p._exporter?.export === 'function' && typeof p._maxQueueSize === 'number');
    const pending = { count: 0 };
    batch._exporter = countingSpanExporter(batch._exporter, pending, dropped);
    processors[i] = new CountingSpanProcessor(processor, pending, dropped, batch._maxQueueSize);
  }
}

/** Gives each of the SDK's readers modeltap's metrics, and counts what its push exporters fail to deliver. */
function adoptMetricReaders(provider: MeterProvider, producer: MetricProducer, dropped: FastInstrument): void {
  const state = sdkInternals<MeterProviderFields>(provider, 'MeterProvider', (p) => Array.isArray(p._sharedState?.metricCollectors))._sharedState;
  for (const { _metricReader: reader } of state.metricCollectors) {
    const fields = sdkInternals<MetricReaderFields>(reader, 'MetricReader', (r) => Array.isArray(r._metricProducers));
    if (!fields._metricProducers.includes(producer)) fields._metricProducers.push(producer);
    if (reader instanceof PeriodicExportingMetricReader) {
      const periodic = sdkInternals<PeriodicReaderFields>(reader, 'PeriodicExportingMetricReader', (r) => typeof r._exporter?.export === 'function');
      periodic._exporter = countingMetricExporter(periodic._exporter, dropped);
    }
  }
}

/** The tracer's id generator field (sdk-trace 3.1: `Tracer._idGenerator`), replaced by modeltap's scripted ids. */
interface TracerFields {
  _idGenerator: { generateTraceId(): string; generateSpanId(): string };
}

/**
 * Starts OpenTelemetry through `@opentelemetry/sdk-node` (`startNodeSdk`), which reads the standard
 * OTEL_* variables from process.env itself (the SDK offers no way to pass them in) or, with
 * OTEL_CONFIG_FILE, a declarative configuration file. No instrumentations (they would record the
 * relay's own sockets a second time) and no logs. modeltap adds the resource defaults
 * (`service.name` `modeltap`, which OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES override,
 * `service.version`, `service.instance.id`), its metrics on every reader the SDK built, the
 * Prometheus reader behind /metrics, and counting of what the exporters drop
 * (`modeltap.telemetry.dropped`): a collector that is down or hangs only costs dropped telemetry.
 * Spans and metrics are built by replaying the relay's facts (`FactReplayer`), with their recorded
 * times and ids.
 *
 * The SDK registers its providers and propagator as the API globals of the thread it runs in; a
 * pipeline takes them over from any earlier one in that thread, and keeps using its own providers.
 */
export function startPipeline(config: PipelineConfig, log?: (line: string) => void, onStored?: (lastId: number) => void): TelemetryPipeline {
  const fast = new FastMetrics({ name: 'modeltap', version: config.serviceVersion });
  const dropped = fast.instrument(METRICS.telemetryDropped);
  const errorsCounter = fast.instrument(METRICS.telemetryErrors);
  const base = defaultResource().merge(resourceFromAttributes({ 'service.name': 'modeltap', 'service.version': config.serviceVersion, 'service.instance.id': config.instanceId }));

  // Take over the globals, so that what the SDK registers below is this pipeline's.
  for (const api of [trace, metrics, propagation, context, logs, diag]) api.disable();
  // Without a processor the SDK builds no TracerProvider (and so no resource): a no-op one keeps
  // the spans when nothing is exported.
  const spanProcessors = config.spanExporter ? [new BatchSpanProcessor({ exporter: config.spanExporter })] : config.exportTraces ? undefined : [new NoopSpanProcessor()];
  const metricReaders = config.exportMetrics ? undefined : [];
  const sdk = startNodeSdk({
    instrumentations: [],
    logRecordProcessors: [],
    baseResource: base,
    // OTEL_SERVICE_NAME (OTEL_RESOURCE_ATTRIBUTES is always read); no host or process detectors:
    // the process's command line carries flags such as --access-key.
    resourceDetectors: [serviceNameEnvDetector],
    ...(spanProcessors ? { spanProcessors } : {}),
    ...(metricReaders ? { metricReaders } : {}),
  });

  // modeltap passes every context explicitly; the SDK's AsyncLocalStorage context manager would
  // only cost (on Node 22 the first export's context.with turns async hooks on for every promise).
  context.disable();

  const globalTracer = trace.getTracerProvider();
  const delegate = globalTracer instanceof ProxyTracerProvider ? globalTracer.getDelegate() : globalTracer;
  // The API's no-op providers have no forceFlush; anything else must be the SDK classes modeltap
  // imports (one copy of each package: a second would make the instanceof checks below miss).
  const sdkTracerProvider = 'forceFlush' in delegate ? sdkInternals<TracerProvider>(delegate, 'tracer provider', (p) => p instanceof TracerProvider) : undefined;
  const globalMeter = metrics.getMeterProvider();
  const sdkMeterProvider = 'forceFlush' in globalMeter ? sdkInternals<MeterProvider>(globalMeter, 'meter provider', (p) => p instanceof MeterProvider) : undefined;
  if (sdkTracerProvider) adoptSpanProcessors(sdkTracerProvider, dropped);
  if (sdkMeterProvider) adoptMetricReaders(sdkMeterProvider, fast, dropped);
  // The SDK's resource, so /metrics and OTLP describe the same service; without an SDK provider
  // (a configuration file that sets up no tracer provider), modeltap's defaults.
  const resource = sdkTracerProvider ? sdkInternals<TracerProviderFields>(sdkTracerProvider, 'TracerProvider', (p) => typeof p._resource?.attributes === 'object')._resource : base;
  const tracerProvider = sdkTracerProvider ?? new TracerProvider({ resource });

  let prometheus: PrometheusExporter | undefined;
  let prometheusProvider: MeterProvider | undefined;
  if (config.prometheus) {
    prometheus = new PrometheusExporter({ preventServerStart: true, metricProducers: [fast] });
    // Served on modeltap's own port, which the SDK knows nothing of: a provider of its own binds it.
    prometheusProvider = new MeterProvider({ resource, readers: [prometheus] });
  }
  const tracer = tracerProvider.getTracer('modeltap', config.serviceVersion);
  // The relay's thread chose every span's ids (its traceparent went upstream already): the tracer
  // takes them from the replay. A tracer of another shape would make spans with ids of its own.
  const ids = new ScriptedIds(new RandomIdGenerator());
  sdkInternals<TracerFields>(tracer, 'Tracer', (t) => typeof t._idGenerator?.generateSpanId === 'function')._idGenerator = ids;
  // One table for the spans, the metrics and the store: the same cost everywhere.
  const prices = config.prices === undefined ? shippedPrices() : withOverrides(shippedPrices(), config.prices.text, config.prices.name);
  const countError = (method: string, errorType: string): void => errorsCounter.add(1, { 'modeltap.telemetry.method': method, 'error.type': errorType });
  let replayer: FactReplayer | undefined;
  const telemetry = createOtelTelemetry({
    tracer,
    metrics: fast,
    propagator: propagation,
    detail: config.detail,
    captureContent: config.captureContent,
    clock: () => (replayer as FactReplayer).now,
    timeOrigin: config.timeOrigin,
    prices,
  });
  replayer = new FactReplayer({ telemetry, ids, onError: countError });
  const replay = replayer;
  const storeDropped = new Map<string, Attributes>();
  const store =
    config.store === undefined
      ? undefined
      : new StoreWriter(config.store, {
          captureContent: config.captureContent,
          timeOrigin: config.timeOrigin,
          ...(log ? { log } : {}),
          ...(onStored ? { onStored } : {}),
          prices,
          onError: countError,
          onDropped: (rows, code) => {
            let attrs = storeDropped.get(code);
            if (attrs === undefined) storeDropped.set(code, (attrs = { signal: 'store', reason: code }));
            dropped.add(rows, attrs);
          },
        });
  return {
    apply(facts, droppedRequests, lost) {
      if (droppedRequests > 0) dropped.add(droppedRequests, QUEUE_FULL);
      if (lost > 0) dropped.add(lost, THREAD_LOST);
      replay.apply(facts);
      store?.apply(facts);
    },
    store: store?.store,
    get ended() {
      return replay.ended;
    },
    prometheusText: prometheus === undefined ? undefined : prometheusText.bind(undefined, prometheus),
    collect: () => fast.collect(),
    forceFlush: async () => {
      await Promise.allSettled([tracerProvider.forceFlush(), sdkMeterProvider?.forceFlush(), prometheusProvider?.forceFlush()]);
    },
    shutdown: async () => {
      // The store's last writes and the last exports, side by side (each bounded by its own timeout).
      await Promise.allSettled([store?.close(), sdk.shutdown(), sdkTracerProvider ? undefined : tracerProvider.shutdown(), prometheusProvider?.shutdown()]);
    },
  };
}

/** Requests the relay's thread recorded nothing of: the hand-off to the telemetry thread was full. */
const QUEUE_FULL = { signal: 'records', reason: 'queue_full' };
/** Requests whose facts were in a telemetry thread that crashed or hung (it was replaced). */
const THREAD_LOST = { signal: 'records', reason: 'thread_lost' };
