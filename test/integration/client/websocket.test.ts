// Spec §6.5 (client_websockets.rs) items 33–43 and §6.3 item 20, against a real loopback
// WebSocket server; plus the 426 and retries-exhausted fallbacks and 401 recovery on the handshake.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelClient, type ModelClientOptions, type ResponseEvent, type WsPoll } from '../../../src/index.js';
import { startFakeWsUpstream, simpleTurns, type FakeWsUpstream } from '../../helpers/fake-ws-upstream.js';
import { completed, userMessage } from '../../helpers/fake-upstream.js';
import { drain, semantic } from '../../helpers/client.js';

let upstream: FakeWsUpstream | undefined;
const clients: ModelClient[] = [];
afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
});

function wsClient(extra: Partial<ModelClientOptions> = {}): ModelClient {
  const client = new ModelClient({
    provider: { baseUrl: `${upstream?.url}/v1`, requestMaxRetries: 0, streamMaxRetries: 0, retryBaseDelayMs: 1 },
    auth: { apiKey: 'ws-key' },
    supportsWebsockets: true,
    conversationId: 'conv-ws',
    model: 'gpt-5.1-codex',
    ...extra,
  });
  clients.push(client);
  return client;
}

const hello = userMessage('hello');
const second = userMessage('second');
const prompt = (input: ({ type: string } & Record<string, unknown>)[], extra: Record<string, unknown> = {}) => ({ instructions: 'be brief', input, ...extra });
const assistant1 = { type: 'message', role: 'assistant', id: 'msg-1', content: [{ type: 'output_text', text: 'answer 1' }] };

describe('the Responses WebSocket (§6.5)', () => {
  it('item 33: one request sends exactly one response.create; the handshake carries OpenAI-Beta', async () => {
    upstream = await startFakeWsUpstream(simpleTurns());
    const { events, error } = await drain(wsClient({ websocketVersion: 'v1' }).newSession().stream(prompt([hello])));
    expect(error).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ type: 'completed', responseId: 'resp-1' });
    const [connection] = upstream.connections;
    expect(connection?.frames).toHaveLength(1);
    expect(connection?.frames[0]).toMatchObject({ type: 'response.create', model: 'gpt-5.1-codex', stream: true, store: false, instructions: 'be brief' });
    expect((connection?.frames[0] as { input: unknown[] }).input).toHaveLength(1);
    expect(connection?.headers).toMatchObject({ 'openai-beta': 'responses_websockets=2026-02-04', session_id: 'conv-ws', authorization: 'Bearer ws-key' });
  });

  it('item 34: telemetry counts one websocket request and two events, no HTTP or SSE calls', async () => {
    upstream = await startFakeWsUpstream((_r, send) => {
      send({ type: 'response.created', response: { id: 'r' } });
      send({ type: 'response.completed', response: { id: 'r' } });
    });
    const counts = { request: 0, sse: 0, wsRequest: 0, wsEvent: [] as WsPoll[] };
    const client = wsClient({
      telemetry: {
        onRequest: () => counts.request++,
        onSsePoll: () => counts.sse++,
        onWsRequest: (ms, error) => {
          expect(error).toBeNull();
          expect(ms).toBeGreaterThanOrEqual(0);
          counts.wsRequest++;
        },
        onWsEvent: (poll) => counts.wsEvent.push(poll),
      },
    });
    await drain(client.newSession().stream(prompt([hello])));
    expect(counts).toMatchObject({ request: 0, sse: 0, wsRequest: 1 });
    expect(counts.wsEvent.map((p) => (p.kind === 'message' ? p.message.type : p.kind))).toEqual(['text', 'text']);
  });

  it('items 35 and 40: handshake X-Reasoning-Included and X-Models-Etag become events; codex.rate_limits frames too', async () => {
    const rateLimits = { type: 'codex.rate_limits', plan_type: 'plus', rate_limits: { allowed: true, limit_reached: false, primary: { used_percent: 42, window_minutes: 60, reset_at: 1700000000 }, secondary: null }, credits: { has_credits: true, unlimited: false, balance: '123' }, promo: null };
    upstream = await startFakeWsUpstream(simpleTurns({ extra: [rateLimits] }), { handshakeHeaders: { 'x-reasoning-included': 'true', 'x-models-etag': 'etag-123' } });
    const { events } = await drain(wsClient().newSession().stream(prompt([hello])));
    expect(semantic(events).slice(0, 3)).toEqual([
      { type: 'server_reasoning_included', included: true },
      { type: 'models_etag', etag: 'etag-123' },
      { type: 'created' },
    ]);
    expect(events.find((e) => e.type === 'rate_limits')).toMatchObject({
      rateLimits: { primary: { usedPercent: 42, windowMinutes: 60, resetsAt: 1700000000 }, secondary: null, credits: { hasCredits: true, unlimited: false, balance: '123' }, planType: 'plus' },
    });
  });

  it('item 36 (L): v1 appends only the new items when the input extends the last input plus its output', async () => {
    upstream = await startFakeWsUpstream(simpleTurns());
    const client = wsClient({ websocketVersion: 'v1' });
    await drain(client.newSession().stream(prompt([hello])));
    await drain(client.newSession().stream(prompt([hello, assistant1, second])));
    expect(upstream.connections).toHaveLength(1);
    expect(upstream.connections[0]?.frames[1]).toEqual({ type: 'response.append', input: [second] });
  });

  it('item 37: an input that does not extend the last one is a full create', async () => {
    upstream = await startFakeWsUpstream(simpleTurns());
    const client = wsClient({ websocketVersion: 'v1' });
    await drain(client.newSession().stream(prompt([hello])));
    await drain(client.newSession().stream(prompt([userMessage('different')])));
    expect(upstream.connections[0]?.frames[1]).toMatchObject({ type: 'response.create', input: [userMessage('different')] });
  });

  it('item 38: v2 sends previous_response_id with only the new items; after a failure, a new socket and a full create', async () => {
    let n = 0;
    const turns = simpleTurns();
    upstream = await startFakeWsUpstream((request, send, conn) => {
      n++;
      if (n === 3) send({ type: 'response.failed', response: { id: 'x', error: { code: 'server_error', message: 'boom' } } });
      else turns(request, send, conn);
    });
    const client = wsClient({ provider: { baseUrl: `${upstream.url}/v1`, streamMaxRetries: 1, retryBaseDelayMs: 1 } });
    const session = client.newSession();
    await drain(session.stream(prompt([hello])));
    await drain(session.stream(prompt([hello, assistant1, second])));
    const frames = upstream.connections[0]?.frames as Record<string, unknown>[];
    expect(frames[1]).toMatchObject({ type: 'response.create', previous_response_id: 'resp-1', input: [second] });
    expect(Object.keys(frames[1] ?? {}).slice(0, 4)).toEqual(['type', 'model', 'instructions', 'previous_response_id']);
    expect(upstream.connections[0]?.headers['openai-beta']).toBe('responses_websockets=2026-02-06');
    // The third request fails on the socket; its retry goes out on a new socket as a full create.
    const third = [hello, second, userMessage('third')];
    const { events, error } = await drain(session.stream(prompt(third)));
    expect(error).toBeUndefined();
    expect(events.find((e) => e.type === 'reconnecting')?.message).toContain('boom');
    expect(upstream.connections).toHaveLength(2);
    const fresh = upstream.connections[1]?.frames[0] as Record<string, unknown>;
    expect(fresh['type']).toBe('response.create');
    expect(fresh['previous_response_id']).toBeUndefined();
    expect(fresh['input']).toEqual(third);
  });

  it('item 38: a change of non-input fields is a full create without previous_response_id', async () => {
    upstream = await startFakeWsUpstream(simpleTurns());
    const client = wsClient();
    await drain(client.newSession().stream(prompt([hello])));
    await drain(client.newSession().stream(prompt([hello, assistant1, second], { instructions: 'changed' })));
    const frame = upstream.connections[0]?.frames[1] as Record<string, unknown>;
    expect(frame['previous_response_id']).toBeUndefined();
    const { id: _id, ...assistantOnTheWire } = assistant1;
    expect(frame['input']).toEqual([hello, assistantOnTheWire, second]);
  });

  it('item 39: timing metrics are asked for only when enabled, and their frames reach the hooks', async () => {
    const timing = { type: 'responsesapi.websocket_timing', timing_metrics: { responses_duration_excl_engine_and_client_tool_time_ms: 120, engine_service_total_ms: 450 } };
    upstream = await startFakeWsUpstream(simpleTurns({ extra: [timing] }));
    const texts: string[] = [];
    await drain(wsClient({ includeTimingMetrics: true, telemetry: { onWsEvent: (p) => p.kind === 'message' && p.message.data && texts.push(p.message.data) } }).newSession().stream(prompt([hello])));
    expect(upstream.connections[0]?.headers['x-responsesapi-include-timing-metrics']).toBe('true');
    expect(texts.some((t) => t.includes('"engine_service_total_ms":450'))).toBe(true);
    await upstream.close();
    upstream = await startFakeWsUpstream(simpleTurns());
    await drain(wsClient().newSession().stream(prompt([hello])));
    expect(upstream.connections[0]?.headers['x-responsesapi-include-timing-metrics']).toBeUndefined();
  });

  it('items 20 and 41: error frames map like HTTP errors, with their headers', async () => {
    const usageLimit = { type: 'error', status: 429, error: { type: 'usage_limit_reached', message: 'The usage limit has been reached', plan_type: 'pro', resets_at: 1767229200 }, headers: { 'x-codex-primary-used-percent': '100.0', 'x-codex-primary-window-minutes': 15 } };
    const invalid = { type: 'error', status: 400, error: { type: 'invalid_request_error', message: 'bad field foo' } };
    let n = 0;
    upstream = await startFakeWsUpstream((_r, send) => send(++n === 1 ? usageLimit : invalid));
    const client = wsClient();
    const limited = await drain(client.newSession().stream(prompt([hello])));
    expect(limited.error?.kind).toBe('usage_limit_reached');
    expect(limited.error?.message.toLowerCase()).toContain('usage limit');
    expect(limited.error?.rateLimits?.primary).toEqual({ usedPercent: 100, windowMinutes: 15, resetsAt: null });
    const bad = await drain(client.newSession().stream(prompt([hello])));
    expect(bad.error?.kind).toBe('invalid_request');
    expect(bad.error?.message).toContain('bad field foo');
  });

  it('item 42 (L): turn metadata travels as client_metadata on create and append', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'modeltap-ws-git-'));
    execFileSync('git', ['init', '-q'], { cwd: dir });
    execFileSync('git', ['remote', 'add', 'origin', 'https://example.com/r.git'], { cwd: dir });
    writeFileSync(join(dir, 'f'), 'x');
    upstream = await startFakeWsUpstream(simpleTurns());
    const client = wsClient({ websocketVersion: 'v1' });
    const session = client.newSession({ turnMetadataCwd: dir });
    for (let i = 0; i < 200 && session.turnMetadata === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    expect(session.turnMetadata).toBeDefined();
    await drain(session.stream(prompt([hello])));
    await drain(session.stream(prompt([hello, assistant1, second])));
    const frames = upstream.connections[0]?.frames as Record<string, unknown>[];
    expect(frames.map((f) => f['type'])).toEqual(['response.create', 'response.append']);
    for (const frame of frames) expect(frame['client_metadata']).toEqual({ 'x-codex-turn-metadata': session.turnMetadata });
  });

  it('item 43: a preconnected socket is reused; the socket outlives its session; a handshake-only prewarm sends nothing', async () => {
    upstream = await startFakeWsUpstream(simpleTurns());
    const client = wsClient();
    await client.preconnect();
    expect(upstream.connections).toHaveLength(1);
    expect(upstream.connections[0]?.frames).toHaveLength(0);
    await drain(client.newSession().stream(prompt([hello])));
    await drain(client.newSession().stream(prompt([userMessage('other')])));
    expect(upstream.connections).toHaveLength(1);
    expect(upstream.connections[0]?.frames).toHaveLength(2);
  });

  it('prewarm (L): generate:false first, then the turn continues from it with previous_response_id', async () => {
    upstream = await startFakeWsUpstream((request, send) => {
      const id = request['generate'] === false ? 'resp-warm' : 'resp-turn';
      send({ type: 'response.created', response: { id } });
      send({ type: 'response.completed', response: { id } });
    });
    const client = wsClient();
    const session = client.newSession();
    await session.prewarm(prompt([hello]));
    await drain(session.stream(prompt([hello, second])));
    const frames = upstream.connections[0]?.frames as Record<string, unknown>[];
    expect(frames[0]).toMatchObject({ type: 'response.create', generate: false, input: [hello] });
    expect(frames[1]).toMatchObject({ type: 'response.create', previous_response_id: 'resp-warm', input: [second] });
    expect(frames[1]?.['generate']).toBeUndefined();
  });
});

describe('WebSocket failures and fallback (§4.5, §4.7)', () => {
  it('a 426 on the handshake falls back to HTTP at once, for the rest of the session', async () => {
    const fallbacks: string[] = [];
    upstream = await startFakeWsUpstream(simpleTurns(), {
      refuse: () => 426,
      http: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(completed('http-1'));
      },
    });
    const client = wsClient({ telemetry: { onWsFallback: (reason) => fallbacks.push(reason) } });
    const first = await drain(client.newSession().stream(prompt([hello])));
    expect(first.events.at(-1)).toMatchObject({ type: 'completed', responseId: 'http-1' });
    await drain(client.newSession().stream(prompt([hello])));
    expect(upstream.refused).toEqual([426]);
    expect(fallbacks).toEqual(['upgrade_required']);
  });

  it('stream retries exhausted on the WebSocket switch to HTTP and start over', async () => {
    const fallbacks: string[] = [];
    upstream = await startFakeWsUpstream((_r, send, conn) => {
      send({ type: 'response.created', response: { id: 'r' } });
      conn.socket.close(1011, 'boom');
    }, {
      http: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(completed('over-http'));
      },
    });
    const client = wsClient({ provider: { baseUrl: `${upstream.url}/v1`, streamMaxRetries: 1, retryBaseDelayMs: 1 }, telemetry: { onWsFallback: (r) => fallbacks.push(r) } });
    const { events, error } = await drain(client.newSession().stream(prompt([hello])));
    expect(error).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ type: 'completed', responseId: 'over-http' });
    expect(upstream.connections).toHaveLength(2);
    expect(fallbacks).toEqual(['retries_exhausted']);
  });

  it('a close mid-response is "websocket closed by server before response.completed"', async () => {
    upstream = await startFakeWsUpstream((_r, send, conn) => {
      send({ type: 'response.created', response: { id: 'r' } });
      conn.socket.close(1000);
    });
    const { events } = await drain(wsClient().newSession().stream(prompt([hello])));
    // With no stream retries left, Codex falls back to HTTP and says why.
    expect(events.find((e) => e.type === 'reconnecting')).toMatchObject({
      message: 'Falling back from WebSockets to HTTPS transport. stream disconnected before completion: websocket closed by server before response.completed',
    });
  });

  it('the idle timeout is "idle timeout waiting for websocket"', async () => {
    upstream = await startFakeWsUpstream((_r, send) => send({ type: 'response.created', response: { id: 'r' } }));
    const client = wsClient({ provider: { baseUrl: `${upstream.url}/v1`, streamIdleTimeoutMs: 200, streamMaxRetries: 0 } });
    const { events } = await drain(client.newSession().stream(prompt([hello])));
    expect(events.find((e) => e.type === 'reconnecting')).toMatchObject({
      message: 'Falling back from WebSockets to HTTPS transport. stream disconnected before completion: idle timeout waiting for websocket',
    });
  });

  it('a 401 on the handshake is recovered, then the socket opens', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'modeltap-ws-auth-'));
    writeFileSync(join(dir, 'n'), '0');
    const command = `n=$(($(cat ${dir}/n) + 1)); echo $n > ${dir}/n; echo token-$n`;
    upstream = await startFakeWsUpstream(simpleTurns(), { refuse: (attempt) => (attempt === 0 ? 401 : undefined) });
    const { CommandCredentials } = await import('../../../src/index.js');
    const { events } = await drain(wsClient({ auth: new CommandCredentials({ command }) }).newSession().stream(prompt([hello])));
    expect(events.at(-1)).toMatchObject({ type: 'completed' });
    expect(upstream.refused).toEqual([401]);
    expect(upstream.connections[0]?.headers['authorization']).toBe('Bearer token-2');
  });

  it('events carry each frame\'s exact bytes', async () => {
    upstream = await startFakeWsUpstream(simpleTurns());
    const { events } = await drain(wsClient().newSession().stream(prompt([hello])));
    const raws = events.flatMap((e: ResponseEvent) => ('raw' in e && e.raw ? [Buffer.from(e.raw).toString()] : []));
    expect(raws.map((r) => JSON.parse(r).type)).toEqual(['response.created', 'response.output_item.done', 'response.completed']);
  });

  it('openWebSocket with a signal aborted before the call rejects `aborted` and opens nothing', async () => {
    upstream = await startFakeWsUpstream(simpleTurns());
    const opening = wsClient().openWebSocket({ path: 'responses' }, { signal: AbortSignal.abort() });
    await expect(opening).rejects.toMatchObject({ kind: 'aborted' });
    expect(upstream.connections).toEqual([]);
  });
});
