// Spec §5.1–§5.2: the exact hook call sequences, and §6.6 item 48 (otel.rs) at the hook level.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthFileCredentials, type SsePoll, type TelemetryHooks, type TransportError } from '../../../src/index.js';
import { completed, frame, json, reset, sse, upstreamPool } from '../../helpers/fake-upstream.js';
import { clientFor, drain, prompt } from '../../helpers/client.js';

const pool = upstreamPool();
const start = pool.start;
afterEach(() => pool.closeAll());

type Call =
  | { hook: 'request'; attempt: number; status: number | null; error: TransportError['kind'] | null; ms: number }
  | { hook: 'poll'; kind: SsePoll['kind']; event?: string; data?: string; ms: number };

function recorder(): { calls: Call[]; hooks: TelemetryHooks } {
  const calls: Call[] = [];
  return {
    calls,
    hooks: {
      onRequest: (attempt, status, error, ms) => calls.push({ hook: 'request', attempt, status, error: error?.kind ?? null, ms }),
      onSsePoll: (result, ms) =>
        calls.push(
          result.kind === 'event'
            ? { hook: 'poll', kind: 'event', event: result.event.event, data: result.event.data, ms }
            : { hook: 'poll', kind: result.kind, ms },
        ),
    },
  };
}

/** The sequence without durations, and a check that every duration is positive. */
function shape(calls: Call[]): unknown[] {
  for (const call of calls) expect(call.ms).toBeGreaterThan(0);
  return calls.map((c) => (c.hook === 'request' ? [c.hook, c.attempt, c.status, c.error] : [c.hook, c.kind, c.event ?? null]));
}

const created = frame({ type: 'response.created', response: { id: 'r' } });
const delta = frame({ type: 'response.output_text.delta', delta: 'hi' });
// A gap before each frame makes every poll wait, so every duration is measurably positive.
const streamed = (frames: string[], end = true) => sse(frames, { gapMs: 5, end });
const success = () => streamed([created, delta, completed('r')]);

describe('hook call sequences', () => {
  it('success: one request, one poll per event, none after completion', async () => {
    const upstream = await start(success());
    const { calls, hooks } = recorder();
    const { error } = await drain(clientFor(upstream, { telemetry: hooks }).newSession().stream(prompt()));
    expect(error).toBeUndefined();
    expect(shape(calls)).toEqual([
      ['request', 0, 200, null],
      ['poll', 'event', 'response.created'],
      ['poll', 'event', 'response.output_text.delta'],
      ['poll', 'event', 'response.completed'],
    ]);
  });

  it('500, 500, then 200: attempts 0, 1, 2', async () => {
    const fail = json(500, { error: { message: 'boom' } });
    const upstream = await start([fail, fail, success()]);
    const { calls, hooks } = recorder();
    const client = clientFor(upstream, { telemetry: hooks, provider: { requestMaxRetries: 4 } });
    const { error } = await drain(client.newSession().stream(prompt()));
    expect(error).toBeUndefined();
    expect(shape(calls).slice(0, 4)).toEqual([
      ['request', 0, 500, 'http'],
      ['request', 1, 500, 'http'],
      ['request', 2, 200, null],
      ['poll', 'event', 'response.created'],
    ]);
  });

  it('a network error then success', async () => {
    const upstream = await start([reset, success()]);
    const { calls, hooks } = recorder();
    const client = clientFor(upstream, { telemetry: hooks, provider: { requestMaxRetries: 1 } });
    await drain(client.newSession().stream(prompt()));
    expect(shape(calls).slice(0, 2)).toEqual([
      ['request', 0, null, 'network'],
      ['request', 1, 200, null],
    ]);
  });

  it('401 then recovery: the attempt counter restarts at 0', async () => {
    const upstream = await start([json(401, { error: { message: 'expired' } }), success()]);
    const path = join(mkdtempSync(join(tmpdir(), 'modeltap-hooks-')), 'auth.json');
    writeFileSync(path, JSON.stringify({ OPENAI_API_KEY: 'sk-1' }));
    const { calls, hooks } = recorder();
    const client = clientFor(upstream, { telemetry: hooks, auth: new AuthFileCredentials({ path }) });
    await drain(client.newSession().stream(prompt()));
    expect(shape(calls).slice(0, 2)).toEqual([
      ['request', 0, 401, 'http'],
      ['request', 0, 200, null],
    ]);
  });

  it('the idle timeout: an idle_timeout poll after the wait, then the error', async () => {
    const upstream = await start(streamed([created], false));
    const { calls, hooks } = recorder();
    const client = clientFor(upstream, { telemetry: hooks, provider: { streamIdleTimeoutMs: 300 } });
    const { error } = await drain(client.newSession().stream(prompt()));
    expect(error).toMatchObject({ kind: 'stream', message: 'stream disconnected before completion: idle timeout waiting for SSE' });
    expect(shape(calls)).toEqual([
      ['request', 0, 200, null],
      ['poll', 'event', 'response.created'],
      ['poll', 'idle_timeout', null],
    ]);
    expect(calls.at(-1)?.ms).toBeGreaterThanOrEqual(250);
    await upstream.calls[0]?.closed;
  });

  it('a stream closed before completion: an end poll, then the error', async () => {
    const upstream = await start(streamed([created, delta]));
    const { calls, hooks } = recorder();
    const { error } = await drain(clientFor(upstream, { telemetry: hooks }).newSession().stream(prompt()));
    expect(error?.message).toContain('stream closed before response.completed');
    expect(shape(calls)).toEqual([
      ['request', 0, 200, null],
      ['poll', 'event', 'response.created'],
      ['poll', 'event', 'response.output_text.delta'],
      ['poll', 'end', null],
    ]);
  });

  it('a hook that throws breaks nothing, and per-call hooks still run', async () => {
    const upstream = await start(success());
    const thrower: TelemetryHooks = {
      onRequest: () => {
        throw new Error('hook failure');
      },
      onSsePoll: () => {
        throw new Error('hook failure');
      },
    };
    const { calls, hooks } = recorder();
    const client = clientFor(upstream, { telemetry: thrower });
    const { events, error } = await drain(client.newSession().stream(prompt(), { telemetry: hooks }));
    expect(error).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ type: 'completed' });
    expect(calls).toHaveLength(4);
  });
});

describe('what the OTel layer gets from the hooks (§6.6 item 48)', () => {
  it('reports the SSE event name, the raw data of unparseable events, and response.failed text', async () => {
    const upstream = await start([
      sse([frame({ type: 'response.output_item.done', item: { type: 'message', role: 'assistant', content: [] } }), 'data: not-json\n\n', completed()]),
      sse(frame({ type: 'response.failed', response: { error: { message: 'boom' } } })),
      sse(frame({ type: 'response.completed', response: {} })),
      sse(completed('u', { input_tokens: 3, input_tokens_details: { cached_tokens: 1 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 9 })),
    ]);
    const { calls, hooks } = recorder();
    const client = clientFor(upstream, { telemetry: hooks });
    await drain(client.newSession().stream(prompt()));
    expect(calls.filter((c) => c.hook === 'request')).toHaveLength(1);
    expect(calls).toContainEqual(expect.objectContaining({ hook: 'poll', event: 'response.output_item.done' }));
    expect(calls).toContainEqual(expect.objectContaining({ hook: 'poll', event: 'message', data: 'not-json' }));

    const failed = await drain(client.newSession().stream(prompt()));
    expect(calls).toContainEqual(expect.objectContaining({ hook: 'poll', event: 'response.failed', data: expect.stringContaining('boom') }));
    expect(failed.error?.message).toContain('boom');

    const unparsable = await drain(client.newSession().stream(prompt()));
    expect(unparsable.error?.message).toContain('failed to parse ResponseCompleted');

    const usage = await drain(client.newSession().stream(prompt()));
    expect(usage.events.at(-1)).toMatchObject({
      type: 'completed',
      tokenUsage: { inputTokens: 3, cachedInputTokens: 1, outputTokens: 5, reasoningOutputTokens: 2, totalTokens: 9 },
    });
  });
});
