import type { ResponseEvent, ResponseItem, TokenUsage } from './events.js';

/** What one response produced, gathered from its events. */
export interface CollectedResponse {
  readonly responseId: string;
  readonly tokenUsage: TokenUsage | null;
  /** The finished output items (`output_item_done`), in order: what belongs in the history. */
  readonly items: ResponseItem[];
  /** The streamed text, joined. */
  readonly text: string;
}

/**
 * Consumes a response stream and gathers its output. Only `output_item_done` items are kept, so
 * streamed deltas are never duplicated in a history built from them (Codex's rule, spec §6.4
 * item 32). A `reconnecting` event discards what the abandoned attempt produced.
 */
export async function collectResponse(events: AsyncIterable<ResponseEvent>): Promise<CollectedResponse> {
  let items: ResponseItem[] = [];
  let text = '';
  for await (const event of events) {
    switch (event.type) {
      case 'output_item_done':
        items.push(event.item);
        break;
      case 'output_text_delta':
        text += event.delta;
        break;
      case 'reconnecting':
        items = [];
        text = '';
        break;
      case 'completed':
        return { responseId: event.responseId, tokenUsage: event.tokenUsage, items, text };
      default:
        break;
    }
  }
  throw new Error('the stream ended without a completed event');
}
