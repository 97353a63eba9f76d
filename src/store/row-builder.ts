import {
  E_COMPLETED,
  F_ATTEMPT,
  F_AUTH,
  F_END,
  F_ERROR,
  F_EVENT,
  F_HEAD,
  F_OPERATION,
  F_REQUEST,
  F_SSE,
  F_START,
  F_TURN,
  F_TURN_CHUNK,
  F_TURN_END,
  F_TURN_EVENT,
  F_TURN_WRITE,
  F_WS_EVENT,
  F_WRITE,
  F_WS_REQUEST,
  FIELDS,
  type CompletedFacts,
  type StartFacts,
} from '../telemetry/facts.js';
import type { OperationInfo } from '../telemetry/proxy-telemetry.js';
import { MAX_ATTEMPTS, MAX_ERROR_MESSAGE, MAX_EVENTS, type AttemptRow, type EventRow, type OperationRow } from './operation-row.js';
import { costPicos } from '../cost/cost.js';
import type { PriceTable } from '../cost/price-table.js';

/** Paths modeltap answers itself (the live view at `/` among them), never stored. */
const OWN_PATH = /^\/(?:$|healthz$|metrics$|modeltap\/)/;

/** What is known of a request or a WebSocket turn until it ends (times on the relay's clock). */
interface Pending {
  readonly start: StartFacts;
  /** When this request or turn began (a turn: when its first frame went upstream). */
  readonly at: number;
  /** A turn's request (its WebSocket connection). */
  readonly request: number | undefined;
  op: OperationInfo | undefined;
  sentAt: number | undefined;
  headAt: number | undefined;
  firstEventAt: number | undefined;
  firstWriteAt: number | undefined;
  status: number | null;
  transport: string | null;
  overheadMs: number | null;
  upstreamMs: number | null;
  retries: number;
  authRecoveries: number;
  /** The last attempt's status: an attempt after a failure other than a 401 is a retry. */
  lastAttempt: 'none' | 'ok' | 'failed' | 'unauthorized';
  errorType: string | null;
  errorMessage: string | null;
  upstreamRequestId: string | null;
  /** Each attempt as it is known so far (`ms` and `status` fill in at its outcome). */
  attempts: { -readonly [K in keyof AttemptRow]: AttemptRow[K] }[];
  completed: CompletedFacts | undefined;
  eventCount: number;
  events: EventRow[];
}

function pending(start: StartFacts, at: number, op: OperationInfo | undefined, request?: number): Pending {
  return {
    start,
    at,
    request,
    op,
    sentAt: undefined,
    headAt: undefined,
    firstEventAt: undefined,
    firstWriteAt: undefined,
    status: null,
    transport: null,
    overheadMs: null,
    upstreamMs: null,
    retries: 0,
    authRecoveries: 0,
    lastAttempt: 'none',
    errorType: null,
    errorMessage: null,
    upstreamRequestId: null,
    attempts: [],
    completed: undefined,
    eventCount: 0,
    events: [],
  };
}

function event(p: Pending, at: number, kind: string, bytes: number, ok: boolean): void {
  p.eventCount++;
  p.firstEventAt ??= at;
  if (p.events.length < MAX_EVENTS) p.events.push({ kind, offsetMs: at - (p.sentAt ?? p.at), bytes, ok });
}

/**
 * Builds the store's rows from the telemetry facts (`telemetry/otel/facts.ts`), batch by batch, as
 * the telemetry thread receives them: one row per request when it ends, and one per WebSocket turn
 * (a model operation of its own) when the turn ends. It reads the same facts as the span replay,
 * so the store and the spans tell the same story.
 */
export class RowBuilder {
  readonly #timeOrigin: number;
  readonly #capture: boolean;
  readonly #prices: PriceTable | undefined;
  readonly #replica: string | null;
  readonly #requests = new Map<number, Pending>();
  readonly #turns = new Map<number, Pending>();
  /** A request's open turns: a frame is the turn's when only one is open. */
  readonly #turnsOf = new Map<number, Set<number>>();

  /** `timeOrigin`: the relay thread's `performance.timeOrigin` (the facts' clock starts there); `replica` goes on every row (default null). */
  constructor(timeOrigin: number, captureContent: boolean, prices?: PriceTable, replica: string | null = null) {
    this.#replica = replica;
    this.#timeOrigin = timeOrigin;
    this.#capture = captureContent;
    this.#prices = prices;
  }

  /** Applies one batch and returns the rows of what ended in it. */
  apply(facts: readonly unknown[]): OperationRow[] {
    const rows: OperationRow[] = [];
    for (let i = 0; i < facts.length; i += 3 + (FIELDS[facts[i] as number] ?? 0)) {
      const row = this.#entry(facts[i] as number, facts, i);
      if (row !== undefined) rows.push(row);
    }
    return rows;
  }

  #entry(op: number, f: readonly unknown[], i: number): OperationRow | undefined {
    const id = f[i + 1] as number;
    const at = f[i + 2] as number;
    if (op === F_START) {
      const start = f[i + 3] as StartFacts;
      // modeltap's own endpoints (health, metrics, this store's API and view) are not what it relays.
      if (!OWN_PATH.test(start.path)) this.#requests.set(id, pending(start, at, undefined));
      return undefined;
    }
    if (op === F_TURN_EVENT || op === F_TURN_CHUNK || op === F_TURN_WRITE || op === F_TURN_END) return this.#turn(op, id, at, f, i);
    const p = this.#requests.get(id);
    if (p === undefined) return undefined;
    switch (op) {
      case F_OPERATION:
        p.op = f[i + 4] as OperationInfo;
        return undefined;
      case F_ATTEMPT:
        p.sentAt ??= at;
        if (p.lastAttempt === 'failed') p.retries++;
        if (p.attempts.length < MAX_ATTEMPTS) p.attempts.push({ attempt: f[i + 3] as number, atMs: at - p.at, ms: null, status: null, error: null, aborted: false, recovery: null });
        return undefined;
      case F_REQUEST: {
        const status = f[i + 4] as number | null;
        p.lastAttempt = status === 401 ? 'unauthorized' : f[i + 5] !== null || status === null || status >= 500 || status === 429 ? 'failed' : 'ok';
        const attempt = p.attempts.at(-1);
        if (attempt !== undefined && attempt.attempt === f[i + 3]) {
          attempt.ms = f[i + 8] as number;
          attempt.status = status;
          attempt.error = f[i + 5] as string | null;
          attempt.aborted = f[i + 7] === 1;
        }
        return undefined;
      }
      case F_AUTH: {
        if (f[i + 4] === 'success') p.authRecoveries++;
        // A recovery follows the attempt that was answered 401.
        const attempt = p.attempts.at(-1);
        if (attempt !== undefined) attempt.recovery = { atMs: at - p.at, outcome: f[i + 4] as 'success' | 'failure' };
        return undefined;
      }
      case F_HEAD:
        p.headAt = at;
        p.status = f[i + 3] as number;
        p.transport = f[i + 4] as string;
        p.overheadMs = f[i + 5] as number;
        p.upstreamMs = f[i + 6] as number;
        return undefined;
      case F_SSE:
        event(p, at, f[i + 5] === 'event' ? (f[i + 3] as string) : (f[i + 5] as string), f[i + 6] as number, f[i + 4] === 1);
        return undefined;
      case F_EVENT:
        if (f[i + 3] === E_COMPLETED) p.completed = f[i + 4] as CompletedFacts;
        return undefined;
      case F_ERROR:
        p.errorType = f[i + 3] as string;
        p.errorMessage = maskedMessage(f[i + 4] as string | null);
        p.upstreamRequestId = (f[i + 5] as string | null) ?? null;
        return undefined;
      case F_WRITE:
        p.firstWriteAt ??= at;
        return undefined;
      case F_TURN: {
        const turn = f[i + 3] as number;
        this.#turns.set(turn, pending(p.start, at, f[i + 5] as OperationInfo, id));
        const open = this.#turnsOf.get(id);
        if (open === undefined) this.#turnsOf.set(id, new Set([turn]));
        else open.add(turn);
        return undefined;
      }
      case F_WS_REQUEST: {
        const turn = this.#onlyTurn(id);
        if (turn !== undefined) turn.sentAt ??= at;
        return undefined;
      }
      case F_WS_EVENT: {
        const turn = this.#onlyTurn(id);
        // Text frames only (pings and pongs are the connection's); the frame's type as the metrics name it.
        if (turn !== undefined && f[i + 3] === 'message' && f[i + 4] === 'text') event(turn, at, (f[i + 5] as string | null) ?? 'parse_error', 0, f[i + 5] !== null);
        return undefined;
      }
      case F_END: {
        this.#requests.delete(id);
        for (const turn of this.#turnsOf.get(id) ?? []) this.#turns.delete(turn);
        this.#turnsOf.delete(id);
        p.status = f[i + 3] as number;
        p.errorType = (f[i + 4] as string | null) ?? p.errorType;
        return this.#row(p, at, p.op === undefined || p.transport === 'websocket' ? 'other' : 'model');
      }
      default:
        return undefined;
    }
  }

  #onlyTurn(request: number): Pending | undefined {
    const open = this.#turnsOf.get(request);
    return open !== undefined && open.size === 1 ? this.#turns.get(open.values().next().value as number) : undefined;
  }

  #turn(op: number, id: number, at: number, f: readonly unknown[], i: number): OperationRow | undefined {
    const turn = this.#turns.get(id);
    if (turn === undefined) return undefined;
    if (op === F_TURN_EVENT) {
      if (f[i + 3] === E_COMPLETED) turn.completed = f[i + 4] as CompletedFacts;
      return undefined;
    }
    if (op === F_TURN_CHUNK) {
      turn.firstEventAt ??= f[i + 3] as number;
      return undefined;
    }
    if (op === F_TURN_WRITE) {
      turn.firstWriteAt ??= at;
      return undefined;
    }
    this.#turns.delete(id);
    if (turn.request !== undefined) this.#turnsOf.get(turn.request)?.delete(id);
    turn.transport = 'websocket';
    turn.errorType = f[i + 3] as string | null;
    return this.#row(turn, at, 'model');
  }

  #row(p: Pending, endAt: number, kind: 'model' | 'other'): OperationRow {
    const o = this.#timeOrigin;
    const epoch = (t: number | undefined): number | null => (t === undefined ? null : o + t);
    const op = p.op;
    const c = p.completed;
    const usage = c?.tokenUsage ?? null;
    const sent = p.sentAt ?? p.at;
    return {
      kind,
      arrivalMs: o + p.at,
      sentMs: epoch(p.sentAt),
      headMs: epoch(p.headAt),
      firstEventMs: epoch(p.firstEventAt),
      firstWriteMs: epoch(p.firstWriteAt),
      endMs: o + endAt,
      method: p.start.method,
      route: p.start.route ?? null,
      path: p.start.path,
      transport: p.transport ?? (op === undefined ? null : (op.transport ?? (op.stream ? 'http_sse' : 'http_json'))),
      api: op?.apiType ?? null,
      stream: op === undefined ? null : op.stream,
      requestModel: op?.model ?? null,
      responseModel: c?.model ?? null,
      status: kind === 'model' && p.transport === 'websocket' ? null : p.status,
      errorType: p.errorType,
      errorMessage: p.errorType === null ? null : p.errorMessage,
      upstreamRequestId: p.errorType === null ? null : p.upstreamRequestId,
      retries: p.retries,
      authRecoveries: p.authRecoveries,
      attempts: p.attempts,
      ttfcMs: p.firstEventAt === undefined ? null : p.firstEventAt - sent,
      durationMs: endAt - p.at,
      overheadMs: p.overheadMs,
      upstreamMs: p.upstreamMs,
      inputTokens: usage?.inputTokens ?? null,
      cachedInputTokens: usage?.cachedInputTokens ?? null,
      outputTokens: usage?.outputTokens ?? null,
      reasoningTokens: usage?.reasoningOutputTokens ?? null,
      totalTokens: usage?.totalTokens ?? null,
      costPicos: usage === undefined || usage === null || this.#prices === undefined ? null : (costPicos(this.#prices, c?.model ?? op?.model, usage, c?.serviceTier) ?? null),
      responseId: c?.responseId === undefined || c.responseId === '' ? null : c.responseId,
      serviceTier: c?.serviceTier ?? null,
      conversationId: op?.conversationId ?? null,
      threadId: op?.threadId ?? null,
      parentThreadId: op?.parentThreadId ?? null,
      turnId: op?.turnId ?? null,
      requestKind: op?.requestKind ?? null,
      originator: op?.originator ?? null,
      traceId: p.start.traceId,
      spanId: p.start.spanId,
      eventCount: p.eventCount,
      events: p.events,
      content: this.#capture && op !== undefined ? contentOf(op, c) : null,
      replica: this.#replica,
    };
  }
}

/** The captured prompt (what telemetry read of the body) and the answer, as one JSON object. */
function contentOf(op: OperationInfo, c: CompletedFacts | undefined): string | null {
  const input: Record<string, unknown> = {};
  for (const key of ['instructions', 'input', 'messages']) if (op.body[key] !== undefined) input[key] = op.body[key];
  const output = c?.response ?? c?.body;
  if (Object.keys(input).length === 0 && output === undefined) return null;
  return JSON.stringify({ input, ...(output === undefined ? {} : { output }) });
}

// What looks like a credential in an error message (an API key, a bearer token, a JWT): upstream
// messages quote a wrong key, and the store never keeps one (issue 20).
const CREDENTIAL = /\b(?:sk|rk|pk|sess)-[\w*-]{6,}|\bBearer\s+\S+|\beyJ[\w-]{8,}\.[\w-]+\.[\w-]+/g;

/**
 * An error message as the store keeps it: an OpenAI-shaped error body (`{"error": {"message",
 * "code"}}`, which the client passes on for a status it does not map) read to its message and
 * code, credentials masked, at most {@link MAX_ERROR_MESSAGE} characters.
 */
export function maskedMessage(message: string | null): string | null {
  if (message === null || message === '') return null;
  const masked = openaiErrorText(message).replace(CREDENTIAL, '[redacted]');
  return masked.length > MAX_ERROR_MESSAGE ? `${masked.slice(0, MAX_ERROR_MESSAGE - 1)}…` : masked;
}

function openaiErrorText(text: string): string {
  if (!text.startsWith('{')) return text;
  try {
    const error = (JSON.parse(text) as { error?: { message?: unknown; code?: unknown } }).error;
    if (typeof error?.message !== 'string') return text;
    return typeof error.code === 'string' && error.code !== '' ? `${error.message} (${error.code})` : error.message;
  } catch {
    return text;
  }
}
