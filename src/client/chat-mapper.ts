import type { SseEvent } from '../telemetry/hooks.js';
import { MESSAGES, ModelClientError } from './errors.js';
import { parseTokenUsage, type ResponseEvent, type ResponseItem, type TokenUsage } from './events.js';
import type { FrameMapper } from './frame-mapper.js';
import { parseJsonData } from './responses-mapper.js';

interface ToolCall {
  name: string;
  arguments: string;
}

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `delta.reasoning` as a string, or `.text` / `.content` of an object (§2.3.2). */
function reasoningText(holder: unknown): string | undefined {
  if (!isObj(holder)) return undefined;
  const r = holder['reasoning'];
  if (typeof r === 'string') return r;
  if (isObj(r)) {
    if (typeof r['text'] === 'string') return r['text'];
    if (typeof r['content'] === 'string') return r['content'];
  }
  return undefined;
}

function contentTexts(content: unknown): string[] {
  if (typeof content === 'string') return content === '' ? [] : [content];
  if (!Array.isArray(content)) return [];
  const texts: string[] = [];
  for (const part of content) {
    if (isObj(part) && typeof part['text'] === 'string') texts.push(part['text']);
  }
  return texts;
}

/**
 * Chat Completions chunk aggregation (spec §2.3.2): reasoning and text become Responses-style
 * items, tool-call fragments are joined by `id` (not `index`, as B does), and `finish_reason`
 * decides what is emitted.
 *
 * Where we differ from B, on purpose: `Completed` carries the usage of the final chunk
 * (`stream_options.include_usage`) and the chunk `id` as `responseId`, so it is emitted when the
 * usage chunk arrives after a finish, at `[DONE]`, or at EOF — whichever comes first — rather than
 * at `finish_reason: "stop"` with no usage. The order of events is unchanged.
 */
export class ChatFrameMapper implements FrameMapper {
  completed = false;
  #finished = false;
  #responseId = '';
  #model: string | undefined;
  #usage: TokenUsage | null = null;
  #reasoning: { text: string }[] | undefined;
  #message: { text: string }[] | undefined;
  #toolCalls = new Map<string, ToolCall>();
  #fatal: ModelClientError | undefined;
  #raw: Uint8Array | undefined;
  readonly #light: boolean;

  /**
   * @param light parse only the chunks that finish a choice or carry usage (for a relay's
   * telemetry); content and tool-call deltas are skipped. Default false.
   */
  constructor(options: { light?: boolean } = {}) {
    this.#light = options.light ?? false;
  }

  /** An error that ended the stream early (`finish_reason: "length"`). */
  get fatal(): ModelClientError | undefined {
    return this.#fatal;
  }

  map(event: SseEvent, raw: Uint8Array, out: ResponseEvent[]): void {
    if (this.completed || this.#fatal) return;
    this.#raw = raw;
    const data = event.data;
    if (data === '') return;
    if (this.#light && !data.includes('"finish_reason":"') && !data.includes('"usage":{') && !data.startsWith('[DONE]')) return;
    const chunk = parseJsonData(data);
    if (!isObj(chunk)) {
      if (data.trim() === '[DONE]') this.#complete(out);
      return;
    }
    if (typeof chunk['id'] === 'string') this.#responseId = chunk['id'];
    if (typeof chunk['model'] === 'string') this.#model = chunk['model'];
    const usage = parseTokenUsage(chunk['usage']);
    if (usage) this.#usage = usage;
    const choices = chunk['choices'];
    if (Array.isArray(choices)) {
      for (const choice of choices) {
        if (isObj(choice)) this.#choice(choice, out);
        if (this.#fatal) return;
      }
    }
    if (this.#finished && usage) this.#complete(out);
  }

  finish(out: ResponseEvent[]): ModelClientError | undefined {
    if (this.#fatal) return this.#fatal;
    this.#raw = undefined;
    this.#complete(out);
    return undefined;
  }

  #emit(out: ResponseEvent[], event: ResponseEvent): void {
    // The first event mapped from a frame carries the frame's bytes.
    if (this.#raw !== undefined && event.type !== 'raw' && event.type !== 'reconnecting') {
      out.push({ ...event, raw: this.#raw });
      this.#raw = undefined;
    } else {
      out.push(event);
    }
  }

  #choice(choice: Obj, out: ResponseEvent[]): void {
    const delta = choice['delta'];
    const reasoning = reasoningText(delta) ?? reasoningText(choice['message']);
    if (reasoning !== undefined && reasoning !== '') {
      if (this.#reasoning === undefined) {
        this.#reasoning = [];
        this.#emit(out, { type: 'output_item_added', item: { type: 'reasoning', id: '', summary: [], content: [] } });
      }
      this.#reasoning.push({ text: reasoning });
      this.#emit(out, { type: 'reasoning_content_delta', delta: reasoning, contentIndex: this.#reasoning.length - 1 });
    }
    if (isObj(delta)) {
      for (const text of contentTexts(delta['content'])) {
        if (this.#message === undefined) {
          this.#message = [];
          this.#emit(out, { type: 'output_item_added', item: { type: 'message', role: 'assistant', content: [] } });
        }
        this.#message.push({ text });
        this.#emit(out, { type: 'output_text_delta', delta: text });
      }
      const toolCalls = delta['tool_calls'];
      if (Array.isArray(toolCalls)) {
        for (const call of toolCalls) if (isObj(call)) this.#toolCall(call);
      }
    }
    switch (choice['finish_reason']) {
      case 'stop':
        this.#flushReasoning(out);
        this.#flushMessage(out);
        this.#toolCalls.clear();
        this.#finished = true;
        break;
      case 'length':
        this.#fatal = new ModelClientError({
          kind: 'context_window_exceeded',
          message: MESSAGES.contextWindowExceeded,
          source: 'upstream_event',
        });
        break;
      case 'tool_calls':
        this.#flushReasoning(out);
        for (const [callId, call] of this.#toolCalls) {
          this.#emit(out, {
            type: 'output_item_done',
            item: { type: 'function_call', name: call.name, arguments: call.arguments, call_id: callId },
          });
        }
        this.#toolCalls.clear();
        this.#finished = true;
        break;
      default:
        break;
    }
  }

  #toolCall(call: Obj): void {
    // B keys fragments by id; a fragment without one gets "tool-call-<N>" (§2.3.2).
    const key = typeof call['id'] === 'string' ? call['id'] : `tool-call-${this.#toolCalls.size}`;
    let entry = this.#toolCalls.get(key);
    if (entry === undefined) {
      entry = { name: '', arguments: '' };
      this.#toolCalls.set(key, entry);
    }
    const fn = call['function'];
    if (isObj(fn)) {
      if (typeof fn['name'] === 'string') entry.name = fn['name'];
      if (typeof fn['arguments'] === 'string') entry.arguments += fn['arguments'];
    }
  }

  #flushReasoning(out: ResponseEvent[]): void {
    if (this.#reasoning === undefined) return;
    const content = this.#reasoning.map((p) => ({ type: 'reasoning_text', text: p.text }));
    this.#reasoning = undefined;
    this.#emit(out, { type: 'output_item_done', item: { type: 'reasoning', id: '', summary: [], content } });
  }

  #flushMessage(out: ResponseEvent[]): void {
    if (this.#message === undefined) return;
    const content = this.#message.map((p) => ({ type: 'output_text', text: p.text }));
    this.#message = undefined;
    const item: ResponseItem = { type: 'message', role: 'assistant', content };
    this.#emit(out, { type: 'output_item_done', item });
  }

  #complete(out: ResponseEvent[]): void {
    if (this.completed) return;
    this.#flushReasoning(out);
    this.#flushMessage(out);
    this.completed = true;
    const model = this.#model === undefined ? {} : { model: this.#model };
    this.#emit(out, { type: 'completed', responseId: this.#responseId, tokenUsage: this.#usage, ...model });
  }
}
