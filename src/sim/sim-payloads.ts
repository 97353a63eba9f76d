import { createHash } from 'node:crypto';
import type { SimUsage } from './sim-options.js';

/** A fixed creation time keeps the simulator's bytes deterministic for a given request. */
const CREATED_AT = 1_700_000_000;
const WORDS = ['Hello', ' from', ' the', ' modeltap', ' simulator', '.', ' All', ' systems', ' nominal', '!'];

/** Ids derived from the request body, so the same request always gets the same bytes. */
export function simIds(body: Uint8Array): { response: string; message: string; chat: string } {
  const digest = createHash('sha256').update(body).digest('hex').slice(0, 24);
  return { response: `resp_${digest}`, message: `msg_${digest}`, chat: `chatcmpl-${digest}` };
}

/** The i-th output delta. */
export function simDelta(i: number): string {
  return WORDS[i % WORDS.length] ?? '';
}

/** The whole output text of `events` deltas. */
export function simText(events: number): string {
  let text = '';
  for (let i = 0; i < events; i++) text += simDelta(i);
  return text;
}

/** The usage of one response: overrides, else input from the body size and output = events. */
export function simUsage(bodyBytes: number, events: number, overrides: Partial<SimUsage>): SimUsage {
  return {
    inputTokens: overrides.inputTokens ?? Math.max(1, Math.ceil(bodyBytes / 4)),
    outputTokens: overrides.outputTokens ?? events,
    cachedInputTokens: overrides.cachedInputTokens ?? 0,
    reasoningTokens: overrides.reasoningTokens ?? 0,
  };
}

function responsesUsage(u: SimUsage): Record<string, unknown> {
  return {
    input_tokens: u.inputTokens,
    input_tokens_details: { cached_tokens: u.cachedInputTokens },
    output_tokens: u.outputTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningTokens },
    total_tokens: u.inputTokens + u.outputTokens,
  };
}

function chatUsage(u: SimUsage): Record<string, unknown> {
  return {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.inputTokens + u.outputTokens,
    prompt_tokens_details: { cached_tokens: u.cachedInputTokens },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens },
  };
}

/** What a simulated response needs to know. */
export interface SimTurn {
  readonly ids: ReturnType<typeof simIds>;
  readonly model: string;
  readonly events: number;
  readonly usage: SimUsage;
}

function messageItem(turn: SimTurn, text: string, status: 'in_progress' | 'completed'): Record<string, unknown> {
  return {
    id: turn.ids.message,
    type: 'message',
    status,
    role: 'assistant',
    content: status === 'completed' ? [{ type: 'output_text', annotations: [], logprobs: [], text }] : [],
  };
}

/** A Responses API response object. */
export function responseObject(turn: SimTurn, status: 'in_progress' | 'completed'): Record<string, unknown> {
  const text = simText(turn.events);
  return {
    id: turn.ids.response,
    object: 'response',
    created_at: CREATED_AT,
    status,
    model: turn.model,
    output: status === 'completed' ? [messageItem(turn, text, 'completed')] : [],
    parallel_tool_calls: false,
    service_tier: 'default',
    tool_choice: 'auto',
    tools: [],
    store: false,
    usage: status === 'completed' ? responsesUsage(turn.usage) : null,
  };
}

/**
 * The Responses SSE events of one turn, in the API's order: created, in_progress, the message item
 * with one text part streamed in `turn.events` deltas, then completed. `deltaAt` builds delta i.
 */
export function responsesEvents(turn: SimTurn): { head: Record<string, unknown>[]; delta: (i: number, seq: number) => Record<string, unknown>; tail: (seq: number) => Record<string, unknown>[] } {
  const item = { item_id: turn.ids.message, output_index: 0, content_index: 0 };
  const text = simText(turn.events);
  return {
    head: [
      { type: 'response.created', sequence_number: 0, response: responseObject(turn, 'in_progress') },
      { type: 'response.in_progress', sequence_number: 1, response: responseObject(turn, 'in_progress') },
      { type: 'response.output_item.added', sequence_number: 2, output_index: 0, item: messageItem(turn, '', 'in_progress') },
      { type: 'response.content_part.added', sequence_number: 3, ...item, part: { type: 'output_text', annotations: [], logprobs: [], text: '' } },
    ],
    delta: (i, seq) => ({ type: 'response.output_text.delta', sequence_number: seq, ...item, delta: simDelta(i), logprobs: [] }),
    tail: (seq) => [
      { type: 'response.output_text.done', sequence_number: seq, ...item, text, logprobs: [] },
      { type: 'response.content_part.done', sequence_number: seq + 1, ...item, part: { type: 'output_text', annotations: [], logprobs: [], text } },
      { type: 'response.output_item.done', sequence_number: seq + 2, output_index: 0, item: messageItem(turn, text, 'completed') },
      { type: 'response.completed', sequence_number: seq + 3, response: responseObject(turn, 'completed') },
    ],
  };
}

/** A Chat Completions chunk. */
export function chatChunk(turn: SimTurn, delta: Record<string, unknown>, finish: string | null, includeUsage: boolean): Record<string, unknown> {
  return {
    id: turn.ids.chat,
    object: 'chat.completion.chunk',
    created: CREATED_AT,
    model: turn.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {}),
  };
}

/** The final usage-only chunk of `stream_options.include_usage`. */
export function chatUsageChunk(turn: SimTurn): Record<string, unknown> {
  return { id: turn.ids.chat, object: 'chat.completion.chunk', created: CREATED_AT, model: turn.model, choices: [], usage: chatUsage(turn.usage) };
}

/** A non-streamed Chat completion. */
export function chatCompletion(turn: SimTurn): Record<string, unknown> {
  return {
    id: turn.ids.chat,
    object: 'chat.completion',
    created: CREATED_AT,
    model: turn.model,
    choices: [{ index: 0, message: { role: 'assistant', content: simText(turn.events), refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
    usage: chatUsage(turn.usage),
  };
}

/** The model list. */
export function modelList(): Record<string, unknown> {
  return {
    object: 'list',
    data: ['gpt-5.1-codex', 'gpt-5.1', 'gpt-4.1-mini'].map((id) => ({ id, object: 'model', created: CREATED_AT, owned_by: 'modeltap-sim' })),
  };
}
