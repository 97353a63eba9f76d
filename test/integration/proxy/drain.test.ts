// A drain as a load balancer sees it: /readyz fails first while everything is still served, then
// the listener closes, in-flight streams and WebSocket turns finish, idle WebSockets go away (1001).
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ProxyServer } from '../../../src/proxy/server.js';
import { createProxy } from '../../../src/cli/create-proxy.js';
import { startSim, type Sim } from '../../../src/sim/sim-server.js';

let sim: Sim;
beforeAll(async () => {
  sim = await startSim({ events: 3 });
});
afterAll(async () => {
  await sim.close();
});

const sse = (headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify({ model: 'm', input: 'x', stream: true }),
});

async function status(url: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}${path}`, { headers });
  return { status: res.status, body: await res.json() };
}

/** Polls `check` (bounded: 500 tries, 10 ms apart) until it holds. */
async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition never held');
}

describe('probes', () => {
  it('/healthz and /readyz answer without the access key; everything else still needs it', async () => {
    const proxy = await createProxy({ upstream: `${sim.url}/v1`, port: 0, accessKey: 'k-1' });
    try {
      expect(await status(proxy.url, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
      expect(await status(proxy.url, '/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
      expect((await status(proxy.url, '/modeltap/summary')).status).toBe(401);
      expect((await status(proxy.url, '/v1/models')).status).toBe(401);
    } finally {
      await proxy.shutdown(0);
    }
  });
});

describe('drain', () => {
  let proxy: ProxyServer;
  afterAll(async () => {
    await proxy.shutdown(0);
  });

  it('before a drain, connections are kept alive', async () => {
    const before = await createProxy({ upstream: `${sim.url}/v1`, port: 0 });
    try {
      const res = await fetch(`${before.url}/v1/responses`, sse());
      expect(res.headers.get('connection')).toBe('keep-alive');
      await res.text();
    } finally {
      await before.shutdown(0);
    }
  });

  it('/readyz answers 503 at once while requests are still served; the listener closes after the delay, in-flight streams finish', async () => {
    proxy = await createProxy({ upstream: `${sim.url}/v1`, port: 0 });
    // A stream in flight across the whole drain.
    const long = await fetch(`${proxy.url}/v1/responses`, sse({ 'x-sim-events': '40', 'x-sim-gap-ms': '25' }));
    expect(long.headers.get('x-accel-buffering')).toBe('no');
    const longText = long.text();
    // A drain delay far longer than the test: the second call below cuts it short.
    const stopped = proxy.shutdown(30_000, 600_000);
    expect(proxy.draining).toBe(true);
    expect(await status(proxy.url, '/readyz')).toEqual({ status: 503, body: { status: 'draining' } });
    expect(await status(proxy.url, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    // Still served in full during the delay (the balancer may not have noticed yet), but the
    // connection is not kept: the caller's next one goes afresh, to a ready replica.
    const during = await fetch(`${proxy.url}/v1/responses`, sse());
    expect(during.status).toBe(200);
    expect(during.headers.get('connection')).toBe('close');
    expect(await during.text()).toContain('response.completed');
    // The delay ends (here: cut short by a second call with the same grace); the listener closes.
    void proxy.shutdown(30_000);
    await until(async () => fetch(`${proxy.url}/readyz`).then(() => false, () => true));
    expect(await longText).toContain('response.completed');
    await stopped;
  });
});

describe('drain and WebSockets', () => {
  it('an idle WebSocket is closed (1001) when the listener closes; a busy one after its turn completes', async () => {
    const proxy = await createProxy({ upstream: `${sim.url}/v1`, port: 0 });
    const url = `${proxy.url.replace('http', 'ws')}/v1/responses`;
    const idle = new WebSocket(url);
    const busy = new WebSocket(url, { headers: { 'x-sim-events': '30', 'x-sim-gap-ms': '20' } });
    await Promise.all([once(idle, 'open'), once(busy, 'open')]);
    const idleClosed = once(idle, 'close');
    const received: string[] = [];
    busy.on('message', (data: Buffer) => received.push(JSON.parse(data.toString()).type as string));
    const busyClosed = once(busy, 'close');
    busy.send(JSON.stringify({ type: 'response.create', model: 'm', input: 'x' }));
    await until(() => received.length > 0);
    // A grace far beyond the test's timeout: only the drain can close these sockets in time.
    const stopped = proxy.shutdown(600_000);
    const [idleCode] = (await idleClosed) as [number, Buffer];
    expect(idleCode).toBe(1001);
    const [busyCode] = (await busyClosed) as [number, Buffer];
    expect(busyCode).toBe(1001);
    // The busy connection closed only after its turn's terminal event.
    expect(received.at(-1)).toBe('response.completed');
    expect(received.filter((t) => t === 'response.output_text.delta')).toHaveLength(30);
    await stopped;
  });

  it('the --ws-bridge connection drains the same way', async () => {
    const proxy = await createProxy({ upstream: `${sim.url}/v1`, port: 0, wsBridge: true });
    const idle = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`);
    await once(idle, 'open');
    const closed = once(idle, 'close');
    const stopped = proxy.shutdown(600_000);
    const [code] = (await closed) as [number, Buffer];
    expect(code).toBe(1001);
    await stopped;
  });
});
