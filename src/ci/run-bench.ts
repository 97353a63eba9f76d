import WebSocket from 'ws';
import { ModelClient } from '../client/model-client.js';
import { ModelClientError } from '../client/errors.js';
import { costPicos } from '../cost/cost.js';
import type { PriceTable } from '../cost/price-table.js';
import { SummaryRecorder, type RunSummary } from '../summary/summary-recorder.js';

/** What `modeltap bench` runs. */
export interface BenchOptions {
  /** An OpenAI-compatible base URL, e.g. `http://127.0.0.1:8787/v1`. */
  readonly baseUrl: string;
  readonly mode: 'sse' | 'json' | 'chat' | 'ws';
  readonly concurrency: number;
  /** Stop after this many seconds… */
  readonly durationS: number | undefined;
  /** …or after this many requests (whichever comes first). */
  readonly count: number | undefined;
  readonly model: string;
  /** Pause between a worker's requests, ms. */
  readonly thinkMs: number;
  /** Extra request headers (an API key, `x-modeltap-key`, `x-sim-*`). */
  readonly headers: Readonly<Record<string, string>>;
  /** The prices requests are costed at, from the usage each response reported. Default: none, cost unknown. */
  readonly prices?: PriceTable;
  /** Called about every 250 ms with the progress so far. */
  readonly onProgress?: (progress: BenchProgress) => void;
}

/** Progress of a running bench. */
export interface BenchProgress {
  readonly done: number;
  readonly errors: number;
  readonly elapsedS: number;
}

/** What a response's completion said: its usage (undefined when it reported none), model and service tier. */
interface Completed {
  readonly tokens: { input: number; output: number; cached: number } | undefined;
  readonly model: string | undefined;
  readonly serviceTier: string | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function requestBody(options: BenchOptions, i: number): { path: string; body: Record<string, unknown> } {
  const input = `modeltap bench request ${i}`;
  if (options.mode === 'chat') {
    return { path: 'chat/completions', body: { model: options.model, messages: [{ role: 'user', content: input }], stream: true, stream_options: { include_usage: true } } };
  }
  return { path: 'responses', body: { model: options.model, input, stream: options.mode === 'sse' } };
}

/**
 * Generates load against any OpenAI-compatible base URL and measures, from the client's side,
 * what the proxy measures from its side: per request the time to the first chunk, the duration,
 * the usage and errors, in the run-summary format `modeltap check` compares.
 */
export async function runBench(options: BenchOptions): Promise<RunSummary> {
  const recorder = new SummaryRecorder('bench');
  const client = new ModelClient({ provider: { baseUrl: options.baseUrl, requestMaxRetries: 0, streamIdleTimeoutMs: 120_000 } });
  const started = performance.now();
  const deadline = options.durationS === undefined ? Number.POSITIVE_INFINITY : started + options.durationS * 1000;
  let issued = 0;
  let done = 0;
  let errors = 0;
  const take = (): number | undefined => {
    if (performance.now() >= deadline) return undefined;
    if (options.count !== undefined && issued >= options.count) return undefined;
    return issued++;
  };
  const route = options.mode === 'chat' ? '/v1/chat/completions' : '/v1/responses';
  const transport = options.mode === 'sse' || options.mode === 'chat' ? 'http_sse' : options.mode === 'json' ? 'http_json' : 'websocket';
  const finish = (t0: number, first: number | undefined, error: string | undefined, end: Completed | undefined): void => {
    done++;
    if (error !== undefined) errors++;
    const tokens = end?.tokens;
    // As the proxy costs it: the model that answered, else the one asked for, at the tier it answered with.
    const cost = tokens === undefined || options.prices === undefined ? undefined : costPicos(options.prices, end?.model ?? options.model, { inputTokens: tokens.input, cachedInputTokens: tokens.cached, outputTokens: tokens.output }, end?.serviceTier);
    recorder.record({ route, model: options.model, transport, error, ttfcMs: first === undefined ? undefined : first - t0, durationMs: performance.now() - t0, overheadMs: undefined, tokens, costPicos: cost });
  };

  const httpWorker = async (): Promise<void> => {
    for (let i = take(); i !== undefined; i = take()) {
      const { path, body } = requestBody(options, i);
      const t0 = performance.now();
      let first: number | undefined;
      let completed: Completed | undefined;
      let error: string | undefined;
      try {
        const stream = client.newSession().stream({ raw: { path, headers: { 'content-type': 'application/json', ...options.headers }, body } });
        await stream.pipeTo({
          write: () => {
            first ??= performance.now();
            return true;
          },
          drain: async () => undefined,
          event: (event) => {
            if (event.type === 'completed') {
              const u = event.tokenUsage;
              completed = { tokens: u ? { input: u.inputTokens, output: u.outputTokens, cached: u.cachedInputTokens } : completed?.tokens, model: event.model, serviceTier: event.serviceTier };
            }
          },
        });
      } catch (e) {
        error = e instanceof ModelClientError ? (e.upstream ? String(e.upstream.status) : e.kind) : 'internal_error';
      }
      finish(t0, first, error, completed);
      if (options.thinkMs > 0) await sleep(options.thinkMs);
    }
  };

  const wsWorker = async (): Promise<void> => {
    const url = `${options.baseUrl.replace(/^http/, 'ws')}/responses`;
    let ws: WebSocket | undefined;
    let listener: ((text: string) => void) | undefined;
    for (let i = take(); i !== undefined; i = take()) {
      const t0 = performance.now();
      let first: number | undefined;
      try {
        if (ws === undefined || ws.readyState !== WebSocket.OPEN) {
          const socket = new WebSocket(url, { headers: { ...options.headers }, perMessageDeflate: false });
          await new Promise<void>((resolve, reject) => {
            socket.once('open', () => resolve());
            socket.once('error', reject);
            socket.once('unexpected-response', (_req, res) => reject(new Error(String(res.statusCode))));
          });
          socket.on('message', (data: Buffer) => listener?.(data.toString('utf8')));
          ws = socket;
        }
        const completed = await new Promise<Completed>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('timeout')), 120_000);
          listener = (text) => {
            first ??= performance.now();
            if (!text.includes('"response.completed"') && !text.includes('"response.failed"') && !text.includes('"type":"error"')) return;
            clearTimeout(timer);
            const frame = JSON.parse(text) as { type: string; response?: { model?: unknown; service_tier?: unknown; usage?: { input_tokens?: number; output_tokens?: number; input_tokens_details?: { cached_tokens?: number } } } };
            if (frame.type !== 'response.completed') reject(new Error(frame.type));
            const r = frame.response;
            const u = r?.usage;
            resolve({
              tokens: u ? { input: u.input_tokens ?? 0, output: u.output_tokens ?? 0, cached: u.input_tokens_details?.cached_tokens ?? 0 } : undefined,
              model: typeof r?.model === 'string' ? r.model : undefined,
              serviceTier: typeof r?.service_tier === 'string' ? r.service_tier : undefined,
            });
          };
          ws?.send(JSON.stringify({ type: 'response.create', model: options.model, input: `modeltap bench request ${i}` }));
        });
        finish(t0, first, undefined, completed);
      } catch (e) {
        finish(t0, first, e instanceof Error ? (/^\d+$/.test(e.message) ? e.message : 'websocket') : 'websocket', undefined);
        ws?.terminate();
        ws = undefined;
      }
      if (options.thinkMs > 0) await sleep(options.thinkMs);
    }
    ws?.close();
  };

  const progress = options.onProgress === undefined ? undefined : setInterval(() => options.onProgress?.({ done, errors, elapsedS: (performance.now() - started) / 1000 }), 250);
  try {
    await Promise.all(Array.from({ length: options.concurrency }, () => (options.mode === 'ws' ? wsWorker() : httpWorker())));
  } finally {
    if (progress) clearInterval(progress);
  }
  options.onProgress?.({ done, errors, elapsedS: (performance.now() - started) / 1000 });
  return recorder.summary();
}
