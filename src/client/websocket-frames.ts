import { mapHttpError, ModelClientError, streamError } from './errors.js';
import type { RateLimitSnapshot, RateLimitWindow, ResponseItem } from './events.js';
import type { HeaderMap } from './header-map.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function window(value: unknown): RateLimitWindow | null {
  if (!isObj(value)) return null;
  const usedPercent = num(value['used_percent']);
  if (usedPercent === null) return null;
  return { usedPercent, windowMinutes: num(value['window_minutes']), resetsAt: num(value['reset_at']) ?? num(value['resets_at']) };
}

/** A `codex.rate_limits` frame as a snapshot (§2.4.5; `reset_at` becomes `resetsAt`). */
export function rateLimitsFromFrame(frame: Obj): RateLimitSnapshot {
  const limits = isObj(frame['rate_limits']) ? frame['rate_limits'] : {};
  const credits = frame['credits'];
  return {
    primary: window(limits['primary']),
    secondary: window(limits['secondary']),
    credits:
      isObj(credits) && typeof credits['has_credits'] === 'boolean' && typeof credits['unlimited'] === 'boolean'
        ? { hasCredits: credits['has_credits'], unlimited: credits['unlimited'], balance: typeof credits['balance'] === 'string' ? credits['balance'] : null }
        : null,
    planType: typeof frame['plan_type'] === 'string' ? frame['plan_type'] : null,
  };
}

const CONNECTION_LIMIT = 'Responses websocket connection limit reached (60 minutes). Create a new websocket connection to continue.';

/**
 * A WebSocket `{"type": "error", ...}` frame as the core error (§2.4.5, §6.3 item 20): the
 * connection-limit code is retryable; a non-2xx `status` (or `status_code`) goes through the HTTP
 * error mapping with the frame's `headers` (numbers and booleans become strings) and the raw frame
 * text as the body.
 */
export function errorFromFrame(frame: Obj, text: string): ModelClientError {
  const error = isObj(frame['error']) ? frame['error'] : {};
  if (error['code'] === 'websocket_connection_limit_reached') {
    return streamError(typeof error['message'] === 'string' ? error['message'] : CONNECTION_LIMIT, { source: 'upstream_event' });
  }
  const status = num(frame['status']) ?? num(frame['status_code']);
  if (status !== null && (status < 200 || status > 299)) {
    const headers: HeaderMap = {};
    if (isObj(frame['headers'])) {
      for (const [name, value] of Object.entries(frame['headers'])) {
        if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') headers[name.toLowerCase()] = String(value);
      }
    }
    const mapped = mapHttpError({ status, headers, body: new TextEncoder().encode(text) });
    return new ModelClientError({
      kind: mapped.kind,
      message: mapped.message,
      source: 'upstream_event',
      status: mapped.status,
      ...(mapped.rateLimits ? { rateLimits: mapped.rateLimits } : {}),
      ...(mapped.requestId ? { requestId: mapped.requestId } : {}),
    });
  }
  return streamError(typeof error['message'] === 'string' ? error['message'] : 'websocket error event received', { source: 'upstream_event' });
}

/** Deep structural equality of JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ka = Object.keys(a as Obj);
  const kb = Object.keys(b as Obj);
  return ka.length === kb.length && ka.every((k) => jsonEqual((a as Obj)[k], (b as Obj)[k]));
}

/** The items of `input` after `baseline`, when `input` strictly extends it (§2.4.4); else undefined. */
export function incrementalInput(baseline: readonly ResponseItem[], input: readonly ResponseItem[]): ResponseItem[] | undefined {
  if (baseline.length === 0 || input.length <= baseline.length) return undefined;
  for (let i = 0; i < baseline.length; i++) if (!jsonEqual(baseline[i], input[i])) return undefined;
  return input.slice(baseline.length);
}
