import { VERSION } from '../client/model-client.js';
import type { TraceDetail } from '../telemetry/otel/otel-telemetry.js';
import type { TelemetryConfig } from '../telemetry/otel/sdk.js';
import { UsageError } from './flags.js';

type Env = Readonly<Record<string, string | undefined>>;

const DETAILS: readonly TraceDetail[] = ['milestones', 'events', 'spans', 'none'];

const set = (value: string | undefined): boolean => value !== undefined && value.trim() !== '';

/**
 * modeltap's telemetry choices from its flags and a few OTEL_* variables; everything else about
 * export (exporters, protocols, endpoints, batching, intervals, sampler, propagators, resource) is
 * read by `@opentelemetry/sdk-node` from the process environment, which is this `env` (main.ts
 * passes process.env). Where the SDK would export to its default endpoint unasked, modeltap sends
 * nothing anywhere: a signal is exported when OTEL_{TRACES,METRICS}_EXPORTER names an exporter
 * (not `none`), or, when that variable is unset, when an OTLP endpoint is configured; with
 * OTEL_CONFIG_FILE, the file decides. The Prometheus endpoint is on unless `--no-metrics`.
 */
export function telemetryConfigFromEnv(env: Env, flags: { metrics: boolean; detail: string | undefined; thread?: string | undefined }): TelemetryConfig {
  const detail = (flags.detail ?? 'milestones') as TraceDetail;
  if (!DETAILS.includes(detail)) throw new UsageError(`--trace-detail must be one of ${DETAILS.join(', ')}, not '${detail}'`);
  const thread = flags.thread ?? 'on';
  if (thread !== 'on' && thread !== 'off') throw new UsageError(`--telemetry-thread must be on or off, not '${thread}'`);
  const propagators = env['OTEL_PROPAGATORS']
    ?.split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const exports = (signal: 'TRACES' | 'METRICS'): boolean => {
    if (set(env['OTEL_CONFIG_FILE'])) return true;
    const exporters = env[`OTEL_${signal}_EXPORTER`];
    if (set(exporters)) return !(exporters as string).split(',').some((name) => name.trim().toLowerCase() === 'none');
    return set(env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]) || set(env['OTEL_EXPORTER_OTLP_ENDPOINT']);
  };
  return {
    disabled: env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true',
    serviceVersion: VERSION,
    exportTraces: exports('TRACES'),
    exportMetrics: exports('METRICS'),
    prometheus: flags.metrics,
    detail,
    captureContent: /^(true|1|yes|span_only|span_and_event)$/i.test(env['OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT']?.trim() ?? ''),
    thread,
    ...(propagators === undefined ? {} : { propagators }),
    ...(set(env['OTEL_TRACES_SAMPLER']) ? { sampler: { name: (env['OTEL_TRACES_SAMPLER'] as string).trim(), arg: env['OTEL_TRACES_SAMPLER_ARG'] } } : {}),
  };
}
