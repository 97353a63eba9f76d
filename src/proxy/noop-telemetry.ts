// The no-op lives beside the guard that falls back to it; the proxy keeps importing it from here.
export { noopTelemetry } from '../telemetry/noop-telemetry.js';
