// Spec §6.4 items 28–30 and 32, §6.6 items 45–46, §3.4 turn-state and §3.6 turn metadata.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collectResponse } from '../../../src/index.js';
import { assistantMessage, completed, frame, json, sse, startFakeUpstream, userMessage, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { clientFor, drain, prompt } from '../../helpers/client.js';

let upstream: FakeUpstream | undefined;
afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
});

const bodyOf = (index: number): Record<string, unknown> => JSON.parse(upstream?.calls[index]?.body.toString() ?? 'null') as Record<string, unknown>;

describe('turns (§6.4)', () => {
  it('item 28: rate-limit headers become a rate_limits event; the context window is 95 % of 272000', async () => {
    upstream = await startFakeUpstream(
      sse(completed('r', { input_tokens: 100, output_tokens: 23, total_tokens: 123 }), {
        headers: {
          'x-codex-primary-used-percent': '12.5',
          'x-codex-secondary-used-percent': '40.0',
          'x-codex-primary-window-minutes': '10',
          'x-codex-secondary-window-minutes': '60',
          'x-codex-primary-reset-at': '1704069000',
          'x-codex-secondary-reset-at': '1704074400',
        },
      }),
    );
    const client = clientFor(upstream);
    const { events } = await drain(client.newSession().stream(prompt()));
    expect(events[0]).toEqual({
      type: 'rate_limits',
      rateLimits: {
        primary: { usedPercent: 12.5, windowMinutes: 10, resetsAt: 1704069000 },
        secondary: { usedPercent: 40, windowMinutes: 60, resetsAt: 1704074400 },
        credits: null,
        planType: null,
      },
    });
    expect(events.at(-1)).toMatchObject({ type: 'completed', tokenUsage: { totalTokens: 123 } });
    expect(client.getModelContextWindow()).toBe(258_400);
  });

  it('item 29: a 429 usage limit is not retried and carries the rate limits', async () => {
    upstream = await startFakeUpstream(
      json(
        429,
        { error: { type: 'usage_limit_reached', message: 'limit reached', resets_at: 1704067242, plan_type: 'pro' } },
        {
          'x-codex-primary-used-percent': '100.0',
          'x-codex-primary-window-minutes': '15',
          'x-codex-secondary-used-percent': '87.5',
          'x-codex-secondary-window-minutes': '60',
        },
      ),
    );
    const client = clientFor(upstream, { provider: { requestMaxRetries: 4, streamMaxRetries: 5 } });
    const { error } = await drain(client.newSession().stream(prompt()));
    expect(upstream.calls).toHaveLength(1);
    expect(error?.kind).toBe('usage_limit_reached');
    expect(error?.message.toLowerCase()).toContain('usage limit');
    expect(error?.rateLimits).toEqual({
      primary: { usedPercent: 100, windowMinutes: 15, resetsAt: null },
      secondary: { usedPercent: 87.5, windowMinutes: 60, resetsAt: null },
      credits: null,
      planType: null,
    });
  });

  it('item 30: context_length_exceeded on the second turn gives the ContextWindowExceeded display', async () => {
    upstream = await startFakeUpstream([
      sse(completed('r1')),
      sse(frame({ type: 'response.failed', response: { id: 'r2', error: { code: 'context_length_exceeded', message: 'too long' } } })),
    ]);
    const client = clientFor(upstream, { provider: { streamMaxRetries: 5 } });
    expect((await drain(client.newSession().stream(prompt()))).error).toBeUndefined();
    const { error } = await drain(client.newSession().stream(prompt('again')));
    expect(upstream.calls).toHaveLength(2); // not retried
    expect(error?.message).toBe("Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.");
    expect(client.getModelContextWindow()).toBe(258_400);
  });

  it('item 32: a history built over three turns keeps done messages only, never the deltas', async () => {
    const reply = [
      frame({ type: 'response.output_text.delta', delta: 'Hey ' }),
      frame({ type: 'response.output_text.delta', delta: 'there!\n' }),
      frame({ type: 'response.output_item.done', item: assistantMessage('Hey there!\n') }),
      completed('r'),
    ];
    upstream = await startFakeUpstream(sse(reply));
    const client = clientFor(upstream);
    const history: ({ type: string } & Record<string, unknown>)[] = [];
    for (const text of ['U1', 'U2', 'U3']) {
      history.push(userMessage(text));
      const result = await collectResponse(client.newSession().stream({ instructions: '', input: history }));
      history.push(...result.items);
    }
    const third = bodyOf(2)['input'] as unknown[];
    expect(third.slice(-5)).toEqual([userMessage('U1'), assistantMessage('Hey there!\n'), userMessage('U2'), assistantMessage('Hey there!\n'), userMessage('U3')]);
  });
});

describe('turn-level retries (§4.6, §6.6)', () => {
  it('item 45: a stream without completed, with stream retries 1, gives exactly two POSTs and completes', async () => {
    upstream = await startFakeUpstream([sse(frame({ type: 'response.created', response: {} })), sse(completed('second'))]);
    const client = clientFor(upstream, { provider: { requestMaxRetries: 0, streamMaxRetries: 1 } });
    const { events, error } = await drain(client.newSession().stream(prompt()));
    expect(error).toBeUndefined();
    expect(upstream.calls).toHaveLength(2);
    expect(events.find((e) => e.type === 'reconnecting')).toMatchObject({ attempt: 1, maxRetries: 1 });
    expect(events.at(-1)).toMatchObject({ type: 'completed', responseId: 'second' });
    expect(bodyOf(0)).toEqual(bodyOf(1)); // the whole request is re-sent
  });

  it('the server delay of a rate limit replaces the backoff', async () => {
    upstream = await startFakeUpstream([
      sse(frame({ type: 'response.failed', response: { error: { code: 'rate_limit_exceeded', message: 'Please try again in 30ms.' } } })),
      sse(completed('ok')),
    ]);
    const client = clientFor(upstream, { provider: { streamMaxRetries: 1 } });
    const { events } = await drain(client.newSession().stream(prompt()));
    expect(events.find((e) => e.type === 'reconnecting')).toMatchObject({ delayMs: 30 });
  });

  it('item 46: a 500 with a JSON body ends the turn with an error; the next turn succeeds', async () => {
    upstream = await startFakeUpstream([json(500, { error: { message: 'server exploded' } }), sse(completed('next'))]);
    const client = clientFor(upstream);
    const first = await drain(client.newSession().stream(prompt()));
    expect(first.error).toMatchObject({ kind: 'internal_server_error', upstreamStatus: 500, retryable: true });
    const second = await drain(client.newSession().stream(prompt()));
    expect(second.error).toBeUndefined();
    expect(second.events.at(-1)).toMatchObject({ type: 'completed', responseId: 'next' });
  });
});

describe('x-codex-turn-state (§3.4)', () => {
  it('is captured from the first response and replayed within the turn only', async () => {
    const withState = (state: string) => sse(completed(), { headers: { 'x-codex-turn-state': state } });
    upstream = await startFakeUpstream([withState('ts-1'), withState('ts-2'), withState('ts-3'), withState('ts-4')]);
    const client = clientFor(upstream);
    const turn = client.newSession();
    await drain(turn.stream(prompt()));
    await drain(turn.stream(prompt('follow-up')));
    expect(turn.turnState).toBe('ts-1'); // first value wins
    await drain(client.newSession().stream(prompt('next turn')));
    const sent = upstream.calls.map((c) => c.headers['x-codex-turn-state']);
    expect(sent).toEqual([undefined, 'ts-1', undefined]);
  });

  it('is not captured from an error response', async () => {
    upstream = await startFakeUpstream([json(400, { error: { message: 'bad' } }, { 'x-codex-turn-state': 'nope' }), sse(completed())]);
    const turn = clientFor(upstream).newSession();
    await drain(turn.stream(prompt()));
    await drain(turn.stream(prompt()));
    expect(turn.turnState).toBeUndefined();
    expect(upstream.calls[1]?.headers['x-codex-turn-state']).toBeUndefined();
  });
});

describe('x-codex-turn-metadata (§3.6)', () => {
  it('describes the git workspace once computed, without making requests wait', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'modeltap-git-'));
    const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } }).toString().trim();
    git('init', '-q');
    git('remote', 'add', 'origin', 'git@example.com:me/repo.git');
    writeFileSync(join(dir, 'a.txt'), 'a');
    git('add', '.');
    git('commit', '-qm', 'init');
    writeFileSync(join(dir, 'b.txt'), 'uncommitted');
    const head = git('rev-parse', 'HEAD');
    const root = git('rev-parse', '--show-toplevel');
    upstream = await startFakeUpstream(sse(completed()));
    const client = clientFor(upstream);
    const session = client.newSession({ turnMetadataCwd: dir });
    // Poll until the background computation lands; each request uses whatever is ready.
    let header: string | string[] | undefined;
    for (let i = 0; i < 100 && header === undefined; i++) {
      await drain(session.stream(prompt()));
      header = upstream.calls.at(-1)?.headers['x-codex-turn-metadata'];
      if (header === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    expect(JSON.parse(String(header))).toEqual({
      workspaces: { [root]: { associated_remote_urls: { origin: 'git@example.com:me/repo.git' }, latest_git_commit_hash: head, has_changes: true } },
    });
  });

  it('sends no metadata outside a git repository', async () => {
    upstream = await startFakeUpstream(sse(completed()));
    const dir = mkdtempSync(join(tmpdir(), 'modeltap-nogit-'));
    const session = clientFor(upstream).newSession({ turnMetadataCwd: dir });
    await new Promise((r) => setTimeout(r, 200));
    await drain(session.stream(prompt()));
    expect(upstream.calls[0]?.headers['x-codex-turn-metadata']).toBeUndefined();
  });
});
