// A request's body is let go once the upstream head has arrived: neither its raw bytes (kept for
// retries until then) nor its parsed JSON stay referenced for the rest of the stream. Measured
// in this process (caller, proxy and upstream all run here) after forced garbage collections.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import type { ProxyServer } from '../../../src/proxy/server.js';
import { createProxy } from '../../../src/cli/create-proxy.js';
import { completed, frame, json, sse, startFakeUpstream } from '../../helpers/fake-upstream.js';
import { otelKit, waitForServerSpans, type OtelKit } from '../../helpers/otel-kit.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MiB = 1024 * 1024;
const STREAMS = 6;
const BODY_MIB = 8;

let kit: OtelKit;
let proxy: ProxyServer;
let upstream: { url: string; held: ServerResponse[]; close: () => Promise<void> };
let onArrival: (() => void) | undefined;

beforeAll(async () => {
  kit = otelKit();
  // Not the recording fake upstream: it would keep every body it receives.
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(frame({ type: 'response.created', response: { id: 'r' } }));
      held.push(res);
      onArrival?.();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  proxy = await createProxy({ upstream: `${upstream.url}/v1`, port: 0, requestMaxRetries: 2, ...(kit.runtime.telemetry ? { telemetry: kit.runtime.telemetry } : {}) });
});
afterAll(async () => {
  await proxy.shutdown(0);
  await upstream.close();
  await kit.runtime.shutdown();
});

function retained(): number {
  for (let i = 0; i < 4; i++) gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describe('request body release', () => {
  it(`${STREAMS} streams with ${BODY_MIB} MiB bodies, held open after their head: their bodies are not retained`, async () => {
    const body = Buffer.from(JSON.stringify({ model: 'm', stream: true, temperature: 0.5, input: 'a'.repeat(BODY_MIB * MiB) }));
    const caller = new Agent({ connections: STREAMS });
    const arrived = new Promise<void>((resolve) => {
      onArrival = () => {
        if (upstream.held.length >= STREAMS) resolve();
      };
    });
    const before = retained();
    const heads = Array.from({ length: STREAMS }, () =>
      request(`${proxy.url}/v1/responses`, { method: 'POST', dispatcher: caller, headers: { 'content-type': 'application/json' }, body }),
    );
    await arrived;
    const responses = await Promise.all(heads);
    expect(responses.map((r) => r.statusCode)).toEqual(Array.from({ length: STREAMS }, () => 200));
    const growth = retained() - before;
    // Held, the bodies would be STREAMS × (raw bytes + parsed string) = 96 MiB.
    expect(growth).toBeLessThan((STREAMS * BODY_MIB * MiB) / 2);
    for (const res of upstream.held.splice(0)) res.end(completed('r'));
    const texts = await Promise.all(responses.map((r) => r.body.text()));
    expect(texts.every((t) => t.endsWith(completed('r')))).toBe(true);
    await caller.close();
    // What telemetry needs from the body was kept: its parameters, not its content.
    const ops = (await waitForServerSpans(kit, STREAMS)).filter((span) => span.name === 'chat m');
    expect(ops).toHaveLength(STREAMS);
    expect(ops.map((span) => span.attributes['gen_ai.request.temperature'])).toEqual(Array.from({ length: STREAMS }, () => 0.5));
    expect(ops[0]?.attributes['gen_ai.input.messages']).toBeUndefined();
  });

  it('a large body (handed to undici as an iterable) is sent whole on every attempt, with its content-length', async () => {
    const body = Buffer.from(JSON.stringify({ model: 'm', stream: true, input: 'b'.repeat(2 * MiB) }));
    const recording = await startFakeUpstream([json(500, { error: { message: 'again', type: 'server_error', param: null, code: null } }), sse(completed('r'))]);
    const other = await createProxy({ upstream: `${recording.url}/v1`, port: 0, requestMaxRetries: 2 });
    try {
      const res = await fetch(`${other.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(completed('r'));
      expect(recording.calls).toHaveLength(2);
      for (const call of recording.calls) {
        expect(call.body.equals(body)).toBe(true);
        expect(call.headers['content-length']).toBe(String(body.length));
        expect(call.headers['transfer-encoding']).toBeUndefined();
      }
    } finally {
      await other.shutdown(0);
      await recording.close();
    }
  });
});
