import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { zstdCompress } from '../../../src/client/zstd.js';
import { inspectRequest, telemetryBody } from '../../../src/proxy/request-facts.js';

const codexBody = {
  model: 'gpt-5.1-codex',
  stream: true,
  input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }],
  prompt_cache_key: 'cache-key',
  client_metadata: { 'x-codex-turn-metadata': '{"request_kind":"compaction","turn_id":"t-9"}' },
};

describe('inspectRequest', () => {
  it('reads the model and Codex facts of a zstd body, as Codex sends it with ChatGPT login', async () => {
    const bytes = zstdCompress(Buffer.from(JSON.stringify(codexBody)));
    const facts = inspectRequest({ 'content-encoding': 'zstd', 'session-id': 'sess-1', originator: 'codex_exec' }, bytes);
    expect(facts).toMatchObject({ model: 'gpt-5.1-codex', stream: true, conversationId: 'sess-1', requestKind: 'compaction', turnId: 't-9', originator: 'codex_exec' });
  });

  it('reads gzip bodies, prefers the header metadata, and falls back to prompt_cache_key', () => {
    const facts = inspectRequest(
      { 'content-encoding': 'gzip', 'x-codex-turn-metadata': '{"request_kind":"prewarm"}' },
      gzipSync(Buffer.from(JSON.stringify({ ...codexBody, stream: false }))),
    );
    expect(facts).toMatchObject({ stream: false, conversationId: 'cache-key', requestKind: 'prewarm' });
  });

  it('takes the conversation from session-id, session_id, thread-id, then conversation_id', () => {
    const body = Buffer.from('{}');
    expect(inspectRequest({ session_id: 'a', 'thread-id': 'b' }, body).conversationId).toBe('a');
    expect(inspectRequest({ 'thread-id': 'b', conversation_id: 'c' }, body).conversationId).toBe('b');
    expect(inspectRequest({ conversation_id: 'c' }, body).conversationId).toBe('c');
  });

  it("takes the thread from thread-id, else the turn metadata's thread_id, and a sub-agent's parent_thread_id", () => {
    const meta = (m: object) => Buffer.from(JSON.stringify({ client_metadata: { 'x-codex-turn-metadata': JSON.stringify(m) } }));
    expect(inspectRequest({ 'thread-id': 'b' }, meta({ thread_id: 'x' }))).toMatchObject({ threadId: 'b', parentThreadId: undefined });
    expect(inspectRequest({ session_id: 'a' }, meta({ thread_id: 'child', parent_thread_id: 'root', request_kind: 'subagent_turn' }))).toMatchObject({
      conversationId: 'a',
      threadId: 'child',
      parentThreadId: 'root',
      requestKind: 'subagent_turn',
    });
    expect(inspectRequest({}, Buffer.from('{}'))).toMatchObject({ threadId: undefined, parentThreadId: undefined });
  });

  it('reads include_usage of a Chat request', () => {
    expect(inspectRequest({}, Buffer.from('{"stream":true,"stream_options":{"include_usage":true}}')).includeUsage).toBe(true);
  });

  it('keeps for telemetry only the request parameters, and the content only when asked', () => {
    const body = { model: 'm', temperature: 0.2, top_p: 1, max_output_tokens: 64, service_tier: 'flex', tools: [{ type: 'function' }], input: [{ role: 'user' }], instructions: 'be brief', stream: true };
    const params = { temperature: 0.2, top_p: 1, max_output_tokens: 64, service_tier: 'flex' };
    expect(inspectRequest({}, Buffer.from(JSON.stringify(body))).telemetryBody).toEqual(params);
    expect(inspectRequest({}, Buffer.from(JSON.stringify(body)), { content: true }).telemetryBody).toEqual({ ...params, input: [{ role: 'user' }], instructions: 'be brief' });
    expect(telemetryBody({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, temperature: { not: 'a scalar' } }, true)).toEqual({ max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
  });

  it('refuses a body that decodes to more than the limit with 413 body_too_large', () => {
    // gzip members may be concatenated: 65 of 1 MiB each.
    const member = gzipSync(Buffer.alloc(1024 * 1024, 0x20));
    const bomb = Buffer.concat(Array.from({ length: 65 }, () => member));
    expect(() => inspectRequest({ 'content-encoding': 'gzip' }, bomb)).toThrow(expect.objectContaining({ code: 'body_too_large', status: 413 }));
  });

  it.each([
    [{}, '{"model":', 'invalid_json'],
    [{}, '[1,2]', 'invalid_body'],
    [{ 'content-encoding': 'zstd' }, 'plain', 'unsupported_content_encoding'],
    [{ 'content-encoding': 'compress' }, '{}', 'unsupported_content_encoding'],
  ])('refuses %j %s with 400 %s', (headers, body, code) => {
    expect(() => inspectRequest(headers, Buffer.from(body))).toThrow(expect.objectContaining({ code, status: 400 }));
  });
});
