import { describe, expect, it } from 'vitest';
import { chatCompletionOutput, chatOutput, inputMessages, responsesOutput } from '../../../src/telemetry/otel/content.js';

describe('content in the GenAI parts form', () => {
  it('a Chat Completions body: one message per choice, tool calls as parts, the choice finish reason', () => {
    const body = {
      id: 'chatcmpl-1',
      choices: [
        { index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop' },
        {
          index: 1,
          message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'ls', arguments: '{"path":"."}' } }] },
          finish_reason: 'tool_calls',
        },
        'not a choice',
        { index: 2 },
      ],
    };
    expect(chatCompletionOutput(body)).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'hello' }], finish_reason: 'stop' },
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_1', name: 'ls', arguments: '{"path":"."}' }], finish_reason: 'tool_calls' },
    ]);
    expect(chatCompletionOutput({ choices: 'x' })).toEqual([]);
  });

  it('a Responses response: messages and tool calls, with their finish reasons', () => {
    const response = {
      output: [
        { type: 'reasoning', summary: [] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'done' }] },
        { type: 'function_call', call_id: 'c1', name: 'shell', arguments: '{}' },
      ],
    };
    expect(responsesOutput(response)).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'done' }], finish_reason: 'stop' },
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'c1', name: 'shell', arguments: '{}' }], finish_reason: 'tool_call' },
    ]);
  });

  it('input messages of both APIs, and a streamed Chat answer', () => {
    expect(inputMessages({ input: 'hi' }, 'responses')).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'hi' }] }]);
    expect(inputMessages({ messages: [{ role: 'system', content: 'be brief' }] }, 'chat_completions')).toEqual([{ role: 'system', parts: [{ type: 'text', content: 'be brief' }] }]);
    expect(chatOutput('abc')).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: 'abc' }], finish_reason: 'stop' }]);
  });
});
