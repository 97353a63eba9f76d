import { setTimeout as sleep } from 'node:timers/promises';
import type { TelemetryHooks } from '../telemetry/hooks.js';
import { aggregateChatEvents } from './aggregate.js';
import type { Credentials } from './auth.js';
import { buildChatBody } from './chat-body.js';
import { ChatFrameMapper } from './chat-mapper.js';
import { applyCredentials, defaultHeaders, openHttp, type ClientContext } from './client-context.js';
import { ModelClientError } from './errors.js';
import type { ResponseEvent } from './events.js';
import { headerValue, isForwardableHeader } from './header-map.js';
import type { HookFanout } from './hook-fanout.js';
import { abortedError, type HttpRequestSpec, type OpenResponse } from './http-transport.js';
import { findModelInfo } from './model-info.js';
import { isRawRequest, type Prompt, type RawRequest, type StreamRequest } from './prompt.js';
import { buildUrl, isAzureResponsesEndpoint } from './provider.js';
import { parseRateLimitHeaders } from './rate-limits.js';
import { buildResponsesBody } from './responses-body.js';
import { ResponsesFrameMapper } from './responses-mapper.js';
import { ResponseStream, type OpenedStream, type ResponseHead } from './response-stream.js';
import { backoffMs } from './retry.js';
import { pumpBody, pumpSse, readBody, readSse, type ResponseSink } from './stream-reader.js';
import type { TurnMetadataCache } from './turn-metadata.js';
import type { UpstreamTiming } from './upstream-timing.js';
import { zstdCompress } from './zstd.js';
import { connectionFor, streamOnConnection } from './websocket-stream.js';

/** Options of one `stream()` call. */
export interface StreamOptions {
  /** Aborting it closes the upstream connection at once. */
  readonly signal?: AbortSignal;
  /** Hooks for this call only, called after the client's own. */
  readonly telemetry?: TelemetryHooks;
  /**
   * A raw request's `pump()` maps only the frames a relay's telemetry needs (created, output items
   * done, completed, usage); true maps every one, text deltas included (content capture). Default false.
   */
  readonly allEvents?: boolean;
  /**
   * Filled in with when the upstream was sent the request and answered (see {@link UpstreamTiming}),
   * for a raw request (`{ raw }`) and `ModelClient.openWebSocket`. Default: none.
   */
  readonly timing?: UpstreamTiming;
}

/** Options of `ModelClient.newSession()`. */
export interface NewSessionOptions {
  /**
   * Working directory of the turn: its git workspace is described in `x-codex-turn-metadata`,
   * computed in the background and used once ready (§3.6).
   */
  readonly turnMetadataCwd?: string;
}

const encoder = new TextEncoder();

function isEventStream(headers: OpenResponse['headers']): boolean {
  return (headerValue(headers, 'content-type') ?? '').toLowerCase().includes('text/event-stream');
}

/**
 * Turn-scoped state (Codex's `ModelClientSession`, spec §1.3): create one per turn. It holds the
 * sticky-routing `x-codex-turn-state` token, captured from the first successful response and sent
 * on every later request of this turn, never on another.
 */
export class ModelClientSession {
  readonly #ctx: ClientContext;
  readonly #metadata: { value: string | undefined } | undefined;
  #turnState: string | undefined;

  /** @internal Use `ModelClient.newSession()`. */
  constructor(ctx: ClientContext, options: NewSessionOptions, metadataCache: TurnMetadataCache) {
    this.#ctx = ctx;
    this.#metadata = options.turnMetadataCwd === undefined ? undefined : metadataCache.start(options.turnMetadataCwd);
  }

  /** The `x-codex-turn-metadata` value, once computed (undefined before, or outside git). */
  get turnMetadata(): string | undefined {
    return this.#metadata?.value;
  }

  /** The turn-state token captured in this turn, if any. */
  get turnState(): string | undefined {
    return this.#turnState;
  }

  /**
   * Sends a request and returns its events. A {@link Prompt} is built into a Responses or Chat
   * body as Codex does and retried at turn level; `{ raw }` is forwarded as the caller sent it and
   * read to the last byte.
   */
  stream(request: StreamRequest, options: StreamOptions = {}): ResponseStream {
    const hooks = this.#ctx.hooks.with(options.telemetry);
    if (isRawRequest(request)) return new ResponseStream(() => this.#openRaw(request.raw, hooks, options.signal, options.allEvents === true, options.timing));
    return this.#streamPrompt(request, hooks, options.signal);
  }

  #captureTurnState(response: OpenResponse): void {
    if (this.#turnState !== undefined) return;
    const value = headerValue(response.headers, 'x-codex-turn-state');
    if (value !== undefined) this.#turnState = value;
  }

  async #open(
    build: (creds: Credentials | undefined) => Promise<HttpRequestSpec> | HttpRequestSpec,
    hooks: HookFanout,
    signal: AbortSignal | undefined,
    maxRetries?: number,
    timing?: UpstreamTiming,
  ): Promise<OpenResponse> {
    const response = await openHttp(this.#ctx, build, { hooks, signal, recoverUnauthorized: true, maxRetries, timing });
    this.#captureTurnState(response);
    return response;
  }

  async #openRaw(raw: RawRequest, hooks: HookFanout, signal: AbortSignal | undefined, allEvents: boolean, timing: UpstreamTiming | undefined): Promise<OpenedStream> {
    const method = (raw.method ?? 'POST').toUpperCase();
    const url = buildUrl(this.#ctx.provider, raw.path, raw.query ?? '');
    const callerHeaders: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(raw.headers ?? {})) {
      const lower = name.toLowerCase();
      if (value !== undefined && isForwardableHeader(lower)) callerHeaders[lower] = value;
    }
    let body: Uint8Array | undefined;
    if (raw.body instanceof Uint8Array) body = raw.body;
    else if (raw.body !== undefined) {
      body = encoder.encode(JSON.stringify(raw.body));
      callerHeaders['content-type'] ??= 'application/json';
    }
    if (method === 'GET' || method === 'HEAD') body = undefined;
    const response = await this.#open(
      (creds) => {
        const headers: Record<string, string | string[]> = { ...callerHeaders, ...this.#ctx.provider.headers };
        if (this.#turnState !== undefined && headers['x-codex-turn-state'] === undefined) {
          headers['x-codex-turn-state'] = this.#turnState;
        }
        applyCredentials(headers, creds);
        return { method, url, headers, body };
      },
      hooks,
      signal,
      raw.maxRetries,
      timing,
    );
    const chat = /(^|\/)chat\/completions\/?$/.test(raw.path);
    return this.#read(response, chat ? 'chat' : 'responses', { raw: true, hooks, signal, light: !allEvents });
  }

  #read(
    response: OpenResponse,
    wire: 'responses' | 'chat',
    options: { raw: boolean; hooks: HookFanout; signal: AbortSignal | undefined; light?: boolean },
  ): OpenedStream {
    const light = options.light ?? true;
    const readOptions = { hooks: options.hooks, stopAtCompletion: !options.raw, signal: options.signal };
    const close = (): void => {
      response.body.destroy();
    };
    if (!isEventStream(response.headers)) {
      const json = (headerValue(response.headers, 'content-type') ?? '').includes('json');
      const head: ResponseHead = { status: response.status, headers: response.headers, transport: 'http_json' };
      const pump = (sink: ResponseSink): Promise<void> => pumpBody(response, json, readOptions, sink);
      return { head, events: readBody(response, json, readOptions), close, ...(options.raw ? { pump } : {}) };
    }
    const head: ResponseHead = { status: response.status, headers: response.headers, transport: 'http_sse' };
    if (wire === 'chat') {
      const events = readSse(response, new ChatFrameMapper(), readOptions);
      const pump = (sink: ResponseSink): Promise<void> => pumpSse(response, new ChatFrameMapper({ light }), readOptions, [], sink);
      return { head, events: options.raw || this.#ctx.showRawAgentReasoning ? events : aggregateChatEvents(events), close, ...(options.raw ? { pump } : {}) };
    }
    const events = readSse(response, new ResponsesFrameMapper(), readOptions, headerEvents(response));
    const pump = (sink: ResponseSink): Promise<void> => pumpSse(response, new ResponsesFrameMapper({ light }), readOptions, headerEvents(response), sink);
    return { head, events, close, ...(options.raw ? { pump } : {}) };
  }

  #streamPrompt(prompt: Prompt, hooks: HookFanout, signal: AbortSignal | undefined): ResponseStream {
    const ctx = this.#ctx;
    const wire = ctx.provider.wireApi;
    if (wire === 'chat' && prompt.outputSchema !== undefined) {
      const error = new ModelClientError({
        kind: 'unsupported_operation',
        message: 'output_schema is not supported for Chat Completions API',
        source: 'client',
      });
      return new ResponseStream(() => Promise.reject(error));
    }
    let usedWebSocket = false;
    const openOnce = async (): Promise<OpenedStream> => {
      usedWebSocket = this.#websocketEnabled();
      if (usedWebSocket) {
        try {
          return await this.#streamWebSocket(prompt, hooks, signal, false);
        } catch (error) {
          // M+: a 426 on the handshake means "use HTTP", at once (§1.3, §4.7).
          if (!(error instanceof ModelClientError && error.upstreamStatus === 426)) throw error;
          this.#fallBack('upgrade_required', hooks);
          usedWebSocket = false;
        }
      }
      const response = await this.#open((creds) => this.#buildPrompt(prompt, creds), hooks, signal);
      return this.#read(response, wire, { raw: false, hooks, signal });
    };
    const fallBack = (): boolean => usedWebSocket && this.#fallBack('retries_exhausted', hooks);
    const maxRetries = ctx.provider.streamMaxRetries;
    const random = ctx.random;
    const baseDelay = ctx.provider.retryBaseDelayMs;
    let first: Promise<OpenedStream> | undefined;
    return new ResponseStream(async () => {
      first = openOnce();
      const opened = await first;
      let current: OpenedStream | undefined = opened;
      return {
        head: opened.head,
        close: () => current?.close(),
        // §4.6: the turn loop re-sends the whole request on a retryable error.
        events: (async function* turnLoop(): AsyncGenerator<ResponseEvent> {
          for (let retries = 0; ; ) {
            try {
              current ??= await openOnce();
              yield* current.events;
              return;
            } catch (error) {
              const err = error instanceof ModelClientError ? error : abortedError(error);
              if (!err.retryable || signal?.aborted) throw err;
              if (retries >= maxRetries) {
                // §4.6: with retries exhausted on the WebSocket, switch to HTTP and start over.
                if (!fallBack()) throw err;
                yield { type: 'reconnecting', attempt: 0, maxRetries, delayMs: 0, message: `Falling back from WebSockets to HTTPS transport. ${err.message}` };
                retries = 0;
                current = undefined;
                continue;
              }
              retries++;
              const delayMs = err.delayMs ?? backoffMs(baseDelay, retries, random);
              yield { type: 'reconnecting', attempt: retries, maxRetries, delayMs, message: err.message };
              try {
                await sleep(delayMs, undefined, signal ? { signal } : {});
              } catch (abort) {
                throw abortedError(abort);
              }
              current = undefined;
            }
          }
        })(),
      };
    });
  }

  #websocketEnabled(): boolean {
    const ctx = this.#ctx;
    return ctx.provider.wireApi === 'responses' && ctx.supportsWebsockets && !ctx.ws.disabled;
  }

  /** §4.7: flips the session-wide fallback flag; true only the first time. */
  #fallBack(reason: 'upgrade_required' | 'retries_exhausted', hooks: HookFanout): boolean {
    const ctx = this.#ctx;
    if (ctx.ws.disabled || !ctx.supportsWebsockets) return false;
    ctx.ws.disabled = true;
    ctx.ws.connection?.socket.close();
    ctx.ws.connection = undefined;
    hooks.onWsFallback(reason);
    return true;
  }

  async #streamWebSocket(prompt: Prompt, hooks: HookFanout, signal: AbortSignal | undefined, prewarm: boolean): Promise<OpenedStream> {
    const ctx = this.#ctx;
    const turnMetadata = this.#metadata?.value;
    const { connection, fresh } = await connectionFor(ctx, { turnState: this.#turnState, turnMetadata }, hooks, signal);
    if (fresh && this.#turnState === undefined) this.#turnState = headerValue(connection.socket.headers, 'x-codex-turn-state');
    const info = findModelInfo(prompt.model ?? ctx.model, { ...ctx.modelInfo, ...prompt.modelInfo });
    const body = buildResponsesBody(prompt, info, ctx, false);
    return streamOnConnection(ctx, connection, body, { prewarm, turnMetadata });
  }

  /**
   * Warms the WebSocket for this turn (L): a `response.create` with `generate: false`, read to its
   * completion, so that the first real request can send only new items with
   * `previous_response_id`. Does nothing when the session uses HTTP.
   */
  async prewarm(prompt: Prompt, options: StreamOptions = {}): Promise<void> {
    if (!this.#websocketEnabled()) return;
    const hooks = this.#ctx.hooks.with(options.telemetry);
    let opened: OpenedStream;
    try {
      opened = await this.#streamWebSocket(prompt, hooks, options.signal, true);
    } catch (error) {
      if (error instanceof ModelClientError && error.upstreamStatus === 426) {
        this.#fallBack('upgrade_required', hooks);
        return;
      }
      throw error;
    }
    for await (const _event of opened.events) {
      // Drained for its completion; a prewarm yields nothing the turn needs.
    }
  }

  async #buildPrompt(prompt: Prompt, creds: Credentials | undefined): Promise<HttpRequestSpec> {
    const ctx = this.#ctx;
    const provider = ctx.provider;
    const headers = defaultHeaders(ctx);
    headers['session_id'] = ctx.conversationId;
    const model = prompt.model ?? ctx.model;
    if (provider.wireApi === 'chat') {
      headers['accept'] = 'text/event-stream';
      headers['content-type'] = 'application/json';
      applyCredentials(headers, creds);
      const body = JSON.stringify(buildChatBody(prompt, ctx.model));
      return { method: 'POST', url: buildUrl(provider, 'chat/completions'), headers, body };
    }
    // Codex 0.169 also names the thread in `thread-id` (fixtures/codex-cli-0.169/run1.jsonl).
    headers['thread-id'] = ctx.conversationId;
    if (ctx.betaFeatures.length > 0) headers['x-codex-beta-features'] = ctx.betaFeatures.join(',');
    if (this.#turnState !== undefined) headers['x-codex-turn-state'] = this.#turnState;
    const metadata = this.#metadata?.value;
    if (metadata !== undefined) headers['x-codex-turn-metadata'] = metadata;
    headers['accept'] = 'text/event-stream';
    headers['content-type'] = 'application/json';
    const info = findModelInfo(model, { ...ctx.modelInfo, ...prompt.modelInfo });
    const azure = isAzureResponsesEndpoint(provider);
    const json = JSON.stringify(buildResponsesBody(prompt, info, ctx, azure));
    let body: Uint8Array | string = json;
    // §3.3: zstd only with the feature on, ChatGPT auth and the OpenAI provider.
    if (ctx.requestCompression && creds?.mode === 'chatgpt' && provider.name.toLowerCase() === 'openai') {
      body = zstdCompress(encoder.encode(json));
      headers['content-encoding'] = 'zstd';
    }
    applyCredentials(headers, creds);
    return { method: 'POST', url: buildUrl(provider, 'responses'), headers, body };
  }
}

/**
 * The events Codex derives from the response head (§2.2.2): `rate_limits` always, then
 * `models_etag` and `server_reasoning_included` when their headers are present.
 */
function headerEvents(response: OpenResponse): ResponseEvent[] {
  const events: ResponseEvent[] = [{ type: 'rate_limits', rateLimits: parseRateLimitHeaders(response.headers) }];
  const etag = headerValue(response.headers, 'x-models-etag');
  if (etag !== undefined) events.push({ type: 'models_etag', etag });
  if (headerValue(response.headers, 'x-reasoning-included') !== undefined) {
    events.push({ type: 'server_reasoning_included', included: true });
  }
  return events;
}
