import { afterEach, describe, expect, it } from 'vitest';
import { createProxy } from '../../../src/cli/create-proxy.js';
import { EventLoopDelay, type EventLoopDelayWindow } from '../../../src/proxy/event-loop-delay.js';
import type { ProxyServer } from '../../../src/proxy/server.js';

let cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

/** Holds the event loop for `ms` (what a synchronous batch export does to every stream). */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** One pass of the timers phase: the monitor's overdue sample is taken before this resolves. */
const timersPhase = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

async function window(proxy: ProxyServer, reset = false): Promise<{ status: number; body: EventLoopDelayWindow }> {
  const res = await fetch(`${proxy.url}/modeltap/event-loop${reset ? '?reset=1' : ''}`);
  return { status: res.status, body: (await res.json()) as EventLoopDelayWindow };
}

describe('GET /modeltap/event-loop (--event-loop-stats)', () => {
  it('shows a block of the event loop in the window, and ?reset=1 starts a new one', async () => {
    const loop = new EventLoopDelay(1);
    cleanup.push(() => loop.stop());
    const proxy = await createProxy({ upstream: 'http://127.0.0.1:9/v1', port: 0, eventLoopDelay: loop });
    cleanup.push(() => proxy.shutdown(0));
    // The monitor's first sample only sets its start: a block before it would go unseen.
    for (let i = 0; i < 1000 && loop.read().samples === 0; i++) await timersPhase();
    block(60);
    await timersPhase();
    const seen = await window(proxy, true);
    expect(seen.status).toBe(200);
    expect(seen.body.resolutionMs).toBe(1);
    expect(seen.body.samples).toBeGreaterThan(0);
    // The sample due during the block was taken after it: its delay is (nearly) the whole block.
    expect(seen.body.maxMs).toBeGreaterThanOrEqual(50);
    expect(seen.body.p99Ms).toBeLessThanOrEqual(seen.body.maxMs);
    // Read and reset in one tick: no sample can fall between them, so the new window is empty.
    loop.read(true);
    expect(loop.read()).toEqual({ resolutionMs: 1, samples: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 });
  });

  it('is not served without the flag', async () => {
    const proxy = await createProxy({ upstream: 'http://127.0.0.1:9/v1', port: 0 });
    cleanup.push(() => proxy.shutdown(0));
    expect((await fetch(`${proxy.url}/modeltap/event-loop`)).status).toBe(404);
  });
});
