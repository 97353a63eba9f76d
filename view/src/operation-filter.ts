import type { Operation } from './api.js';

/** The filters, as the hash's query names them (the API's names). */
export const FILTERS = ['model', 'route', 'status', 'error', 'conversation', 'since', 'until', 'q', 'replica'] as const;
export type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

/** Whether an operation passes the filters, as the API's `operations` query decides it. */
export function matches(op: Operation, f: Filters): boolean {
  if (f.model !== undefined && op.requestModel !== f.model && op.responseModel !== f.model) return false;
  if (f.route !== undefined && op.route !== f.route) return false;
  if (f.status !== undefined && String(op.status) !== f.status) return false;
  if (f.error === 'any' ? op.errorType === null : f.error !== undefined && op.errorType !== f.error) return false;
  if (f.conversation !== undefined && op.conversationId !== f.conversation) return false;
  if (f.since !== undefined && op.arrivalMs < toMs(f.since)) return false;
  if (f.until !== undefined && op.arrivalMs >= toMs(f.until)) return false;
  if (f.replica !== undefined && op.replica !== f.replica) return false;
  if (f.q !== undefined && ![op.responseId, op.traceId, op.conversationId, op.turnId].includes(f.q)) return false;
  return true;
}

/** A filter's time, epoch ms or ISO 8601, in epoch ms. */
export const toMs = (text: string): number => (/^\d+$/.test(text) ? Number(text) : Date.parse(text));

