/** One stored request, as `GET /modeltap/api/operations` gives it (see src/store/operation-row.ts). */
export interface Operation {
  readonly id: number;
  readonly kind: 'model' | 'other';
  readonly arrivalMs: number;
  readonly sentMs: number | null;
  readonly headMs: number | null;
  readonly firstEventMs: number | null;
  readonly firstWriteMs: number | null;
  readonly endMs: number;
  readonly method: string;
  readonly route: string | null;
  readonly path: string;
  readonly transport: string | null;
  readonly api: string | null;
  readonly stream: boolean | null;
  readonly requestModel: string | null;
  readonly responseModel: string | null;
  readonly status: number | null;
  readonly errorType: string | null;
  /** What the error said (credentials masked), and the upstream's request id of a failed request. */
  readonly errorMessage: string | null;
  readonly upstreamRequestId: string | null;
  readonly retries: number;
  readonly authRecoveries: number;
  /** Each upstream attempt, in order (empty for a WebSocket turn and in rows stored before attempts were). */
  readonly attempts: readonly Attempt[];
  readonly ttfcMs: number | null;
  readonly durationMs: number;
  readonly overheadMs: number | null;
  readonly upstreamMs: number | null;
  readonly inputTokens: number | null;
  readonly cachedInputTokens: number | null;
  readonly outputTokens: number | null;
  readonly reasoningTokens: number | null;
  readonly totalTokens: number | null;
  /** Pico-USD (1e-12), null when unknown. */
  readonly costPicos: number | null;
  readonly responseId: string | null;
  readonly serviceTier: string | null;
  readonly conversationId: string | null;
  readonly threadId: string | null;
  readonly parentThreadId: string | null;
  readonly turnId: string | null;
  readonly requestKind: string | null;
  readonly originator: string | null;
  readonly traceId: string | null;
  readonly spanId: string | null;
  readonly eventCount: number;
  readonly content: string | null;
  /** The modeltap replica that served it (`--replica`); null in rows stored before replicas were. */
  readonly replica: string | null;
}

/** One upstream attempt: sent `atMs` after arrival, `ms` to its head or failure, and the 401 recovery that followed it. */
export interface Attempt {
  readonly attempt: number;
  readonly atMs: number;
  readonly ms: number | null;
  readonly status: number | null;
  readonly error: string | null;
  readonly aborted: boolean;
  readonly recovery: { readonly atMs: number; readonly outcome: 'success' | 'failure' } | null;
}

/** One SSE event or WebSocket frame: its type, milliseconds after the upstream send, size, success. */
export interface OperationEvent {
  readonly kind: string;
  readonly offsetMs: number;
  readonly bytes: number;
  readonly ok: boolean;
}

export interface Conversation {
  readonly conversationId: string;
  readonly operations: number;
  readonly errors: number;
  readonly firstArrivalMs: number;
  readonly lastEndMs: number;
  readonly durationMs: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly totalTokens: number;
  readonly costPicos: number;
  readonly unpriced: number;
  readonly lastId: number;
}

export interface Percentiles {
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

export interface StatsPoint {
  readonly t: number;
  readonly model: string | null;
  readonly requests: number;
  readonly errors: number;
  readonly ttfcMs: Percentiles;
  readonly durationMs: Percentiles;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costPicos: number;
}

export interface StoreState {
  readonly location: string;
  readonly open: boolean;
  readonly fault: null | { readonly code: string; readonly message: string };
  readonly written: number;
  readonly dropped: number;
  readonly sizeBytes: number;
  readonly newestId: number;
}

/** An answer of the API that was not 200: its OpenAI-shaped error. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** GETs `/modeltap/api/PATH` with `params`, as JSON. */
export async function api<T>(path: string, params: Readonly<Record<string, string | number | undefined>> = {}): Promise<T> {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') query.set(k, String(v));
  const text = query.toString();
  const res = await fetch(`/modeltap/api/${path}${text === '' ? '' : `?${text}`}`, { headers: { accept: 'application/json' } });
  const body = (await res.json()) as unknown;
  if (!res.ok) {
    const error = (body as { error?: { code?: string; message?: string } }).error;
    throw new ApiError(res.status, error?.code ?? 'error', error?.message ?? `HTTP ${res.status}`);
  }
  return body as T;
}
