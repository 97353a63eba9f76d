import { randomUUID } from 'node:crypto';
import { arch, release, type } from 'node:os';
import type { Dispatcher } from 'undici';
import type { TelemetryHooks } from '../telemetry/hooks.js';
import { toCredentialSource, type AuthOption, type CredentialSource } from './auth.js';
import { defaultHeaders, openHttp, applyCredentials, withUnauthorizedRecovery, type ClientContext, type SessionSource } from './client-context.js';
import { isForwardableHeader } from './header-map.js';
import { openUpstreamWebSocket, type UpstreamWebSocket } from './upstream-websocket.js';
import { connectionFor } from './websocket-stream.js';
import { ModelClientError, streamError } from './errors.js';
import type { ResponseItem } from './events.js';
import { HookFanout } from './hook-fanout.js';
import { defaultDispatcher } from './http-transport.js';
import { ModelClientSession, type NewSessionOptions, type StreamOptions } from './model-client-session.js';
import { findModelInfo, type ModelInfo, type ReasoningEffort, type ReasoningSummary, type Verbosity } from './model-info.js';
import type { Prompt } from './prompt.js';
import { buildUrl, resolveProvider, type ProviderConfig, type ProviderOptions } from './provider.js';
import { buildCompactBody } from './responses-body.js';
import { TurnMetadataCache } from './turn-metadata.js';

/** The package version, sent in `User-Agent`. */
export const VERSION = '0.1.0';

/** Options of {@link ModelClient}. Everything but `provider` is optional. */
export interface ModelClientOptions {
  readonly provider: ProviderOptions;
  /** `{ apiKey }` or a credential source. Default: none (no Authorization header is added). */
  readonly auth?: AuthOption;
  /** Hooks called for every request of this client. */
  readonly telemetry?: TelemetryHooks;
  /** The conversation (thread) id: `session_id` header and `prompt_cache_key`. Default a new UUID. */
  readonly conversationId?: string;
  /** Default model slug for prompts that name none. Default `gpt-5.1-codex`. */
  readonly model?: string;
  readonly reasoningEffort?: ReasoningEffort;
  /** Default `auto`. */
  readonly reasoningSummary?: ReasoningSummary;
  readonly verbosity?: Verbosity;
  /** Overrides of the built-in facts about `model`. */
  readonly modelInfo?: Partial<ModelInfo>;
  /** Default `cli`. */
  readonly sessionSource?: SessionSource;
  /** The `originator` header. Default `modeltap`. */
  readonly originator?: string;
  /** Enabled beta features, sent as `x-codex-beta-features`. Default none. */
  readonly betaFeatures?: readonly string[];
  /** zstd request bodies for ChatGPT auth on the OpenAI provider (§3.3). Default false. */
  readonly requestCompression?: boolean;
  /** Pass raw Chat deltas instead of aggregating them (§2.3.3). Default false. */
  readonly showRawAgentReasoning?: boolean;
  /** The undici dispatcher (connection pool). Default one shared by every client in the process. */
  readonly dispatcher?: Dispatcher;
  /** Source of jitter in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
  /** Stream prompts over the Responses WebSocket (Codex's `supports_websockets`). Default false. */
  readonly supportsWebsockets?: boolean;
  /** `v2` (default): `previous_response_id` + new items; `v1`: `response.append`. */
  readonly websocketVersion?: 'v1' | 'v2';
  /** Ask for `responsesapi.websocket_timing` frames. Default false. */
  readonly includeTimingMetrics?: boolean;
}

const turnMetadataCache = new TurnMetadataCache();

/**
 * Session-scoped model client: the TypeScript counterpart of Codex's `ModelClient` (spec §1.2).
 * Create one per conversation and one {@link ModelClientSession} per turn.
 *
 * @example
 * const client = new ModelClient({ provider: { baseUrl: 'https://api.openai.com/v1' }, auth: { apiKey } });
 * for await (const event of client.newSession().stream({ model: 'gpt-5.1', instructions: '', input })) { … }
 */
export class ModelClient {
  readonly #ctx: ClientContext;

  constructor(options: ModelClientOptions) {
    const originator = options.originator ?? 'modeltap';
    this.#ctx = {
      provider: resolveProvider(options.provider),
      credentials: toCredentialSource(options.auth),
      hooks: new HookFanout([options.telemetry]),
      conversationId: options.conversationId ?? randomUUID(),
      model: options.model ?? 'gpt-5.1-codex',
      reasoningEffort: options.reasoningEffort,
      reasoningSummary: options.reasoningSummary,
      verbosity: options.verbosity,
      modelInfo: options.modelInfo ?? {},
      sessionSource: options.sessionSource ?? 'cli',
      originator,
      userAgent: `${originator}/${VERSION} (${type()} ${release()}; ${arch()}) node/${process.versions.node}`,
      betaFeatures: options.betaFeatures ?? [],
      requestCompression: options.requestCompression ?? false,
      showRawAgentReasoning: options.showRawAgentReasoning ?? false,
      dispatcher: options.dispatcher ?? defaultDispatcher(),
      random: options.random ?? Math.random,
      supportsWebsockets: options.supportsWebsockets ?? false,
      websocketVersion: options.websocketVersion ?? 'v2',
      includeTimingMetrics: options.includeTimingMetrics ?? false,
      ws: { disabled: false, connection: undefined },
    };
  }

  /** A new turn-scoped session. No network I/O. */
  newSession(options: NewSessionOptions = {}): ModelClientSession {
    return new ModelClientSession(this.#ctx, options, turnMetadataCache);
  }

  /**
   * Compacts a conversation through `POST {base}/responses/compact` (§2.5) and returns the new
   * history. An empty input returns `[]` without a request. Transport retries apply; as in Codex
   * B/E there is no 401 recovery.
   */
  async compactConversationHistory(prompt: Prompt, options: StreamOptions = {}): Promise<ResponseItem[]> {
    const ctx = this.#ctx;
    if (ctx.provider.wireApi !== 'responses') {
      throw new ModelClientError({
        kind: 'unsupported_operation',
        message: 'compact endpoint requires responses wire api',
        source: 'client',
      });
    }
    if (prompt.input.length === 0) return [];
    const response = await openHttp(
      ctx,
      (creds) => {
        const headers = defaultHeaders(ctx);
        headers['content-type'] = 'application/json';
        applyCredentials(headers, creds);
        const body = JSON.stringify(buildCompactBody(prompt, ctx));
        return { method: 'POST', url: buildUrl(ctx.provider, 'responses/compact'), headers, body };
      },
      { hooks: ctx.hooks.with(options.telemetry), signal: options.signal, recoverUnauthorized: false },
    );
    let parsed: unknown;
    try {
      parsed = await response.body.json();
    } catch (error) {
      throw streamError((error as Error).message, { cause: error });
    }
    const output = (parsed as { output?: unknown } | null)?.output;
    if (!Array.isArray(output)) throw streamError('missing field `output`');
    return output as ResponseItem[];
  }

  /**
   * Opens the Responses WebSocket now, handshake only (M's preconnect): the next turn adopts it.
   * Does nothing when WebSockets are off or already open.
   */
  async preconnect(options: StreamOptions = {}): Promise<void> {
    const ctx = this.#ctx;
    if (ctx.provider.wireApi !== 'responses' || !ctx.supportsWebsockets || ctx.ws.disabled) return;
    try {
      await connectionFor(ctx, { turnState: undefined, turnMetadata: undefined }, ctx.hooks.with(options.telemetry), options.signal);
    } catch (error) {
      if (error instanceof ModelClientError && error.upstreamStatus === 426) {
        ctx.ws.disabled = true;
        ctx.hooks.with(options.telemetry).onWsFallback('upgrade_required');
        return;
      }
      throw error;
    }
  }

  /**
   * Opens an upstream Responses WebSocket for a caller's raw handshake (the proxy's way in): the
   * caller's headers (minus hop-by-hop and WebSocket handshake ones), the provider's headers and
   * the client's credentials, with 401 recovery. Frames are then relayed as they are.
   */
  openWebSocket(raw: { path: string; query?: string; headers?: Readonly<Record<string, string | string[] | undefined>> }, options: StreamOptions = {}): Promise<UpstreamWebSocket> {
    const ctx = this.#ctx;
    const hooks = ctx.hooks.with(options.telemetry);
    const callerHeaders: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(raw.headers ?? {})) {
      const lower = name.toLowerCase();
      if (value !== undefined && isForwardableHeader(lower) && !lower.startsWith('sec-websocket-')) callerHeaders[lower] = value;
    }
    return withUnauthorizedRecovery(ctx, hooks, true, (creds) => {
      const headers: Record<string, string | string[]> = { ...callerHeaders, ...ctx.provider.headers };
      applyCredentials(headers, creds);
      return openUpstreamWebSocket({
        url: buildUrl(ctx.provider, raw.path, raw.query ?? ''),
        headers,
        hooks,
        handshakeTimeoutMs: ctx.provider.streamIdleTimeoutMs,
        signal: options.signal,
        timing: options.timing,
      });
    });
  }

  /** The usable context window: the model's window × its effective percent / 100 (§1.2). */
  getModelContextWindow(): number | undefined {
    const info = findModelInfo(this.#ctx.model, this.#ctx.modelInfo);
    if (info.contextWindow === null) return undefined;
    return Math.floor((info.contextWindow * info.effectiveContextWindowPercent) / 100);
  }

  /** The provider with its defaults applied. */
  get provider(): ProviderConfig {
    return this.#ctx.provider;
  }
  /** The default model slug. */
  get model(): string {
    return this.#ctx.model;
  }
  get reasoningEffort(): ReasoningEffort | undefined {
    return this.#ctx.reasoningEffort;
  }
  get reasoningSummary(): ReasoningSummary | undefined {
    return this.#ctx.reasoningSummary;
  }
  get sessionSource(): SessionSource {
    return this.#ctx.sessionSource;
  }
  /** The credential source, if any. */
  get auth(): CredentialSource | undefined {
    return this.#ctx.credentials;
  }
  /** The conversation id sent as `session_id` and `prompt_cache_key`. */
  get conversationId(): string {
    return this.#ctx.conversationId;
  }
}
