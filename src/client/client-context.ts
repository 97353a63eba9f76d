import type { Dispatcher } from 'undici';
import { RefreshTokenError, type CredentialSource, type Credentials, type UnauthorizedRecovery } from './auth.js';
import { ModelClientError } from './errors.js';
import type { HookFanout } from './hook-fanout.js';
import { sendWithRetries, type HttpRequestSpec, type OpenResponse } from './http-transport.js';
import type { ModelInfo, ReasoningEffort, ReasoningSummary, Verbosity } from './model-info.js';
import { clampRetries, type ProviderConfig } from './provider.js';
import type { UpstreamTiming } from './upstream-timing.js';

/**
 * Where a session comes from (Codex's `SessionSource`). Sub-agents send `x-openai-subagent` with
 * their label (`review`, `compact`, `collab_spawn`, `memory_consolidation`, or a free-form one).
 */
export type SessionSource = 'cli' | 'vscode' | 'exec' | 'mcp' | 'unknown' | { readonly subagent: string };

/** The session-scoped state every turn shares (what Codex keeps in `ModelClientState`). @internal */
export interface ClientContext {
  readonly provider: ProviderConfig;
  readonly credentials: CredentialSource | undefined;
  readonly hooks: HookFanout;
  readonly conversationId: string;
  readonly model: string;
  readonly reasoningEffort: ReasoningEffort | undefined;
  readonly reasoningSummary: ReasoningSummary | undefined;
  readonly verbosity: Verbosity | undefined;
  readonly modelInfo: Partial<ModelInfo>;
  readonly sessionSource: SessionSource;
  readonly originator: string;
  readonly userAgent: string;
  readonly betaFeatures: readonly string[];
  readonly requestCompression: boolean;
  readonly showRawAgentReasoning: boolean;
  readonly dispatcher: Dispatcher;
  readonly random: () => number;
  /** Use the Responses WebSocket for prompts (provider `supportsWebsockets`). */
  readonly supportsWebsockets: boolean;
  /** `v2` sends `previous_response_id` + new items; `v1` sends `response.append`. */
  readonly websocketVersion: 'v1' | 'v2';
  /** Ask for `responsesapi.websocket_timing` frames (`x-responsesapi-include-timing-metrics`). */
  readonly includeTimingMetrics: boolean;
  /** Session-wide WebSocket state: the fallback flag (§4.7) and the cached connection (L). */
  readonly ws: { disabled: boolean; connection: import('./websocket-connection.js').WsConnection | undefined };
}

/** Resolves the current credentials, mapping any failure to a `ModelClientError`. */
export async function resolveCredentials(ctx: ClientContext): Promise<Credentials | undefined> {
  if (ctx.credentials === undefined) return undefined;
  try {
    return await ctx.credentials.credentials();
  } catch (error) {
    if (error instanceof ModelClientError) throw error;
    throw new ModelClientError({
      kind: 'io',
      message: `cannot load credentials (${ctx.credentials.description}): ${(error as Error).message}`,
      source: 'client',
      status: 500,
      cause: error,
    });
  }
}

/** Sets `Authorization` (and `ChatGPT-Account-ID`) last, so they win over every other header (§3.1). */
export function applyCredentials(headers: Record<string, string | string[]>, creds: Credentials | undefined): void {
  if (creds === undefined) return;
  headers['authorization'] = `Bearer ${creds.token}`;
  if (creds.accountId !== undefined) headers['chatgpt-account-id'] = creds.accountId;
  else delete headers['chatgpt-account-id'];
}

/** The headers Codex's HTTP client puts on every request: provider headers, originator, User-Agent. */
export function defaultHeaders(ctx: ClientContext): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = { ...ctx.provider.headers };
  headers['originator'] = ctx.originator;
  headers['user-agent'] = ctx.userAgent;
  if (typeof ctx.sessionSource === 'object') headers['x-openai-subagent'] = ctx.sessionSource.subagent;
  return headers;
}

/** Options of one HTTP call through {@link openHttp}. */
export interface OpenOptions {
  readonly hooks: HookFanout;
  readonly signal: AbortSignal | undefined;
  /** Run the 401 recovery loop (§4.5). Compact does not (§2.5). */
  readonly recoverUnauthorized: boolean;
  /** Transport retries in place of the provider's `requestMaxRetries`. Default: the provider's. */
  readonly maxRetries?: number | undefined;
  /** Filled in across every attempt, 401 recoveries included. Default: none. */
  readonly timing?: UpstreamTiming | undefined;
}

/**
 * Codex's 401 loop (§4.5) around any call that takes credentials: resolve them, call; on an
 * upstream 401, run the next recovery step and call again. A permanent refresh failure ends with
 * `refresh_token_failed`, a transient one with `io`; with no step left, the mapped 401.
 */
export async function withUnauthorizedRecovery<T>(
  ctx: ClientContext,
  hooks: HookFanout,
  recover: boolean,
  call: (creds: Credentials | undefined) => Promise<T>,
): Promise<T> {
  // One recovery per call, created at the first 401 so that it sees the credentials then in use.
  let recovery: UnauthorizedRecovery | undefined;
  let step = 0;
  for (;;) {
    const creds = await resolveCredentials(ctx);
    try {
      return await call(creds);
    } catch (error) {
      if (!(error instanceof ModelClientError) || error.upstreamStatus !== 401 || !recover) throw error;
      recovery ??= ctx.credentials?.unauthorizedRecovery?.();
      if (!recovery?.hasNext()) throw error;
      step++;
      try {
        await recovery.next();
      } catch (refreshError) {
        hooks.onAuthRecovery(step, 'failure');
        throw recoveryFailure(refreshError, error);
      }
      hooks.onAuthRecovery(step, 'success');
    }
  }
}

/**
 * One HTTP call: the 401 loop around the transport retry loop (§4.1, §4.5). The attempt counter
 * restarts at 0 after a recovery.
 */
export function openHttp(
  ctx: ClientContext,
  build: (creds: Credentials | undefined) => Promise<HttpRequestSpec> | HttpRequestSpec,
  options: OpenOptions,
): Promise<OpenResponse> {
  return withUnauthorizedRecovery(ctx, options.hooks, options.recoverUnauthorized, async (creds) =>
    sendWithRetries(await build(creds), {
      maxRetries: clampRetries(options.maxRetries, ctx.provider.requestMaxRetries),
      baseDelayMs: ctx.provider.retryBaseDelayMs,
      idleTimeoutMs: ctx.provider.streamIdleTimeoutMs,
      dispatcher: ctx.dispatcher,
      hooks: options.hooks,
      signal: options.signal,
      random: ctx.random,
      timing: options.timing,
    }),
  );
}

function recoveryFailure(refreshError: unknown, unauthorized: ModelClientError): ModelClientError {
  const message = refreshError instanceof Error ? refreshError.message : String(refreshError);
  if (refreshError instanceof RefreshTokenError && refreshError.permanent) {
    return new ModelClientError({
      kind: 'refresh_token_failed',
      message: `Your access token could not be refreshed (${refreshError.reason}): ${message}`,
      source: 'client',
      status: 401,
      cause: refreshError,
      ...(unauthorized.upstream ? { upstream: unauthorized.upstream } : {}),
    });
  }
  return new ModelClientError({ kind: 'io', message, source: 'client', status: 502, cause: refreshError });
}
