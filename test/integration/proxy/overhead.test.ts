// modeltap's overhead is an accounting identity, not a speed: everything a caller waits for before
// the response head is either modeltap's (`Server-Timing: modeltap`, `modeltap.proxy.overhead`) or
// the upstream's (`upstream`), and the upstream's share is what the upstream itself took, plus the
// loopback wire. The caller and the upstream run in a worker thread, so that modeltap's own event
// loop never delays their clocks; only durations cross threads. Credentials that take 20 ms to
// load are modeltap's work and must show there (main counted them as the upstream's).
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { CredentialSource } from '../../../src/client/auth.js';
import type { ProxyServer } from '../../../src/proxy/server.js';
import { createProxy } from '../../../src/cli/create-proxy.js';
import { otelKit, type OtelKit } from '../../helpers/otel-kit.js';

/** How far apart two accounts of one interval may be: the loopback wire, both ways. */
const TOLERANCE_MS = 0.5;
/**
 * The same for the upstream's share, which also holds undici's own deferral of a request on a
 * reused connection (it writes it one event-loop turn later, after checking the socket is still
 * good): the core hands the request over and cannot see that write.
 */
const UPSTREAM_TOLERANCE_MS = 1;
/** toFixed(3) in Server-Timing rounds each value by up to 0.0005 ms. */
const ROUNDING_MS = 0.002;
/** Each case is measured up to this many times (after a warm-up): see {@link settle}. */
const TRIES = 20;

/**
 * The world outside modeltap, in one worker thread, speaking HTTP/1.1 on raw sockets so that
 * neither side's timestamps include an HTTP library's own work: scripted upstreams that record
 * when each request had arrived and when the part the caller's head waits for was written, and a
 * caller with one kept-alive connection (so its clock never includes a TCP connect modeltap does
 * not see) that times each request from just before writing it to the first bytes of the answer.
 * What an upstream sends after that part waits until the caller has its head, so that modeltap
 * relaying it cannot hold up the caller either.
 */
const PEERS = String.raw`
const { parentPort } = require('node:worker_threads');
const net = require('node:net');
const after = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const servers = [];
const spans = [];
let holds = [];
const held = () => new Promise((resolve) => holds.push(resolve));
const SSE = 'event: response.created\ndata: {"type":"response.created","response":{"id":"resp_1"}}\n\n'
  + 'event: response.completed\ndata: {"type":"response.completed","response":{"id":"resp_1"}}\n\n';
const JSON_BODY = '{"id":"resp_1","object":"response","status":"completed","output":[]}';
const RATE_LIMITED = '{"error":{"message":"slow down","type":"rate_limit_exceeded","code":"rate_limit_exceeded"}}';
const BOOM = '{"error":{"message":"boom","type":"server_error","code":null}}';
const chunk = (text) => Buffer.byteLength(text).toString(16) + '\r\n' + text + '\r\n';
const whole = (status, body) => 'HTTP/1.1 ' + status + ' X\r\ncontent-type: application/json\r\ncontent-length: ' + Buffer.byteLength(body) + '\r\n\r\n' + body;
async function sse(socket, done) {
  await after(50);
  socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n');
  done();
  await held();
  socket.write(chunk(SSE) + '0\r\n\r\n');
}
let attempts = 0;
const scripts = {
  sse,
  async json(socket, done) {
    await after(50);
    socket.write(whole(200, JSON_BODY));
    done();
  },
  async jsonLagging(socket, done) {
    await after(30);
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n');
    await after(20);
    socket.write(chunk(JSON_BODY) + '0\r\n\r\n');
    done();
  },
  async rateLimited(socket, done) {
    await after(50);
    socket.write(whole(429, RATE_LIMITED));
    done();
  },
  // Odd requests fail after 10 ms, even ones stream after 50 ms: one retry per call.
  async flaky(socket, done) {
    if (attempts++ % 2 === 1) return sse(socket, done);
    await after(10);
    socket.write(whole(500, BOOM));
    done();
  },
  async hang(_socket, done) {
    done();
  },
  // Odd requests are refused with a 401 after 10 ms, even ones stream after 50 ms.
  async unauthorized(socket, done) {
    if (attempts++ % 2 === 1) return sse(socket, done);
    await after(10);
    socket.write(whole(401, '{"error":{"message":"token expired","type":"invalid_request_error","code":"token_expired"}}'));
    done();
  },
};
/** Splits one HTTP/1.1 message off the front of buf: [head, bodyLength, total] or undefined when incomplete. */
function framed(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const head = buf.subarray(0, end).toString('latin1');
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  if (length !== null) return buf.length >= end + 4 + Number(length[1]) ? [head, end + 4 + Number(length[1])] : undefined;
  if (!/\r\ntransfer-encoding: *chunked/i.test(head)) return [head, end + 4];
  const last = buf.indexOf('\r\n0\r\n\r\n', end + 4 - 2);
  return last === -1 ? undefined : [head, last + 7];
}
const caller = { socket: undefined, port: 0, buf: Buffer.alloc(0), onData: undefined };
async function connectCaller(port) {
  if (caller.socket !== undefined && caller.port === port && !caller.socket.destroyed) return;
  caller.socket?.destroy();
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  caller.socket = socket;
  caller.port = port;
  caller.buf = Buffer.alloc(0);
  socket.on('data', (data) => caller.onData?.(data));
  socket.on('error', () => undefined);
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
}
parentPort.on('message', async (msg) => {
  try {
    if (msg.kind === 'upstream') {
      const script = scripts[msg.script];
      const sockets = new Set();
      const server = net.createServer((socket) => {
        sockets.add(socket);
        socket.setNoDelay(true);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
        let buf = Buffer.alloc(0);
        socket.on('data', (data) => {
          buf = Buffer.concat([buf, data]);
          for (let message = framed(buf); message !== undefined; message = framed(buf)) {
            buf = buf.subarray(message[1]);
            const span = { start: performance.now(), end: NaN };
            spans.push(span);
            script(socket, () => { span.end = performance.now(); }).catch(() => socket.destroy());
          }
        });
      });
      servers.push({ server, sockets });
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      parentPort.postMessage({ port: server.address().port });
    } else if (msg.kind === 'call') {
      await connectCaller(msg.port);
      const first = spans.length;
      const request = Buffer.from('POST ' + msg.path + ' HTTP/1.1\r\nhost: 127.0.0.1:' + msg.port + '\r\n'
        + Object.entries(msg.headers).map(([name, value]) => name + ': ' + value + '\r\n').join('') + '\r\n' + msg.body);
      let headAt;
      const answer = new Promise((resolve, reject) => {
        caller.onData = (data) => {
          headAt ??= performance.now();
          for (const release of holds.splice(0)) release();
          caller.buf = Buffer.concat([caller.buf, data]);
          const message = framed(caller.buf);
          if (message === undefined) return;
          caller.buf = caller.buf.subarray(message[1]);
          resolve(message[0]);
        };
        caller.socket.once('close', () => reject(new Error('modeltap closed the connection')));
      });
      const sentAt = performance.now();
      caller.socket.write(request);
      const head = await answer;
      const lines = head.split('\r\n');
      const serverTiming = lines.filter((line) => /^server-timing:/i.test(line)).map((line) => line.slice(line.indexOf(':') + 1).trim()).join(', ');
      const mine = spans.slice(first);
      const a = mine[0];
      const z = mine[mine.length - 1];
      parentPort.postMessage({
        status: Number(lines[0].split(' ')[1]),
        callerMs: headAt - sentAt,
        serverTiming,
        upstreamRequests: mine.length,
        upstreamMs: a === undefined || z === undefined ? null : z.end - a.start,
        upstreamEachMs: mine.reduce((ms, span) => ms + (span.end - span.start), 0),
      });
    } else if (msg.kind === 'close') {
      for (const release of holds.splice(0)) release();
      caller.socket?.destroy();
      for (const { server, sockets } of servers) {
        for (const socket of sockets) socket.destroy();
        server.close();
      }
      parentPort.postMessage({ closed: true });
    }
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message) });
  }
});
`;

/** Upstream behaviours {@link PEERS} knows. */
type Script = 'sse' | 'json' | 'jsonLagging' | 'rateLimited' | 'flaky' | 'hang' | 'unauthorized';

/** What the peers saw of one call. */
interface PeerView {
  readonly status: number;
  /** From just before sending to the response head, in ms. */
  readonly callerMs: number;
  readonly serverTiming: string;
  readonly upstreamRequests: number;
  /** From the first upstream request's arrival to the last one's answer, in ms; null when none came. */
  readonly upstreamMs: number | null;
  /** Each upstream request's arrival to its answer, summed, in ms. */
  readonly upstreamEachMs: number;
}

interface Peers {
  upstream(script: Script): Promise<string>;
  call(port: number, call: Call): Promise<PeerView>;
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function startPeers(): Promise<Peers> {
  const worker = new Worker(PEERS, { eval: true });
  const ask = <T>(message: Record<string, unknown>): Promise<T> =>
    new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      worker.once('error', onError);
      worker.once('message', (reply: T & { error?: string }) => {
        worker.off('error', onError);
        if (reply.error !== undefined) reject(new Error(reply.error));
        else resolve(reply);
      });
      worker.postMessage(message);
    });
  cleanup.push(async () => {
    await ask({ kind: 'close' });
    await worker.terminate();
  });
  return {
    upstream: async (script) => `http://127.0.0.1:${(await ask<{ port: number }>({ kind: 'upstream', script })).port}`,
    call: (port, call) =>
      ask<PeerView>({ kind: 'call', port, path: call.path, body: call.body, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(call.body)) } }),
  };
}

/**
 * Credentials that take `ms` to load (a token read on every request) and as long again to refresh
 * after a 401; `loadedMs` is the time spent in both so far.
 */
function slowCredentials(ms: number): { source: CredentialSource; loadedMs: () => number } {
  let total = 0;
  const slow = <T>(value: T): Promise<T> => {
    const start = performance.now();
    return new Promise((resolve) =>
      setTimeout(() => {
        total += performance.now() - start;
        resolve(value);
      }, ms),
    );
  };
  const source: CredentialSource = {
    description: 'slow test credentials',
    credentials: () => slow({ mode: 'api_key', token: 'test-key' }),
    unauthorizedRecovery: () => {
      let steps = 1;
      return { hasNext: () => steps > 0, next: () => slow(steps--).then(() => undefined) };
    },
  };
  return { source, loadedMs: () => total };
}

interface Call {
  readonly path: string;
  readonly body: string;
}

const STREAM: Call = { path: '/v1/responses', body: JSON.stringify({ model: 'gpt-5.1-codex', input: 'hi', stream: true }) };
const UNARY: Call = { path: '/v1/responses', body: JSON.stringify({ model: 'gpt-5.1-codex', input: 'hi', stream: false }) };

interface Rig {
  readonly kit: OtelKit;
  readonly proxy: ProxyServer;
  readonly port: number;
  readonly peers: Peers;
  readonly credentials: ReturnType<typeof slowCredentials>;
}

async function rig(peers: Peers, upstreamUrl: string, extra: Partial<Parameters<typeof createProxy>[0]> = {}): Promise<Rig> {
  const kit = otelKit();
  const credentials = slowCredentials(20);
  const proxy = await createProxy({
    upstream: `${upstreamUrl}/v1`,
    port: 0,
    requestMaxRetries: 0,
    auth: credentials.source,
    ...extra,
    ...(kit.runtime.telemetry ? { telemetry: kit.runtime.telemetry } : {}),
  });
  cleanup.push(() => proxy.shutdown(0), () => kit.runtime.shutdown());
  return { kit, proxy, port: (proxy.server.address() as AddressInfo).port, peers, credentials };
}

async function withUpstream(script: Script, extra: Partial<Parameters<typeof createProxy>[0]> = {}): Promise<Rig> {
  const peers = await startPeers();
  return rig(peers, await peers.upstream(script), extra);
}

/** What one measured request showed, in ms. */
interface Measure {
  readonly view: PeerView;
  readonly modeltapMs: number;
  readonly upstreamMs: number;
  /** The `modeltap.proxy.overhead` value recorded for it (undefined when none was). */
  readonly metricMs: number | undefined;
  /** Time spent loading and refreshing credentials during it. */
  readonly credentialMs: number;
}

function parseServerTiming(text: string): { modeltap: number; upstream: number } {
  const match = /modeltap;dur=(\d+\.\d+), upstream;dur=(\d+\.\d+)/.exec(text);
  if (match?.[1] === undefined || match[2] === undefined) throw new Error(`no modeltap Server-Timing in ${JSON.stringify(text)}`);
  return { modeltap: Number(match[1]), upstream: Number(match[2]) };
}

/** The sum and count of every `modeltap.proxy.overhead` data point, in ms. */
async function overheadMetric(kit: OtelKit): Promise<{ sum: number; count: number }> {
  let sum = 0;
  let count = 0;
  for (const point of (await kit.metrics()).get('modeltap.proxy.overhead')?.points ?? []) {
    if (typeof point.value === 'number') continue;
    sum += point.value.sum ?? 0;
    count += point.value.count;
  }
  return { sum: sum * 1000, count };
}

async function measure(r: Rig, call: Call): Promise<Measure> {
  const before = await overheadMetric(r.kit);
  const loadedBefore = r.credentials.loadedMs();
  const view = await r.peers.call(r.port, call);
  const timing = parseServerTiming(view.serverTiming);
  const after = await overheadMetric(r.kit);
  return {
    view,
    modeltapMs: timing.modeltap,
    upstreamMs: timing.upstream,
    metricMs: after.count === before.count ? undefined : after.sum - before.sum,
    credentialMs: r.credentials.loadedMs() - loadedBefore,
  };
}

/**
 * What a case records: the metric (relayed 2xx heads only); whether an upstream saw it and
 * answered, and whether modeltap worked between its attempts (`apart`: a 401 refresh), so that the
 * upstream's share is its attempts' own times rather than everything from the first to the last.
 */
interface Shape {
  readonly metric: boolean;
  readonly upstream: 'answers' | 'apart' | 'silent' | 'none';
  /** How much the wire may add to the caller's wait, in ms. Default {@link TOLERANCE_MS}. */
  readonly wireMs?: number;
}

/** One check of a measure: `value` (ms) must lie in [min, max]. */
interface Check {
  readonly value: number;
  readonly min: number;
  readonly max: number;
}

function checks(m: Measure, shape: Shape): Record<string, Check> {
  // Server-Timing is taken before the head is written, so the caller's wait holds all of it, plus
  // the wire both ways.
  const contained = (value: number): Check => ({ value, min: -ROUNDING_MS, max: shape.wireMs ?? TOLERANCE_MS });
  // A timestamp taken just after a write can follow the peer thread's read of it.
  const within = (value: number, tolerance = TOLERANCE_MS): Check => ({ value, min: -tolerance, max: tolerance });
  const out: Record<string, Check> = {
    'caller − (Server-Timing modeltap + upstream)': contained(m.view.callerMs - (m.modeltapMs + m.upstreamMs)),
    // Loading the credentials is modeltap's work, all of it.
    'Server-Timing modeltap − credential load': { value: m.modeltapMs - m.credentialMs, min: -ROUNDING_MS, max: Infinity },
  };
  if (shape.metric) {
    const metric = m.metricMs ?? Number.NaN;
    out['caller − (metric + Server-Timing upstream)'] = within(m.view.callerMs - (metric + m.upstreamMs));
    // The metric is taken once the head is written, Server-Timing just before writing it.
    out['metric − Server-Timing modeltap'] = contained(metric - m.modeltapMs);
  }
  if (shape.upstream === 'answers') {
    // The upstream's share is what the upstream took (from the first attempt's arrival on, so
    // retries and backoff included), plus the wire both ways.
    out['Server-Timing upstream − the upstream’s own time'] = within(m.view.upstreamMs === null ? Number.NaN : m.upstreamMs - m.view.upstreamMs, UPSTREAM_TOLERANCE_MS);
  } else if (shape.upstream === 'apart') {
    // Each attempt and its wire are the upstream's; what modeltap did between them is not.
    out['Server-Timing upstream − the upstream’s own times'] = within(m.upstreamMs - m.view.upstreamEachMs, 2 * UPSTREAM_TOLERANCE_MS);
  }
  return out;
}

/** How far outside its bounds a check is (0 inside, Infinity when it could not be computed). */
function outside(check: Check): number {
  if (Number.isNaN(check.value)) return Infinity;
  return Math.max(0, check.min - check.value, check.value - check.max);
}

const describeMeasure = (m: Measure): string =>
  `caller ${m.view.callerMs.toFixed(3)} ms; Server-Timing modeltap ${m.modeltapMs}, upstream ${m.upstreamMs}; metric ${m.metricMs?.toFixed(3)}; credentials ${m.credentialMs.toFixed(3)}; the upstream's own ${m.view.upstreamMs?.toFixed(3)}`;

/**
 * Measures a case after a warm-up, up to {@link TRIES} times, and holds each check to the try
 * that came closest to it. The wire adds to the caller's and the upstream's side of an account,
 * by more when this loaded machine is slow to run a thread, so some tries miss by more than the
 * tolerance on a busy machine; a dishonest account (main counted the credential load as the
 * upstream's) misses by its error in every try.
 */
async function settle(r: Rig, call: Call, status: number, shape: Shape, tries = TRIES): Promise<Measure> {
  await measure(r, call);
  const closest = new Map<string, { check: Check; m: Measure }>();
  let last: Measure | undefined;
  for (let i = 0; i < tries; i++) {
    const m = await measure(r, call);
    last = m;
    expect(m.view.status).toBe(status);
    expect(m.metricMs === undefined, 'whether modeltap.proxy.overhead was recorded').toBe(!shape.metric);
    expect(m.view.upstreamRequests > 0, 'whether an upstream saw the request').toBe(shape.upstream !== 'none');
    for (const [what, check] of Object.entries(checks(m, shape))) {
      const seen = closest.get(what);
      if (seen === undefined || outside(check) < outside(seen.check)) closest.set(what, { check, m });
    }
    if ([...closest.values()].every(({ check }) => outside(check) === 0)) break;
  }
  if (last === undefined) throw new Error('nothing measured');
  for (const [what, { check, m }] of closest) {
    expect(check.value, `${what} (${describeMeasure(m)})`).toBeGreaterThanOrEqual(check.min);
    expect(check.value, `${what} (${describeMeasure(m)})`).toBeLessThanOrEqual(check.max);
  }
  return last;
}

describe('overhead + upstream = what the caller saw', () => {
  it('an SSE stream (upstream head after 50 ms)', async () => {
    await settle(await withUpstream('sse'), STREAM, 200, { metric: true, upstream: 'answers' });
  });

  it('a JSON response (head and body together after 50 ms)', async () => {
    await settle(await withUpstream('json'), UNARY, 200, { metric: true, upstream: 'answers' });
  });

  it('a JSON response whose body lags its head by 20 ms: its head leaves with the first bytes', async () => {
    await settle(await withUpstream('jsonLagging'), UNARY, 200, { metric: true, upstream: 'answers' });
  });

  it('an upstream error answer relayed (429 after 50 ms)', async () => {
    await settle(await withUpstream('rateLimited'), STREAM, 429, { metric: false, upstream: 'answers' });
  });

  it('a retry: the failed attempt and the backoff after it are the upstream’s time', async () => {
    await settle(await withUpstream('flaky', { requestMaxRetries: 1 }), STREAM, 200, { metric: true, upstream: 'answers' });
  });

  it('a 401 recovery: the refused attempt is the upstream’s time, the token refresh modeltap’s', async () => {
    await settle(await withUpstream('unauthorized'), STREAM, 200, { metric: true, upstream: 'apart' });
  });

  it('an upstream that never answers (504 after the idle timeout)', async () => {
    // undici's header timer ticks once a second, so each try takes about one: fewer of them.
    // After a second with nothing to do, the answer leaves a cold event loop: on Node 22 under CI load
    // the wire took 0.55 ms in the closest of 12 tries. A dishonest account misses by the 20 ms of
    // the credential load, so 1 ms still tells them apart.
    const m = await settle(await withUpstream('hang', { streamIdleTimeoutMs: 100 }), STREAM, 504, { metric: false, upstream: 'silent', wireMs: 1 }, 12);
    // The wait for the idle timeout is the upstream's.
    expect(m.upstreamMs).toBeGreaterThanOrEqual(100);
  }, 40_000);

  it('an unreachable upstream (502)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    // As the 504 case: the caller's side of this account missed the 0.5 ms tolerance by 0.08 ms
    // once in CI (Node 22, loaded); a dishonest account misses by the credential load (~20 ms
    // here), so 1 ms over 12 tries still tells them apart.
    await settle(await rig(await startPeers(), `http://127.0.0.1:${port}`), STREAM, 502, { metric: false, upstream: 'none', wireMs: 1 }, 12);
  }, 40_000);

  it('a request refused before the upstream: a bad body (400), a missing access key (401)', async () => {
    const peers = await startPeers();
    const upstream = await peers.upstream('json');
    const m400 = await settle(await rig(peers, upstream), { path: '/v1/responses', body: '{not json' }, 400, { metric: false, upstream: 'none' });
    const m401 = await settle(await rig(peers, upstream, { accessKey: 'secret' }), STREAM, 401, { metric: false, upstream: 'none' });
    expect([m400.upstreamMs, m401.upstreamMs]).toEqual([0, 0]);
  });
});
