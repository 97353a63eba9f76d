// The shipped nginx config (deploy/nginx/modeltap.conf) in front of three `modeltap serve`
// replicas, each with a simulator of its own as upstream, so each simulator's log says which
// replica served a request. Codex-style conversations (a `session_id` each, several turns, a third
// over WebSocket) must land each on one replica; a replica sent SIGTERM mid-run must answer 503 on
// /readyz while it still serves, finish its in-flight streams, exit 0, and no caller may see an
// error (a WebSocket closed between turns is reopened, as Codex does).
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startSim, type Sim } from '../../src/sim/sim-server.js';
import { startNginx, type Nginx } from '../helpers/nginx.js';
import { startCli, type RunningCli } from './cli.js';

const CONVERSATIONS = 300;
const DRAIN_DELAY_MS = 3000;

let sims: Sim[] = [];
let replicas: RunningCli[] = [];
let nginx: Nginx;

beforeAll(async () => {
  sims = await Promise.all([0, 1, 2].map(() => startSim({ events: 3 })));
  replicas = await Promise.all(sims.map((sim) => startCli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`, '--store', 'off', '--drain-delay-ms', String(DRAIN_DELAY_MS)])));
  nginx = await startNginx(replicas.map((r) => r.url.replace('http://', '')));
}, 60_000);

afterAll(async () => {
  await nginx?.stop();
  await Promise.all(replicas.map((r) => r.stop()));
  await Promise.all(sims.map((s) => s.close()));
});

/** What callers saw. */
const seen = { errors: [] as string[], wsReopened: 0, wsResent: 0 };

/** One streamed turn over HTTP; throws unless it completed. */
async function httpTurn(session: string, sim: Record<string, string>): Promise<void> {
  const res = await fetch(`${nginx.url}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', session_id: session, ...sim },
    body: JSON.stringify({ model: 'gpt-5.1-codex', input: 'x', stream: true }),
  });
  const text = await res.text();
  if (res.status !== 200 || !text.includes('response.completed')) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
}

function openSocket(session: string, sim: Record<string, string>): Promise<WebSocket> {
  const ws = new WebSocket(`${nginx.url.replace('http', 'ws')}/v1/responses`, { headers: { session_id: session, ...sim } });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
  });
}

/** One turn on an open socket: `completed`, or `closed` when it closed before any event of the turn. */
function wsTurn(ws: WebSocket): Promise<'completed' | 'closed'> {
  return new Promise((resolve, reject) => {
    let events = 0;
    const onMessage = (data: Buffer): void => {
      events++;
      const type = (JSON.parse(data.toString()) as { type: string }).type;
      if (type === 'response.completed') done(() => resolve('completed'));
      else if (type === 'error' || type === 'response.failed') done(() => reject(new Error(`turn failed: ${data.toString().slice(0, 200)}`)));
    };
    const onClose = (code: number): void => done(() => (events === 0 ? resolve('closed') : reject(new Error(`closed ${code} mid-turn after ${events} events`))));
    const done = (then: () => void): void => {
      ws.off('message', onMessage);
      ws.off('close', onClose);
      then();
    };
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.1-codex', input: [{ type: 'message', role: 'user', content: 'x' }] }));
  });
}

/** A Codex-style conversation of `turns` turns; records (never throws) what went wrong. */
async function conversation(session: string, turns: number, websocket: boolean, sim: Record<string, string>, onTurn: () => void): Promise<void> {
  let ws: WebSocket | undefined;
  try {
    for (let t = 0; t < turns; t++) {
      if (!websocket) {
        await httpTurn(session, sim);
        onTurn();
        continue;
      }
      // Codex reopens a socket the server closed, and sends a turn again when it got nothing of it.
      for (let attempt = 0; ; attempt++) {
        if (attempt > 3) throw new Error('turn not answered after 3 reconnects');
        if (ws === undefined || ws.readyState !== WebSocket.OPEN) {
          if (ws !== undefined) seen.wsReopened++;
          ws = await openSocket(session, sim);
          ws.on('error', () => undefined);
        }
        if ((await wsTurn(ws)) === 'completed') break;
        seen.wsResent++;
      }
      onTurn();
    }
  } catch (error) {
    seen.errors.push(`${session}: ${(error as Error).message}`);
  } finally {
    if (ws !== undefined && ws.readyState === WebSocket.OPEN) {
      ws.close();
      await once(ws, 'close');
    }
  }
}

/** Runs `jobs` with at most `limit` at once. */
async function pool(jobs: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < jobs.length) await jobs[next++]?.();
    }),
  );
}

const sessionOf = (i: number): string => `0199a1b2-c3d4-7e5f-8a9b-${String(i).padStart(12, '0')}`;
const isWebSocket = (i: number): boolean => i % 3 === 0;

/** Which simulators (so which replicas) saw each session, from entry `from` of each log on. */
function placement(from: readonly number[] = [0, 0, 0]): Map<string, Set<number>> {
  const where = new Map<string, Set<number>>();
  sims.forEach((sim, r) => {
    for (const entry of sim.log.slice(from[r])) {
      const session = entry.headers['session_id'];
      if (typeof session !== 'string') continue;
      const set = where.get(session) ?? new Set<number>();
      set.add(r);
      where.set(session, set);
    }
  });
  return where;
}

describe('nginx in front of three replicas', () => {
  let home: Map<string, number>;

  it(`${CONVERSATIONS} conversations land each on one replica, over HTTP and WebSocket`, async () => {
    let turns = 0;
    const jobs = Array.from({ length: CONVERSATIONS }, (_, i) => () => conversation(sessionOf(i), 3, isWebSocket(i), {}, () => turns++));
    await pool(jobs, 24);
    expect(seen.errors).toEqual([]);
    expect(turns).toBe(CONVERSATIONS * 3);
    const where = placement();
    expect(where.size).toBe(CONVERSATIONS);
    for (const [session, set] of where) expect([session, set.size]).toEqual([session, 1]);
    home = new Map([...where].map(([s, set]) => [s, [...set][0] as number]));
    // The hash spreads them: every replica has a share.
    for (const r of [0, 1, 2]) expect([...home.values()].filter((h) => h === r).length).toBeGreaterThan(CONVERSATIONS / 10);
    // Every turn reached an upstream exactly once (an HTTP request or a WebSocket frame).
    expect(sims.reduce((n, s) => n + s.log.length, 0)).toBe(CONVERSATIONS * 3);
  }, 180_000);

  it('streams pass unbuffered: the first event reaches the caller while the upstream is still sending', async () => {
    const session = sessionOf(CONVERSATIONS + 1);
    const res = await fetch(`${nginx.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', session_id: session, 'x-sim-events': '200', 'x-sim-gap-ms': '10' },
      body: JSON.stringify({ model: 'gpt-5.1-codex', input: 'x', stream: true }),
    });
    // (nginx consumes modeltap's `X-Accel-Buffering: no`: it never passes X-Accel-* headers on.)
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value ?? []).toString()).toContain('event: response.created');
    const entry = sims.flatMap((sim) => sim.log).find((e) => e.headers['session_id'] === session);
    expect(entry?.endedAt).toBeUndefined();
    await reader.cancel();
  });

  it('a replica sent SIGTERM mid-run drains through /readyz, finishes its streams and exits 0; no caller sees an error', async () => {
    const drained = 1;
    const target = replicas[drained] as RunningCli;
    const before = sims.map((s) => s.log.length);
    const sessions = Array.from({ length: 150 }, (_, i) => i);
    let turns = 0;
    let signalledAt: number[] | undefined;
    const readiness: number[] = [];
    let signalled!: () => void;
    const signal = new Promise<void>((resolve) => (signalled = resolve));
    const onTurn = (): void => {
      turns++;
      if (turns === 90) signalled();
    };
    // Slower streams, so that some are in flight when the listener closes.
    const slow = { 'x-sim-events': '8', 'x-sim-gap-ms': '15' };
    const traffic = pool(
      sessions.map((i) => () => conversation(sessionOf(i), 4, isWebSocket(i), slow, onTurn)),
      24,
    );
    await signal;
    signalledAt = sims.map((s) => s.log.length);
    target.proc.kill('SIGTERM');
    // Its readiness fails while it still listens, until the listener closes.
    for (let i = 0; i < 2000; i++) {
      const status = await fetch(`${target.url}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      if (readiness.at(-1) !== status) readiness.push(status);
      if (status === 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await traffic;
    expect(await target.exited).toBe(0);
    expect(seen.errors).toEqual([]);
    expect(turns).toBe(sessions.length * 4);
    // 503 was seen before the listener closed (0: refused); a 200 may come first, before the signal lands.
    expect(readiness.filter((s) => s !== 200)).toEqual([503, 0]);
    expect(target.stderr()).toContain('SIGTERM: draining: /readyz answers 503');
    const drainedSim = sims[drained] as Sim;
    // It went on serving during the drain delay, and cut nothing short.
    expect(drainedSim.log.length).toBeGreaterThan(signalledAt[drained] as number);
    expect(drainedSim.log.slice(before[drained]).filter((e) => e.abortedByCaller === true)).toEqual([]);
    const after = placement(before);
    for (const [session, set] of after) {
      const was = home.get(session);
      if (was === undefined) continue;
      // Conversations of the other replicas stay where they were (consistent hashing) ...
      if (was !== drained) expect([session, [...set]]).toEqual([session, [was]]);
    }
    // ... and those of the drained replica moved on to the others once it left.
    const moved = [...after].filter(([s, set]) => home.get(s) === drained && [...set].some((r) => r !== drained));
    expect(moved.length).toBeGreaterThan(0);
    console.log(`drain: readiness ${readiness.join(' → ')}, ${moved.length} conversations moved, ${seen.wsReopened} sockets reopened, ${seen.wsResent} turns sent again`);
  }, 180_000);
});
