// Raw mode (what the proxy uses): byte-faithful relay, zstd pass-through, abort; and §6.6 item 44.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zstdDecompressSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthFileCredentials, ModelClient, type ResponseEvent } from '../../../src/index.js';
import { zstdCompress } from '../../../src/client/zstd.js';
import { completed, frame, json, sse, startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { clientFor, drain, prompt } from '../../helpers/client.js';

let upstream: FakeUpstream | undefined;
afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
});

const fixture = (name: string): Buffer => readFileSync(new URL(`../../fixtures/sse/${name}`, import.meta.url));
const bytesOf = (events: readonly ResponseEvent[]): Buffer =>
  Buffer.concat(events.flatMap((e) => ('raw' in e && e.raw ? [e.raw] : [])));

/** Writes `body` in pieces of `size` bytes, so frames and characters straddle chunks. */
function chunked(body: Buffer, size: number, contentType: string) {
  return async (_req: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-type': contentType });
    for (let i = 0; i < body.length; i += size) {
      res.write(body.subarray(i, i + size));
      await new Promise((r) => setImmediate(r));
    }
    res.end();
  };
}

describe('raw mode', () => {
  it('yields the SSE body byte for byte, with the parsed events alongside', async () => {
    const body = fixture('responses-tool-call.sse');
    upstream = await startFakeUpstream(chunked(body, 7, 'text/event-stream'));
    const stream = clientFor(upstream).newSession().stream({ raw: { path: 'responses', body: { model: 'm', stream: true, input: 'hi' } } });
    const head = await stream.head();
    expect(head).toMatchObject({ status: 200, transport: 'http_sse' });
    const { events, error } = await drain(stream);
    expect(error).toBeUndefined();
    expect(bytesOf(events).equals(body)).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'completed', responseId: 'resp_A1', tokenUsage: { totalTokens: 1240 } });
  });

  it('reads past completion to EOF, so trailing bytes are relayed too', async () => {
    const body = Buffer.from(`${completed('r')}: trailing comment\n\n`);
    upstream = await startFakeUpstream(chunked(body, 1000, 'text/event-stream'));
    const { events } = await drain(clientFor(upstream).newSession().stream({ raw: { path: 'responses', body: {} } }));
    expect(bytesOf(events).equals(body)).toBe(true);
  });

  it('yields a Chat SSE body byte for byte with the chat events', async () => {
    const body = fixture('chat-tool-call.sse');
    upstream = await startFakeUpstream(chunked(body, 5, 'text/event-stream'));
    const { events } = await drain(clientFor(upstream).newSession().stream({ raw: { path: 'chat/completions', body: { stream: true } } }));
    expect(bytesOf(events).equals(body)).toBe(true);
    expect(events.filter((e) => e.type === 'output_item_done').map((e) => (e as { item: { type: string } }).item.type)).toEqual(['reasoning', 'function_call']);
  });

  it('yields a JSON body byte for byte, then its usage', async () => {
    const body = Buffer.from(JSON.stringify({ id: 'resp_json', object: 'response', status: 'completed', service_tier: 'default', output: [], usage: { input_tokens: 4, output_tokens: 6, total_tokens: 10 } }));
    upstream = await startFakeUpstream(chunked(body, 9, 'application/json'));
    const stream = clientFor(upstream).newSession().stream({ raw: { path: 'responses', body: { stream: false } } });
    expect((await stream.head()).transport).toBe('http_json');
    const { events } = await drain(stream);
    expect(bytesOf(events).equals(body)).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'completed', responseId: 'resp_json', tokenUsage: { inputTokens: 4, outputTokens: 6 }, status: 'completed', serviceTier: 'default' });
    // No completed frame to re-read: the parsed body rides along instead (its bytes went out as raw events).
    expect((events.at(-1) as { body?: unknown }).body).toEqual(JSON.parse(body.toString()));
  });

  it.each([
    // By default only the chunks that finish a choice or carry usage are parsed (what relay telemetry needs).
    [false, ['completed']],
    [true, ['output_item_added', 'reasoning_content_delta', 'output_item_done', 'output_item_done', 'completed']],
  ])('pipeTo relays a Chat stream byte for byte; allEvents %s decides which events are mapped beside it', async (allEvents, types) => {
    const body = fixture('chat-tool-call.sse');
    upstream = await startFakeUpstream(chunked(body, 7, 'text/event-stream'));
    const written: Buffer[] = [];
    const seen: string[] = [];
    const sink = { write: (chunk: Buffer) => written.push(Buffer.from(chunk)) > 0, drain: async () => undefined, event: (e: ResponseEvent) => void seen.push(e.type) };
    await clientFor(upstream).newSession().stream({ raw: { path: 'chat/completions', body: { stream: true } } }, { allEvents }).pipeTo(sink);
    expect(Buffer.concat(written).equals(body)).toBe(true);
    expect(seen.filter((t) => t !== 'rate_limits' && t !== 'models_etag')).toEqual(types);
  });

  it('forwards a zstd-encoded body and the caller headers unchanged', async () => {
    upstream = await startFakeUpstream(sse(completed()));
    const plain = Buffer.from(JSON.stringify({ model: 'gpt-5.1-codex', stream: true, input: [{ type: 'message', role: 'user', content: 'hé 🎉' }] }));
    const encoded = zstdCompress(plain);
    const headers = {
      'content-type': 'application/json',
      'content-encoding': 'zstd',
      'session-id': 'sess-1',
      'x-codex-turn-metadata': '{"request_kind":"turn"}',
      originator: 'codex_exec',
      authorization: 'Bearer caller-key',
      connection: 'keep-alive',
      host: 'modeltap.local',
    };
    // No credentials held: the caller's Authorization passes through.
    const noAuth = new ModelClient({ provider: { baseUrl: `${upstream.url}/v1` } });
    await drain(noAuth.newSession().stream({ raw: { path: 'responses', query: 'a=1', headers, body: encoded } }));
    const call = upstream.calls[0];
    expect(call?.url).toBe('/v1/responses?a=1');
    expect(call?.body.equals(Buffer.from(encoded))).toBe(true);
    expect(zstdDecompressSync(call?.body ?? new Uint8Array()).equals(plain)).toBe(true);
    expect(call?.headers).toMatchObject({
      'content-encoding': 'zstd',
      'session-id': 'sess-1',
      'x-codex-turn-metadata': '{"request_kind":"turn"}',
      originator: 'codex_exec',
      authorization: 'Bearer caller-key',
    });
    expect(call?.headers.host).not.toBe('modeltap.local');
  });

  it('replaces the caller Authorization when the client holds credentials', async () => {
    upstream = await startFakeUpstream(sse(completed()));
    await drain(clientFor(upstream).newSession().stream({ raw: { path: 'responses', headers: { authorization: 'Bearer caller' }, body: {} } }));
    expect(upstream.calls[0]?.headers['authorization']).toBe('Bearer Test API Key');
  });

  it('passes an upstream error response through whole on the error', async () => {
    upstream = await startFakeUpstream(json(404, { error: { message: 'no such path' } }, { 'x-request-id': 'req_404' }));
    const stream = clientFor(upstream).newSession().stream({ raw: { path: 'nope', method: 'GET' } });
    const error = await stream.head().catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'unexpected_status', status: 404, requestId: 'req_404', source: 'upstream_status' });
    expect(Buffer.from((error as { upstream: { body: Uint8Array } }).upstream.body).toString()).toBe('{"error":{"message":"no such path"}}');
  });

  it('an aborted signal closes the upstream connection at once', async () => {
    upstream = await startFakeUpstream(sse([frame({ type: 'response.created', response: {} })], { end: false }));
    const controller = new AbortController();
    const stream = clientFor(upstream).newSession().stream({ raw: { path: 'responses', body: {} } }, { signal: controller.signal });
    const seen: ResponseEvent[] = [];
    const done = (async () => {
      for await (const event of stream) {
        seen.push(event);
        if (event.type === 'created') controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(await done).toMatchObject({ kind: 'aborted' });
    await upstream.calls[0]?.closed;
  });

  it('breaking out of the iteration closes the upstream connection', async () => {
    upstream = await startFakeUpstream(sse([frame({ type: 'response.created', response: {} })], { end: false }));
    for await (const event of clientFor(upstream).newSession().stream({ raw: { path: 'responses', body: {} } })) {
      if (event.type === 'created') break;
    }
    await upstream.calls[0]?.closed;
  });
});

describe('request compression (§3.3, §6.6 item 44)', () => {
  const auth = (contents: unknown) => {
    const path = join(mkdtempSync(join(tmpdir(), 'modeltap-zstd-')), 'auth.json');
    writeFileSync(path, JSON.stringify(contents));
    return new AuthFileCredentials({ path });
  };

  it('ChatGPT auth with compression on sends a zstd body that decodes to the JSON request', async () => {
    upstream = await startFakeUpstream(sse(completed()));
    const client = clientFor(upstream, {
      provider: { baseUrl: `${upstream.url}/backend-api/codex/v1` },
      requestCompression: true,
      auth: auth({ tokens: { access_token: 'at', account_id: 'acc', refresh_token: 'rt' } }),
    });
    await drain(client.newSession().stream(prompt()));
    const call = upstream.calls[0];
    expect(call?.headers['content-encoding']).toBe('zstd');
    const decoded = JSON.parse(zstdDecompressSync(call?.body ?? new Uint8Array()).toString()) as Record<string, unknown>;
    expect(decoded['input']).toEqual(prompt().input);
  });

  it('API-key auth with compression on sends plain JSON', async () => {
    upstream = await startFakeUpstream(sse(completed()));
    await drain(clientFor(upstream, { requestCompression: true }).newSession().stream(prompt()));
    expect(upstream.calls[0]?.headers['content-encoding']).toBeUndefined();
    expect((JSON.parse(upstream.calls[0]?.body.toString() ?? '') as { input: unknown }).input).toEqual(prompt().input);
  });
});
