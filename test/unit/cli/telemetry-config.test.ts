import { describe, expect, it } from 'vitest';
import { telemetryConfigFromEnv } from '../../../src/cli/telemetry-config.js';

const defaults = { metrics: true, detail: undefined };

describe('telemetryConfigFromEnv', () => {
  it('sends nothing anywhere without configuration, but serves /metrics', () => {
    expect(telemetryConfigFromEnv({}, defaults)).toMatchObject({ disabled: false, otlpTraces: undefined, otlpMetrics: undefined, prometheus: true, detail: 'milestones', captureContent: false });
  });

  it('exports OTLP over protobuf when an endpoint is set, JSON when asked', () => {
    expect(telemetryConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, defaults)).toMatchObject({ otlpTraces: 'http/protobuf', otlpMetrics: 'http/protobuf' });
    expect(
      telemetryConfigFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c/v1/traces', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }, defaults),
    ).toMatchObject({ otlpTraces: 'http/json', otlpMetrics: undefined });
  });

  it('honours OTEL_*_EXPORTER, OTEL_SDK_DISABLED, the interval and content capture', () => {
    expect(telemetryConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_TRACES_EXPORTER: 'none' }, defaults).otlpTraces).toBeUndefined();
    expect(telemetryConfigFromEnv({ OTEL_METRICS_EXPORTER: 'otlp,prometheus' }, defaults).otlpMetrics).toBe('http/protobuf');
    expect(telemetryConfigFromEnv({ OTEL_SDK_DISABLED: 'TRUE' }, defaults).disabled).toBe(true);
    expect(telemetryConfigFromEnv({ OTEL_METRIC_EXPORT_INTERVAL: '5000' }, defaults).metricExportIntervalMs).toBe(5000);
    expect(telemetryConfigFromEnv({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' }, defaults).captureContent).toBe(true);
  });

  it('reads the standard OTEL_BSP_* variables, and refuses bad ones', () => {
    expect(telemetryConfigFromEnv({}, defaults).spanBatch).toEqual({});
    expect(
      telemetryConfigFromEnv({ OTEL_BSP_MAX_QUEUE_SIZE: '4096', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '256', OTEL_BSP_SCHEDULE_DELAY: '1000', OTEL_BSP_EXPORT_TIMEOUT: '5000' }, defaults).spanBatch,
    ).toEqual({ maxQueueSize: 4096, maxExportBatchSize: 256, scheduledDelayMillis: 1000, exportTimeoutMillis: 5000 });
    expect(() => telemetryConfigFromEnv({ OTEL_BSP_MAX_EXPORT_BATCH_SIZE: 'lots' }, defaults)).toThrow("OTEL_BSP_MAX_EXPORT_BATCH_SIZE must be a positive whole number, not 'lots'");
  });

  it('refuses gRPC and unknown detail levels', () => {
    expect(() => telemetryConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, defaults)).toThrow('use http/protobuf or http/json');
    expect(() => telemetryConfigFromEnv({}, { metrics: true, detail: 'verbose' })).toThrow('--trace-detail must be one of');
  });
});
