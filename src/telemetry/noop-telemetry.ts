import type { ProxyTelemetry, RequestTelemetry, TurnTelemetry } from './proxy-telemetry.js';

/** A turn's telemetry that records nothing. */
export const noopTurnTelemetry: TurnTelemetry = {
  onEvent: () => undefined,
  onChunk: () => undefined,
  onWrite: () => undefined,
  end: () => undefined,
};

/** A request's telemetry that records nothing: also what a request gets when `startRequest` throws. */
export const noopRequestTelemetry: RequestTelemetry = {
  hooks: {},
  startOperation: () => undefined,
  onHead: () => undefined,
  onEvent: () => undefined,
  onWrite: () => undefined,
  onError: () => undefined,
  startTurn: () => noopTurnTelemetry,
  onFallback: () => undefined,
  end: () => undefined,
};

/** Telemetry that records nothing (OTEL_SDK_DISABLED, or none configured). */
export const noopTelemetry: ProxyTelemetry = { startRequest: () => noopRequestTelemetry };
