/** Which API a provider speaks: the Responses API or Chat Completions. */
export type WireApi = 'responses' | 'chat';

/** A model provider, as the caller describes it (Codex's `ModelProviderInfo`, spec §4.2). */
export interface ProviderOptions {
  /** Base URL. Default `https://api.openai.com/v1`. */
  readonly baseUrl?: string;
  /** Default `responses`. */
  readonly wireApi?: WireApi;
  /** Provider name; `azure` turns on Azure rules, `openai` allows request compression. Default `openai`. */
  readonly name?: string;
  /** Extra headers sent on every request (the base that other headers override). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Query parameters appended to every URL, unencoded, in insertion order (§2.1). */
  readonly queryParams?: Readonly<Record<string, string>>;
  /** Transport retries after the first attempt. Default 4, capped at 100. */
  readonly requestMaxRetries?: number;
  /** Turn-level stream retries (prompt mode only). Default 5, capped at 100. */
  readonly streamMaxRetries?: number;
  /** Longest wait for the response head or between two stream events, in ms. Default 300000. */
  readonly streamIdleTimeoutMs?: number;
  /** Base of the exponential backoff, in ms. Default 200. */
  readonly retryBaseDelayMs?: number;
}

/** A provider with every default applied. */
export interface ProviderConfig {
  readonly baseUrl: string;
  readonly wireApi: WireApi;
  readonly name: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly queryParams: Readonly<Record<string, string>>;
  readonly requestMaxRetries: number;
  readonly streamMaxRetries: number;
  readonly streamIdleTimeoutMs: number;
  readonly retryBaseDelayMs: number;
}

/** Default upstream. */
export const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
const MAX_RETRIES_CAP = 100;

/** A retry count as given (truncated, 0 to 100), or `fallback` when it is not a finite number. */
export function clampRetries(value: number | undefined, fallback: number): number {
  if (value === undefined || !Number.isFinite(value)) return fallback;
  return Math.min(Math.max(0, Math.trunc(value)), MAX_RETRIES_CAP);
}

/** Applies the defaults of spec §4.2 and lower-cases header names. */
export function resolveProvider(options: ProviderOptions = {}): ProviderConfig {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  return {
    baseUrl: options.baseUrl ?? DEFAULT_BASE_URL,
    wireApi: options.wireApi ?? 'responses',
    name: options.name ?? 'openai',
    headers,
    queryParams: { ...options.queryParams },
    requestMaxRetries: clampRetries(options.requestMaxRetries, 4),
    streamMaxRetries: clampRetries(options.streamMaxRetries, 5),
    streamIdleTimeoutMs: options.streamIdleTimeoutMs ?? 300_000,
    retryBaseDelayMs: options.retryBaseDelayMs ?? 200,
  };
}

/**
 * Joins the base URL and a path (trailing and leading slashes trimmed) and appends the provider's
 * query parameters unencoded (§2.1). `extraQuery` is a caller's query string, kept as sent.
 */
export function buildUrl(provider: ProviderConfig, path: string, extraQuery = ''): string {
  const base = provider.baseUrl.replace(/\/+$/, '');
  const rel = path.replace(/^\/+/, '');
  let url = rel === '' ? base : `${base}/${rel}`;
  const pairs = Object.entries(provider.queryParams).map(([k, v]) => `${k}=${v}`);
  if (extraQuery !== '') pairs.unshift(extraQuery.replace(/^\?/, ''));
  if (pairs.length > 0) url += `${url.includes('?') ? '&' : '?'}${pairs.join('&')}`;
  return url;
}

const AZURE_MARKERS = ['openai.azure.', 'cognitiveservices.azure.', 'aoai.azure.', 'azure-api.', 'azurefd.', 'windows.net/openai'];

/** `is_azure_responses_endpoint` (§2.2.1): the name is `azure`, or the base URL looks like Azure. */
export function isAzureResponsesEndpoint(provider: ProviderConfig): boolean {
  if (provider.wireApi !== 'responses') return false;
  if (provider.name.toLowerCase() === 'azure') return true;
  const base = provider.baseUrl.toLowerCase();
  return AZURE_MARKERS.some((marker) => base.includes(marker));
}
