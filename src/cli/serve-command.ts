import { AuthFileCredentials, CommandCredentials, EnvVarCredentials, type CredentialSource } from '../client/auth.js';
import { ConfigError, type ProxyServer } from '../proxy/server.js';
import { createProxy } from './create-proxy.js';
import { DEFAULT_BASE_URL } from '../client/provider.js';
import { createUpstreamDispatcher, DEFAULT_UPSTREAM_CONNECTIONS } from '../client/http-transport.js';
import { startSim, type Sim } from '../sim/sim-server.js';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { SummaryRecorder } from '../summary/summary-recorder.js';
import { startTelemetry } from '../telemetry/otel/sdk.js';
import { startMetricsServer, type MetricsServer } from '../proxy/metrics-server.js';
import { EventLoopDelay } from '../proxy/event-loop-delay.js';
import { helpText, parseFlags, UsageError, type FlagDef } from './flags.js';
import { storeApi } from '../store/store-api.js';
import { replicaFromFlags, storeConfigFromFlags } from './store-config.js';
import { isPostgresUrl, redactPostgresUrl } from '../store/pg-url.js';
import { pricesFromFlag } from './prices-flag.js';
import { telemetryConfigFromEnv } from './telemetry-config.js';

/** The flags of `modeltap serve`. */
export const SERVE_FLAGS: readonly FlagDef[] = [
  { name: 'host', env: 'MODELTAP_HOST', kind: 'string', value: 'ADDR', help: 'Address to listen on; anything but loopback needs --access-key.', defaultText: '127.0.0.1' },
  { name: 'port', env: 'MODELTAP_PORT', kind: 'integer', value: 'N', help: 'Port to listen on (0 picks a free one).', defaultText: '8787' },
  { name: 'upstream', env: 'MODELTAP_UPSTREAM', kind: 'string', value: 'URL|sim', help: "Upstream base URL, or 'sim' for the built-in simulated upstream.", defaultText: DEFAULT_BASE_URL },
  { name: 'access-key', env: 'MODELTAP_ACCESS_KEY', kind: 'string', value: 'KEY', help: 'Key callers must send in x-modeltap-key.' },
  { name: 'api-key-env', env: 'MODELTAP_API_KEY_ENV', kind: 'string', value: 'NAME', help: "Use the API key in this environment variable instead of the caller's Authorization." },
  { name: 'auth-file', env: 'MODELTAP_AUTH_FILE', kind: 'string', value: 'PATH', help: 'Use credentials from a Codex-style auth.json (re-read, then refreshed, on a 401).' },
  { name: 'auth-command', env: 'MODELTAP_AUTH_COMMAND', kind: 'string', value: 'CMD', help: 'Use the token this shell command prints (re-run on a 401).' },
  { name: 'max-body-bytes', env: 'MODELTAP_MAX_BODY_BYTES', kind: 'integer', value: 'N', min: 1, help: 'Largest request body accepted (413 above).', defaultText: '67108864' },
  { name: 'body-timeout-ms', env: 'MODELTAP_BODY_TIMEOUT_MS', kind: 'integer', value: 'MS', min: 1, help: 'Longest pause while receiving a request body (408).', defaultText: '30000' },
  { name: 'request-max-retries', env: 'MODELTAP_REQUEST_MAX_RETRIES', kind: 'integer', value: 'N', help: 'Upstream retries on 5xx and network errors, before the first byte (model calls, idempotent methods, or with an Idempotency-Key).', defaultText: '4' },
  { name: 'upstream-connections', env: 'MODELTAP_UPSTREAM_CONNECTIONS', kind: 'integer', value: 'N', min: 1, help: 'Upstream connections per origin, i.e. concurrent upstream streams before the next one queues.', defaultText: String(DEFAULT_UPSTREAM_CONNECTIONS) },
  { name: 'stream-idle-timeout-ms', env: 'MODELTAP_STREAM_IDLE_TIMEOUT_MS', kind: 'integer', value: 'MS', min: 1, help: 'Longest upstream silence before the head or between events.', defaultText: '300000' },
  { name: 'shutdown-grace-ms', env: 'MODELTAP_SHUTDOWN_GRACE_MS', kind: 'integer', value: 'MS', help: 'On SIGTERM/SIGINT, how long in-flight streams may finish.', defaultText: '30000' },
  { name: 'drain-delay-ms', env: 'MODELTAP_DRAIN_DELAY_MS', kind: 'integer', value: 'MS', help: 'On SIGTERM/SIGINT, how long /readyz answers 503 while requests are still served, before the listener closes (time for a load balancer to notice).', defaultText: '0' },
  // Accepted so that existing scripts keep working: modeltap no longer keeps a client per conversation.
  { name: 'max-conversations', env: 'MODELTAP_MAX_CONVERSATIONS', kind: 'integer', value: 'N', min: 1, help: 'Deprecated, ignored: modeltap keeps no per-conversation client state.' },
  { name: 'summary-file', env: 'MODELTAP_SUMMARY_FILE', kind: 'string', value: 'PATH', help: 'Write the run summary (for modeltap report / check) here on exit; also at GET /modeltap/summary.' },
  { name: 'pid-file', env: 'MODELTAP_PID_FILE', kind: 'string', value: 'PATH', help: "Write the server's process id here once it listens (replacing any old file); removed after the summary is written on exit." },
  { name: 'ws-bridge', env: 'MODELTAP_WS_BRIDGE', kind: 'boolean', help: 'Serve Responses WebSocket callers from an HTTP-only upstream (each response.create becomes a streamed POST).', defaultText: 'off' },
  { name: 'metrics', env: 'MODELTAP_METRICS', kind: 'boolean', help: 'Serve Prometheus metrics at /metrics (--no-metrics turns it off).', defaultText: 'on' },
  { name: 'metrics-port', env: 'MODELTAP_METRICS_PORT', kind: 'integer', value: 'N', help: "Serve /metrics on this port instead of the proxy's.", defaultText: "the proxy's port" },
  { name: 'event-loop-stats', env: 'MODELTAP_EVENT_LOOP_STATS', kind: 'boolean', help: "Measure the event loop's delay (10 ms resolution) and serve it at GET /modeltap/event-loop (?reset=1 starts a new window); for benchmarks.", defaultText: 'off' },
  { name: 'telemetry-thread', env: 'MODELTAP_TELEMETRY_THREAD', kind: 'string', value: 'on|off', help: 'Build and export spans and metrics in a telemetry thread of their own (on), or on the relay\'s thread (off: for debugging and comparison).', defaultText: 'on' },
  { name: 'store', env: 'MODELTAP_STORE', kind: 'string', value: 'PATH|default|memory|off|URL', help: 'Keep every request in a SQLite database for the live view (default: $XDG_STATE_HOME/modeltap/modeltap.db or ~/.local/state/modeltap/modeltap.db, mode 0600; in memory without either), or in PostgreSQL shared by every replica (postgres://USER:PASSWORD@HOST:PORT/DB; the view shows the whole fleet), written by the telemetry thread.', defaultText: 'default' },
  { name: 'replica', env: 'MODELTAP_REPLICA', kind: 'string', value: 'NAME', help: "This replica's name on every request it stores (the view's Replica column and filter); in Kubernetes the host name is the pod's.", defaultText: 'the host name' },
  { name: 'retention', env: 'MODELTAP_RETENTION', kind: 'string', value: 'DURATION', help: 'How long the store keeps a request (7d, 12h, 30m, 90s).', defaultText: '7d' },
  { name: 'store-max-mb', env: 'MODELTAP_STORE_MAX_MB', kind: 'integer', value: 'N', min: 1, help: "The store's size beyond which its oldest requests are deleted (SQLite only: a PostgreSQL database's size is left to its operator).", defaultText: '512' },
  { name: 'prices', env: 'MODELTAP_PRICES', kind: 'string', value: 'FILE', help: 'Prices over the shipped table: a JSON object from model name to {"input", "cached_input", "output"} in USD per million tokens.', defaultText: 'prices/openai.json' },
  { name: 'trace-url', env: 'MODELTAP_TRACE_URL', kind: 'string', value: 'TEMPLATE', help: "The live view links each request's trace here, {trace_id} replaced by its id (e.g. a Grafana Explore URL over Tempo)." },
  { name: 'trace-detail', env: 'MODELTAP_TRACE_DETAIL', kind: 'string', value: 'LEVEL', help: 'SSE polls and WebSocket frames on spans: milestones, events, spans or none.', defaultText: 'milestones' },
];

export const SERVE_HELP = helpText(
  'Usage: modeltap serve [options]',
  'Relays the OpenAI Responses and Chat Completions APIs to an upstream, byte for byte, recording OpenTelemetry spans and metrics.\nTelemetry export follows the standard OTEL_* variables (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL,\nOTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_SDK_DISABLED, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, ...).',
  SERVE_FLAGS,
);

function credentials(values: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>): CredentialSource | undefined {
  const chosen = ['api-key-env', 'auth-file', 'auth-command'].filter((k) => values[k] !== undefined);
  if (chosen.length > 1) throw new UsageError(`choose one of --${chosen.join(', --')}`);
  if (typeof values['api-key-env'] === 'string') return new EnvVarCredentials(values['api-key-env'], env);
  if (typeof values['auth-file'] === 'string') return new AuthFileCredentials({ path: values['auth-file'] });
  if (typeof values['auth-command'] === 'string') return new CommandCredentials({ command: values['auth-command'] });
  return undefined;
}

function upstreamUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--upstream must be a URL or 'sim', not '${value}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--upstream must be http(s), not '${url.protocol}'`);
  return value;
}

/**
 * Writes this process's pid to `path` through a rename, so a reader never sees a half-written file
 * and a stale file from an earlier run is replaced whole.
 */
function writePidFile(path: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${process.pid}\n`);
  renameSync(temporary, path);
}

/** Removes the pid file unless a later server has since put its own pid there. */
function removePidFile(path: string): void {
  try {
    if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path, { force: true });
  } catch {
    // Already gone: nothing to remove.
  }
}

/** A port someone else holds: the message names the flag that moves modeltap off it. */
function listenError(error: unknown, host: string, port: number, flag: string): unknown {
  if ((error as NodeJS.ErrnoException | undefined)?.code !== 'EADDRINUSE') return error;
  return new Error(`${host}:${port} is already in use: stop whatever listens there, or choose another port with ${flag} (0 picks a free one)`);
}

/** Runs `modeltap serve` until SIGINT/SIGTERM. */
export async function serveCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, log: (line: string) => void): Promise<void> {
  const values = parseFlags(argv, SERVE_FLAGS, env);
  const upstreamFlag = (values['upstream'] as string | undefined) ?? DEFAULT_BASE_URL;
  const auth = credentials(values, env);
  const flagStore = storeConfigFromFlags(values, env);
  const store = flagStore === undefined ? undefined : { ...flagStore, replica: replicaFromFlags(values) };
  if (store !== undefined && values['store'] !== undefined && env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') log('modeltap: --store is written by the telemetry pipeline, which OTEL_SDK_DISABLED=true turns off: nothing is stored');
  const prices = pricesFromFlag(values['prices'] as string | undefined);
  const telemetryConfig = {
    ...telemetryConfigFromEnv(env, { metrics: values['metrics'] !== false, detail: values['trace-detail'] as string | undefined, thread: values['telemetry-thread'] as string | undefined }),
    log,
    ...(store ? { store } : {}),
    ...(prices.file ? { prices: prices.file } : {}),
  };
  // Only the in-process mode loads the SDK on this thread (see TelemetryConfig.startPipeline).
  const runtime = startTelemetry(
    telemetryConfig.thread === 'off' && !telemetryConfig.disabled ? { ...telemetryConfig, startPipeline: (await import('../telemetry/otel/telemetry-pipeline.js')).startPipeline } : telemetryConfig,
  );
  const metricsPort = values['metrics-port'] as number | undefined;
  const summary = new SummaryRecorder('proxy');
  const summaryFile = values['summary-file'] as string | undefined;
  const pidFile = values['pid-file'] as string | undefined;
  const eventLoopDelay = values['event-loop-stats'] === true ? new EventLoopDelay() : undefined;
  const host = (values['host'] as string | undefined) ?? '127.0.0.1';
  const port = (values['port'] as number | undefined) ?? 8787;
  let sim: Sim | undefined;
  let upstream: string;
  if (upstreamFlag === 'sim') {
    sim = await startSim();
    upstream = `${sim.url}/v1`;
  } else {
    upstream = upstreamUrl(upstreamFlag);
  }
  const connections = values['upstream-connections'] as number | undefined;
  const dispatcher = createUpstreamDispatcher(connections === undefined ? {} : { connections });
  let proxy: ProxyServer;
  try {
    proxy = await createProxy({
      upstream,
      dispatcher,
      log,
      onTelemetryError: runtime.onTelemetryError,
      summary,
      prices: prices.table,
      wsBridge: values['ws-bridge'] === true,
      ...(eventLoopDelay ? { eventLoopDelay } : {}),
      // Without a store the API still answers, to say so.
      storeApi: runtime.storeApi ?? (async (path: string, query: string) => storeApi(undefined, path, query)),
      ...(runtime.storeLive ? { storeLive: runtime.storeLive } : {}),
      ...(typeof values['trace-url'] === 'string' ? { traceUrl: values['trace-url'] } : {}),
      ...(runtime.telemetry ? { telemetry: runtime.telemetry } : {}),
      ...(runtime.metricsHandler && metricsPort === undefined ? { metricsHandler: runtime.metricsHandler } : {}),
      host,
      port,
      ...(values['access-key'] === undefined ? {} : { accessKey: values['access-key'] as string }),
      ...(auth ? { auth } : {}),
      ...(values['max-body-bytes'] === undefined ? {} : { maxBodyBytes: values['max-body-bytes'] as number }),
      ...(values['body-timeout-ms'] === undefined ? {} : { bodyTimeoutMs: values['body-timeout-ms'] as number }),
      ...(values['request-max-retries'] === undefined ? {} : { requestMaxRetries: values['request-max-retries'] as number }),
      ...(values['stream-idle-timeout-ms'] === undefined ? {} : { streamIdleTimeoutMs: values['stream-idle-timeout-ms'] as number }),
    });
  } catch (error) {
    await sim?.close();
    await runtime.shutdown();
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw listenError(error, host, port, '--port');
  }
  let metricsServer: MetricsServer | undefined;
  if (runtime.metricsHandler && metricsPort !== undefined) {
    try {
      metricsServer = await startMetricsServer({
        host,
        port: metricsPort,
        handler: runtime.metricsHandler,
        ...(values['access-key'] === undefined ? {} : { accessKey: values['access-key'] as string }),
      });
    } catch (error) {
      await proxy.shutdown(0);
      await Promise.allSettled([sim?.close(), dispatcher.close()]);
      await runtime.shutdown();
      throw listenError(error, host, metricsPort, '--metrics-port');
    }
    log(`modeltap metrics on ${metricsServer.url}/metrics`);
  }
  const grace = (values['shutdown-grace-ms'] as number | undefined) ?? 30_000;
  const drainDelay = (values['drain-delay-ms'] as number | undefined) ?? 0;
  const stopped = new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      // A second signal means "now": abort what is still in flight.
      if (signals > 1) log(`${signal}: aborting now`);
      else if (drainDelay > 0) log(`${signal}: draining: /readyz answers 503, the listener closes in ${drainDelay} ms, then in-flight requests finish and modeltap exits`);
      else log(`${signal}: finishing ${proxy.inFlight} in-flight request(s), then exiting`);
      if (signals > 1) {
        void proxy.shutdown(0).then(resolve);
        return;
      }
      void proxy
        .shutdown(grace, drainDelay)
        .then(() => Promise.allSettled([sim?.close(), metricsServer?.close(), dispatcher.close()]))
        .then(() => {
          if (summaryFile !== undefined) writeFileSync(summaryFile, `${JSON.stringify(summary.summary())}\n`);
        })
        // Spans of the last requests go out before the exit, bounded by the exporters' timeouts.
        .then(() => runtime.shutdown())
        .then(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  // Only now that the handlers are in place: a script that signals as soon as it sees the pid
  // file or the listening line must reach onSignal, not the default action (death, no summary).
  if (pidFile !== undefined) writePidFile(pidFile);
  if (values['max-conversations'] !== undefined) log('--max-conversations is deprecated and ignored: modeltap keeps no per-conversation client state');
  log(`modeltap listening on ${proxy.url} (upstream ${sim ? `sim at ${upstream}` : upstream})`);
  const kept = store === undefined || runtime.storeApi === undefined ? 'the request store is off, so it shows nothing' : store.location === ':memory:' ? 'requests kept in memory for this run' : `requests kept in ${isPostgresUrl(store.location) ? `${redactPostgresUrl(store.location)}, shared by every replica; this one is ${store.replica}` : store.location}`;
  log(`modeltap live view: ${proxy.url}/${values['access-key'] === undefined ? '' : '?key=…'} (${kept})`);
  await stopped;
  eventLoopDelay?.stop();
  // Last: a script that waits for the file to go away then finds the summary already written.
  if (pidFile !== undefined) removePidFile(pidFile);
}
