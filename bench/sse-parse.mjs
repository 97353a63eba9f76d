#!/usr/bin/env node
// Microbenchmark of the SSE parsing hot path (not a test; prints CPU ns per event).
//
//   npm run build && node bench/sse-parse.mjs [distDir ...]
//
// It runs against builds (default ./dist), so one run compares e.g. main's and a branch's: build
// main into another directory and pass both; their rounds are interleaved. Streams: the
// simulator's typical turn (src/sim, 50 deltas, read from a real sim over loopback) and the
// Codex-shaped tool-call fixture (test/fixtures/sse/responses-tool-call.sse, repeated, also with
// CRLF endings), each cut into one chunk per frame (how the sim writes) and into 16 KiB chunks
// (frames straddle chunks). `framer` is SseFramer push/next alone; `pump` is pumpSse with the
// relay's light mapper and no telemetry: what the proxy does per event besides writing.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Readable } from 'node:stream';

const dists = (process.argv.length > 2 ? process.argv.slice(2) : ['dist']).map((d) => resolve(d));
const builds = [];
for (const dist of dists) {
  const load = (path) => import(pathToFileURL(resolve(dist, path)).href);
  const { SseFramer } = await load('client/sse.js');
  const { pumpSse } = await load('client/stream-reader.js');
  const { ResponsesFrameMapper } = await load('client/responses-mapper.js');
  const { HookFanout } = await load('client/hook-fanout.js');
  builds.push({ dist, SseFramer, pumpSse, ResponsesFrameMapper, noHooks: new HookFanout([]) });
}
const { startSim } = await import(pathToFileURL(resolve(dists[0], 'sim/sim-server.js')).href);

async function simStream(events) {
  const sim = await startSim({ events });
  try {
    const res = await fetch(`${sim.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5.1-codex', input: 'hi', stream: true }),
    });
    return Buffer.from(await res.arrayBuffer());
  } finally {
    await sim.close();
  }
}

function perFrame(body) {
  const chunks = [];
  let start = 0;
  const blank = body.includes('\r\n') ? '\r\n\r\n' : '\n\n';
  for (let end = body.indexOf(blank, start); end !== -1; end = body.indexOf(blank, start)) {
    chunks.push(body.subarray(start, end + blank.length));
    start = end + blank.length;
  }
  if (start < body.length) chunks.push(body.subarray(start));
  return chunks;
}

function fixed(body, size) {
  const chunks = [];
  for (let i = 0; i < body.length; i += size) chunks.push(body.subarray(i, i + size));
  return chunks;
}

function countEvents({ SseFramer }, chunks) {
  const framer = new SseFramer();
  let n = 0;
  for (const chunk of chunks) {
    framer.push(chunk);
    for (let f = framer.next(); f !== undefined; f = framer.next()) if (f.event !== undefined) n++;
  }
  return n;
}

let sink = 0;
function framerOnce({ SseFramer }, chunks) {
  const framer = new SseFramer();
  for (const chunk of chunks) {
    framer.push(chunk);
    for (let f = framer.next(); f !== undefined; f = framer.next()) if (f.event !== undefined) sink += f.event.data.length;
  }
  framer.flush();
}

const nullSink = { write: () => true, drain: () => Promise.resolve(), event: () => {} };
async function pumpOnce({ pumpSse, ResponsesFrameMapper, noHooks }, chunks) {
  const response = { status: 200, headers: {}, body: Readable.from(chunks, { objectMode: true }) };
  await pumpSse(response, new ResponsesFrameMapper({ light: true }), { hooks: noHooks, signal: undefined }, [], nullSink);
}

/** CPU ns per event of each build: rounds of ~100 ms, the builds interleaved so load hits all alike. */
async function measure(label, events, run) {
  const rounds = builds.map(() => []);
  for (let r = -2; r < 15; r++) {
    for (let b = 0; b < builds.length; b++) {
      let iterations = 0;
      const start = performance.now();
      const cpu = process.cpuUsage();
      while (performance.now() - start < 100) {
        await run(builds[b]);
        iterations++;
      }
      // CPU time, not wall time: the machine is shared, and a descheduled round would count double.
      const used = process.cpuUsage(cpu);
      // The first two rounds warm up.
      if (r >= 0) rounds[b].push(((used.user + used.system) * 1e3) / (iterations * events));
    }
  }
  const cells = rounds.map((times) => {
    times.sort((x, y) => x - y);
    return `${times[0].toFixed(0).padStart(5)} min ${times[7].toFixed(0).padStart(5)} med`;
  });
  console.log(`${label.padEnd(60)} ${cells.join('   |')}`);
}

const toolCall = readFileSync(new URL('../test/fixtures/sse/responses-tool-call.sse', import.meta.url));
const streams = [
  ['sim 50 deltas', await simStream(50)],
  ['tool-call fixture x20', Buffer.concat(Array.from({ length: 20 }, () => toolCall))],
  ['tool-call fixture x20, CRLF', Buffer.from(Buffer.concat(Array.from({ length: 20 }, () => toolCall)).toString('latin1').replace(/\n/g, '\r\n'), 'latin1')],
];
console.log(`node ${process.version}; CPU ns per event (min, median of 15 rounds), columns: ${dists.join(' | ')}`);
for (const [name, body] of streams) {
  for (const [chunking, chunks] of [['per frame', perFrame(body)], ['16 KiB', fixed(body, 16 * 1024)]]) {
    const events = countEvents(builds[0], chunks);
    const label = `${name}, ${chunking} (${events} events, ${body.length} B)`;
    await measure(`framer  ${label}`, events, (build) => framerOnce(build, chunks));
    await measure(`pump    ${label}`, events, (build) => pumpOnce(build, chunks));
  }
}
if (sink < 0) console.log(sink);
