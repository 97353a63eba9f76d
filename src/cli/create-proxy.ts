import type { Dispatcher } from 'undici';
import type { CredentialSource } from '../client/auth.js';
import { ModelClient } from '../client/model-client.js';
import { shippedPrices, type PriceTable } from '../cost/price-table.js';
import { SummaryRecorder } from '../summary/summary-recorder.js';
import { startProxy, type ProxyOptions, type ProxyServer } from '../proxy/server.js';
import { summaryTelemetry } from '../proxy/summary-telemetry.js';
import { composeTelemetry } from '../telemetry/compose-telemetry.js';
import { guardTelemetry, TelemetryFaults } from '../telemetry/guarded-telemetry.js';
import type { ProxyTelemetry } from '../telemetry/proxy-telemetry.js';

/** What {@link createProxy} builds a proxy from: the server's settings plus the upstream's. */
export interface ProxyConfig extends Omit<ProxyOptions, 'client' | 'telemetry' | 'summary'> {
  /** Proxy-held credentials replacing the caller's `Authorization`. Default: pass the caller's through. */
  readonly auth?: CredentialSource;
  /** The upstream connection pool (the CLI builds it with `createUpstreamDispatcher`). Default: the process-wide one, 8192 connections per origin. */
  readonly dispatcher?: Dispatcher;
  /** Transport retries before the first upstream byte. Default 4. */
  readonly requestMaxRetries?: number;
  /** Longest wait for the upstream head and between upstream events, in ms. Default 300000. */
  readonly streamIdleTimeoutMs?: number;
  /** Records every request and upstream call (the OpenTelemetry layer). Default: nothing. */
  readonly telemetry?: ProxyTelemetry;
  /** Records the run summary served at `GET /modeltap/summary`. Default: a new recorder. */
  readonly summary?: SummaryRecorder;
  /** Counts a telemetry call that threw (caught; `modeltap.telemetry.errors`). Default: not counted. */
  readonly onTelemetryError?: (method: string, errorType: string) => void;
  /** The prices the run summary costs requests at (the telemetry's own are in its config). Default: the shipped table. */
  readonly prices?: PriceTable;
}

/**
 * The composition root of `modeltap serve` (and of anyone embedding the proxy): builds the
 * ModelClient, the run summary and the telemetry fan-out, then starts the server with them.
 */
export function createProxy(config: ProxyConfig): Promise<ProxyServer> {
  const { auth, dispatcher, requestMaxRetries, streamIdleTimeoutMs, telemetry, summary: given, onTelemetryError, prices, ...server } = config;
  const client = new ModelClient({
    provider: {
      baseUrl: config.upstream,
      requestMaxRetries: requestMaxRetries ?? 4,
      streamIdleTimeoutMs: streamIdleTimeoutMs ?? 300_000,
    },
    ...(auth ? { auth } : {}),
    ...(dispatcher ? { dispatcher } : {}),
  });
  const summary = given ?? new SummaryRecorder('proxy');
  // Each part behind a guard of its own: one that throws neither breaks a request nor starves the others.
  const faults = new TelemetryFaults({ count: onTelemetryError, log: server.log });
  const composed = composeTelemetry([...(telemetry ? [telemetry] : []), summaryTelemetry(summary, prices ?? shippedPrices())].map((part) => guardTelemetry(part, faults)));
  return startProxy({ ...server, client, telemetry: composed, summary });
}
