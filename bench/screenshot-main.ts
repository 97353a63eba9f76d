#!/usr/bin/env node
/**
 * `npm run screenshot:dashboard`: regenerates dashboards/overview.png. It runs the simulator and
 * modeltap, drives mixed traffic, has a real Prometheus (Debian's `prometheus`) scrape modeltap with
 * otel/prometheus.yml, and renders the Overview dashboard's main queries in the Prometheus UI with
 * headless Chromium (Debian's `chromium`). Grafana itself does not run on the development machines.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChildCli } from './child-cli.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const children: ChildProcess[] = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const start = async (args: string[]): Promise<string> => (await startChildCli(repo, args, children, { PATH: process.env['PATH'] })).url;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function main(): Promise<void> {
  const config = readFileSync(join(repo, 'otel/prometheus.yml'), 'utf8');
  const key = /credentials: (\S+)/.exec(config)?.[1] ?? '';
  const sim = await start(['sim', '--port', '0', '--gap-ms', '15', '--ttfb-ms', '120']);
  const proxy = await start(['serve', '--port', '0', '--upstream', `${sim}/v1`, '--access-key', key, '--request-max-retries', '1']);
  const dir = mkdtempSync(join(tmpdir(), 'modeltap-shot-'));
  const promPort = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), config.replace(/targets:\s*\[[^\]]*\]/, `targets: ['${new URL(proxy).host}']`).replace(/scrape_interval:\s*\S+/g, 'scrape_interval: 2s'));
  children.push(spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { stdio: 'ignore' }));
  const headers = { 'content-type': 'application/json', 'x-modeltap-key': key, originator: 'codex_exec' };
  const models = ['gpt-5.1-codex', 'gpt-5.1', 'gpt-4.1-mini'];
  const deadline = Date.now() + 60_000;
  process.stderr.write('driving traffic for 60 s…\n');
  for (let i = 0; Date.now() < deadline; i++) {
    const model = models[i % models.length] as string;
    const fault = i % 17 === 0 ? { 'x-sim-fault': 'status:500;times=1', 'x-sim-key': String(i) } : i % 23 === 0 ? { 'x-sim-fault': 'reset:8' } : {};
    const path = i % 5 === 0 ? '/v1/chat/completions' : '/v1/responses';
    const body = path === '/v1/responses' ? { model, input: `request ${i}`, stream: i % 3 !== 0 } : { model, messages: [{ role: 'user', content: `request ${i}` }], stream: true, stream_options: { include_usage: true } };
    await Promise.all(
      Array.from({ length: 4 }, () => fetch(`${proxy}${path}`, { method: 'POST', headers: { ...headers, ...fault }, body: JSON.stringify(body) }).then((r) => r.arrayBuffer()).catch(() => undefined)),
    );
    await sleep(150);
  }
  const dashboard = JSON.parse(readFileSync(join(repo, 'dashboards/overview.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
  const wanted = ['Time to first chunk', 'Requests by route and status', 'Tokens by model and type', 'modeltap overhead (before the first byte)'];
  const params = new URLSearchParams();
  wanted.forEach((title, g) => {
    const expr = dashboard.panels.find((p) => p.title === title)?.targets[0]?.expr ?? '';
    params.set(`g${g}.expr`, expr.replace(/\$__rate_interval/g, '30s').replace(/\$(instance|model|route|transport)\b/g, '.*'));
    params.set(`g${g}.tab`, '0');
    params.set(`g${g}.range_input`, '2m');
  });
  const out = join(repo, 'dashboards/overview.png');
  execFileSync('chromium', [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${join(dir, 'chrome')}`, '--hide-scrollbars',
    '--window-size=1400,3400', '--virtual-time-budget=15000', `--screenshot=${out}`, `http://127.0.0.1:${promPort}/graph?${params.toString()}`,
  ], { stdio: 'ignore' });
  process.stderr.write(`wrote ${out}\n`);
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`screenshot: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const child of children) child.kill('SIGTERM');
  });
