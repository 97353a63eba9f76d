// The benchmark's load client against the real simulator: it must count what it did and measure
// one-way latencies from the sim's stamps (no wall-clock assertions: only that it measured).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { createFloorProxy } from '../../../bench/floor-proxy.js';
import { runLoad } from '../../../bench/load-client.js';
import { startSim, type Sim } from '../../../src/sim/sim-server.js';

let sim: Sim;
beforeAll(async () => {
  sim = await startSim({ stamp: true });
});
afterAll(async () => {
  await sim.close();
});

describe('the load client', () => {
  it.each(['sse', 'json', 'ws'] as const)('%s: counts requests, no errors, and samples latencies', async (mode) => {
    const result = await runLoad({ baseUrl: `${sim.url}/v1`, mode, concurrency: 2, seconds: 0.3, events: 5, gapMs: 0 });
    expect(result.requests).toBeGreaterThan(0);
    expect(result.errors).toBe(0);
    expect(result.ttfeMs).toHaveLength(result.requests);
    if (mode !== 'json') expect(result.eventUs.length).toBe(result.requests * 13); // 4 head events, 5 deltas, 4 tail events
    const served = sim.log.filter((e) => (mode === 'ws' ? e.transport === 'websocket' : e.method === 'POST'));
    expect(served.length).toBeGreaterThanOrEqual(result.requests);
  });

  it('stamps every streamed event with a monotonic send time', async () => {
    const res = await fetch(`${sim.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sim-events': '3' }, body: JSON.stringify({ model: 'm', input: 'x', stream: true }) });
    const stamps = [...(await res.text()).matchAll(/"t_ns":"(\d+)"/g)].map((m) => BigInt(m[1] ?? '0'));
    expect(stamps).toHaveLength(11);
    expect(stamps.every((t, i) => i === 0 || t >= (stamps[i - 1] ?? 0n))).toBe(true);
    expect(process.hrtime.bigint() - (stamps.at(-1) ?? 0n)).toBeGreaterThan(0n);
  });
});

describe("the benchmark's Node floor relay", () => {
  it.each(['sse', 'json', 'ws'] as const)('%s: relays every request through to the simulator', async (mode) => {
    const floor = createFloorProxy(`${sim.url}/v1`);
    await new Promise<void>((resolve) => floor.listen(0, '127.0.0.1', resolve));
    try {
      const result = await runLoad({ baseUrl: `http://127.0.0.1:${(floor.address() as AddressInfo).port}/v1`, mode, concurrency: 2, seconds: 0.3, events: 5, gapMs: 0 });
      expect(result.requests).toBeGreaterThan(0);
      expect(result.errors).toBe(0);
      if (mode !== 'json') expect(result.eventUs.length).toBe(result.requests * 13);
    } finally {
      floor.closeAllConnections();
      await new Promise((resolve) => floor.close(resolve));
    }
  });
});
