import type { Attributes } from '@opentelemetry/api';
import type { SsePoll, TransportError, WsPoll } from '../hooks.js';

/**
 * How SSE polls and WebSocket frames are named and judged for telemetry: pure functions, used
 * where the facts are recorded (the relay's thread) and where they become metrics.
 */

// Codex's SSE kinds worth their own label; anything else is `_OTHER` (bounded cardinality).
export const SSE_KINDS = new Set([
  'message',
  'error',
  'response.created',
  'response.in_progress',
  'response.output_item.added',
  'response.output_item.done',
  'response.content_part.added',
  'response.content_part.done',
  'response.output_text.delta',
  'response.output_text.done',
  'response.reasoning_summary_part.added',
  'response.reasoning_summary_part.done',
  'response.reasoning_summary_text.delta',
  'response.reasoning_summary_text.done',
  'response.reasoning_text.delta',
  'response.function_call_arguments.delta',
  'response.function_call_arguments.done',
  'response.completed',
  'response.done',
  'response.failed',
  'response.incomplete',
  'unknown',
]);

// One attribute object per (kind, success), so recording an event allocates nothing.
const kindAttrs = new Map<string, Attributes>();
export function kindSuccess(kind: string, success: boolean): Attributes {
  const key = success ? kind : `!${kind}`;
  let attrs = kindAttrs.get(key);
  if (attrs === undefined) {
    attrs = { kind, success: success ? 'true' : 'false' };
    kindAttrs.set(key, attrs);
  }
  return attrs;
}

/**
 * The (kind, success) attributes of an SSE poll, or undefined for the stream's end. Codex's `log_sse_event` rules (spec §5.3), with one fix: an event whose data is not a JSON object
 * is a failure even when its name is `message`, and `response.failed` counts as a failure by its
 * name. JSON validity is judged by shape, not by a second parse of every event.
 */
export function classifySse(poll: SsePoll): Attributes | undefined {
  switch (poll.kind) {
    case 'end':
      return undefined;
    case 'idle_timeout':
    case 'decode_error':
      return kindSuccess('unknown', false);
    case 'event': {
      const name = SSE_KINDS.has(poll.event.event) ? poll.event.event : '_OTHER';
      const data = poll.event.data;
      const json = data.charCodeAt(0) === 0x7b && data.charCodeAt(data.length - 1) === 0x7d;
      const done = !json && data.trim() === '[DONE]';
      return kindSuccess(name, (json || done) && name !== 'response.failed' && name !== 'error');
    }
  }
}

export function wsKind(poll: WsPoll): { kind: string; success: boolean } | undefined {
  if (poll.kind !== 'message') return { kind: 'unknown', success: false };
  const { type, frameType } = poll.message;
  if (type === 'ping' || type === 'pong') return undefined;
  if (type !== 'text') return { kind: 'unknown', success: false };
  // The core read the frame's type once; telemetry does not parse the frame again.
  const kind = frameType ?? 'parse_error';
  return { kind: SSE_KINDS.has(kind) || kind.startsWith('codex.') ? kind : '_OTHER', success: kind !== 'response.failed' && kind !== 'error' && kind !== 'parse_error' };
}

export function transportErrorType(error: TransportError): string {
  return error.kind === 'http' ? String(error.status ?? 'http') : error.kind === 'network' && error.message === 'request aborted' ? 'aborted' : error.kind;
}
