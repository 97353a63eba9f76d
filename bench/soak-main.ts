#!/usr/bin/env node
/**
 * `npm run soak [-- --minutes N]`: mixed traffic (SSE, JSON, Chat, WebSocket, faults) through
 * modeltap to the simulator for N minutes (default 10), with full telemetry (OTLP to a receiver
 * that discards, /metrics scraped every 5 s), sampling modeltap's RSS and open handles every 10 s,
 * then a least-squares slope over the second half: a leak shows as a growth trend.
 * A benchmark, not part of `npm test`; it only talks to 127.0.0.1.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { parseFlags } from '../src/cli/flags.js';
import { discardReceiver } from './discard-receiver.js';
import { startChildCli } from './child-cli.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const children: ChildProcess[] = [];

const start = (args: string[], env: Record<string, string> = {}): Promise<{ url: string; pid: number }> => startChildCli(repo, args, children, { PATH: process.env['PATH'], ...env });

function sample(pid: number): { rssMb: number; fds: number } {
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  return { rssMb: rss, fds: readdirSync(`/proc/${pid}/fd`).length };
}

function slope(points: { t: number; v: number }[]): number {
  const n = points.length;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const mv = points.reduce((a, p) => a + p.v, 0) / n;
  const num = points.reduce((a, p) => a + (p.t - mt) * (p.v - mv), 0);
  const den = points.reduce((a, p) => a + (p.t - mt) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), [{ name: 'minutes', kind: 'integer', min: 1, help: 'How long.' }], {});
  const minutes = (flags['minutes'] as number | undefined) ?? 10;
  const sim = await start(['sim', '--port', '0', '--gap-ms', '2']);
  const receiver = await discardReceiver();
  const proxy = await start(['serve', '--port', '0', '--upstream', `${sim.url}/v1`, '--request-max-retries', '1'], {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_METRIC_EXPORT_INTERVAL: '5000',
  });
  const scraper = setInterval(() => void fetch(`${proxy.url}/metrics`).then((r) => r.arrayBuffer()).catch(() => undefined), 5000);
  const deadline = Date.now() + minutes * 60_000;
  const samples: { t: number; rssMb: number; fds: number }[] = [];
  let requests = 0;
  let failures = 0;
  const started = Date.now();
  const sampler = setInterval(() => {
    const s = { t: (Date.now() - started) / 1000, ...sample(proxy.pid) };
    samples.push(s);
    process.stderr.write(`${s.t.toFixed(0)} s: ${requests} requests, ${failures} failed, RSS ${s.rssMb.toFixed(1)} MB, ${s.fds} fds\n`);
  }, 10_000);
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}): Promise<void> => {
    const res = await fetch(`${proxy.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    await res.arrayBuffer();
    requests++;
    if (res.status >= 500) failures++;
  };
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; Date.now() < deadline; i++) {
      const kind = (i + w) % 6;
      try {
        if (kind === 0) await post('/v1/responses', { model: 'gpt-5.1-codex', input: `soak ${i}`, stream: true });
        else if (kind === 1) await post('/v1/responses', { model: 'gpt-5.1-codex', input: `soak ${i}` });
        else if (kind === 2) await post('/v1/chat/completions', { model: 'gpt-5.1', messages: [{ role: 'user', content: 'soak' }], stream: true, stream_options: { include_usage: true } });
        else if (kind === 3) await post('/v1/responses', { model: 'gpt-5.1-codex', input: 'soak', stream: true }, { 'x-sim-fault': `reset:${5 + (i % 5)}` });
        else if (kind === 4) await post('/v1/responses', { model: 'gpt-5.1-codex', input: 'soak', stream: true }, { 'x-sim-fault': 'status:500;every=2' });
        else {
          const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`);
          await new Promise<void>((resolve) => {
            ws.once('open', () => ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.1-codex', input: 'soak' })));
            ws.on('message', (d) => d.toString().includes('"response.completed"') && resolve());
            ws.once('error', () => resolve());
          });
          ws.close();
          requests++;
        }
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
  clearInterval(sampler);
  clearInterval(scraper);
  receiver.close();
  const second = samples.slice(Math.floor(samples.length / 2));
  const rssSlope = slope(second.map((s) => ({ t: s.t / 60, v: s.rssMb })));
  const fdSlope = slope(second.map((s) => ({ t: s.t / 60, v: s.fds })));
  const first = samples[0];
  const last = samples.at(-1);
  process.stdout.write(
    `soak: ${minutes} min, ${requests} requests (${failures} answered 5xx or failed, by design of the faults)\n` +
      `RSS ${first?.rssMb.toFixed(1)} MB at start, ${last?.rssMb.toFixed(1)} MB at end; trend over the second half ${rssSlope.toFixed(2)} MB/min\n` +
      `open fds ${first?.fds} at start, ${last?.fds} at end; trend ${fdSlope.toFixed(2)}/min\n` +
      `${second.length < 6 ? 'too short for a verdict (run 3 minutes or more)' : rssSlope < 1 && fdSlope < 1 ? 'no growth trend' : 'GROWTH TREND: look for a leak'}\n`,
  );
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const child of children) child.kill('SIGTERM');
  });
