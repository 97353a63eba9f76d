import { writeFileSync } from 'node:fs';
import { runBench, type BenchOptions, type BenchProgress } from '../ci/run-bench.js';
import { formatReport } from '../summary/format-report.js';
import { helpText, parseFlags, UsageError, type FlagDef } from './flags.js';
import { pricesFromFlag } from './prices-flag.js';

export const BENCH_FLAGS: readonly FlagDef[] = [
  { name: 'base-url', kind: 'string', value: 'URL', help: 'OpenAI-compatible base URL to load (modeltap, the sim, a real endpoint).' },
  { name: 'mode', kind: 'string', value: 'sse|json|chat|ws', help: 'Responses SSE, Responses JSON, Chat SSE, or the Responses WebSocket.', defaultText: 'sse' },
  { name: 'concurrency', kind: 'integer', value: 'N', min: 1, help: 'Requests in flight.', defaultText: '4' },
  { name: 'duration', kind: 'integer', value: 'SECONDS', min: 1, help: 'Run for this long (unless --count is reached first).', defaultText: '10' },
  { name: 'count', kind: 'integer', value: 'N', min: 1, help: 'Stop after this many requests.' },
  { name: 'model', kind: 'string', value: 'MODEL', help: 'Model to ask for.', defaultText: 'gpt-5.1-codex' },
  { name: 'think-ms', kind: 'integer', value: 'MS', help: "Pause between a worker's requests.", defaultText: '0' },
  { name: 'events', kind: 'integer', value: 'N', help: 'Ask the simulator for N events per stream (x-sim-events).' },
  { name: 'header', kind: 'string', value: 'NAME:VALUE', help: 'An extra request header (repeat with commas: a:1,b:2).' },
  { name: 'api-key-env', kind: 'string', value: 'NAME', help: 'Send the API key in this environment variable as a bearer token.' },
  { name: 'out', kind: 'string', value: 'FILE', help: 'Write the run summary (for modeltap check) here.' },
  { name: 'prices', kind: 'string', value: 'FILE', help: 'Prices over the shipped table, as modeltap serve --prices takes them (the summary costs each request from the usage it reported).', defaultText: 'prices/openai.json' },
];

export const BENCH_HELP = helpText('Usage: modeltap bench --base-url URL [options]', 'Generates load and writes a run summary measured from the client side.', BENCH_FLAGS);

/** Progress on a terminal (one line rewritten in place) or in CI logs (a plain line every 5 s). */
export function progressPrinter(isTTY: boolean, write: (text: string) => void): (p: BenchProgress) => void {
  let lastPlain = -5;
  return (p) => {
    const text = `${p.done} requests, ${(p.done / Math.max(p.elapsedS, 0.001)).toFixed(0)}/s, ${p.errors} errors, ${p.elapsedS.toFixed(1)} s`;
    if (isTTY) write(`\r\u001b[2K${text}`);
    else if (p.elapsedS - lastPlain >= 5) {
      lastPlain = p.elapsedS;
      write(`${text}\n`);
    }
  };
}

export async function benchCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: { stdout: (s: string) => void; stderr: (s: string) => void; isTTY: boolean }): Promise<number> {
  const v = parseFlags(argv, BENCH_FLAGS, {});
  const baseUrl = v['base-url'] as string | undefined;
  if (baseUrl === undefined) throw new UsageError('--base-url is required');
  const mode = (v['mode'] as string | undefined) ?? 'sse';
  if (!['sse', 'json', 'chat', 'ws'].includes(mode)) throw new UsageError(`--mode must be sse, json, chat or ws, not '${mode}'`);
  const headers: Record<string, string> = {};
  for (const pair of ((v['header'] as string | undefined) ?? '').split(',').filter(Boolean)) {
    const i = pair.indexOf(':');
    if (i <= 0) throw new UsageError(`--header takes NAME:VALUE, not '${pair}'`);
    headers[pair.slice(0, i).trim().toLowerCase()] = pair.slice(i + 1).trim();
  }
  if (v['events'] !== undefined) headers['x-sim-events'] = String(v['events']);
  const keyEnv = v['api-key-env'] as string | undefined;
  if (keyEnv !== undefined) {
    const key = env[keyEnv];
    if (!key) throw new UsageError(`${keyEnv} is not set`);
    headers['authorization'] = `Bearer ${key}`;
  }
  const count = v['count'] as number | undefined;
  const options: BenchOptions = {
    baseUrl: baseUrl.replace(/\/+$/, ''),
    mode: mode as BenchOptions['mode'],
    concurrency: (v['concurrency'] as number | undefined) ?? 4,
    durationS: count !== undefined && v['duration'] === undefined ? undefined : ((v['duration'] as number | undefined) ?? 10),
    count,
    model: (v['model'] as string | undefined) ?? 'gpt-5.1-codex',
    thinkMs: (v['think-ms'] as number | undefined) ?? 0,
    headers,
    prices: pricesFromFlag(v['prices'] as string | undefined).table,
    onProgress: progressPrinter(io.isTTY, io.stderr),
  };
  const summary = await runBench(options);
  if (io.isTTY) io.stderr('\n');
  const out = v['out'] as string | undefined;
  if (out !== undefined) writeFileSync(out, `${JSON.stringify(summary)}\n`);
  io.stdout(formatReport(summary, 'table'));
  return 0;
}
