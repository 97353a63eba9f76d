import { STATUS_CODES } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request, type Dispatcher } from 'undici';
import type { TransportError } from '../telemetry/hooks.js';
import { mapHttpError, ModelClientError } from './errors.js';
import type { HeaderMap } from './header-map.js';
import type { HookFanout } from './hook-fanout.js';
import { backoffMs, shouldRetryAttempt, type AttemptOutcome } from './retry.js';
import type { UpstreamTiming } from './upstream-timing.js';

/** One upstream HTTP request, re-sent unchanged on every attempt. */
export interface HttpRequestSpec {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[]>;
  readonly body: Uint8Array | string | undefined;
}

/** A 2xx upstream response whose body has not been read yet. */
export interface OpenResponse {
  readonly status: number;
  readonly headers: HeaderMap;
  readonly body: Dispatcher.ResponseData['body'];
}

/** How {@link sendWithRetries} behaves. */
export interface SendOptions {
  readonly maxRetries: number;
  readonly baseDelayMs: number;
  /** Longest wait for the response head and between body chunks, in ms. */
  readonly idleTimeoutMs: number;
  readonly dispatcher: Dispatcher;
  readonly hooks: HookFanout;
  readonly signal: AbortSignal | undefined;
  readonly random: () => number;
  /** Filled in with each attempt's dispatch and answer and each backoff. Default: none. */
  readonly timing?: UpstreamTiming | undefined;
}

/**
 * Upstream connections per origin, by default 8192. A stream holds its connection for its whole
 * life (minutes for a Codex turn), so this is the number of concurrent streams before the next
 * one waits in a queue: twice the 4,096 a proxy is meant to carry, and still a bound, so that
 * a runaway caller meets a queue rather than running the process out of file descriptors.
 */
export const DEFAULT_UPSTREAM_CONNECTIONS = 8192;

/** How long an idle upstream connection is kept for reuse, in ms (4000; below the 5 s many servers keep). */
export const UPSTREAM_KEEP_ALIVE_MS = 4_000;

/** Options of {@link createUpstreamDispatcher}. */
export interface UpstreamPoolOptions {
  /** Connections per upstream origin. Default {@link DEFAULT_UPSTREAM_CONNECTIONS}. */
  readonly connections?: number;
}

/**
 * An upstream connection pool: `connections` per origin, idle ones kept {@link UPSTREAM_KEEP_ALIVE_MS},
 * one request per connection at a time (pipelining 1, undici's default: a pipelined request would
 * wait behind a stream that lasts minutes), HTTP/1.1 only.
 */
export function createUpstreamDispatcher(options: UpstreamPoolOptions = {}): Agent {
  // undici 8 negotiates HTTP/2 over TLS by default, which would multiplex up to 100 streams on one
  // connection: `connections` would no longer bound concurrent streams, and the relay's per-stream
  // back-pressure and hop-by-hop handling are written and tested for HTTP/1.1.
  return new Agent({
    keepAliveTimeout: UPSTREAM_KEEP_ALIVE_MS,
    connections: options.connections ?? DEFAULT_UPSTREAM_CONNECTIONS,
    pipelining: 1,
    allowH2: false,
  });
}

let sharedAgent: Agent | undefined;

/** The process-wide connection pool every client uses unless given its own dispatcher ({@link createUpstreamDispatcher} defaults). */
export function defaultDispatcher(): Dispatcher {
  sharedAgent ??= createUpstreamDispatcher();
  return sharedAgent;
}

/**
 * Bodies from this size (64 KiB) are handed to undici as a one-chunk iterable: undici keeps a
 * Buffer body referenced until the response ends (minutes, for a stream), an iterable only until
 * it has been written. Smaller ones keep undici's Buffer path; the bytes on the wire are the same.
 */
export const RELEASED_BODY_BYTES = 64 * 1024;

/** A body undici writes once and then lets go: the iterator hands out the bytes and forgets them. */
class WrittenOnce implements Iterable<Uint8Array> {
  #bytes: Uint8Array | undefined;
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }
  *[Symbol.iterator](): Iterator<Uint8Array> {
    const bytes = this.#bytes;
    this.#bytes = undefined;
    if (bytes !== undefined) yield bytes;
  }
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The error an aborted signal leaves behind. */
export function abortedError(cause?: unknown): ModelClientError {
  return new ModelClientError({ kind: 'aborted', message: 'request aborted by the caller', source: 'client', cause });
}

function describeNetworkError(error: unknown): { outcome: AttemptOutcome; transport: TransportError } {
  const err = error as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  const code = typeof err.code === 'string' ? err.code : undefined;
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return { outcome: { kind: 'timeout' }, transport: { kind: 'timeout', message: 'timeout' } };
  }
  const causeCode = typeof err.cause?.code === 'string' ? err.cause.code : undefined;
  const detail = causeCode ?? code ?? (typeof err.message === 'string' ? err.message : String(error));
  return { outcome: { kind: 'network' }, transport: { kind: 'network', message: `network error: ${detail}` } };
}

function toClientError(transport: TransportError, cause: unknown): ModelClientError {
  if (transport.kind === 'timeout') {
    return new ModelClientError({ kind: 'timeout', message: 'timed out waiting for the upstream response', source: 'transport', cause });
  }
  return new ModelClientError({ kind: 'connection_failed', message: transport.message, source: 'transport', cause });
}

const decoder = new TextDecoder();

/**
 * The most of an upstream error body that is read and kept, in bytes (1 MiB): enough for any
 * real error document, and a bound on what a misbehaving upstream can make modeltap hold. The
 * rest is not read; the connection is closed instead.
 */
export const MAX_ERROR_BODY_BYTES = 1024 * 1024;

/** Reads a non-2xx body up to {@link MAX_ERROR_BODY_BYTES}; a longer one is cut there and its connection closed. */
async function readErrorBody(body: Dispatcher.ResponseData['body']): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = MAX_ERROR_BODY_BYTES - size;
    if (chunk.length > room) {
      chunks.push(chunk.subarray(0, room));
      size += room;
      // Leaving the loop destroys the body, which closes the connection rather than drain the rest.
      break;
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks, size);
}

/**
 * Sends a request with Codex's transport retry loop (spec §4.1): up to `maxRetries` re-sends on
 * 5xx, network errors and timeouts, never on 429, with `backoff(base, attempt + 1)` between them;
 * `onRequest` once per attempt. Only establishing the response is retried: once a 2xx head
 * arrives, its body belongs to the caller. A non-2xx response is read (up to
 * {@link MAX_ERROR_BODY_BYTES}) and thrown as the mapped {@link ModelClientError}, which keeps its
 * status, headers and body.
 */
export async function sendWithRetries(spec: HttpRequestSpec, options: SendOptions): Promise<OpenResponse> {
  const { hooks, signal, timing } = options;
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) throw abortedError(signal.reason);
    const extra = hooks.onAttemptStart(attempt, spec);
    const started = performance.now();
    const bytes = spec.body;
    const release = bytes instanceof Uint8Array && bytes.byteLength >= RELEASED_BODY_BYTES;
    let headers = extra === undefined ? spec.headers : { ...spec.headers, ...extra };
    // undici computes the length of a Buffer itself; an iterable's must be given, or it goes chunked.
    if (release) headers = { ...headers, 'content-length': String(bytes.byteLength) };
    let response: Dispatcher.ResponseData;
    try {
      const pending = request(spec.url, {
        method: spec.method as Dispatcher.HttpMethod,
        headers,
        // undici documents Iterable bodies (Dispatcher.md, `body`); its typings leave them out.
        body: release ? (new WrittenOnce(bytes) as unknown as Uint8Array) : (bytes ?? null),
        dispatcher: options.dispatcher,
        headersTimeout: options.idleTimeoutMs,
        bodyTimeout: options.idleTimeoutMs,
        ...(signal ? { signal } : {}),
      });
      // Handed over: undici's synchronous part is done. It writes the request a loop turn later on a
      // reused connection (after checking the socket), or once connected: the upstream's time.
      timing?.dispatched();
      response = await pending;
      timing?.answered();
    } catch (error) {
      const elapsed = performance.now() - started;
      if (signal?.aborted) {
        hooks.onRequest(attempt, null, { kind: 'network', message: 'request aborted' }, elapsed);
        throw abortedError(error);
      }
      if ((error as { code?: unknown }).code === 'UND_ERR_INVALID_ARG') {
        // A header or body undici refuses to send (e.g. a control character in a caller's header).
        const message = `invalid request: ${(error as Error).message}`;
        hooks.onRequest(attempt, null, { kind: 'build', message }, elapsed);
        throw new ModelClientError({ kind: 'invalid_request', message, source: 'client', status: 400, cause: error });
      }
      const { outcome, transport } = describeNetworkError(error);
      timing?.answered();
      hooks.onRequest(attempt, null, transport, elapsed);
      if (!shouldRetryAttempt(outcome, attempt, options.maxRetries)) throw toClientError(transport, error);
      await backoff(options, attempt);
      continue;
    }
    const status = response.statusCode;
    if (status >= 200 && status <= 299) {
      hooks.onRequest(attempt, status, null, performance.now() - started);
      return { status, headers: response.headers, body: response.body };
    }
    let body: Uint8Array;
    try {
      body = await readErrorBody(response.body);
    } catch (error) {
      if (signal?.aborted) throw abortedError(error);
      body = new Uint8Array(0);
    }
    // An error answer is relayed once read whole: it was answered only now.
    timing?.answered();
    const transport: TransportError = {
      kind: 'http',
      status,
      message: `http ${status} ${STATUS_CODES[status] ?? ''}: ${decoder.decode(body)}`,
    };
    hooks.onRequest(attempt, status, transport, performance.now() - started);
    if (!shouldRetryAttempt({ kind: 'status', status }, attempt, options.maxRetries)) {
      throw mapHttpError({ status, headers: response.headers, body });
    }
    await backoff(options, attempt);
  }
}

async function backoff(options: SendOptions, attempt: number): Promise<void> {
  const started = performance.now();
  try {
    await sleep(backoffMs(options.baseDelayMs, attempt + 1, options.random), undefined, options.signal ? { signal: options.signal } : {});
  } catch (error) {
    throw abortedError(error);
  }
  options.timing?.waited(performance.now() - started);
}
