import type { Attempt, Operation } from './api.js';

/** One phase of a request's life, from and to milliseconds after its arrival. */
export interface Phase {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  readonly css: string;
}

/** The phases between the times the store kept: what modeltap did, the upstream's wait, its stream. */
export function phases(op: Operation): Phase[] {
  const at = (t: number | null): number | null => (t === null ? null : t - op.arrivalMs);
  const sent = at(op.sentMs);
  const head = at(op.headMs);
  const first = at(op.firstEventMs);
  const end = op.endMs - op.arrivalMs;
  const out: Phase[] = [];
  out.push({ name: 'modeltap: read, route, send', from: 0, to: sent ?? end, css: 'phase-proxy' });
  if (sent !== null) out.push({ name: 'upstream: until its response head', from: sent, to: head ?? end, css: 'phase-wait' });
  if (head !== null && first !== null) out.push({ name: 'until the first event', from: head, to: first, css: 'phase-first' });
  if (head !== null) out.push({ name: first !== null ? 'events, until the end' : 'body, until the end', from: first ?? head, to: end, css: 'phase-stream' });
  return out;
}


/** What an attempt came to: aborted, its status, else its transport error, else that it never ended. */
export function attemptOutcome(a: Attempt): string {
  if (a.aborted) return 'aborted';
  if (a.status !== null) return `HTTP ${a.status}`;
  return a.error ?? 'no answer';
}
