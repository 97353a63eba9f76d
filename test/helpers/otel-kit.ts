import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { DataPointType, MetricReader, type Histogram } from '@opentelemetry/sdk-metrics';
import { createProxy } from '../../src/cli/create-proxy.js';
import type { ProxyServer } from '../../src/proxy/server.js';
import { startTelemetry, type TelemetryConfig, type TelemetryRuntime } from '../../src/telemetry/otel/sdk.js';
import { startPipeline } from '../../src/telemetry/otel/telemetry-pipeline.js';
import type { TraceDetail } from '../../src/telemetry/otel/otel-telemetry.js';

/** A reader that collects only when asked (the runtime gives it modeltap's metrics). */
class TestMetricReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/**
 * The `--telemetry-thread` mode the suite runs in: MODELTAP_TELEMETRY_THREAD (`on` or `off`),
 * default on. The suite runs the telemetry tests in both (see vitest.config.ts).
 */
export function telemetryThreadMode(): 'on' | 'off' {
  return process.env['MODELTAP_TELEMETRY_THREAD'] === 'off' ? 'off' : 'on';
}

/** One metric as the tests see it. */
export interface CollectedMetric {
  readonly name: string;
  readonly unit: string;
  readonly type: string;
  readonly points: { attributes: Record<string, unknown>; value: number | Histogram }[];
}

/** Real OTel SDK pipelines with in-memory exporters. */
export interface OtelKit {
  readonly runtime: TelemetryRuntime;
  spans(): Promise<ReadableSpan[]>;
  /** The spans exported so far, without asking for a flush (after a shutdown). */
  exported(): ReadableSpan[];
  metrics(): Promise<Map<string, CollectedMetric>>;
  reset(): void;
}

export function otelKit(
  options: { detail?: TraceDetail; captureContent?: boolean; threadOptions?: TelemetryConfig['threadOptions']; log?: (line: string) => void; store?: TelemetryConfig['store']; prices?: TelemetryConfig['prices'] } = {},
): OtelKit {
  const exporter = new InMemorySpanExporter();
  const reader = new TestMetricReader();
  const runtime = startTelemetry({
    disabled: false,
    serviceVersion: 'test',
    exportTraces: false,
    exportMetrics: false,
    prometheus: false,
    detail: options.detail ?? 'milestones',
    captureContent: options.captureContent ?? false,
    spanExporter: exporter,
    metricReaders: [reader],
    thread: telemetryThreadMode(),
    startPipeline,
    ...(options.threadOptions ? { threadOptions: options.threadOptions } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.store ? { store: options.store } : {}),
    ...(options.prices ? { prices: options.prices } : {}),
  });
  return {
    runtime,
    spans: async () => {
      await runtime.forceFlush();
      return exporter.getFinishedSpans();
    },
    exported: () => exporter.getFinishedSpans(),
    metrics: async () => {
      const { resourceMetrics } = await reader.collect();
      const out = new Map<string, CollectedMetric>();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          out.set(metric.descriptor.name, {
            name: metric.descriptor.name,
            unit: metric.descriptor.unit,
            type: DataPointType[metric.dataPointType] ?? String(metric.dataPointType),
            points: metric.dataPoints.map((p) => ({ attributes: { ...p.attributes }, value: p.value as number | Histogram })),
          });
        }
      }
      return out;
    },
    reset: () => exporter.reset(),
  };
}

/** Waits (bounded) until `count` SERVER spans have ended. */
export async function waitForServerSpans(kit: OtelKit, count: number): Promise<ReadableSpan[]> {
  for (let i = 0; i < 200; i++) {
    const spans = await kit.spans();
    if (spans.filter((s) => s.kind === 1).length >= count) return spans;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`fewer than ${count} server spans ended`);
}

/**
 * A proxy in front of `upstream` (with `extra` options) whose telemetry is a fresh kit; `onCleanup`
 * is given how to stop both (the kit after the proxy, when called newest first).
 */
export async function proxyWithKit(
  upstream: string,
  onCleanup: (stop: () => Promise<unknown>) => void,
  extra: Partial<Parameters<typeof createProxy>[0]> = {},
): Promise<{ proxy: ProxyServer; kit: OtelKit }> {
  const kit = otelKit();
  onCleanup(() => kit.runtime.shutdown());
  const proxy = await createProxy({ upstream, port: 0, ...extra, ...(kit.runtime.telemetry ? { telemetry: kit.runtime.telemetry } : {}) });
  onCleanup(() => proxy.shutdown(0));
  return { proxy, kit };
}
