/**
 * Message content in the GenAI semconv "parts" form, for the opt-in content attributes
 * (`gen_ai.input.messages`, `gen_ai.output.messages`, `gen_ai.system_instructions`). Only called
 * when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT asks for content.
 */

type Obj = Record<string, unknown>;
type Part = Record<string, unknown>;
interface Message {
  role: string;
  parts: Part[];
  finish_reason?: string;
}

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function textParts(content: unknown): Part[] {
  if (typeof content === 'string') return [{ type: 'text', content }];
  if (!Array.isArray(content)) return [];
  return content.filter(isObj).flatMap((p): Part[] => {
    if (typeof p['text'] === 'string') return [{ type: 'text', content: p['text'] }];
    if (p['type'] === 'input_image' || p['type'] === 'image_url') return [{ type: 'uri', modality: 'image', uri: '[image]' }];
    return [];
  });
}

function responsesItem(item: Obj): Message | undefined {
  switch (item['type']) {
    case 'message':
    case undefined:
      return typeof item['role'] === 'string' ? { role: item['role'], parts: textParts(item['content']) } : undefined;
    case 'function_call':
    case 'custom_tool_call':
      return { role: 'assistant', parts: [{ type: 'tool_call', id: item['call_id'], name: item['name'], arguments: item['arguments'] ?? item['input'] }] };
    case 'function_call_output':
    case 'custom_tool_call_output':
      return { role: 'tool', parts: [{ type: 'tool_call_response', id: item['call_id'], response: item['output'] }] };
    default:
      return undefined;
  }
}

/** The input messages of a request body. */
export function inputMessages(body: Readonly<Obj>, apiType: 'responses' | 'chat_completions'): Message[] {
  if (apiType === 'chat_completions') {
    const messages = body['messages'];
    if (!Array.isArray(messages)) return [];
    return messages.filter(isObj).map((m) => ({ role: String(m['role'] ?? 'user'), parts: textParts(m['content']) }));
  }
  const input = body['input'];
  if (typeof input === 'string') return [{ role: 'user', parts: [{ type: 'text', content: input }] }];
  if (!Array.isArray(input)) return [];
  return input.filter(isObj).flatMap((item) => responsesItem(item) ?? []);
}

/** The system instructions of a Responses body (`instructions`). */
export function systemInstructions(body: Readonly<Obj>): Part[] | undefined {
  const instructions = body['instructions'];
  return typeof instructions === 'string' && instructions !== '' ? [{ type: 'text', content: instructions }] : undefined;
}

/** The output messages of a completed Responses `response` object. */
export function responsesOutput(response: Obj): Message[] {
  const output = response['output'];
  if (!Array.isArray(output)) return [];
  return output.filter(isObj).flatMap((item) => {
    const message = responsesItem(item);
    return message ? [{ ...message, finish_reason: item['type'] === 'message' ? 'stop' : 'tool_call' }] : [];
  });
}

/** A streamed Chat answer, from its accumulated text. */
export function chatOutput(text: string): Message[] {
  return [{ role: 'assistant', parts: [{ type: 'text', content: text }], finish_reason: 'stop' }];
}

/** The output messages of a non-streamed Chat Completions body: one per choice, tool calls as parts. */
export function chatCompletionOutput(body: Obj): Message[] {
  const choices = body['choices'];
  if (!Array.isArray(choices)) return [];
  return choices.filter(isObj).flatMap((choice) => {
    const message = choice['message'];
    if (!isObj(message)) return [];
    const calls = Array.isArray(message['tool_calls']) ? message['tool_calls'].filter(isObj) : [];
    const parts = [
      ...textParts(message['content']),
      ...calls.map((call): Part => {
        const fn = isObj(call['function']) ? call['function'] : {};
        return { type: 'tool_call', id: call['id'], name: fn['name'], arguments: fn['arguments'] };
      }),
    ];
    const finish = choice['finish_reason'];
    return [{ role: String(message['role'] ?? 'assistant'), parts, ...(typeof finish === 'string' ? { finish_reason: finish } : {}) }];
  });
}
