// Load (bounded): 1,000 concurrent streamed requests through modeltap to the sim, all complete and
// byte-identical to the same requests sent directly; then 1,000 concurrent WebSocket turns.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import WebSocket from 'ws';
import type { ProxyServer } from '../../../src/proxy/server.js';
import { createProxy } from '../../../src/cli/create-proxy.js';
import { startSim, type Sim } from '../../../src/sim/sim-server.js';

let sim: Sim;
let proxy: ProxyServer;
const agent = new Agent({ connections: 1000, keepAliveTimeout: 1000 });

beforeAll(async () => {
  sim = await startSim({ events: 10, gapMs: 2 });
  proxy = await createProxy({ upstream: `${sim.url}/v1`, port: 0 });
});
afterAll(async () => {
  await agent.close();
  await proxy.shutdown(0);
  await sim.close();
});

async function fetchBytes(base: string, i: number): Promise<Buffer> {
  const res = await request(`${base}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-5.1-codex', input: `load ${i}`, stream: true }), dispatcher: agent });
  expect(res.statusCode).toBe(200);
  return Buffer.from(await res.body.arrayBuffer());
}

async function wsTurn(base: string, i: number): Promise<string[]> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/responses`);
  const frames: string[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.1-codex', input: `ws load ${i}` })));
    ws.on('message', (d) => {
      frames.push(d.toString());
      if (d.toString().includes('"response.completed"')) resolve();
    });
  });
  ws.close();
  return frames;
}

describe('load', () => {
  it('1,000 concurrent streams: all complete, byte-identical to direct', async () => {
    const proxied = await Promise.all(Array.from({ length: 1000 }, (_, i) => fetchBytes(proxy.url, i)));
    const direct = await Promise.all(Array.from({ length: 1000 }, (_, i) => fetchBytes(sim.url, i)));
    const mismatched = proxied.filter((bytes, i) => !bytes.equals(direct[i] as Buffer)).length;
    expect(mismatched).toBe(0);
    expect(proxied.every((b) => b.toString().includes('response.completed'))).toBe(true);
  }, 120_000);

  it('1,000 concurrent WebSocket turns: all complete, frames identical to direct', async () => {
    const proxied = await Promise.all(Array.from({ length: 1000 }, (_, i) => wsTurn(proxy.url, i)));
    const direct = await Promise.all(Array.from({ length: 1000 }, (_, i) => wsTurn(sim.url, i)));
    expect(proxied.filter((frames, i) => JSON.stringify(frames) !== JSON.stringify(direct[i])).length).toBe(0);
    expect(proxied.every((frames) => frames.length === 18)).toBe(true); // 4 head events, 10 deltas, 4 tail events
  }, 120_000);
});
