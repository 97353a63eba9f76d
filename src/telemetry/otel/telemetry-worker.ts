/**
 * The telemetry thread (a `node:worker_threads` worker started by `TelemetryThread`): owns the
 * OpenTelemetry SDK, builds spans and metrics from the relay's facts, exports them, and answers
 * /metrics. Nothing here runs on the relay's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { decodeFacts } from '../fact-codec.js';
import { S_ENDED, S_HEARTBEAT, S_PROCESSED, type FromTelemetry, type ToTelemetry } from '../facts.js';
import { startPipeline, type PipelineConfig } from './telemetry-pipeline.js';
import { plainSpan } from './plain-span.js';
import { storeApi } from '../../store/store-api.js';

/** What the relay's thread gives the telemetry thread. */
export interface TelemetryWorkerData {
  readonly config: PipelineConfig;
  /** Finished spans go back to the relay's thread (a test's exporter is there), not to the environment's exporters. */
  readonly forwardSpans: boolean;
  /** Counters the relay's thread reads: facts processed, a heartbeat, requests ended (see `facts.ts`). */
  readonly state: SharedArrayBuffer;
  /** Accept the `hang` message (tests of the watchdog). */
  readonly testHooks: boolean;
  /** Block this long before loading the SDK (the watchdog's test of a slow start), in ms. */
  readonly startStallMs: number;
}

const port = parentPort;
if (port === null) throw new Error('telemetry-worker.js runs as a worker thread');
const data = workerData as TelemetryWorkerData;
const state = new Int32Array(data.state);
const post = (message: FromTelemetry): void => port.postMessage(message);
const block = (ms: number): void => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // A busy thread, for the watchdog's tests: no heartbeat, no messages.
  }
};
if (data.startStallMs > 0) block(data.startStallMs);

/** Hands finished spans to the relay's thread, batched by the SDK's processor like any exporter. */
const forwarding: SpanExporter = {
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    post({ t: 'spans', spans: spans.map(plainSpan) });
    done({ code: ExportResultCode.SUCCESS });
  },
  shutdown: async () => undefined,
};

const pipeline = startPipeline({ ...data.config, ...(data.forwardSpans ? { spanExporter: forwarding } : {}) }, (line) => post({ t: 'log', line }), (id) => post({ t: 'stored', id }));

// A hung event loop stops this, and the relay's watchdog replaces the thread.
setInterval(() => Atomics.add(state, S_HEARTBEAT, 1), 100);

function reply(id: number, work: Promise<unknown>): void {
  work.then(
    (value) => post({ t: 'reply', id, value }),
    (error: unknown) => post({ t: 'reply', id, error: error instanceof Error ? error.message : String(error) }),
  );
}

port.on('message', (message: ToTelemetry) => {
  switch (message.t) {
    case 'facts':
      pipeline.apply(decodeFacts(message.facts), message.dropped, message.lost);
      Atomics.store(state, S_ENDED, pipeline.ended);
      Atomics.add(state, S_PROCESSED, message.slots);
      return;
    case 'metrics':
      reply(message.id, pipeline.prometheusText === undefined ? Promise.reject(new Error('no Prometheus endpoint')) : pipeline.prometheusText());
      return;
    case 'collect':
      // The resource stays here (it has methods); the relay's side gives the reader its own.
      reply(message.id, pipeline.collect().then((result) => result.resourceMetrics.scopeMetrics));
      return;
    case 'flush':
      reply(message.id, pipeline.forceFlush());
      return;
    case 'api':
      // The store is written here, between batches: a query sees every batch handed over before it.
      reply(message.id, Promise.resolve().then(() => storeApi(pipeline.store, message.path, message.query)));
      return;
    case 'shutdown':
      reply(message.id, pipeline.shutdown());
      return;
    case 'hang':
      if (data.testHooks) block(message.ms);
      return;
  }
});
post({ t: 'ready' });
