import type { ProxyTelemetry, RequestTelemetry } from '../telemetry/proxy-telemetry.js';

const noopRequest: RequestTelemetry = {
  hooks: {},
  startOperation: () => undefined,
  onHead: () => undefined,
  onEvent: () => undefined,
  onWrite: () => undefined,
  onError: () => undefined,
  startTurn: () => undefined,
  endTurn: () => undefined,
  onFallback: () => undefined,
  end: () => undefined,
};

/** Telemetry that records nothing (OTEL_SDK_DISABLED, or none configured). */
export const noopTelemetry: ProxyTelemetry = { startRequest: () => noopRequest };
