// Spec §6.3 and §6.4 (request builders, headers, auth), against a real loopback upstream.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthFileCredentials, EnvVarCredentials, ModelClient } from '../../../src/index.js';
import { completed, json, reset, sse, startFakeUpstream, userMessage, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { clientFor, drain, prompt } from '../../helpers/client.js';

let upstream: FakeUpstream | undefined;
afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
});

const bodyOf = (index = 0): Record<string, unknown> => JSON.parse(upstream?.calls[index]?.body.toString() ?? 'null') as Record<string, unknown>;

function authFile(contents: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'modeltap-auth-'));
  const path = join(dir, 'auth.json');
  writeFileSync(path, JSON.stringify(contents));
  return path;
}

const chatgptTokens = { id_token: 'id', access_token: 'Access Token', refresh_token: 'refresh', account_id: 'account_id' };

describe('request building (§6.3)', () => {
  it('item 16: Azure keeps ids, sets store, and sends session and sub-agent headers', async () => {
    upstream = await startFakeUpstream(sse(completed()));
    const client = new ModelClient({
      provider: { name: 'azure', baseUrl: `${upstream.url}/openai`, requestMaxRetries: 0 },
      conversationId: 'conv-1',
      sessionSource: { subagent: 'review' },
    });
    await drain(
      client.newSession().stream({
        instructions: '',
        input: [
          { type: 'message', id: 'm1', role: 'user', content: [] },
          { type: 'message', role: 'user', content: [] },
        ],
      }),
    );
    const body = bodyOf();
    expect(body['store']).toBe(true);
    expect(body['input']).toEqual([
      { type: 'message', id: 'm1', role: 'user', content: [] },
      { type: 'message', role: 'user', content: [] },
    ]);
    expect(upstream.calls[0]?.headers).toMatchObject({ session_id: 'conv-1', 'x-openai-subagent': 'review' });
  });

  it('Azure is also detected from the base URL; elsewhere ids are never serialised', async () => {
    upstream = await startFakeUpstream(sse(completed()));
    const plain = clientFor(upstream);
    await drain(plain.newSession().stream({ instructions: '', input: [{ type: 'function_call', id: 'fc_1', call_id: 'c', name: 'n', arguments: '{}' }] }));
    expect(bodyOf()['input']).toEqual([{ type: 'function_call', call_id: 'c', name: 'n', arguments: '{}' }]);
    expect(bodyOf()['store']).toBe(false);
    const azureLike = new ModelClient({ provider: { baseUrl: 'https://x.openai.azure.com/openai' } });
    expect((await import('../../../src/client/provider.js')).isAzureResponsesEndpoint(azureLike.provider)).toBe(true);
  });

  it('item 17: Responses posts to /responses with the token, account and Accept headers', async () => {
    upstream = await startFakeUpstream(sse(completed()));
    const path = authFile({ tokens: { ...chatgptTokens, access_token: 'secret-token', account_id: 'acct-1' } });
    const client = clientFor(upstream, { auth: new AuthFileCredentials({ path }) });
    await drain(client.newSession().stream(prompt()));
    expect(upstream.calls[0]?.url).toBe('/v1/responses');
    expect(upstream.calls[0]?.headers).toMatchObject({
      authorization: 'Bearer secret-token',
      'chatgpt-account-id': 'acct-1',
      accept: 'text/event-stream',
      'content-type': 'application/json',
    });
  });

  it('item 17: a network error on the first attempt with one retry gives two attempts, then success', async () => {
    upstream = await startFakeUpstream([reset, sse(completed('ok'))]);
    const attempts: (number | null)[] = [];
    const client = clientFor(upstream, {
      provider: { requestMaxRetries: 1 },
      telemetry: { onRequest: (_attempt, status) => attempts.push(status) },
    });
    const { events, error } = await drain(client.newSession().stream(prompt()));
    expect(error).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ type: 'completed', responseId: 'ok' });
    expect(upstream.calls).toHaveLength(2);
    expect(attempts).toEqual([null, 200]);
  });

  it('item 18: compact with a Chat provider is refused', async () => {
    upstream = await startFakeUpstream(json(200, { output: [] }));
    const client = clientFor(upstream, { provider: { wireApi: 'chat' } });
    await expect(client.compactConversationHistory(prompt())).rejects.toMatchObject({
      kind: 'unsupported_operation',
      message: 'compact endpoint requires responses wire api',
    });
    expect(upstream.calls).toHaveLength(0);
  });

  it('compact posts {model, input, instructions} and returns the output; an empty input sends nothing', async () => {
    const output = [{ type: 'compaction', encrypted_content: 'gAAAA' }];
    upstream = await startFakeUpstream(json(200, { output }));
    const client = clientFor(upstream, { model: 'gpt-5.1-codex' });
    expect(await client.compactConversationHistory({ instructions: 'sys', input: [] })).toEqual([]);
    expect(upstream.calls).toHaveLength(0);
    expect(await client.compactConversationHistory({ instructions: 'sys', input: [userMessage('hi')] })).toEqual(output);
    expect(upstream.calls[0]?.url).toBe('/v1/responses/compact');
    expect(bodyOf()).toEqual({ model: 'gpt-5.1-codex', input: [userMessage('hi')], instructions: 'sys' });
  });

  it('item 19: a 503 with server_is_overloaded maps to ServerOverloaded', async () => {
    upstream = await startFakeUpstream(json(503, { error: { code: 'server_is_overloaded', message: 'busy' } }));
    const { error } = await drain(clientFor(upstream).newSession().stream(prompt()));
    expect(error).toMatchObject({ kind: 'server_overloaded', upstreamStatus: 503, retryable: false });
  });
});

describe('the client against a mock server (§6.4)', () => {
  it('item 21: API-key auth sends session_id, originator and the bearer key', async () => {
    upstream = await startFakeUpstream(sse(completed()));
    const client = clientFor(upstream, { conversationId: 'thread-21', originator: 'codex_cli_rs' });
    await drain(client.newSession().stream(prompt()));
    expect(upstream.calls[0]?.url).toBe('/v1/responses');
    expect(upstream.calls[0]?.headers).toMatchObject({
      session_id: 'thread-21',
      'thread-id': 'thread-21',
      originator: 'codex_cli_rs',
      authorization: 'Bearer Test API Key',
    });
    expect(upstream.calls[0]?.headers['user-agent']).toMatch(/^codex_cli_rs\/\d+\.\d+\.\d+ \(/);
  });

  it('item 22: ChatGPT auth on a /api/codex base URL', async () => {
    upstream = await startFakeUpstream(sse(completed()));
    const client = new ModelClient({
      provider: { baseUrl: `${upstream.url}/api/codex` },
      auth: new AuthFileCredentials({ path: authFile({ tokens: chatgptTokens }) }),
      conversationId: 'conv-22',
    });
    await drain(client.newSession().stream(prompt()));
    expect(upstream.calls[0]?.url).toBe('/api/codex/responses');
    expect(upstream.calls[0]?.headers).toMatchObject({ authorization: 'Bearer Access Token', 'chatgpt-account-id': 'account_id', session_id: 'conv-22' });
    expect(bodyOf()['stream']).toBe(true);
    expect((bodyOf()['include'] as string[])[0]).toBe('reasoning.encrypted_content');
  });

  it('item 23: an auth file with both an API key and tokens, preferring the key, sends the key', async () => {
    upstream = await startFakeUpstream(sse(completed()));
    const auth = new AuthFileCredentials({ path: authFile({ OPENAI_API_KEY: 'sk-test-key', tokens: chatgptTokens }), preferApiKey: true });
    await drain(clientFor(upstream, { auth }).newSession().stream(prompt()));
    expect(upstream.calls[0]?.headers['authorization']).toBe('Bearer sk-test-key');
    expect(upstream.calls[0]?.headers['chatgpt-account-id']).toBeUndefined();
  });

  it('item 24: instructions go in `instructions`; user context stays in the input, in order', async () => {
    upstream = await startFakeUpstream(sse(completed()));
    const input = [
      { type: 'message', role: 'developer', content: [{ type: 'input_text', text: '<permissions instructions>' }] },
      userMessage('# AGENTS.md instructions'),
      userMessage('<environment_context>…</environment_context>'),
      userMessage('hello'),
    ];
    await drain(clientFor(upstream).newSession().stream({ instructions: 'base instructions override', input }));
    expect(bodyOf()['instructions']).toBe('base instructions override');
    expect(bodyOf()['input']).toEqual(input);
  });

  it('item 25: reasoning effort (configured or model default) and summary (none omits the key)', async () => {
    upstream = await startFakeUpstream(sse(completed()));
    const client = clientFor(upstream);
    const session = client.newSession();
    await drain(session.stream(prompt()));
    expect(bodyOf(0)['reasoning']).toEqual({ effort: 'medium', summary: 'auto' });
    await drain(session.stream(prompt('x', { model: 'gpt-5.1', reasoningEffort: 'high' })));
    expect(bodyOf(1)).toMatchObject({ model: 'gpt-5.1', reasoning: { effort: 'high', summary: 'auto' } });
    await drain(session.stream(prompt('x', { reasoningSummary: 'concise' })));
    expect(bodyOf(2)['reasoning']).toEqual({ effort: 'medium', summary: 'concise' });
    await drain(session.stream(prompt('x', { reasoningSummary: 'none' })));
    expect(bodyOf(3)['reasoning']).toEqual({ effort: 'medium' });
    await drain(session.stream(prompt('x', { model: 'gpt-4o' })));
    expect(bodyOf(4)).toMatchObject({ reasoning: null, include: [] });
  });

  it('item 26: verbosity defaults to low on gpt-5.1, follows the setting, and is absent for codex models', async () => {
    upstream = await startFakeUpstream(sse(completed()));
    const session = clientFor(upstream).newSession();
    await drain(session.stream(prompt('x', { model: 'gpt-5.1' })));
    expect(bodyOf(0)['text']).toEqual({ verbosity: 'low' });
    await drain(session.stream(prompt('x', { model: 'gpt-5.1', verbosity: 'high' })));
    expect(bodyOf(1)['text']).toEqual({ verbosity: 'high' });
    await drain(session.stream(prompt('x', { model: 'gpt-5.1-codex', verbosity: 'high' })));
    expect(bodyOf(2)['text']).toBeUndefined();
    await drain(session.stream(prompt('x', { outputSchema: { type: 'object' } })));
    expect(bodyOf(3)['text']).toEqual({ format: { type: 'json_schema', strict: true, schema: { type: 'object' }, name: 'codex_output_schema' } });
  });

  it('body fields appear in the order of §2.2.1', async () => {
    upstream = await startFakeUpstream(sse(completed()));
    await drain(clientFor(upstream, { conversationId: 'c' }).newSession().stream(prompt('x', { model: 'gpt-5.1' })));
    expect(Object.keys(bodyOf())).toEqual([
      'model', 'instructions', 'input', 'tools', 'tool_choice', 'parallel_tool_calls', 'reasoning', 'store', 'stream', 'include', 'prompt_cache_key', 'text',
    ]);
    expect(bodyOf()).toMatchObject({ tools: [], tool_choice: 'auto', parallel_tool_calls: false, prompt_cache_key: 'c' });
  });

  it('item 27: Azure end to end keeps the ids of every item kind and the call ids of outputs', async () => {
    upstream = await startFakeUpstream(sse(completed()));
    const client = new ModelClient({ provider: { name: 'Azure', baseUrl: `${upstream.url}/openai` } });
    const input = [
      { type: 'message', id: 'msg-1', role: 'user', content: [] },
      { type: 'reasoning', id: 'rs-1', summary: [] },
      { type: 'web_search_call', id: 'ws-1', status: 'completed' },
      { type: 'function_call', id: 'fc-1', call_id: 'call-1', name: 'f', arguments: '{}' },
      { type: 'function_call_output', call_id: 'call-1', output: 'ok' },
      { type: 'local_shell_call', id: 'ls-1', call_id: 'call-2', status: 'completed', action: {} },
      { type: 'custom_tool_call', id: 'ct-1', call_id: 'call-3', name: 'c', input: 'x' },
      { type: 'custom_tool_call_output', call_id: 'call-3', output: 'ok' },
    ];
    await drain(client.newSession().stream({ instructions: '', input }));
    expect(upstream.calls[0]?.url).toBe('/openai/responses');
    expect(bodyOf()).toMatchObject({ store: true, stream: true });
    expect(bodyOf()['input']).toEqual(input);
  });

  it('item 31: query params, provider headers and an env key that wins over ChatGPT auth', async () => {
    upstream = await startFakeUpstream(sse(completed()));
    const client = new ModelClient({
      provider: { baseUrl: `${upstream.url}/openai`, queryParams: { 'api-version': '2025-04-01-preview' }, headers: { 'Custom-Header': 'Value' } },
      auth: new EnvVarCredentials('MODELTAP_TEST_KEY', { MODELTAP_TEST_KEY: 'env-secret' }),
    });
    await drain(client.newSession().stream(prompt()));
    expect(upstream.calls[0]?.url).toBe('/openai/responses?api-version=2025-04-01-preview');
    expect(upstream.calls[0]?.headers).toMatchObject({ 'custom-header': 'Value', authorization: 'Bearer env-secret' });
  });

  it('a missing env key is an env_var error and nothing is sent', async () => {
    upstream = await startFakeUpstream(sse(completed()));
    const client = clientFor(upstream, { auth: new EnvVarCredentials('NOPE', {}) });
    const { error } = await drain(client.newSession().stream(prompt()));
    expect(error).toMatchObject({ kind: 'env_var', retryable: false });
    expect(upstream.calls).toHaveLength(0);
  });
});
