import type { ResponseEvent, ResponseItem } from './events.js';

function outputText(item: ResponseItem): string | undefined {
  const content = item['content'];
  if (!Array.isArray(content)) return undefined;
  for (const part of content) {
    if (part && typeof part === 'object' && (part as { type?: unknown }).type === 'output_text') {
      const text = (part as { text?: unknown }).text;
      if (typeof text === 'string') return text;
    }
  }
  return undefined;
}

function isAssistantMessage(item: ResponseItem): boolean {
  return item.type === 'message' && item['role'] === 'assistant';
}

/**
 * Codex's "aggregate only" adapter for Chat streams (spec §2.3.3): deltas are swallowed and
 * accumulated, and one reasoning item and one assistant message are emitted just before
 * `completed`. Used unless `showRawAgentReasoning` is on.
 */
export async function* aggregateChatEvents(events: AsyncIterable<ResponseEvent>): AsyncGenerator<ResponseEvent> {
  let text = '';
  let sawTextDelta = false;
  let reasoning = '';
  for await (const event of events) {
    switch (event.type) {
      case 'output_text_delta':
        text += event.delta;
        sawTextDelta = true;
        break;
      case 'reasoning_content_delta':
        reasoning += event.delta;
        break;
      case 'created':
      case 'reasoning_summary_delta':
      case 'reasoning_summary_part_added':
        break;
      case 'output_item_done':
        if (isAssistantMessage(event.item)) {
          if (!sawTextDelta && text === '') text = outputText(event.item) ?? '';
        } else if (event.item.type === 'reasoning' && reasoning !== '') {
          // Re-emitted, aggregated, just before `completed`: passing it on too would duplicate it.
        } else {
          yield event;
        }
        break;
      case 'completed':
        if (reasoning !== '') {
          yield {
            type: 'output_item_done',
            item: { type: 'reasoning', id: '', summary: [], content: [{ type: 'reasoning_text', text: reasoning }] },
          };
        }
        if (text !== '') {
          yield {
            type: 'output_item_done',
            item: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] },
          };
        }
        yield event;
        text = '';
        reasoning = '';
        sawTextDelta = false;
        break;
      default:
        yield event;
    }
  }
}
