import { defineConfig } from 'vitest/config';

/**
 * The tests whose telemetry runs through `startTelemetry` or the CLI: run a second time with
 * `--telemetry-thread off` (MODELTAP_TELEMETRY_THREAD=off, read by test/helpers/otel-kit.ts and
 * passed to every CLI the e2e tests start), so both modes pass the same assertions.
 */
const TELEMETRY_TESTS = [
  'test/integration/telemetry/*.test.ts',
  'test/integration/proxy/{websocket,websocket-lanes,websocket-faults,fault-matrix,throwing-telemetry,bad-input,body-release,overhead}.test.ts',
  'test/e2e/{telemetry,clients,openai-lanes,openai-sdk,dashboards,websocket,store,pg-store,view}.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration tests open real loopback sockets; isolation per file keeps their servers apart.
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'telemetry-thread-on', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'telemetry-thread-off', include: TELEMETRY_TESTS, env: { MODELTAP_TELEMETRY_THREAD: 'off' } } },
    ],
  },
});
