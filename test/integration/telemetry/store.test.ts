// Issue 20, the store: the real proxy in front of the simulator, telemetry through the real
// pipeline (in the telemetry thread, or in-process with MODELTAP_TELEMETRY_THREAD=off), the rows
// read back from the SQLite file the telemetry side wrote.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createProxy } from '../../../src/cli/create-proxy.js';
import type { ProxyServer } from '../../../src/proxy/server.js';
import { startSim } from '../../../src/sim/sim-server.js';
import { Store } from '../../../src/store/store.js';
import { AuthFileCredentials } from '../../../src/index.js';
import { completed, json, sse, startFakeUpstream } from '../../helpers/fake-upstream.js';
import { otelKit, type OtelKit } from '../../helpers/otel-kit.js';
import { sseEvents, type SseEvents } from '../../helpers/sse-events.js';

let cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function setup(location: string, options: { captureContent?: boolean; log?: (line: string) => void } = {}): Promise<{ kit: OtelKit; proxy: ProxyServer }> {
  const kit = otelKit({ store: { location, retentionMs: 86_400_000, maxBytes: 64 * 1024 * 1024 }, ...options });
  const sim = await startSim({ events: 4, usage: { inputTokens: 42, outputTokens: 4, cachedInputTokens: 8, reasoningTokens: 2 } });
  const proxy = await createProxy({
    upstream: `${sim.url}/v1`,
    port: 0,
    ...(kit.runtime.telemetry ? { telemetry: kit.runtime.telemetry } : {}),
    ...(kit.runtime.storeApi ? { storeApi: kit.runtime.storeApi } : {}),
    ...(kit.runtime.storeLive ? { storeLive: kit.runtime.storeLive } : {}),
  });
  cleanup.push(() => sim.close(), () => proxy.shutdown(0), () => kit.runtime.shutdown());
  return { kit, proxy };
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'modeltap-store-it-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const post = (proxy: ProxyServer, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, text: await r.text() }));

/** The live view's push (`/modeltap/api/live`), its events as they arrive. */
async function liveStream(proxy: ProxyServer, query = ''): Promise<SseEvents> {
  const stream = await sseEvents(`${proxy.url}/modeltap/api/live${query}`);
  expect(stream.contentType).toBe('text/event-stream');
  cleanup.push(() => stream.close());
  return stream;
}

/** The rows as another reader of the file sees them, oldest first. */
function rowsOf(path: string) {
  const store = new Store(path);
  try {
    const ops = store.listOperations({ limit: 500 }).operations.reverse();
    return ops.map((o) => ({ ...o, events: store.getOperation(o.id)?.events ?? [] }));
  } finally {
    store.close();
  }
}

describe('the request store', () => {
  it('keeps a streamed call, a JSON call, another request and a WebSocket turn, from the same facts as the spans', async () => {
    const path = join(tempDir(), 'modeltap.db');
    const { kit, proxy } = await setup(path);
    const codex = { session_id: 'sess-1', originator: 'codex_exec', 'x-codex-turn-metadata': '{"request_kind":"turn","turn_id":"turn-1"}' };
    expect((await post(proxy, { model: 'gpt-5.1', input: 'hi', stream: true }, codex)).status).toBe(200);
    expect((await post(proxy, { model: 'gpt-5.1', input: 'hi' })).status).toBe(200);
    expect((await fetch(`${proxy.url}/v1/models`).then((r) => r.text())).length).toBeGreaterThan(0);
    const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`, { headers: { session_id: 'sess-1' } });
    ws.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    // Two turns one after the other: the second's frames are its own once the first has ended.
    for (let n = 0; n < 2; n++) {
      const completed = new Promise<void>((resolve) => {
        const onMessage = (data: Buffer) => {
          if (JSON.parse(data.toString()).type !== 'response.completed') return;
          ws.off('message', onMessage);
          resolve();
        };
        ws.on('message', onMessage);
      });
      ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.1-codex', input: [] }));
      await completed;
    }
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close();
    await closed;
    await kit.runtime.shutdown();

    const rows = rowsOf(path);
    const [sse, json, models, ...rest] = rows;
    const turns = rest.filter((r) => r.kind === 'model');
    const turn = turns[0];
    const socket = rest.find((r) => r.kind === 'other');
    expect(rows).toHaveLength(6);
    expect(turns.map((t) => t.events.at(-1)?.kind)).toEqual(['response.completed', 'response.completed']);
    expect(sse).toMatchObject({
      kind: 'model',
      method: 'POST',
      route: '/v1/responses',
      transport: 'http_sse',
      api: 'responses',
      stream: true,
      requestModel: 'gpt-5.1',
      responseModel: 'gpt-5.1',
      status: 200,
      errorType: null,
      retries: 0,
      inputTokens: 42,
      cachedInputTokens: 8,
      outputTokens: 4,
      reasoningTokens: 2,
      conversationId: 'sess-1',
      turnId: 'turn-1',
      requestKind: 'turn',
      originator: 'codex_exec',
      serviceTier: 'default',
      content: null,
    });
    expect(sse?.responseId).toMatch(/^resp_/);
    expect(sse?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(sse?.spanId).toMatch(/^[0-9a-f]{16}$/);
    // Every event the sim sent, in order, timed from the upstream send; times in order too.
    expect(sse?.eventCount).toBe(sse?.events.length);
    expect(sse?.events[0]?.kind).toBe('response.created');
    expect(sse?.events.at(-1)?.kind).toBe('response.completed');
    expect(sse?.events.every((e, i, all) => e.ok && e.bytes > 0 && (i === 0 || e.offsetMs >= (all[i - 1]?.offsetMs ?? 0)))).toBe(true);
    const t = sse as NonNullable<typeof sse>;
    expect(t.arrivalMs).toBeLessThanOrEqual(t.sentMs ?? Number.NaN);
    expect(t.sentMs ?? 0).toBeLessThanOrEqual(t.headMs ?? Number.NaN);
    expect(t.headMs ?? 0).toBeLessThanOrEqual(t.firstEventMs ?? Number.NaN);
    expect(t.firstEventMs ?? 0).toBeLessThanOrEqual(t.endMs);
    // Epoch milliseconds in a double keep about 0.2 µs.
    expect(t.durationMs).toBeCloseTo(t.endMs - t.arrivalMs, 3);
    expect(t.ttfcMs).toBeCloseTo((t.firstEventMs ?? 0) - (t.sentMs ?? 0), 3);
    expect(Math.abs(t.arrivalMs - Date.now())).toBeLessThan(60_000);
    expect(json).toMatchObject({ kind: 'model', transport: 'http_json', stream: false, status: 200, inputTokens: 42, eventCount: 0, ttfcMs: null, conversationId: null });
    expect(models).toMatchObject({ kind: 'other', method: 'GET', path: '/v1/models', status: 200, requestModel: null, inputTokens: null });
    expect(turn).toMatchObject({ transport: 'websocket', requestModel: 'gpt-5.1-codex', conversationId: 'sess-1', inputTokens: 42, status: null, errorType: null });
    expect(turn?.events.map((e) => e.kind)).toContain('response.completed');
    expect(socket).toMatchObject({ method: 'GET', route: '/v1/responses', transport: 'websocket' });
  });

  it('counts a retry, and keeps a failed call with its error type', async () => {
    const path = join(tempDir(), 'retry.db');
    const { kit, proxy } = await setup(path);
    expect((await post(proxy, { model: 'gpt-5.1', input: 'hi', stream: true }, { 'x-sim-fault': 'status:500;times=1' })).status).toBe(200);
    expect((await post(proxy, { model: 'gpt-5.1', input: 'hi', stream: true }, { 'x-sim-fault': 'status:429' })).status).toBe(429);
    await kit.runtime.shutdown();
    const [retried, failed] = rowsOf(path);
    expect(retried).toMatchObject({ status: 200, retries: 1, errorType: null, errorMessage: null });
    // Each attempt, in order, timed from arrival: the 500, then the retry that answered.
    expect(retried?.attempts.map((a) => [a.attempt, a.status, a.error])).toEqual([[0, 500, 'http'], [1, 200, null]]);
    const [first, second] = retried?.attempts ?? [];
    expect(first?.atMs).toBeGreaterThanOrEqual(0);
    expect(second?.atMs).toBeGreaterThanOrEqual((first?.atMs ?? 0) + (first?.ms ?? 0));
    expect(failed).toMatchObject({ status: 429, errorType: '429' });
    expect(failed?.errorMessage).toEqual(expect.any(String));
    expect(failed?.attempts.length).toBe((failed?.retries ?? 0) + 1);
    expect(rowsOf(path).length).toBe(2);
  });

  it("keeps a 401 recovery as a mark on the attempt it followed, what an error said (credentials masked), the upstream's request id and Codex's thread ids", async () => {
    const path = join(tempDir(), 'details.db');
    const authPath = join(tempDir(), 'auth.json');
    writeFileSync(authPath, JSON.stringify({ OPENAI_API_KEY: 'sk-held' }));
    const kit = otelKit({ store: { location: path, retentionMs: 86_400_000, maxBytes: 64 * 1024 * 1024 } });
    const upstream = await startFakeUpstream([
      json(401, { error: { message: 'bad key' } }),
      sse(completed('resp_after_401', { input_tokens: 1, output_tokens: 1, total_tokens: 2 })),
      json(400, { error: { message: 'Incorrect API key provided: sk-proj-0123456789abcdef.', type: 'invalid_request_error', code: 'invalid_api_key' } }, { 'x-request-id': 'req_upstream_1' }),
    ]);
    const proxy = await createProxy({
      upstream: `${upstream.url}/v1`,
      port: 0,
      auth: new AuthFileCredentials({ path: authPath }),
      ...(kit.runtime.telemetry ? { telemetry: kit.runtime.telemetry } : {}),
    });
    cleanup.push(() => upstream.close(), () => proxy.shutdown(0), () => kit.runtime.shutdown());
    const codex = { 'session-id': 'sess-sub', 'thread-id': 'thread-sub', 'x-codex-turn-metadata': '{"request_kind":"subagent_turn","turn_id":"t-1","parent_thread_id":"thread-root"}' };
    expect((await post(proxy, { model: 'gpt-5.1', input: 'hi', stream: true }, codex)).status).toBe(200);
    expect((await post(proxy, { model: 'gpt-5.1', input: 'hi' })).status).toBe(400);
    await kit.runtime.shutdown();
    const [recovered, failed] = rowsOf(path);
    expect(recovered).toMatchObject({ status: 200, authRecoveries: 1, retries: 0, conversationId: 'sess-sub', threadId: 'thread-sub', parentThreadId: 'thread-root', requestKind: 'subagent_turn' });
    const [unauthorized, after] = recovered?.attempts ?? [];
    expect(unauthorized).toMatchObject({ attempt: 0, status: 401, recovery: { outcome: 'success' } });
    expect(unauthorized?.recovery?.atMs).toBeGreaterThanOrEqual(unauthorized?.atMs ?? Number.NaN);
    expect(after).toMatchObject({ status: 200, recovery: null });
    expect(after?.atMs).toBeGreaterThanOrEqual(unauthorized?.recovery?.atMs ?? Number.NaN);
    expect(failed).toMatchObject({ status: 400, errorType: '400', upstreamRequestId: 'req_upstream_1', threadId: null });
    expect(failed?.errorMessage).toContain('Incorrect API key provided: [redacted]');
    expect(JSON.stringify(rowsOf(path))).not.toContain('sk-proj-0123456789abcdef');
  });

  it('answers its JSON API at /modeltap/api/ with every request that ended before, filtered and paged', async () => {
    const { proxy } = await setup(join(tempDir(), 'api.db'));
    const codex = { session_id: 'sess-api' };
    for (const model of ['a', 'b', 'a']) expect((await post(proxy, { model, input: 'hi', stream: true }, codex)).status).toBe(200);
    expect((await post(proxy, { model: 'c', input: 'hi' }, { 'x-sim-fault': 'status:429' })).status).toBe(429);
    const api = async (path: string) => {
      const res = await fetch(`${proxy.url}/modeltap/api/${path}`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    type Page = { operations: { id: number; requestModel: string; status: number }[]; next: number | null };
    // No wait: the API hands over what was recorded first.
    const all = (await api('operations')).body as unknown as Page;
    expect(all.operations.map((o) => o.requestModel)).toEqual(['c', 'a', 'b', 'a']);
    const first = (await api('operations?limit=3')).body as unknown as Page;
    expect(first.operations).toHaveLength(3);
    expect(((await api(`operations?limit=3&before=${first.next}`)).body as unknown as Page).operations.map((o) => o.requestModel)).toEqual(['a']);
    expect(((await api('operations?model=a')).body as unknown as Page).operations).toHaveLength(2);
    expect(((await api('operations?error=any')).body as unknown as Page).operations.map((o) => o.status)).toEqual([429]);
    expect(((await api('operations?status=200&conversation=sess-api')).body as unknown as Page).operations).toHaveLength(3);
    const one = await api(`operations/${all.operations[1]?.id}`);
    expect(one.status).toBe(200);
    expect((one.body['events'] as unknown[]).length).toBe(one.body['eventCount']);
    expect((await api('conversations')).body).toMatchObject({ conversations: [{ conversationId: 'sess-api', operations: 3, errors: 0 }], next: null });
    expect(((await api('conversations/sess-api')).body as unknown as Page).operations).toHaveLength(3);
    expect((await api('store')).body).toMatchObject({ open: true, fault: null, written: 4, dropped: 0 });
    const stats = (await api('stats')).body as { points: { model: string; requests: number; errors: number; ttfcMs: { p50: number | null } }[]; bucketMs: number };
    expect(stats.bucketMs).toBe(60_000);
    const byModel = new Map<string, number>();
    for (const p of stats.points) byModel.set(p.model, (byModel.get(p.model) ?? 0) + p.requests);
    expect(Object.fromEntries(byModel)).toEqual({ a: 2, b: 1, c: 1 });
    expect(stats.points.filter((p) => p.model === 'c').every((p) => p.errors === p.requests)).toBe(true);
    expect((await api('stats?bucket_ms=10')).status).toBe(400);
    expect(await api('operations?status=ok')).toEqual({ status: 400, body: { error: { message: "'status' must be an integer, not 'ok'", type: 'invalid_request_error', param: null, code: 'invalid_parameter' } } });
    expect((await api('operations/999999')).status).toBe(404);
    expect((await api('nothing')).body).toMatchObject({ error: { code: 'not_found' } });
  });

  it('keeps prompts and outputs only with content capture on', async () => {
    const path = join(tempDir(), 'content.db');
    const { kit, proxy } = await setup(path, { captureContent: true });
    await post(proxy, { model: 'gpt-5.1', input: 'what is two plus two', stream: true });
    await kit.runtime.shutdown();
    const [row] = rowsOf(path);
    const content = JSON.parse(row?.content ?? 'null') as { input: { input: string }; output: { output: unknown[] } };
    expect(content.input.input).toBe('what is two plus two');
    expect(content.output.output.length).toBeGreaterThan(0);
  });

  it('a store that cannot be opened: one line, the relay serves on, the rows counted as dropped', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), 'x');
    const lines: string[] = [];
    const { kit, proxy } = await setup(join(dir, 'file', 'modeltap.db'), { log: (l) => lines.push(l) });
    for (let i = 0; i < 3; i++) expect((await post(proxy, { model: 'gpt-5.1', input: 'hi', stream: true })).status).toBe(200);
    const metrics = await kit.metrics();
    const dropped = (metrics.get('modeltap.telemetry.dropped')?.points ?? []).filter((p) => p.attributes['signal'] === 'store');
    expect(dropped.map((p) => [p.attributes['reason'], p.value])).toEqual([['store_unavailable', 3]]);
    expect(lines.filter((l) => l.includes('store'))).toHaveLength(1);
  });

  it("pushes each stored request once, oldest first, to a live view from its cursor; the view's own requests are not stored", async () => {
    const path = join(tempDir(), 'modeltap.db');
    const { proxy } = await setup(path);
    // What was stored before a view opens is not pushed to it: it loads that itself (before=cursor+1).
    expect((await post(proxy, { model: 'before', input: 'x' })).status).toBe(200);
    await fetch(`${proxy.url}/modeltap/api/operations`).then((r) => r.json());
    const early = await liveStream(proxy);
    const { cursor } = (await early.next('ready')) as { cursor: number };
    expect(cursor).toBe(1);
    for (const model of ['a', 'b', 'c']) expect((await post(proxy, { model, input: 'x', stream: model !== 'b' })).status).toBe(200);
    const seen: { id: number; requestModel: string }[] = [];
    while (seen.length < 3) seen.push(...((await early.next('operations')) as { operations: { id: number; requestModel: string }[] }).operations);
    expect(seen.map((o) => [o.id, o.requestModel])).toEqual([[2, 'a'], [3, 'b'], [4, 'c']]);
    // A view that reconnects with its cursor gets what it missed, then what comes next.
    const late = await liveStream(proxy, '?after=2');
    expect(await late.next('ready')).toEqual({ cursor: 2 });
    const caught = ((await late.next('operations')) as { operations: { id: number }[] }).operations;
    expect(caught.map((o) => o.id)).toEqual([3, 4]);
    expect((await post(proxy, { model: 'd', input: 'x' })).status).toBe(200);
    for (const stream of [early, late]) expect(((await stream.next('operations')) as { operations: { id: number }[] }).operations.map((o) => o.id)).toEqual([5]);
    // The view's page, its files and its API were requested above and are not in the store.
    expect((await fetch(`${proxy.url}/`)).status).toBe(200);
    expect((await post(proxy, { model: 'e', input: 'x' })).status).toBe(200);
    expect(((await early.next('operations')) as { operations: { id: number; path: string }[] }).operations.map((o) => [o.id, o.path])).toEqual([[6, '/v1/responses']]);
    early.close();
    late.close();
  });
});
