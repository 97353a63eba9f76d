/**
 * The benchmark's load client, run as its own process so that its CPU is not the target's: it
 * drives one target (a base URL) with a fixed concurrency for a fixed time and prints one JSON
 * line of results. Latencies come from the simulator's `t_ns` stamps (CLOCK_MONOTONIC, shared by
 * every process on the machine), so they are one-way: upstream send to client receipt.
 */
import { Agent, request } from 'undici';
import WebSocket from 'ws';

/** What one run measured. */
export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  /** Time to first event per request, ms (for JSON: time to the whole body). */
  readonly ttfeMs: number[];
  /** One-way latency of streamed events, µs (a bounded sample). */
  readonly eventUs: number[];
  readonly clientCpuMs: number;
  readonly clientEventLoopUtilization: number;
}

/** What to run. */
export interface LoadSpec {
  readonly baseUrl: string;
  readonly mode: 'sse' | 'json' | 'ws';
  readonly concurrency: number;
  readonly seconds: number;
  readonly events: number;
  readonly gapMs: number;
}

const STAMP = /"t_ns":"(\d+)"/g;
const MAX_EVENT_SAMPLES = 200_000;

function now(): bigint {
  return process.hrtime.bigint();
}

class Recorder {
  requests = 0;
  errors = 0;
  readonly ttfe: number[] = [];
  readonly events: number[] = [];
  #seen = 0;

  stamps(text: string, at: bigint): number {
    let count = 0;
    STAMP.lastIndex = 0;
    for (let m = STAMP.exec(text); m !== null; m = STAMP.exec(text)) {
      count++;
      this.#seen++;
      const us = Number(at - BigInt(m[1] as string)) / 1000;
      // Reservoir sampling keeps the sample unbiased and bounded.
      if (this.events.length < MAX_EVENT_SAMPLES) this.events.push(us);
      else {
        const j = Math.floor(Math.random() * this.#seen);
        if (j < MAX_EVENT_SAMPLES) this.events[j] = us;
      }
    }
    return count;
  }
}

function body(spec: LoadSpec, i: number): string {
  return JSON.stringify({ model: 'gpt-5.1', input: `bench request ${i}`, stream: spec.mode === 'sse' });
}

async function httpLoop(spec: LoadSpec, rec: Recorder, dispatcher: Agent, deadline: bigint, worker: number): Promise<void> {
  const headers = { 'content-type': 'application/json', authorization: 'Bearer sk-bench', 'x-sim-events': String(spec.events), 'x-sim-gap-ms': String(spec.gapMs) };
  for (let i = 0; now() < deadline; i++) {
    const started = now();
    try {
      const res = await request(`${spec.baseUrl}/responses`, { method: 'POST', headers, body: body(spec, worker * 1_000_000 + i), dispatcher });
      let first = true;
      let completed = false;
      for await (const chunk of res.body) {
        const at = now();
        const text = (chunk as Buffer).toString('latin1');
        if (spec.mode === 'sse') {
          if (rec.stamps(text, at) > 0 && first) {
            first = false;
            rec.ttfe.push(Number(at - started) / 1e6);
          }
          if (text.includes('response.completed')) completed = true;
        } else if (text.includes('"status":"completed"')) {
          completed = true;
        }
      }
      if (spec.mode === 'json') rec.ttfe.push(Number(now() - started) / 1e6);
      if (res.statusCode !== 200 || !completed) rec.errors++;
    } catch {
      rec.errors++;
    }
    rec.requests++;
  }
}

async function wsLoop(spec: LoadSpec, rec: Recorder, deadline: bigint, worker: number): Promise<void> {
  const url = `${spec.baseUrl.replace(/^http/, 'ws')}/responses`;
  const ws = new WebSocket(url, { headers: { authorization: 'Bearer sk-bench', 'x-sim-events': String(spec.events), 'x-sim-gap-ms': String(spec.gapMs) }, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let onFrame: (text: string, at: bigint) => void = () => undefined;
  ws.on('message', (data: Buffer) => onFrame(data.toString('latin1'), now()));
  for (let i = 0; now() < deadline; i++) {
    const started = now();
    await new Promise<void>((resolve) => {
      let first = true;
      const timer = setTimeout(() => {
        rec.errors++;
        resolve();
      }, 30_000);
      onFrame = (text, at) => {
        if (rec.stamps(text, at) > 0 && first) {
          first = false;
          rec.ttfe.push(Number(at - started) / 1e6);
        }
        if (text.includes('"response.completed"')) {
          clearTimeout(timer);
          resolve();
        }
      };
      ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.1', input: `ws bench ${worker}-${i}` }));
    });
    rec.requests++;
  }
  ws.close();
}

/** Runs one load spec. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const rec = new Recorder();
  const dispatcher = new Agent({ connections: spec.concurrency, keepAliveTimeout: 10_000, pipelining: 1 });
  const cpuStart = process.cpuUsage();
  const eluStart = performance.eventLoopUtilization();
  const started = now();
  const deadline = started + BigInt(Math.round(spec.seconds * 1e9));
  await Promise.all(
    Array.from({ length: spec.concurrency }, (_, w) => (spec.mode === 'ws' ? wsLoop(spec, rec, deadline, w) : httpLoop(spec, rec, dispatcher, deadline, w))),
  );
  const seconds = Number(now() - started) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  await dispatcher.close();
  return {
    requests: rec.requests,
    errors: rec.errors,
    seconds,
    ttfeMs: rec.ttfe,
    eventUs: rec.events,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
    clientEventLoopUtilization: performance.eventLoopUtilization(eluStart).utilization,
  };
}
