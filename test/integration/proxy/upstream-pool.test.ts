// The upstream connection pool: no hidden ceiling at 256 concurrent streams, and a configured size
// that the proxy's clients really use.
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { createUpstreamDispatcher } from '../../../src/client/http-transport.js';
import { createProxy } from '../../../src/cli/create-proxy.js';
import { completed, frame, startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';

let stop: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of stop.reverse()) await fn();
  stop = [];
});

/** An upstream that holds every SSE response open until `release()`; `arrived(n)` resolves once n are held. */
async function holdingUpstream(): Promise<{ upstream: FakeUpstream; arrived: (n: number) => Promise<void>; release: () => void }> {
  const held: ServerResponse[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const upstream = await startFakeUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(frame({ type: 'response.created', response: { id: 'r' } }));
    held.push(res);
    for (const w of waiters.filter((w) => held.length >= w.n)) w.resolve();
  });
  stop.push(() => upstream.close());
  return {
    upstream,
    arrived: (n) => (held.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    release: () => {
      for (const res of held.splice(0)) res.end(completed('r'));
    },
  };
}

/** Rejects with what was seen if `arrival` has not happened within `ms`: a bound, not a speed assertion. */
function within<T>(arrival: Promise<T>, ms: number, seen: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(seen())), ms);
  });
  return Promise.race([arrival, bound]).finally(() => clearTimeout(timer));
}

function streamThrough(caller: Agent, url: string): Promise<{ status: number; body: string }> {
  return request(`${url}/v1/responses`, {
    method: 'POST',
    dispatcher: caller,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', input: 'x', stream: true }),
  }).then(async (res) => ({ status: res.statusCode, body: await res.body.text() }));
}

describe('upstream connection pool', () => {
  it('by default, 300 concurrent streams all reach the upstream at once (no ceiling at 256)', async () => {
    const N = 300;
    const { upstream, arrived, release } = await holdingUpstream();
    const proxy = await createProxy({ upstream: `${upstream.url}/v1`, port: 0, requestMaxRetries: 0 });
    stop.push(() => proxy.shutdown(0));
    const caller = new Agent({ connections: N });
    stop.push(() => caller.close());
    const replies = Array.from({ length: N }, () => streamThrough(caller, proxy.url));
    // Every response is held open until all N are at the upstream: a pool of 256 stops at 256.
    await within(arrived(N), 15_000, () => `only ${upstream.calls.length} of ${N} streams reached the upstream`);
    release();
    const done = await Promise.all(replies);
    expect(done.every((r) => r.status === 200 && r.body.endsWith(completed('r')))).toBe(true);
    expect(upstream.calls).toHaveLength(N);
  });

  it('a configured pool is the one the proxy uses: beyond its size, streams wait in its queue', async () => {
    const { upstream, arrived, release } = await holdingUpstream();
    const dispatcher = createUpstreamDispatcher({ connections: 2 });
    stop.push(() => dispatcher.close());
    const proxy = await createProxy({ upstream: `${upstream.url}/v1`, port: 0, requestMaxRetries: 0, dispatcher });
    stop.push(() => proxy.shutdown(0));
    const caller = new Agent({ connections: 3 });
    stop.push(() => caller.close());
    const replies = [0, 1, 2].map(() => streamThrough(caller, proxy.url));
    await arrived(2);
    const origin = new URL(upstream.url).origin;
    // The third stream is queued in our pool (bounded wait for it to be dispatched there).
    for (let i = 0; i < 200 && (dispatcher.stats[origin] as { queued?: number } | undefined)?.queued !== 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(dispatcher.stats[origin]).toMatchObject({ connected: 2, running: 2, queued: 1 });
    expect(upstream.calls).toHaveLength(2);
    release();
    // A freed connection takes the queued stream.
    await within(arrived(1), 15_000, () => `the queued stream never reached the upstream (${upstream.calls.length} calls)`);
    expect(upstream.calls).toHaveLength(3);
    release();
    const done = await Promise.all(replies);
    expect(done.map((r) => r.status)).toEqual([200, 200, 200]);
  });
});
