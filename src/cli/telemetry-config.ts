import { VERSION } from '../client/model-client.js';
import type { TraceDetail } from '../telemetry/otel/otel-telemetry.js';
import type { OtlpProtocol, TelemetryConfig } from '../telemetry/otel/sdk.js';
import { UsageError } from './flags.js';

type Env = Readonly<Record<string, string | undefined>>;

const DETAILS: readonly TraceDetail[] = ['milestones', 'events', 'spans', 'none'];

function list(value: string | undefined): string[] | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.split(',').map((s) => s.trim().toLowerCase());
}

function protocol(env: Env, signal: 'TRACES' | 'METRICS'): OtlpProtocol {
  const name = env[`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`] ? `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL` : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const value = env[name]?.trim() || 'http/protobuf';
  if (value === 'http/protobuf' || value === 'http/json') return value;
  throw new UsageError(`${name}=${value} is not supported: use http/protobuf or http/json`);
}

/**
 * Telemetry settings from the standard OTEL_* variables and modeltap's flags. OTLP export is on
 * when OTEL_{TRACES,METRICS}_EXPORTER names `otlp`, or, when that variable is unset, when an OTLP
 * endpoint is configured, so that modeltap with no configuration sends nothing anywhere. The
 * Prometheus endpoint is on unless `--no-metrics`.
 */
export function telemetryConfigFromEnv(env: Env, flags: { metrics: boolean; detail: string | undefined }): TelemetryConfig {
  const detail = (flags.detail ?? 'milestones') as TraceDetail;
  if (!DETAILS.includes(detail)) throw new UsageError(`--trace-detail must be one of ${DETAILS.join(', ')}, not '${detail}'`);
  const endpoint = (signal: 'TRACES' | 'METRICS'): boolean => Boolean(env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`] || env['OTEL_EXPORTER_OTLP_ENDPOINT']);
  const wants = (variable: string, signal: 'TRACES' | 'METRICS'): boolean => {
    const exporters = list(env[variable]);
    return exporters === undefined ? endpoint(signal) : exporters.includes('otlp');
  };
  const interval = Number(env['OTEL_METRIC_EXPORT_INTERVAL'] ?? '60000');
  if (!Number.isFinite(interval) || interval <= 0) throw new UsageError(`OTEL_METRIC_EXPORT_INTERVAL must be a positive number of ms`);
  const spanBatch: Record<string, number> = {};
  for (const [variable, key] of [
    ['OTEL_BSP_MAX_QUEUE_SIZE', 'maxQueueSize'],
    ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'maxExportBatchSize'],
    ['OTEL_BSP_SCHEDULE_DELAY', 'scheduledDelayMillis'],
    ['OTEL_BSP_EXPORT_TIMEOUT', 'exportTimeoutMillis'],
  ] as const) {
    const raw = env[variable]?.trim();
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isInteger(value) || value <= 0) throw new UsageError(`${variable} must be a positive whole number, not '${raw}'`);
    spanBatch[key] = value;
  }
  return {
    spanBatch,
    disabled: env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true',
    serviceVersion: VERSION,
    otlpTraces: wants('OTEL_TRACES_EXPORTER', 'TRACES') ? protocol(env, 'TRACES') : undefined,
    otlpMetrics: wants('OTEL_METRICS_EXPORTER', 'METRICS') ? protocol(env, 'METRICS') : undefined,
    metricExportIntervalMs: interval,
    prometheus: flags.metrics,
    detail,
    captureContent: /^(true|1|yes|span_only|span_and_event)$/i.test(env['OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT']?.trim() ?? ''),
  };
}
