/**
 * modeltap's library surface. Importing it has no side effects.
 */
export { ModelClient, VERSION, type ModelClientOptions } from './client/model-client.js';
export {
  ModelClientSession,
  type NewSessionOptions,
  type StreamOptions,
} from './client/model-client-session.js';
export { ResponseStream, type ResponseHead } from './client/response-stream.js';
export { UpstreamTiming } from './client/upstream-timing.js';
export {
  ModelClientError,
  type ModelClientErrorKind,
  type ModelClientErrorSource,
  type UpstreamErrorResponse,
} from './client/errors.js';
export type * from './client/events.js';
export type { Prompt, RawRequest, StreamRequest } from './client/prompt.js';
export type { ProviderOptions, ProviderConfig, WireApi } from './client/provider.js';
export type { SessionSource } from './client/client-context.js';
export type { ModelInfo, ReasoningEffort, ReasoningSummary, Verbosity } from './client/model-info.js';
export {
  ApiKeyCredentials,
  AuthFileCredentials,
  BearerTokenCredentials,
  CommandCredentials,
  EnvVarCredentials,
  RefreshTokenError,
  type AuthFileOptions,
  type AuthMode,
  type AuthOption,
  type CommandCredentialsOptions,
  type CredentialSource,
  type Credentials,
  type RefreshFailureReason,
  type UnauthorizedRecovery,
} from './client/auth.js';
export { collectResponse, type CollectedResponse } from './client/collect.js';
export { MAX_SSE_EVENT_BYTES } from './client/sse.js';
export type * from './telemetry/hooks.js';
export { createProxy, type ProxyConfig } from './cli/create-proxy.js';
export type { ProxyServer } from './proxy/server.js';
