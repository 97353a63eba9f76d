import { abortedError, type OpenResponse } from './http-transport.js';
import { MESSAGES, ModelClientError, streamError } from './errors.js';
import { completedEvent, type ResponseEvent, type ResponseFields } from './events.js';
import type { FrameMapper } from './frame-mapper.js';
import type { HookFanout } from './hook-fanout.js';
import { SseFramer, type SseFrame } from './sse.js';

/** How a body is read. */
export interface ReadOptions {
  readonly hooks: HookFanout;
  /**
   * Stop reading as soon as the response completes (Codex's rule, §2.2.3). A raw relay sets this
   * to false and reads to EOF, so that every upstream byte reaches its caller.
   */
  readonly stopAtCompletion: boolean;
  readonly signal: AbortSignal | undefined;
}

function isBodyTimeout(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'UND_ERR_BODY_TIMEOUT';
}

/** Maps a failure while reading a body; `poll` reports it as SSE telemetry when given. */
function readFailure(error: unknown, options: ReadOptions, elapsed: number, sse: boolean): ModelClientError {
  if (options.signal?.aborted) return abortedError(error);
  if (isBodyTimeout(error)) {
    if (sse) options.hooks.onSsePoll({ kind: 'idle_timeout' }, elapsed);
    return streamError(MESSAGES.idleTimeoutSse, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  if (sse) options.hooks.onSsePoll({ kind: 'decode_error', error: message }, elapsed);
  return streamError(message, { cause: error });
}

/** The framer's next frame; an event over the maximum size is reported as a decode error poll. */
function nextFrame(framer: SseFramer, hooks: HookFanout, waitStart: number): SseFrame | undefined {
  try {
    return framer.next();
  } catch (error) {
    hooks.onSsePoll({ kind: 'decode_error', error: (error as Error).message }, performance.now() - waitStart);
    throw error;
  }
}

/**
 * Reads an SSE body (spec §2.2.3): one `onSsePoll` per dispatched event with the time spent
 * waiting for it, then `end`. Every frame's exact bytes are yielded, attached to the event it maps
 * to or as a `raw` event. Ends with the mapper's error (a held `response.failed`, or "stream closed
 * before response.completed"), or the idle-timeout / transport error.
 */
export async function* readSse(
  response: OpenResponse,
  mapper: FrameMapper & { readonly fatal?: ModelClientError | undefined },
  options: ReadOptions,
  prelude: readonly ResponseEvent[] = [],
): AsyncGenerator<ResponseEvent> {
  const { hooks, stopAtCompletion } = options;
  const framer = new SseFramer();
  const iterator = response.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const out: ResponseEvent[] = [];
  let done = false;
  let waitStart = performance.now();
  try {
    for (const event of prelude) yield event;
    for (;;) {
      let frame = nextFrame(framer, hooks, waitStart);
      if (frame === undefined) {
        const chunk = await nextChunk(iterator, options, waitStart, true);
        if (chunk.done) {
          frame = framer.flush();
          if (frame === undefined) break;
        } else {
          framer.push(chunk.value);
          continue;
        }
      }
      const event = frame.event;
      if (event === undefined) {
        yield { type: 'raw', raw: frame.raw };
        waitStart = performance.now();
        continue;
      }
      hooks.onSsePoll({ kind: 'event', event, bytes: frame.raw.length }, performance.now() - waitStart);
      mapper.map(event, frame.raw, out);
      if (out.length === 0) {
        yield { type: 'raw', raw: frame.raw };
      } else {
        for (let i = 0; i < out.length; i++) yield out[i] as ResponseEvent;
        out.length = 0;
      }
      waitStart = performance.now();
      if (stopAtCompletion && mapper.completed) {
        done = true;
        return;
      }
      if (stopAtCompletion && mapper.fatal) throw mapper.fatal;
    }
    hooks.onSsePoll({ kind: 'end' }, performance.now() - waitStart);
    const error = mapper.finish(out);
    for (const e of out) yield e;
    out.length = 0;
    done = true;
    if (error) throw error;
  } finally {
    // Leaving early (completion, a consumer's break, an error) closes the upstream connection.
    if (!done || stopAtCompletion) response.body.destroy();
  }
}

/** Largest non-SSE body kept to read its usage at the end; larger ones are relayed unread. */
const MAX_INSPECTED_BODY = 16 * 1024 * 1024;

/** Keeps (references to) a JSON body's chunks, up to a bound, to read its id and usage at the end. */
class BodyInspector {
  #chunks: Buffer[] = [];
  #size = 0;
  #keep: boolean;

  constructor(inspect: boolean) {
    this.#keep = inspect;
  }

  push(chunk: Buffer): void {
    if (!this.#keep) return;
    this.#size += chunk.length;
    if (this.#size > MAX_INSPECTED_BODY) {
      this.#keep = false;
      this.#chunks = [];
    } else {
      this.#chunks.push(chunk);
    }
  }

  /** The `completed` event of the whole body, if it was kept and is a JSON response. */
  completed(): ResponseEvent | undefined {
    return this.#keep ? completedFromJson(Buffer.concat(this.#chunks, this.#size)) : undefined;
  }
}

/** The next body chunk, with a failure mapped (and reported as an SSE poll when `sse`). */
async function nextChunk(iterator: AsyncIterator<Buffer>, options: ReadOptions, waitStart: number, sse: boolean): Promise<IteratorResult<Buffer>> {
  try {
    return await iterator.next();
  } catch (error) {
    throw readFailure(error, options, performance.now() - waitStart, sse);
  }
}

/**
 * Reads a non-SSE body (a JSON response to `stream: false`, or anything passed through): every
 * chunk is yielded as it arrives. When `inspect` is set and the body is JSON, a `completed` event
 * with the response id and usage follows the last chunk.
 */
export async function* readBody(
  response: OpenResponse,
  inspect: boolean,
  options: ReadOptions,
): AsyncGenerator<ResponseEvent> {
  const inspector = new BodyInspector(inspect);
  const iterator = response.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let done = false;
  try {
    for (;;) {
      const chunk = await nextChunk(iterator, options, performance.now(), false);
      if (chunk.done) break;
      inspector.push(chunk.value);
      yield { type: 'raw', raw: chunk.value };
    }
    done = true;
    const completed = inspector.completed();
    if (completed) yield completed;
  } finally {
    if (!done) response.body.destroy();
  }
}

function completedFromJson(body: Buffer): ResponseEvent | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const response = parsed as ResponseFields & Record<string, unknown>;
  if (typeof response.id !== 'string' && response.usage === undefined) return undefined;
  return completedEvent(response, { body: response });
}

/** Where a relay sends a stream: the upstream bytes as they arrive, and the parsed events beside them. */
export interface ResponseSink {
  /**
   * Writes upstream bytes unchanged; `readAt` is `performance.now()` when they were read. Returns
   * false when the consumer is full.
   */
  write(chunk: Buffer, readAt: number): boolean;
  /** Resolves when the consumer can take more (called after `write` returned false). */
  drain(): Promise<void>;
  /** A parsed event (never `raw`). */
  event(event: ResponseEvent): void;
}

/**
 * The relay's way through an SSE body: each upstream chunk goes to the sink the moment it arrives
 * (one write per chunk, not per frame, and no await per frame), then is framed and mapped beside it
 * for the hooks and events. Back-pressure: a full sink stops the reading. Ends like
 * {@link readSse}, with the mapper's, the idle-timeout or the transport error.
 */
export async function pumpSse(
  response: OpenResponse,
  mapper: FrameMapper,
  options: Pick<ReadOptions, 'hooks' | 'signal'>,
  prelude: readonly ResponseEvent[],
  sink: ResponseSink,
): Promise<void> {
  const { hooks } = options;
  const framer = new SseFramer();
  const iterator = response.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const out: ResponseEvent[] = [];
  let done = false;
  for (const event of prelude) sink.event(event);
  let waitStart = performance.now();
  try {
    for (;;) {
      const chunk = await nextChunk(iterator, { ...options, stopAtCompletion: false }, waitStart, true);
      if (chunk.done) break;
      const flushed = sink.write(chunk.value, performance.now());
      framer.push(chunk.value);
      for (let frame = nextFrame(framer, hooks, waitStart); frame !== undefined; frame = nextFrame(framer, hooks, waitStart)) {
        const event = frame.event;
        if (event === undefined) continue;
        const now = performance.now();
        hooks.onSsePoll({ kind: 'event', event, bytes: frame.raw.length }, now - waitStart);
        waitStart = now;
        mapper.map(event, frame.raw, out);
        if (out.length > 0) {
          for (let i = 0; i < out.length; i++) sink.event(out[i] as ResponseEvent);
          out.length = 0;
        }
      }
      if (!flushed) await sink.drain();
    }
    hooks.onSsePoll({ kind: 'end' }, performance.now() - waitStart);
    const error = mapper.finish(out);
    for (const e of out) sink.event(e);
    done = true;
    if (error) throw error;
  } finally {
    if (!done) response.body.destroy();
  }
}

/** The relay's way through a non-SSE body: chunks to the sink as they arrive, then `completed`. */
export async function pumpBody(
  response: OpenResponse,
  inspect: boolean,
  options: Pick<ReadOptions, 'hooks' | 'signal'>,
  sink: ResponseSink,
): Promise<void> {
  const inspector = new BodyInspector(inspect);
  const iterator = response.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const readOptions = { ...options, stopAtCompletion: false };
  let done = false;
  try {
    for (;;) {
      const chunk = await nextChunk(iterator, readOptions, performance.now(), false);
      if (chunk.done) break;
      const flushed = sink.write(chunk.value, performance.now());
      inspector.push(chunk.value);
      if (!flushed) await sink.drain();
    }
    done = true;
    const completed = inspector.completed();
    if (completed) sink.event(completed);
  } finally {
    if (!done) response.body.destroy();
  }
}
