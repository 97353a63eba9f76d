import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SpanKind, SamplingDecision, type Context, type TextMapPropagator } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, type MetricProducer, type MetricReader, type ScopeMetrics } from '@opentelemetry/sdk-metrics';
import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler, type Sampler, type SpanExporter } from '@opentelemetry/sdk-trace';
import type { ProxyTelemetry } from '../proxy-telemetry.js';
import { FactRecorder, type FactSink } from './fact-recorder.js';
import type { TraceDetail } from './otel-telemetry.js';
import { readableSpan } from './plain-span.js';
import { prometheusHandler } from './prometheus-handler.js';
import { storeApi, type StoreApiAnswer } from '../../store/store-api.js';
import type { StoreLive } from '../store-live.js';
import type { StoreConfig } from '../../store/store-writer.js';
import type { PipelineConfig, TelemetryPipeline } from './telemetry-pipeline.js';
import { TelemetryThread } from './telemetry-thread.js';

/**
 * Resolved telemetry settings. Everything about exporters (which ones, protocol, endpoints, headers,
 * batching, intervals, sampler, propagators, resource, a declarative configuration file) is read
 * from the standard OTEL_* variables by `@opentelemetry/sdk-node` itself; these are only modeltap's
 * own choices on top.
 */
export interface TelemetryConfig {
  /** OTEL_SDK_DISABLED=true: no spans, no metrics, no /metrics. */
  readonly disabled: boolean;
  /** modeltap's version, as `service.version`. */
  readonly serviceVersion: string;
  /**
   * Let the SDK build the trace exporters the environment names. False: spans are still made
   * (their context goes upstream) but exported nowhere, whatever the SDK would default to.
   */
  readonly exportTraces: boolean;
  /** Let the SDK build the metric readers the environment names. False: only /metrics, if on. */
  readonly exportMetrics: boolean;
  /** Serve Prometheus text on /metrics. */
  readonly prometheus: boolean;
  readonly detail: TraceDetail;
  readonly captureContent: boolean;
  /** For tests: an exporter that replaces the environment's (batched and counted like the SDK's). */
  readonly spanExporter?: SpanExporter;
  /** For tests: readers that replace the environment's; each is given modeltap's metrics. */
  readonly metricReaders?: readonly MetricReader[];
  /**
   * `on` (default): the SDK runs in a telemetry thread of its own, and the relay's thread only
   * records facts; `off`: the same pipeline on the relay's thread (for debugging and comparison).
   */
  readonly thread?: 'on' | 'off';
  /** OTEL_PROPAGATORS as a list (`tracecontext`, `baggage`, `b3`, `b3multi`, `none`). Default tracecontext, baggage. */
  readonly propagators?: readonly string[];
  /** OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, for the sampled flag the relay's thread sends upstream. Default: the SDK's default. */
  readonly sampler?: { readonly name: string; readonly arg: string | undefined };
  /** Told one line when the telemetry thread was replaced. Default: not logged. */
  readonly log?: (line: string) => void;
  /** For tests: the telemetry thread's hand-off bound, watchdog and test hooks (see TelemetryThreadOptions). */
  readonly threadOptions?: { readonly maxQueueSlots?: number; readonly hangMs?: number; readonly testHooks?: boolean; readonly startStallMsForTests?: number };
  /**
   * `startPipeline` of `telemetry-pipeline.js`, required with `thread: 'off'`. Passed in rather than
   * imported, so that with the thread on the relay's thread never loads `@opentelemetry/sdk-node`
   * and its exporters (7 MB of resident memory at idle, measured): only the telemetry thread does.
   */
  readonly startPipeline?: (config: PipelineConfig, log?: (line: string) => void, onStored?: (lastId: number) => void) => TelemetryPipeline;
  /** The request store (`--store`), written by the telemetry pipeline. Default: none. */
  readonly store?: StoreConfig;
  /** A `--prices` file (its text and name) over the shipped price table. Default: the shipped table. */
  readonly prices?: { readonly text: string; readonly name: string };
}

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
  /** The telemetry thread, when it runs in one. */
  readonly thread: TelemetryThread | undefined;
  /** The request store's JSON API (`store-api.ts`), when a store is on. */
  readonly storeApi?: (path: string, query: string) => Promise<StoreApiAnswer>;
  /** Tells its listeners the last operation id of each batch the store wrote, when a store is on. */
  readonly storeLive?: StoreLive;
}

/** A {@link StoreLive} and the function that tells its listeners. */
function storeListeners(): { readonly live: StoreLive; readonly tell: (lastId: number) => void } {
  const listeners = new Set<(lastId: number) => void>();
  return {
    live: {
      subscribe(listener) {
        const own = (lastId: number): void => listener(lastId);
        listeners.add(own);
        return () => listeners.delete(own);
      },
    },
    tell: (lastId) => {
      for (const listener of listeners) {
        try {
          listener(lastId);
        } catch {
          // A listener's fault is its own: the store's writer (its caller) goes on.
        }
      }
    },
  };
}

/**
 * The propagator OTEL_PROPAGATORS names, built as `@opentelemetry/sdk-node` builds it (the same
 * four names), for the relay's thread: it reads the caller's trace context and writes the
 * upstream's there, while the SDK runs in the telemetry thread.
 */
export function propagatorFromNames(names: readonly string[] | undefined): TextMapPropagator {
  const list = names === undefined || names.length === 0 ? ['tracecontext', 'baggage'] : [...new Set(names)];
  if (list.includes('none')) return new CompositePropagator({ propagators: [] });
  const made: TextMapPropagator[] = [];
  for (const name of list) {
    if (name === 'tracecontext') made.push(new W3CTraceContextPropagator());
    else if (name === 'baggage') made.push(new W3CBaggagePropagator());
    else if (name === 'b3') made.push(new B3Propagator());
    else if (name === 'b3multi') made.push(new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }));
  }
  return made.length === 1 ? (made[0] as TextMapPropagator) : new CompositePropagator({ propagators: made });
}

/**
 * The sampler OTEL_TRACES_SAMPLER names, built as `@opentelemetry/sdk-node` builds it (the six
 * standard names; ratio from OTEL_TRACES_SAMPLER_ARG, 1 when blank or out of [0, 1]), or undefined
 * for the SDK's default. The telemetry thread's SDK samples the spans; the relay's thread asks the
 * same sampler only for the flag it sends upstream, so the two agree.
 */
export function samplerFromName(name: string | undefined, arg: string | undefined): Sampler | undefined {
  const parsed = arg === undefined || arg.trim() === '' ? Number.NaN : Number(arg);
  const ratio = Number.isFinite(parsed) && parsed >= 0 && parsed <= 1 ? parsed : 1;
  switch (name?.trim()) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default:
      return undefined;
  }
}

/** The sampled flag for the relay's thread, from a sampler. */
function sampledBy(sampler: Sampler | undefined): ((parent: Context, traceId: string) => boolean) | undefined {
  if (sampler === undefined) return undefined;
  return (parent, traceId) => sampler.shouldSample(parent, traceId, 'request', SpanKind.SERVER, {}, []).decision === SamplingDecision.RECORD_AND_SAMPLED;
}

/** The pipeline on this thread: batches are applied as they are handed over (within 20 ms of the requests' end). */
class InProcessSink implements FactSink {
  readonly pipeline: TelemetryPipeline;
  constructor(pipeline: TelemetryPipeline) {
    this.pipeline = pipeline;
  }
  accepts(): boolean {
    return true;
  }
  send(facts: unknown[], _slots: number, dropped: number): void {
    this.pipeline.apply(facts, dropped, 0);
  }
}

/**
 * Gives readers on this thread modeltap's metrics from the pipeline (in the telemetry thread or on
 * this one) through `collect`, which hands over the recorder's facts first: a reader sees every
 * request that has ended, not only those whose batch the 20 ms flush timer has sent.
 */
function readersOf(readers: readonly MetricReader[], collect: () => Promise<ScopeMetrics[]>, serviceVersion: string): MeterProvider {
  const resource = resourceFromAttributes({ 'service.name': 'modeltap', 'service.version': serviceVersion });
  const producer: MetricProducer = {
    collect: async () => ({ resourceMetrics: { resource, scopeMetrics: await collect() }, errors: [] }),
  };
  const provider = new MeterProvider({ resource, readers: [...readers] });
  for (const reader of readers) (reader as unknown as { _metricProducers: MetricProducer[] })._metricProducers.push(producer);
  return provider;
}

/**
 * Starts modeltap's telemetry: a {@link FactRecorder} for the relay's thread (what the proxy
 * calls), and the OpenTelemetry pipeline that builds and exports spans and metrics from its facts
 * (`startPipeline`: the SDK from `@opentelemetry/sdk-node` and the OTEL_* variables), in a
 * telemetry thread of its own (`thread: 'on'`, the default) or on this one (`off`). /metrics is
 * answered from the pipeline's data either way.
 */
export function startTelemetry(config: TelemetryConfig): TelemetryRuntime {
  if (config.disabled) return { telemetry: undefined, metricsHandler: undefined, onTelemetryError: () => undefined, forceFlush: async () => undefined, shutdown: async () => undefined, thread: undefined };
  const pipelineConfig = {
    serviceVersion: config.serviceVersion,
    instanceId: randomUUID(),
    exportTraces: config.exportTraces,
    exportMetrics: config.exportMetrics,
    prometheus: config.prometheus,
    detail: config.detail,
    captureContent: config.captureContent,
    timeOrigin: performance.timeOrigin,
    ...(config.store ? { store: config.store } : {}),
    ...(config.prices ? { prices: config.prices } : {}),
  };
  const stored = storeListeners();
  const propagator = propagatorFromNames(config.propagators);
  const sampled = sampledBy(samplerFromName(config.sampler?.name, config.sampler?.arg));
  if (config.thread === 'off') {
    const startPipeline = config.startPipeline;
    if (startPipeline === undefined) throw new Error("telemetry with thread: 'off' needs startPipeline (import it from telemetry-pipeline.js)");
    const sink = new InProcessSink(
      startPipeline({ ...pipelineConfig, ...(config.spanExporter ? { spanExporter: config.spanExporter } : {}) }, config.log, stored.tell),
    );
    const recorder = new FactRecorder({ sink, propagator, captureContent: config.captureContent, ...(sampled ? { sampled } : {}) });
    const readers =
      config.metricReaders && config.metricReaders.length > 0
        ? readersOf(
            config.metricReaders,
            async () => {
              recorder.flush();
              return (await sink.pipeline.collect()).resourceMetrics.scopeMetrics;
            },
            config.serviceVersion,
          )
        : undefined;
    const text = sink.pipeline.prometheusText;
    return {
      telemetry: recorder,
      metricsHandler:
        text === undefined
          ? undefined
          : prometheusHandler(() => {
              recorder.flush();
              return text();
            }),
      onTelemetryError: (method, errorType) => recorder.telemetryError(method, errorType),
      forceFlush: async () => {
        recorder.flush();
        await sink.pipeline.forceFlush();
      },
      shutdown: async () => {
        recorder.close();
        await sink.pipeline.shutdown();
        await readers?.shutdown();
      },
      thread: undefined,
      ...(config.store
        ? {
            storeApi: async (path: string, query: string) => {
              recorder.flush();
              return storeApi(sink.pipeline.store, path, query);
            },
            storeLive: stored.live,
          }
        : {}),
    };
  }
  const exporter: SpanExporter | undefined = config.spanExporter;
  const thread = new TelemetryThread({
    config: pipelineConfig,
    ...(exporter ? { onSpans: (spans) => exporter.export(spans.map(readableSpan), () => undefined) } : {}),
    ...(config.log ? { log: config.log } : {}),
    onStored: stored.tell,
    ...config.threadOptions,
  });
  const recorder = new FactRecorder({ sink: thread, propagator, captureContent: config.captureContent, ...(sampled ? { sampled } : {}) });
  thread.attach(recorder);
  const readers = config.metricReaders && config.metricReaders.length > 0 ? readersOf(config.metricReaders, async () => (await thread.collect()) as ScopeMetrics[], config.serviceVersion) : undefined;
  return {
    telemetry: recorder,
    metricsHandler: config.prometheus ? prometheusHandler(() => thread.metricsText()) : undefined,
    onTelemetryError: (method, errorType) => recorder.telemetryError(method, errorType),
    forceFlush: () => thread.forceFlush(),
    shutdown: async () => {
      recorder.close();
      await thread.shutdown();
      await readers?.shutdown();
    },
    thread,
    ...(config.store ? { storeApi: (path: string, query: string) => thread.storeApi(path, query), storeLive: stored.live } : {}),
  };
}
