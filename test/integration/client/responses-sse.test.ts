// Spec §6.1 (codex-api sse/responses.rs), each against a real loopback upstream.
import { afterEach, describe, expect, it } from 'vitest';
import { assistantMessage, completed, frame, sse, startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { clientFor, drain, prompt, semantic } from '../../helpers/client.js';

let upstream: FakeUpstream | undefined;
afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
});

async function run(body: string | string[], options: { end?: boolean } = {}) {
  upstream = await startFakeUpstream(sse(body, options));
  return drain(clientFor(upstream).newSession().stream(prompt()));
}

describe('Responses SSE (§6.1)', () => {
  it('item 1: two output_item.done then completed give exactly three events', async () => {
    const { events, error } = await run([
      frame({ type: 'response.output_item.done', item: assistantMessage('one') }),
      frame({ type: 'response.output_item.done', item: assistantMessage('two') }),
      completed('resp1'),
    ]);
    expect(error).toBeUndefined();
    expect(semantic(events)).toEqual([
      { type: 'output_item_done', item: assistantMessage('one') },
      { type: 'output_item_done', item: assistantMessage('two') },
      { type: 'completed', responseId: 'resp1', tokenUsage: null },
    ]);
  });

  it('item 2: an item then EOF gives the item, then "stream closed before response.completed"', async () => {
    const { events, error } = await run(frame({ type: 'response.output_item.done', item: assistantMessage('one') }));
    expect(semantic(events)).toEqual([{ type: 'output_item_done', item: assistantMessage('one') }]);
    expect(error).toMatchObject({ kind: 'stream', message: 'stream disconnected before completion: stream closed before response.completed' });
  });

  it('the completed event carries the response status and service tier when the frame has them (a modeltap addition)', async () => {
    const { events, error } = await run(frame({ type: 'response.completed', response: { id: 'resp1', status: 'incomplete', service_tier: 'flex' } }));
    expect(error).toBeUndefined();
    expect(semantic(events)).toEqual([{ type: 'completed', responseId: 'resp1', tokenUsage: null, status: 'incomplete', serviceTier: 'flex' }]);
  });

  it('item 3: response.done with usage and no id completes with an empty id', async () => {
    const { events, error } = await run(frame({ type: 'response.done', response: { usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 } } }));
    expect(error).toBeUndefined();
    expect(semantic(events)).toEqual([
      {
        type: 'completed',
        responseId: '',
        tokenUsage: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 2, reasoningOutputTokens: 0, totalTokens: 3 },
      },
    ]);
  });

  it('item 4: response.done without a response completes with nothing', async () => {
    const { events } = await run(frame({ type: 'response.done' }));
    expect(semantic(events)).toEqual([{ type: 'completed', responseId: '', tokenUsage: null }]);
  });

  it('item 5: completed on a stream that never ends is yielded at once, and the connection is closed', async () => {
    upstream = await startFakeUpstream(sse([frame({ type: 'response.created', response: {} }), completed('r5')], { end: false }));
    const { events, error } = await drain(clientFor(upstream).newSession().stream(prompt()));
    expect(error).toBeUndefined();
    expect(semantic(events).at(-1)).toEqual({ type: 'completed', responseId: 'r5', tokenUsage: null });
    await upstream.calls[0]?.closed; // the reader stopped and closed the socket
  });

  it('item 6: rate_limit_exceeded gives exactly one retryable error with the server delay', async () => {
    const message = 'Rate limit reached for gpt-5.1 in organization org-1 on tokens per min (TPM): Limit 1, Used 2. Please try again in 11.054s. Visit …';
    const { events, error } = await run(frame({ type: 'response.failed', response: { id: 'r', error: { code: 'rate_limit_exceeded', message } } }));
    expect(semantic(events)).toEqual([]);
    expect(error).toMatchObject({ kind: 'stream', retryable: true, message: `stream disconnected before completion: ${message}` });
    expect(error?.delayMs).toBeCloseTo(11_054, 6);
  });

  it('item 7: context_length_exceeded (message with a newline) is ContextWindowExceeded', async () => {
    const { error } = await run(frame({ type: 'response.failed', response: { error: { code: 'context_length_exceeded', message: 'too long\nreally' } } }));
    expect(error).toMatchObject({ kind: 'context_window_exceeded', retryable: false });
  });

  it('item 8: insufficient_quota is QuotaExceeded', async () => {
    const { error } = await run(frame({ type: 'response.failed', response: { error: { code: 'insufficient_quota', message: 'x' } } }));
    expect(error).toMatchObject({ kind: 'quota_exceeded', message: 'Quota exceeded. Check your plan and billing details.' });
  });

  it('item 9: invalid_prompt without a type is InvalidRequest with the server message', async () => {
    const { error } = await run(frame({ type: 'response.failed', response: { error: { code: 'invalid_prompt', message: 'bad words' } } }));
    expect(error).toMatchObject({ kind: 'invalid_request', message: 'bad words', retryable: false });
  });

  it('item 10: created with a response is emitted; an unknown type is ignored', async () => {
    const created = await run([frame({ type: 'response.created', response: {} }), completed('a')]);
    expect(semantic(created.events)).toEqual([{ type: 'created' }, { type: 'completed', responseId: 'a', tokenUsage: null }]);
    await upstream?.close();
    const unknown = await run([frame({ type: 'response.new_tool_event' }), completed('b')]);
    expect(semantic(unknown.events)).toEqual([{ type: 'completed', responseId: 'b', tokenUsage: null }]);
  });

  it('item 11: the retry delay is parsed from ms, fractional s and "seconds"', async () => {
    for (const [message, expected] of [
      ['Please try again in 28ms.', 28],
      ['Please try again in 1.898s.', 1898],
      ['Rate limit exceeded. Try again in 35 seconds.', 35_000],
    ] as const) {
      const { error } = await run(frame({ type: 'response.failed', response: { error: { code: 'rate_limit_exceeded', message } } }));
      expect(error?.delayMs).toBeCloseTo(expected, 6);
      await upstream?.close();
      upstream = undefined;
    }
  });

  it('maps every event type of the spec table, keyed on the JSON type, with header events first', async () => {
    upstream = await startFakeUpstream(
      sse(
        [
          frame({ type: 'response.output_item.added', item: { type: 'reasoning', id: 'rs' } }),
          frame({ type: 'response.reasoning_summary_part.added', summary_index: 0 }),
          frame({ type: 'response.reasoning_summary_text.delta', delta: 'sum', summary_index: 0 }),
          frame({ type: 'response.reasoning_summary_text.delta', delta: 'no index' }),
          frame({ type: 'response.reasoning_text.delta', delta: 'raw', content_index: 1 }),
          // The dispatcher keys on the JSON type, not the SSE event name.
          frame({ type: 'response.output_text.delta', delta: 'Hi' }, 'something-else'),
          'data: [DONE]\n\n',
          'data: not-json\n\n',
          frame({ type: 'response.output_item.added', item: 'not an item' }),
          completed('r', { input_tokens: 3, input_tokens_details: { cached_tokens: 1 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 9 }),
        ],
        { headers: { 'x-models-etag': '"w/models-42"', 'x-reasoning-included': 'true', 'x-codex-primary-used-percent': '12.5', 'x-codex-primary-window-minutes': '300' } },
      ),
    );
    const { events, error } = await drain(clientFor(upstream).newSession().stream(prompt()));
    expect(error).toBeUndefined();
    expect(events[0]).toEqual({
      type: 'rate_limits',
      rateLimits: { primary: { usedPercent: 12.5, windowMinutes: 300, resetsAt: null }, secondary: null, credits: null, planType: null },
    });
    expect(semantic(events)).toEqual([
      { type: 'models_etag', etag: '"w/models-42"' },
      { type: 'server_reasoning_included', included: true },
      { type: 'output_item_added', item: { type: 'reasoning', id: 'rs' } },
      { type: 'reasoning_summary_part_added', summaryIndex: 0 },
      { type: 'reasoning_summary_delta', delta: 'sum', summaryIndex: 0 },
      { type: 'reasoning_content_delta', delta: 'raw', contentIndex: 1 },
      { type: 'output_text_delta', delta: 'Hi' },
      {
        type: 'completed',
        responseId: 'r',
        tokenUsage: { inputTokens: 3, cachedInputTokens: 1, outputTokens: 5, reasoningOutputTokens: 2, totalTokens: 9 },
      },
    ]);
  });

  it('a response.failed is held until the end and a later completed replaces it', async () => {
    const { error, events } = await run([
      frame({ type: 'response.failed', response: { error: { code: 'server_error', message: 'boom' } } }),
      completed('late'),
    ]);
    expect(error).toBeUndefined();
    expect(semantic(events)).toEqual([{ type: 'completed', responseId: 'late', tokenUsage: null }]);
  });

  it('a completed without an id is a pending "failed to parse ResponseCompleted" error', async () => {
    const { error } = await run(frame({ type: 'response.completed', response: {} }));
    expect(error?.message).toContain('failed to parse ResponseCompleted');
  });
});
