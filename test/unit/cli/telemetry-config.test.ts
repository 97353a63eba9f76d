import { describe, expect, it } from 'vitest';
import { telemetryConfigFromEnv } from '../../../src/cli/telemetry-config.js';

const defaults = { metrics: true, detail: undefined };

describe('telemetryConfigFromEnv', () => {
  it('sends nothing anywhere without configuration, but serves /metrics', () => {
    expect(telemetryConfigFromEnv({}, defaults)).toMatchObject({ disabled: false, exportTraces: false, exportMetrics: false, prometheus: true, detail: 'milestones', captureContent: false });
    // A protocol alone names no endpoint: still nothing exported.
    expect(telemetryConfigFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, defaults)).toMatchObject({ exportTraces: false, exportMetrics: false });
  });

  it('exports a signal when an endpoint is set, for it or for both', () => {
    expect(telemetryConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, defaults)).toMatchObject({ exportTraces: true, exportMetrics: true });
    expect(telemetryConfigFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c/v1/traces', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }, defaults)).toMatchObject({ exportTraces: true, exportMetrics: false });
    expect(telemetryConfigFromEnv({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, defaults)).toMatchObject({ exportTraces: false, exportMetrics: true });
  });

  it('honours OTEL_*_EXPORTER (any exporter but none), OTEL_CONFIG_FILE, OTEL_SDK_DISABLED and content capture', () => {
    expect(telemetryConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_TRACES_EXPORTER: 'none' }, defaults)).toMatchObject({ exportTraces: false, exportMetrics: true });
    expect(telemetryConfigFromEnv({ OTEL_TRACES_EXPORTER: 'console' }, defaults)).toMatchObject({ exportTraces: true, exportMetrics: false });
    expect(telemetryConfigFromEnv({ OTEL_METRICS_EXPORTER: 'otlp,prometheus' }, defaults).exportMetrics).toBe(true);
    expect(telemetryConfigFromEnv({ OTEL_METRICS_EXPORTER: 'otlp, NONE' }, defaults).exportMetrics).toBe(false);
    expect(telemetryConfigFromEnv({ OTEL_CONFIG_FILE: '/etc/otel.yaml' }, defaults)).toMatchObject({ exportTraces: true, exportMetrics: true });
    expect(telemetryConfigFromEnv({ OTEL_SDK_DISABLED: 'TRUE' }, defaults).disabled).toBe(true);
    expect(telemetryConfigFromEnv({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' }, defaults).captureContent).toBe(true);
  });

  it('refuses unknown detail levels', () => {
    expect(() => telemetryConfigFromEnv({}, { metrics: true, detail: 'verbose' })).toThrow('--trace-detail must be one of');
  });
});
