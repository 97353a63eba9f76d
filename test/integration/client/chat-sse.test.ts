// Spec §6.2 (codex-api sse/chat.rs) and §2.3, against a real loopback upstream.
import { afterEach, describe, expect, it } from 'vitest';
import { sse, startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { clientFor, drain, prompt, semantic } from '../../helpers/client.js';

let upstream: FakeUpstream | undefined;
afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
});

const chunk = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-1', choices: [{ index: 0, ...choice }], ...extra })}\n\n`;
const toolCall = (id: string | undefined, name: string | undefined, args: string) => ({
  delta: { tool_calls: [{ index: 0, ...(id ? { id } : {}), function: { ...(name ? { name } : {}), arguments: args } }] },
});

async function runChat(frames: string[], raw = true) {
  upstream = await startFakeUpstream(sse(frames));
  const client = clientFor(upstream, { provider: { wireApi: 'chat' }, showRawAgentReasoning: raw });
  return drain(client.newSession().stream(prompt()));
}

describe('Chat Completions SSE (§6.2)', () => {
  it('item 12: two tool calls and finish_reason tool_calls give [call a, call b, completed]', async () => {
    const { events, error } = await runChat([
      chunk(toolCall('call_a', 'do_a', '{}')),
      chunk(toolCall('call_b', 'do_b', '{}')),
      chunk({ delta: {}, finish_reason: 'tool_calls' }),
      'data: [DONE]\n\n',
    ]);
    expect(error).toBeUndefined();
    expect(semantic(events)).toEqual([
      { type: 'output_item_done', item: { type: 'function_call', name: 'do_a', arguments: '{}', call_id: 'call_a' } },
      { type: 'output_item_done', item: { type: 'function_call', name: 'do_b', arguments: '{}', call_id: 'call_b' } },
      { type: 'completed', responseId: 'chatcmpl-1', tokenUsage: null },
    ]);
  });

  it('item 13: argument fragments of one id are concatenated', async () => {
    const { events } = await runChat([
      chunk(toolCall('call_a', 'do_a', '{ "foo":')),
      chunk(toolCall('call_a', undefined, '1}')),
      chunk({ delta: {}, finish_reason: 'tool_calls' }),
    ]);
    expect(semantic(events)[0]).toEqual({
      type: 'output_item_done',
      item: { type: 'function_call', name: 'do_a', arguments: '{ "foo":1}', call_id: 'call_a' },
    });
  });

  it('item 14: content, reasoning and a tool call in one delta come out in the pinned order', async () => {
    const { events } = await runChat([
      chunk({ delta: { content: [{ text: 'hi' }], reasoning: 'because', tool_calls: [{ id: 'call_a', function: { name: 'do_a', arguments: '{}' } }] } }),
      chunk({ delta: {}, finish_reason: 'tool_calls' }),
    ]);
    expect(semantic(events).map((e) => {
      const ev = e as { type: string; item?: { type: string } };
      return ev.item ? `${ev.type}:${ev.item.type}` : ev.type;
    })).toEqual([
      'output_item_added:reasoning',
      'reasoning_content_delta',
      'output_item_added:message',
      'output_text_delta',
      'output_item_done:reasoning',
      'output_item_done:function_call',
      'output_item_done:message',
      'completed',
    ]);
  });

  it('item 15: a tool call followed by finish_reason stop emits no call; completed is last', async () => {
    const { events } = await runChat([chunk(toolCall('call_a', 'do_a', '{}')), chunk({ delta: {}, finish_reason: 'stop' }), 'data: [DONE]\n\n']);
    const kinds = semantic(events).map((e) => (e as { type: string }).type);
    expect(kinds).toEqual(['completed']);
  });

  it('finish_reason length is ContextWindowExceeded', async () => {
    const { error } = await runChat([chunk({ delta: { content: 'x' } }), chunk({ delta: {}, finish_reason: 'length' })]);
    expect(error?.kind).toBe('context_window_exceeded');
  });

  it('carries the usage of the include_usage chunk on completed', async () => {
    const { events } = await runChat([
      chunk({ delta: { content: 'Hel' } }),
      chunk({ delta: { content: 'lo' }, finish_reason: 'stop' }),
      `data: ${JSON.stringify({ id: 'chatcmpl-1', choices: [], usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9, prompt_tokens_details: { cached_tokens: 3 } } })}\n\n`,
      'data: [DONE]\n\n',
    ]);
    expect(semantic(events).at(-1)).toEqual({
      type: 'completed',
      responseId: 'chatcmpl-1',
      tokenUsage: { inputTokens: 7, cachedInputTokens: 3, outputTokens: 2, reasoningOutputTokens: 0, totalTokens: 9 },
    });
  });

  it('the aggregating wrapper swallows deltas and emits one reasoning item and one message before completed (§2.3.3)', async () => {
    const { events } = await runChat(
      [
        chunk({ delta: { reasoning: 'think ' } }),
        chunk({ delta: { reasoning: 'more', content: 'Hel' } }),
        chunk({ delta: { content: 'lo' }, finish_reason: 'stop' }),
        'data: [DONE]\n\n',
      ],
      false,
    );
    expect(semantic(events)).toEqual([
      { type: 'output_item_added', item: { type: 'reasoning', id: '', summary: [], content: [] } },
      { type: 'output_item_added', item: { type: 'message', role: 'assistant', content: [] } },
      { type: 'output_item_done', item: { type: 'reasoning', id: '', summary: [], content: [{ type: 'reasoning_text', text: 'think more' }] } },
      { type: 'output_item_done', item: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hello' }] } },
      { type: 'completed', responseId: 'chatcmpl-1', tokenUsage: null },
    ]);
  });

  it('sends the Chat body and headers of §2.3.1', async () => {
    upstream = await startFakeUpstream(sse(['data: [DONE]\n\n']));
    const client = clientFor(upstream, { provider: { wireApi: 'chat' }, conversationId: 'conv-9', sessionSource: { subagent: 'review' } });
    await drain(
      client.newSession().stream({
        model: 'gpt-oss:20b',
        instructions: 'sys',
        input: [
          { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'list' }] },
          { type: 'function_call', call_id: 'c1', name: 'shell', arguments: '{"cmd":"ls"}' },
          { type: 'function_call_output', call_id: 'c1', output: 'a.txt' },
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'done' }] },
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'done' }] },
        ],
        tools: [{ type: 'function', name: 'shell', description: 'run', parameters: { type: 'object' } }, { type: 'local_shell' }],
      }),
    );
    const call = upstream.calls[0];
    expect(call?.url).toBe('/v1/chat/completions');
    expect(call?.headers).toMatchObject({ accept: 'text/event-stream', session_id: 'conv-9', 'x-openai-subagent': 'review', authorization: 'Bearer Test API Key' });
    expect(call?.headers['x-codex-turn-state']).toBeUndefined();
    expect(JSON.parse(call?.body.toString() ?? '')).toEqual({
      model: 'gpt-oss:20b',
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'list' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'shell', arguments: '{"cmd":"ls"}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'a.txt' },
        { role: 'assistant', content: 'done' },
      ],
      stream: true,
      tools: [{ type: 'function', function: { name: 'shell', description: 'run', parameters: { type: 'object' } } }],
    });
  });

  it('refuses an output schema on Chat', async () => {
    upstream = await startFakeUpstream(sse(['data: [DONE]\n\n']));
    const client = clientFor(upstream, { provider: { wireApi: 'chat' } });
    const { error } = await drain(client.newSession().stream(prompt('x', { outputSchema: { type: 'object' } })));
    expect(error).toMatchObject({ kind: 'unsupported_operation', message: 'output_schema is not supported for Chat Completions API' });
    expect(upstream.calls).toHaveLength(0);
  });
});
