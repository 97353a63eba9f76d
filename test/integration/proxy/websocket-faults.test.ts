// Caller faults on the proxy's Responses WebSocket: a caller that resets or closes while modeltap
// waits for the upstream's handshake, a caller whose own handshake is invalid, a bad frame on a
// bridged connection, and a bridged connection flooded with `response.create` frames. In each,
// modeltap stays up, lets go of the upstream, and ends the request's telemetry once.
import { connect as tcpConnect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { noopTelemetry } from '../../../src/proxy/noop-telemetry.js';
import type { ProxyServer } from '../../../src/proxy/server.js';
import { createProxy } from '../../../src/cli/create-proxy.js';
import { BRIDGE_MAX_PENDING_TURNS } from '../../../src/proxy/websocket-http-bridge.js';
import { completed, frame, sse, startFakeUpstream, type Handler } from '../../helpers/fake-upstream.js';
import { simpleTurns, startFakeWsUpstream } from '../../helpers/fake-ws-upstream.js';
import { proxyWithKit, waitForServerSpans, type OtelKit } from '../../helpers/otel-kit.js';

let cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

const SERVER = 1;

/** Rejects unless `promise` settles within `ms`: the bound the acceptance puts on an event, not a sleep. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A raw TCP "upstream" that accepts, reads the upgrade request and never answers it. */
async function hangingUpstream(): Promise<{ url: string; next: () => Promise<{ closed: Promise<void> }> }> {
  const arrived: ((s: { closed: Promise<void> }) => void)[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    let request = '';
    const onData = (chunk: Buffer): void => {
      request += chunk.toString('latin1');
      if (!request.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      // Keep reading (and dropping) so the proxy's FIN is seen and the socket closes.
      socket.resume();
      arrived.shift()?.({ closed });
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    next: () => new Promise((resolve) => arrived.push(resolve)),
  };
}

const withKit = (upstream: string, extra: Parameters<typeof proxyWithKit>[2] = {}): ReturnType<typeof proxyWithKit> => proxyWithKit(upstream, (stop) => cleanup.push(stop), extra);

/** A raw caller that sends a WebSocket upgrade for `/v1/responses` (or the request given). */
async function rawCaller(proxy: ProxyServer, request?: string): Promise<Socket> {
  const { port } = new URL(proxy.url);
  const socket = tcpConnect(Number(port), '127.0.0.1');
  socket.on('error', () => undefined);
  cleanup.push(async () => socket.destroy());
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    request ??
      'GET /v1/responses HTTP/1.1\r\nhost: modeltap\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\nauthorization: Bearer sk-faults\r\n\r\n',
  );
  return socket;
}

async function serverSpan(kit: OtelKit): Promise<ReadableSpan> {
  const spans = await waitForServerSpans(kit, 1);
  const servers = spans.filter((s) => s.kind === SERVER);
  expect(servers).toHaveLength(1);
  return servers[0] as ReadableSpan;
}

async function healthy(proxy: ProxyServer): Promise<void> {
  const res = await fetch(`${proxy.url}/healthz`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'ok' });
}

describe('a caller that leaves during the upstream handshake', () => {
  for (const how of ['reset', 'close'] as const) {
    it(`${how}: modeltap stays up, closes the upstream socket within 1 s, the SERVER span ends aborted`, async () => {
      const upstream = await hangingUpstream();
      const { proxy, kit } = await withKit(`${upstream.url}/v1`);
      const handshake = upstream.next();
      const caller = await rawCaller(proxy);
      // modeltap is now waiting for the upstream's answer to its own upgrade.
      const { closed } = await handshake;
      if (how === 'reset') caller.resetAndDestroy();
      else caller.end();
      await within(closed, 1000, 'the upstream socket closing');
      const span = await serverSpan(kit);
      expect(span.attributes['error.type']).toBe('aborted');
      expect(proxy.inFlight).toBe(0);
      await healthy(proxy);
      // The next WebSocket caller is served as well (its upstream handshake hangs in turn).
      const second = upstream.next();
      const next = await rawCaller(proxy);
      const { closed: secondClosed } = await second;
      next.destroy();
      await within(secondClosed, 1000, 'the second upstream socket closing');
    });
  }
});

describe('a caller that stops reading, then leaves', () => {
  it('modeltap, holding the upstream back, still closes the upstream socket within 1 s', async () => {
    const chunk = JSON.stringify({ type: 'response.output_text.delta', delta: 'x'.repeat(64 * 1024) });
    let blocked: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (blocked = resolve));
    // Sends until its own queue stays over 4 MiB: modeltap has stopped reading it.
    const upstream = await startFakeWsUpstream((_request, _send, connection) => {
      const ws = connection.socket;
      const pump = (): void => {
        for (let i = 0; i < 64 && ws.readyState === WebSocket.OPEN && ws.bufferedAmount < 4 * 1024 * 1024; i++) ws.send(chunk);
        if (ws.bufferedAmount >= 4 * 1024 * 1024) blocked();
        else if (ws.readyState === WebSocket.OPEN) setImmediate(pump);
      };
      pump();
    });
    cleanup.push(() => upstream.close());
    const { proxy } = await withKit(`${upstream.url}/v1`);
    const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`, { headers: { authorization: 'Bearer sk-faults' } });
    ws.on('error', () => undefined);
    cleanup.push(async () => ws.terminate());
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    ws.pause();
    ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.1', input: 'hi' }));
    await held;
    ws.terminate();
    const [connection] = upstream.connections;
    await within(connection?.closed ?? Promise.reject(new Error('no upstream connection')), 1000, 'the upstream WebSocket closing');
    await healthy(proxy);
  });
});

describe('a caller whose own handshake is invalid', () => {
  it('no Sec-WebSocket-Key: ws answers 400, the upstream socket already opened is closed, telemetry ends', async () => {
    const upstream = await startFakeWsUpstream(simpleTurns());
    cleanup.push(() => upstream.close());
    const { proxy, kit } = await withKit(`${upstream.url}/v1`);
    const caller = await rawCaller(proxy, 'GET /v1/responses HTTP/1.1\r\nhost: modeltap\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\n\r\n');
    const answer = await new Promise<string>((resolve) => {
      let got = '';
      caller.on('data', (c: Buffer) => (got += c.toString()));
      caller.once('close', () => resolve(got));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    const span = await serverSpan(kit);
    expect(span.attributes['http.response.status_code']).toBe(400);
    expect(upstream.connections).toHaveLength(1);
    await within(upstream.connections[0]?.closed ?? Promise.reject(new Error('no upstream connection')), 1000, 'the upstream WebSocket closing');
    await healthy(proxy);
  });
});

describe('a fault of modeltap itself while answering the handshake', () => {
  it('a throw after the upstream opened (here: telemetry) drops that connection, not the process', async () => {
    const upstream = await startFakeWsUpstream(simpleTurns());
    cleanup.push(() => upstream.close());
    const telemetry = {
      startRequest: (info: Parameters<typeof noopTelemetry.startRequest>[0]) => ({
        ...noopTelemetry.startRequest(info),
        onHead: () => {
          throw new Error('telemetry fault');
        },
      }),
    };
    const proxy = await createProxy({ upstream: `${upstream.url}/v1`, port: 0, telemetry });
    cleanup.push(() => proxy.shutdown(0));
    const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`, { headers: { authorization: 'Bearer sk-faults' } });
    ws.on('error', () => undefined);
    // Whether modeltap dropped the connection or (with telemetry guarded) serves it, it ends cleanly.
    await new Promise<void>((resolve) => {
      ws.once('open', () => resolve());
      ws.once('close', () => resolve());
    });
    ws.terminate();
    expect(upstream.connections).toHaveLength(1);
    await within(upstream.connections[0]?.closed ?? Promise.reject(new Error('no upstream connection')), 1000, 'the upstream WebSocket closing');
    await healthy(proxy);
  });

  it('--ws-bridge: a throw inside a turn (here: telemetry) closes that connection with 1011, not the process', async () => {
    const upstream = await startFakeUpstream(sse(oneResponse('resp_1')));
    cleanup.push(() => upstream.close());
    const telemetry = {
      startRequest: (info: Parameters<typeof noopTelemetry.startRequest>[0]) => ({
        ...noopTelemetry.startRequest(info),
        startTurn: () => {
          throw new Error('telemetry fault');
        },
      }),
    };
    const proxy = await createProxy({ upstream: `${upstream.url}/v1`, port: 0, telemetry, wsBridge: true });
    cleanup.push(() => proxy.shutdown(0));
    const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`, { headers: { authorization: 'Bearer sk-faults' } });
    ws.on('error', () => undefined);
    cleanup.push(async () => ws.terminate());
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    // Either the turn fails and the connection closes, or (with telemetry guarded) it completes.
    const outcome = new Promise<string>((resolve) => {
      ws.on('message', (data) => {
        if (data.toString().includes('"response.completed"')) resolve('completed');
      });
      ws.once('close', (code) => resolve(`closed ${code}`));
    });
    ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.1', input: 'hi' }));
    expect(['completed', 'closed 1011']).toContain(await outcome);
    await healthy(proxy);
  });
});

/** A Responses SSE stream of one short response. */
function oneResponse(id: string): string[] {
  return [frame({ type: 'response.created', response: { id } }), frame({ type: 'response.output_text.delta', delta: 'hi' }), completed(id)];
}

describe('a bridged connection (--ws-bridge)', () => {
  it(`a flood of 1,000 response.create frames: ${BRIDGE_MAX_PENDING_TURNS} are answered, the rest get too_many_pending_turns, modeltap keeps working`, async () => {
    // The first upstream call waits until every frame reached modeltap, so the queue is full for sure.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let served = 0;
    const handler: Handler = async (req, res) => {
      served++;
      if (served === 1) await gate;
      await sse(oneResponse(`resp_${served}`))(req, res, undefined as never);
    };
    const upstream = await startFakeUpstream(handler);
    cleanup.push(() => upstream.close());
    const { proxy } = await withKit(`${upstream.url}/v1`, { wsBridge: true });
    const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`, { headers: { authorization: 'Bearer sk-bridge' } });
    cleanup.push(async () => ws.terminate());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const frames: Record<string, unknown>[] = [];
    const TOTAL = 1000;
    const refusedAll = new Promise<void>((resolve) =>
      ws.on('message', (data) => {
        frames.push(JSON.parse(data.toString()) as Record<string, unknown>);
        if (frames.filter((f) => f['type'] === 'error').length === TOTAL - BRIDGE_MAX_PENDING_TURNS) resolve();
      }),
    );
    for (let i = 0; i < TOTAL; i++) ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.1', input: `turn ${i}` }));
    await refusedAll;
    const errors = frames.filter((f) => f['type'] === 'error');
    expect(errors[0]).toEqual({
      type: 'error',
      status: 429,
      error: { type: 'invalid_request_error', code: 'too_many_pending_turns', message: expect.stringContaining(`at most ${BRIDGE_MAX_PENDING_TURNS}`) as unknown },
    });
    expect(new Set(errors.map((f) => (f['error'] as { code: string }).code))).toEqual(new Set(['too_many_pending_turns']));
    // At most the first call reached the upstream so far: the others wait their turn.
    expect(upstream.calls.length).toBeLessThanOrEqual(1);
    release();
    for (let i = 0; i < 500 && frames.filter((f) => f['type'] === 'response.completed').length < BRIDGE_MAX_PENDING_TURNS; i++) await new Promise((r) => setTimeout(r, 10));
    expect(frames.filter((f) => f['type'] === 'response.completed')).toHaveLength(BRIDGE_MAX_PENDING_TURNS);
    expect(upstream.calls.length).toBe(BRIDGE_MAX_PENDING_TURNS);
    ws.close();
    // A later turn on a new connection succeeds.
    const next = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`, { headers: { authorization: 'Bearer sk-bridge' } });
    cleanup.push(async () => next.terminate());
    const done = new Promise<Record<string, unknown>>((resolve) =>
      next.on('message', (data) => {
        const f = JSON.parse(data.toString()) as Record<string, unknown>;
        if (f['type'] === 'response.completed' || f['type'] === 'error') resolve(f);
      }),
    );
    await new Promise<void>((resolve) => next.once('open', () => resolve()));
    next.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.1', input: 'later' }));
    expect((await done)['type']).toBe('response.completed');
  });

  it('a frame larger than the limit closes the connection with 1009; modeltap stays up', async () => {
    const upstream = await startFakeUpstream(sse(oneResponse('resp_1')));
    cleanup.push(() => upstream.close());
    const { proxy, kit } = await withKit(`${upstream.url}/v1`, { wsBridge: true, maxBodyBytes: 1024 });
    const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`, { headers: { authorization: 'Bearer sk-bridge' } });
    ws.on('error', () => undefined);
    cleanup.push(async () => ws.terminate());
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.1', input: 'x'.repeat(4096) }));
    expect(await closed).toBe(1009);
    await serverSpan(kit);
    await healthy(proxy);
  });
});
