import type { ProxyTelemetry, RequestTelemetry } from './proxy-telemetry.js';

/** A request's telemetry that records nothing: also what a request gets when `startRequest` throws. */
export const noopRequestTelemetry: RequestTelemetry = {
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
export const noopTelemetry: ProxyTelemetry = { startRequest: () => noopRequestTelemetry };
