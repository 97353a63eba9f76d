import type { ResponseItem } from './events.js';
import type { Prompt } from './prompt.js';

type Obj = Record<string, unknown>;
type ChatMessage = Obj & { role: string };

function isObj(value: unknown): value is Obj {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function partsOf(item: ResponseItem): Obj[] {
  const content = item['content'];
  return Array.isArray(content) ? content.filter(isObj) : [];
}

function plainText(parts: Obj[]): string {
  let text = '';
  for (const part of parts) if (typeof part['text'] === 'string') text += part['text'];
  return text;
}

function messageContent(item: ResponseItem, role: string): unknown {
  const parts = partsOf(item);
  const hasImage = parts.some((p) => p['type'] === 'input_image');
  if (role === 'assistant' || !hasImage) return plainText(parts);
  return parts.flatMap((p): Obj[] => {
    if (p['type'] === 'input_image' && typeof p['image_url'] === 'string') {
      return [{ type: 'image_url', image_url: { url: p['image_url'] } }];
    }
    return typeof p['text'] === 'string' ? [{ type: 'text', text: p['text'] }] : [];
  });
}

function toolOutputContent(item: ResponseItem): unknown {
  const output = item['output'];
  if (typeof output === 'string') return output;
  if (Array.isArray(output)) {
    return output.filter(isObj).map((p) =>
      p['type'] === 'input_image' ? { type: 'image_url', image_url: { url: p['image_url'] } } : { type: 'text', text: p['text'] },
    );
  }
  if (isObj(output) && typeof output['content'] === 'string') return output['content'];
  return JSON.stringify(output ?? '');
}

function reasoningTextOf(item: ResponseItem): string {
  const content = partsOf(item);
  const text = plainText(content);
  if (text !== '') return text;
  const summary = item['summary'];
  return Array.isArray(summary) ? plainText(summary.filter(isObj)) : '';
}

/**
 * The Chat Completions `messages` of a Responses history (spec §2.3.1): a system message with the
 * instructions, then messages, tool calls and tool outputs; reasoning after the last user message
 * rides on the adjacent assistant message; other items are dropped.
 */
export function buildChatMessages(prompt: Prompt): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: 'system', content: prompt.instructions }];
  let lastUser = -1;
  prompt.input.forEach((item, i) => {
    if (item.type === 'message' && item['role'] === 'user') lastUser = i;
  });
  let lastAssistantText: string | undefined;
  let pendingReasoning = '';
  const attachReasoning = (message: ChatMessage): void => {
    if (pendingReasoning !== '') {
      message['reasoning'] = pendingReasoning;
      pendingReasoning = '';
    }
  };
  prompt.input.forEach((item, i) => {
    switch (item.type) {
      case 'message': {
        const role = typeof item['role'] === 'string' ? item['role'] : 'user';
        const content = messageContent(item, role);
        if (role === 'assistant') {
          if (content === lastAssistantText) return;
          lastAssistantText = content as string;
        }
        const message: ChatMessage = { role, content };
        if (role === 'assistant') attachReasoning(message);
        messages.push(message);
        return;
      }
      case 'function_call':
      case 'local_shell_call':
      case 'custom_tool_call': {
        const id = item['call_id'] ?? item['id'];
        const call =
          item.type === 'function_call'
            ? { id, type: 'function', function: { name: item['name'], arguments: item['arguments'] } }
            : item.type === 'custom_tool_call'
              ? { id, type: 'custom', custom: { name: item['name'], input: item['input'] } }
              : { id, type: 'local_shell_call', status: item['status'], action: item['action'] };
        const message: ChatMessage = { role: 'assistant', content: null, tool_calls: [call] };
        attachReasoning(message);
        messages.push(message);
        return;
      }
      case 'function_call_output':
      case 'custom_tool_call_output':
        messages.push({ role: 'tool', tool_call_id: item['call_id'], content: toolOutputContent(item) });
        return;
      case 'reasoning':
        if (i > lastUser) pendingReasoning += reasoningTextOf(item);
        return;
      default:
        return;
    }
  });
  if (pendingReasoning !== '') {
    // No assistant message follows: attach to the last one before it, if any.
    for (let j = messages.length - 1; j > 0; j--) {
      const m = messages[j];
      if (m?.role === 'assistant') {
        m['reasoning'] = pendingReasoning;
        break;
      }
    }
  }
  return messages;
}

/** Responses-format function tools in Chat form; other tool types have no Chat equivalent. */
export function buildChatTools(tools: readonly unknown[]): Obj[] {
  return tools.filter(isObj).flatMap((tool) => {
    if (tool['type'] !== 'function') return [];
    const { type: _type, ...fn } = tool;
    return [{ type: 'function', function: fn }];
  });
}

/** The Chat body (§2.3.1): `{model, messages, stream: true, tools}`. */
export function buildChatBody(prompt: Prompt, model: string): Record<string, unknown> {
  return {
    model: prompt.model ?? model,
    messages: buildChatMessages(prompt),
    stream: true,
    tools: buildChatTools(prompt.tools ?? []),
  };
}
