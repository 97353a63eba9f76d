import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { StoreApiAnswer } from '../../store/store-api.js';
import { encodeFacts } from '../fact-codec.js';
import type { FactRecorder, FactSink } from './fact-recorder.js';
import { S_ENDED, S_HEARTBEAT, S_LENGTH, S_PROCESSED, type FromTelemetry, type ToTelemetry } from '../facts.js';
import type { PlainSpan } from './plain-span.js';
import type { PipelineConfig } from './telemetry-pipeline.js';
import type { TelemetryWorkerData } from './telemetry-worker.js';

/** Options of {@link TelemetryThread}. */
export interface TelemetryThreadOptions {
  /** The pipeline the thread builds (test exporters are not here: they cannot cross threads). */
  readonly config: Omit<PipelineConfig, 'spanExporter'>;
  /** Finished spans come back to this thread, to this function (a test's exporter), instead of the environment's exporters. */
  readonly onSpans?: (spans: PlainSpan[]) => void;
  /** Told one line when the thread crashed or hung and was replaced, and the thread's own lines (a failing store). Default: not logged. */
  readonly log?: (line: string) => void;
  /** Told the last operation id of each batch the store wrote (the live view's push). Default: nobody. */
  readonly onStored?: (lastId: number) => void;
  /** Fact slots handed over and not yet processed beyond which new requests record nothing (counted). Default 524288. */
  readonly maxQueueSlots?: number;
  /** A thread whose event loop made no progress this long is replaced, in ms. Default 10000. */
  readonly hangMs?: number;
  /** Longest wait for an answer (/metrics, a flush), in ms. Default 10000; shutdown waits `shutdownMs`. */
  readonly replyTimeoutMs?: number;
  /** Longest wait for the last export on shutdown, in ms. Default 15000 (the OTLP exporters' 10 s timeout, and then some). */
  readonly shutdownMs?: number;
  /** Accept the test-only `hang` message. Default false. */
  readonly testHooks?: boolean;
  /** With `testHooks`: each new thread blocks this long before it loads the SDK (a slow start on a loaded machine), in ms. Default 0. */
  readonly startStallMsForTests?: number;
}

/**
 * The telemetry thread's young generation, in MB. V8 sizes each isolate's from the machine's memory
 * (128 MB of semi-spaces here), and a second isolate doubles that: what the thread allocates is
 * mostly short-lived (facts, span attributes, OTLP buffers) or held until its export, so a small one
 * costs no measurable CPU and about 100 MB less resident memory (bench/results/).
 */
const YOUNG_MB = 16;
/** How long a new thread may take to load the SDK and say it is ready before it counts as hung. */
const START_MS = 30_000;

/** Where the worker's script is: beside this file once built; from the sources (tests), the built one. */
function workerUrl(): URL {
  const here = new URL('./telemetry-worker.js', import.meta.url);
  if (!import.meta.url.endsWith('.ts')) return here;
  const built = new URL('../../../dist/telemetry/otel/telemetry-worker.js', import.meta.url);
  if (!existsSync(fileURLToPath(built))) throw new Error('the telemetry thread runs dist/telemetry/otel/telemetry-worker.js: run `npm run build` first');
  return built;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The relay thread's handle on the telemetry thread: hands it the recorder's batches (bounded:
 * past `maxQueueSlots` unprocessed, new requests are dropped and counted, nothing blocks or
 * grows), asks it for /metrics text, flushes and shutdown, and replaces it when it crashes or
 * hangs (one log line; the requests whose facts it held are counted as lost). The relay never
 * waits for it except on those requests.
 */
export class TelemetryThread implements FactSink {
  readonly #options: TelemetryThreadOptions;
  readonly #maxSlots: number;
  readonly #hangMs: number;
  readonly #pending = new Map<number, Pending>();
  #recorder: FactRecorder | undefined;
  #worker!: Worker;
  #state!: Int32Array;
  /** Slots posted to the current thread (wraps like the shared counter: both Int32). */
  #posted = 0;
  #lost = 0;
  #nextId = 1;
  #heartbeat = 0;
  #stalledSince: number | undefined;
  #hung = false;
  /** Whether the current thread said it is ready: before, loading the SDK may outlast `hangMs`. */
  #ready = false;
  #closing = false;
  /** Set when threads keep dying as they start (a configuration the SDK rejects): telemetry stops, the relay goes on. */
  #dead = false;
  #spawnedAt = 0;
  #quickDeaths = 0;
  /** Threads replaced so far. */
  restarts = 0;
  readonly #watchdog: NodeJS.Timeout;

  constructor(options: TelemetryThreadOptions) {
    this.#options = options;
    this.#maxSlots = options.maxQueueSlots ?? 524_288;
    this.#hangMs = options.hangMs ?? 10_000;
    this.#spawn();
    this.#watchdog = setInterval(() => this.#watch(), Math.min(1000, Math.max(50, this.#hangMs / 4)));
    this.#watchdog.unref();
  }

  /** The recorder whose batches come here: flushed before each question, told when the thread is replaced. */
  attach(recorder: FactRecorder): void {
    this.#recorder = recorder;
  }

  /** The worker now (tests terminate it to see it replaced). */
  get worker(): Worker {
    return this.#worker;
  }

  #spawn(): void {
    const state = new SharedArrayBuffer(S_LENGTH * 4);
    this.#state = new Int32Array(state);
    this.#posted = 0;
    this.#heartbeat = 0;
    this.#stalledSince = undefined;
    this.#hung = false;
    this.#ready = false;
    this.#spawnedAt = performance.now();
    const data: TelemetryWorkerData = {
      config: this.#options.config,
      forwardSpans: this.#options.onSpans !== undefined,
      state,
      testHooks: this.#options.testHooks ?? false,
      startStallMs: this.#options.testHooks === true ? (this.#options.startStallMsForTests ?? 0) : 0,
    };
    const worker = new Worker(workerUrl(), { workerData: data, name: 'modeltap-telemetry', resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } });
    this.#worker = worker;
    // Never keeps the process up by itself: only while an answer is awaited (see #request).
    worker.unref();
    worker.on('message', (message: FromTelemetry) => this.#message(message));
    worker.on('messageerror', () => undefined);
    worker.on('error', (error) => {
      if (worker === this.#worker) this.#cause = error instanceof Error ? error.message : String(error);
    });
    worker.on('exit', (code) => {
      if (worker !== this.#worker || this.#closing) return;
      this.#replace(this.#hung ? 'hung' : `crashed (${this.#cause ?? `exit code ${code}`})`);
    });
  }

  #cause: string | undefined;

  #message(message: FromTelemetry): void {
    if (message.t === 'reply') {
      const pending = this.#pending.get(message.id);
      if (pending === undefined) return;
      this.#pending.delete(message.id);
      clearTimeout(pending.timer);
      if (this.#pending.size === 0) this.#worker.unref();
      if (message.error !== undefined) pending.reject(new Error(message.error));
      else pending.resolve(message.value);
    } else if (message.t === 'spans') {
      this.#options.onSpans?.(message.spans as PlainSpan[]);
    } else if (message.t === 'log') {
      this.#options.log?.(message.line);
    } else if (message.t === 'stored') {
      this.#options.onStored?.(message.id);
    } else if (message.t === 'ready') {
      this.#ready = true;
      this.#stalledSince = undefined;
    }
  }

  #replace(why: string): void {
    const started = this.#recorder?.restart() ?? 0;
    const lost = Math.max(0, started - Atomics.load(this.#state, S_ENDED));
    this.#lost += lost;
    this.restarts++;
    this.#cause = undefined;
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new Error(`the telemetry thread ${why}`));
      this.#pending.delete(id);
    }
    this.#quickDeaths = performance.now() - this.#spawnedAt < 2000 ? this.#quickDeaths + 1 : 0;
    if (this.#quickDeaths >= 3) {
      this.#dead = true;
      clearInterval(this.#watchdog);
      this.#options.log?.(`telemetry thread ${why}, for the third time as it started: telemetry is off from now on; the relay goes on`);
      return;
    }
    this.#options.log?.(`telemetry thread ${why}: started a new one; the telemetry of ${lost} request(s) it held is lost (counted in modeltap.telemetry.dropped, reason thread_lost); the relay was not affected`);
    this.#spawn();
  }

  #watch(): void {
    const beat = Atomics.load(this.#state, S_HEARTBEAT);
    const now = performance.now();
    if (beat !== this.#heartbeat) {
      this.#heartbeat = beat;
      this.#stalledSince = undefined;
      return;
    }
    this.#stalledSince ??= now;
    // A thread still loading the SDK has not started beating: on a loaded machine that can take
    // longer than a short hangMs, and taking it for hung would replace every new thread in turn.
    const limit = this.#ready ? this.#hangMs : Math.max(this.#hangMs, START_MS);
    if (now - this.#stalledSince < limit || this.#hung) return;
    this.#hung = true;
    // 'exit' follows, and replaces it.
    void this.#worker.terminate().catch(() => undefined);
  }

  /** Fact slots handed to the thread and not yet processed. */
  get queuedSlots(): number {
    return (this.#posted - Atomics.load(this.#state, S_PROCESSED)) | 0;
  }

  accepts(pending: number): boolean {
    return ((this.#posted - Atomics.load(this.#state, S_PROCESSED)) | 0) + pending < this.#maxSlots && !this.#hung && !this.#dead;
  }

  send(facts: unknown[], slots: number, dropped: number): void {
    const lost = this.#lost;
    this.#lost = 0;
    this.#posted = (this.#posted + slots) | 0;
    const encoded = encodeFacts(facts);
    this.#post({ t: 'facts', facts: encoded, slots, dropped, lost }, [encoded.values.buffer, encoded.tags.buffer]);
  }

  #post(message: ToTelemetry, transfer?: ArrayBuffer[]): void {
    if (this.#dead) return;
    try {
      this.#worker.postMessage(message, transfer);
    } catch {
      // A thread that is gone: its replacement counts what it lost.
    }
  }

  /** Asks the thread, after handing it everything recorded so far; rejects after the timeout. */
  #request(t: 'metrics' | 'collect' | 'flush' | 'shutdown' | 'api', timeoutMs = this.#options.replyTimeoutMs ?? 10_000, extra?: { readonly path: string; readonly query: string }): Promise<unknown> {
    this.#recorder?.flush();
    if (this.#dead) return Promise.reject(new Error('telemetry is off: its thread kept crashing'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        if (this.#pending.size === 0) this.#worker.unref();
        reject(new Error(`the telemetry thread did not answer '${t}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#worker.ref();
      this.#post(t === 'api' ? { t, id, path: extra?.path ?? '', query: extra?.query ?? '' } : { t, id });
    });
  }

  /** An answer of the store's JSON API (see `store-api.ts`), from the store the thread writes. */
  storeApi(path: string, query: string): Promise<StoreApiAnswer> {
    return this.#request('api', undefined, { path, query }) as Promise<StoreApiAnswer>;
  }

  /** The Prometheus text of /metrics. */
  metricsText(): Promise<string> {
    return this.#request('metrics') as Promise<string>;
  }

  /** modeltap's metrics as the SDK's scope metrics (what a reader collects). */
  collect(): Promise<unknown> {
    return this.#request('collect');
  }

  /** Exports what is buffered now. */
  async forceFlush(): Promise<void> {
    await this.#request('flush');
  }

  /** For tests: blocks the thread's event loop for `ms`. */
  hangForTests(ms: number): void {
    this.#post({ t: 'hang', ms });
  }

  #shutdown: Promise<void> | undefined;

  /** Hands over the last facts, lets the thread export everything (bounded), then ends it. Later calls wait for the first. */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#stop();
    return this.#shutdown;
  }

  async #stop(): Promise<void> {
    clearInterval(this.#watchdog);
    try {
      await this.#request('shutdown', this.#options.shutdownMs ?? 15_000);
    } catch {
      // Exported what it could within the bound.
    }
    this.#closing = true;
    await this.#worker.terminate().catch(() => undefined);
  }
}
