import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { EventLoopDelayWindow } from '../src/proxy/event-loop-delay.js';
import { discardReceiver } from './discard-receiver.js';
import type { LoadResult, LoadSpec } from './load-client.js';
import { TARGET_NAMES, targetsSection } from './targets.js';

/** One benchmark scenario. */
export interface Scenario {
  readonly name: string;
  readonly what: string;
  readonly mode: LoadSpec['mode'];
  readonly concurrency: number;
  readonly events: number;
  readonly gapMs: number;
}

/** The scenarios of the performance issue. */
export const SCENARIOS: readonly Scenario[] = [
  { name: 'sse-c1', what: 'SSE, C=1, 50 events, no gap (latency)', mode: 'sse', concurrency: 1, events: 50, gapMs: 0 },
  { name: 'sse-c64', what: 'SSE, C=64, 20 events, 1 ms gap', mode: 'sse', concurrency: 64, events: 20, gapMs: 1 },
  { name: 'json-c32', what: 'JSON, C=32 (throughput)', mode: 'json', concurrency: 32, events: 8, gapMs: 0 },
  { name: 'sse-c256', what: 'SSE, C=256, 20 events, 5 ms gap (open streams, memory)', mode: 'sse', concurrency: 256, events: 20, gapMs: 5 },
  { name: 'ws-c8', what: 'Responses WebSocket, C=8, 20 events', mode: 'ws', concurrency: 8, events: 20, gapMs: 0 },
];

/** How to start one of the Node targets: the floor, modeltap with telemetry off, with full telemetry, and with the store too. */
export interface NodeTargetCommand {
  /** Short name for files: `floor`, `off`, `full` or `store`. */
  readonly key: 'floor' | 'off' | 'full' | 'store';
  readonly name: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * The Node targets the benchmarks compare, in report order; full telemetry exports to `otlpUrl`.
 * With `storePath`, also full telemetry with the request store written to that (new) file.
 */
export function nodeTargetCommands(repo: string, simBase: string, otlpUrl: string, env: Readonly<Record<string, string | undefined>>, storePath?: string): readonly NodeTargetCommand[] {
  const cli = join(repo, 'dist/cli/main.js');
  const fullEnv = { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl, OTEL_METRIC_EXPORT_INTERVAL: '1000' };
  return [
    { key: 'floor', name: TARGET_NAMES.floor, args: [join(repo, 'dist-bench/bench/floor-proxy-main.js'), simBase], env },
    { key: 'off', name: TARGET_NAMES.off, args: [cli, 'serve', '--port', '0', '--upstream', simBase, '--no-metrics', '--event-loop-stats'], env: { ...env, OTEL_SDK_DISABLED: 'true' } },
    { key: 'full', name: TARGET_NAMES.full, args: [cli, 'serve', '--port', '0', '--upstream', simBase, '--event-loop-stats', '--store', 'off'], env: fullEnv },
    ...(storePath === undefined ? [] : [{ key: 'store' as const, name: TARGET_NAMES.store, args: [cli, 'serve', '--port', '0', '--upstream', simBase, '--event-loop-stats', '--store', storePath], env: fullEnv }]),
  ];
}

/** Options of {@link runOverheadBenchmark}. */
export interface OverheadOptions {
  readonly repo: string;
  readonly rounds: number;
  readonly seconds: number;
  readonly scenarios: readonly Scenario[];
  readonly out: string;
  readonly log: (line: string) => void;
  /** The environment the child processes get (PATH at least). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

interface Target {
  readonly name: string;
  readonly baseUrl: string;
  /** Processes whose CPU and memory count for this target (none for direct). */
  readonly pids: readonly number[];
  /** modeltap's `GET /modeltap/event-loop` (`--event-loop-stats`), for the relay's event-loop delay. */
  readonly eventLoopUrl?: string;
}

interface Measured {
  readonly result: LoadResult;
  readonly cpuMs: number;
  /** Of `cpuMs`, what ran on other threads than the main ones (for Node: V8's GC and compiler helpers). */
  readonly otherThreadsCpuMs: number;
  /** Of `otherThreadsCpuMs`, the telemetry thread's. */
  readonly telemetryThreadCpuMs: number;
  readonly peakRssMb: number;
  readonly simCpuMs: number;
  readonly simElu: number;
  /** The relay's event-loop delay during the run, when the target serves it. */
  readonly eventLoop: EventLoopDelayWindow | undefined;
}

const CLK_TCK = 100;

/** CPU ms of the processes, all their threads (`main`: only each process's main thread). */
function cpuMsOf(pids: readonly number[], main = false): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(main ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
      const fields = stat.split(') ')[1]?.split(' ') ?? [];
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return (ticks * 1000) / CLK_TCK;
}

/**
 * CPU ms of the processes' telemetry threads (named `modeltap-telemetry`, which Linux cuts to 15
 * characters), or NaN when none is found: Node 22 does not give a worker's OS thread its name.
 */
function telemetryThreadCpuMsOf(pids: readonly number[]): number {
  let ticks = 0;
  let found = false;
  for (const pid of pids) {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        if (!readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').startsWith('modeltap-teleme')) continue;
        found = true;
        const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // gone
      }
    }
  }
  return found ? (ticks * 1000) / CLK_TCK : Number.NaN;
}

function rssMbOf(pids: readonly number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kb / 1024;
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Starts a process and resolves with the URL of its `listening on` line (15 s at most). */
export function startProcess(command: string, args: string[], env: Record<string, string | undefined>): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not start: ${stderr}`)), 15_000);
    proc.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
      const match = /listening on (http:\/\/[^\s]+)/.exec(stderr);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ proc, url: match[1] });
      }
    });
    proc.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${stderr}`)));
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** nginx with `proxy_buffering off` and one worker, as the reference; undefined when not installed. */
async function startNginx(upstream: URL): Promise<{ target: Target; stop: () => void } | undefined> {
  const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
  if (nginx === undefined) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'modeltap-nginx-'));
  const port = await freePort();
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  const conf = `worker_processes 1;
daemon on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream sim { server ${upstream.host}; keepalive 512; }
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://sim;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 300s;
    }
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  execFileSync(nginx, ['-c', join(dir, 'nginx.conf'), '-p', dir]);
  const master = Number(readFileSync(join(dir, 'nginx.pid'), 'utf8').trim());
  await new Promise((r) => setTimeout(r, 200));
  const workers = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] === String(master);
      } catch {
        return false;
      }
    })
    .map(Number);
  return {
    target: { name: TARGET_NAMES.nginx, baseUrl: `http://127.0.0.1:${port}${upstream.pathname}`, pids: [master, ...workers] },
    stop: () => execFileSync(nginx, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-s', 'stop']),
  };
}

/** Runs the load client in its own process (so its CPU is not the proxy's) and returns what it measured. */
export function runClient(repo: string, spec: LoadSpec, env: Record<string, string | undefined>): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [join(repo, 'dist-bench/bench/load-client-main.js'), JSON.stringify(spec)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    proc.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load client exited ${code}`))));
  });
}

async function simStats(simUrl: string): Promise<{ cpuMs: number; eventLoopUtilization: number }> {
  return (await (await fetch(`${simUrl}/__sim/stats`)).json()) as { cpuMs: number; eventLoopUtilization: number };
}

async function measure(repo: string, target: Target, spec: LoadSpec, simUrl: string, env: Record<string, string | undefined>): Promise<Measured> {
  const cpuBefore = cpuMsOf(target.pids);
  const mainBefore = cpuMsOf(target.pids, true);
  const telemetryBefore = telemetryThreadCpuMsOf(target.pids);
  const simBefore = await simStats(simUrl);
  // A new window for this run: what the loop went through before it (start-up, other runs) is not its.
  if (target.eventLoopUrl !== undefined) await eventLoopWindow(`${target.eventLoopUrl}?reset=1`);
  let peak = rssMbOf(target.pids);
  const sampler = setInterval(() => (peak = Math.max(peak, rssMbOf(target.pids))), 50);
  const result = await runClient(repo, spec, env);
  clearInterval(sampler);
  peak = Math.max(peak, rssMbOf(target.pids));
  const simAfter = await simStats(simUrl);
  const eventLoop = target.eventLoopUrl === undefined ? undefined : await eventLoopWindow(target.eventLoopUrl);
  const cpuMs = cpuMsOf(target.pids) - cpuBefore;
  return {
    result,
    cpuMs,
    otherThreadsCpuMs: cpuMs - (cpuMsOf(target.pids, true) - mainBefore),
    telemetryThreadCpuMs: telemetryThreadCpuMsOf(target.pids) - telemetryBefore,
    peakRssMb: peak,
    simCpuMs: simAfter.cpuMs - simBefore.cpuMs,
    simElu: simAfter.eventLoopUtilization,
    eventLoop,
  };
}

async function eventLoopWindow(url: string): Promise<EventLoopDelayWindow> {
  return (await (await fetch(url)).json()) as EventLoopDelayWindow;
}

interface Row {
  target: string;
  rps: number;
  errors: number;
  ttfeP50: number;
  ttfeP99: number;
  eventP50: number;
  eventP99: number;
  addedTtfeP50: number;
  addedTtfeP99: number;
  addedEventP99: number;
  cpuPer1000: number;
  otherThreadsCpuPer1000: number;
  /** The main thread's (the relay's) share of `cpuPer1000`. */
  mainThreadCpuPer1000: number;
  /** The telemetry thread's share of `otherThreadsCpuPer1000`. */
  telemetryThreadCpuPer1000: number;
  /** The relay's event-loop delay: p99 of the worst round, and the largest, ms. */
  loopP99Ms: number;
  loopMaxMs: number;
  peakRssMb: number;
  roundRps: number[];
  clientCpuPct: number;
  clientElu: number;
  simCpuPct: number;
}

const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');

/** Writes a benchmark's Markdown report (title, intro lines, sections) to `out` and returns it. */
export function writeReport(out: string, title: string, intro: readonly string[], sections: readonly string[]): string {
  const report = [title, '', ...intro, '', ...sections].join('\n');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${report}\n`);
  return report;
}

/**
 * Runs every scenario against every target, alternating targets round by round (the order rotates
 * each round so that no target always runs first), and writes a Markdown report.
 */
export async function runOverheadBenchmark(options: OverheadOptions): Promise<string> {
  const { repo, log } = options;
  const cli = join(repo, 'dist/cli/main.js');
  const env = { ...options.env };
  const cleanups: (() => void)[] = [];
  try {
    const sim = await startProcess(process.execPath, [cli, 'sim', '--port', '0', '--stamp'], env);
    cleanups.push(() => sim.proc.kill('SIGTERM'));
    const simBase = `${sim.url}/v1`;
    const receiver = await discardReceiver();
    cleanups.push(() => receiver.close());
    // The Node processes start afresh for each scenario, so that a scenario's memory is its own,
    // not the high-water mark of the ones before it.
    let stopNodeTargets = (): void => undefined;
    // A new store file each time the targets start: a scenario's store is its own.
    const storeDir = mkdtempSync(join(tmpdir(), 'modeltap-bench-store-'));
    cleanups.push(() => rmSync(storeDir, { recursive: true, force: true }));
    let stores = 0;
    cleanups.push(() => stopNodeTargets());
    const startNodeTargets = async (): Promise<Target[]> => {
      const stops: (() => void)[] = [];
      stopNodeTargets = () => {
        for (const stop of stops.splice(0)) stop();
      };
      const targets: Target[] = [];
      for (const command of nodeTargetCommands(options.repo, simBase, receiver.url, env, join(storeDir, `store-${++stores}.db`))) {
        const started = await startProcess(process.execPath, [...command.args], command.env);
        stops.push(() => started.proc.kill('SIGKILL'));
        targets.push({ name: command.name, baseUrl: `${started.url}/v1`, pids: [started.proc.pid as number], ...(command.key === 'floor' ? {} : { eventLoopUrl: `${started.url}/modeltap/event-loop` }) });
      }
      // Prometheus-style scrape of the full-telemetry targets every second.
      const scraped = targets.filter((t) => t.name === TARGET_NAMES.full || t.name === TARGET_NAMES.store);
      const scraper = setInterval(() => {
        for (const t of scraped) void fetch(t.baseUrl.replace(/\/v1$/, '/metrics')).then((r) => r.arrayBuffer()).catch(() => undefined);
      }, 1000);
      stops.push(() => clearInterval(scraper));
      return targets;
    };
    const nginx = await startNginx(new URL(simBase));
    if (nginx) {
      cleanups.push(nginx.stop);
    } else {
      log('nginx not found (apt-get install nginx-light): the nginx column is left out');
    }

    const sections: string[] = [];
    const results = new Map<string, Row[]>();
    for (const scenario of options.scenarios) {
      log(`scenario ${scenario.name}: ${scenario.what}`);
      stopNodeTargets();
      const targets: Target[] = [{ name: 'direct', baseUrl: simBase, pids: [] }, ...(await startNodeTargets()), ...(nginx ? [nginx.target] : [])];
      const runs = new Map<string, Measured[]>(targets.map((t) => [t.name, []]));
      for (let round = 0; round < options.rounds; round++) {
        const order = targets.map((_, i) => targets[(i + round) % targets.length] as Target);
        for (const target of order) {
          const spec: LoadSpec = { baseUrl: target.baseUrl, mode: scenario.mode, concurrency: scenario.concurrency, seconds: options.seconds, events: scenario.events, gapMs: scenario.gapMs };
          const m = await measure(repo, target, spec, sim.url, env);
          runs.get(target.name)?.push(m);
          log(`  round ${round + 1} ${target.name}: ${fmt(m.result.requests / m.result.seconds, 0)} req/s, ${m.result.errors} errors`);
        }
      }
      const direct = runs.get('direct') ?? [];
      const rows: Row[] = targets.map((target) => {
        const ms = runs.get(target.name) ?? [];
        const all = <K extends 'ttfeMs' | 'eventUs'>(k: K) => ms.flatMap((m) => m.result[k]);
        const requests = ms.reduce((a, m) => a + m.result.requests, 0);
        const seconds = ms.reduce((a, m) => a + m.result.seconds, 0);
        // Paired by round: each round's target minus that round's direct run.
        const paired = (k: 'ttfeMs' | 'eventUs', p: number) => median(ms.map((m, i) => percentile(m.result[k], p) - percentile(direct[i]?.result[k] ?? [], p)));
        return {
          target: target.name,
          rps: requests / seconds,
          errors: ms.reduce((a, m) => a + m.result.errors, 0),
          ttfeP50: percentile(all('ttfeMs'), 50),
          ttfeP99: percentile(all('ttfeMs'), 99),
          eventP50: percentile(all('eventUs'), 50) / 1000,
          eventP99: percentile(all('eventUs'), 99) / 1000,
          addedTtfeP50: target.name === 'direct' ? 0 : paired('ttfeMs', 50),
          addedTtfeP99: target.name === 'direct' ? 0 : paired('ttfeMs', 99),
          addedEventP99: target.name === 'direct' ? 0 : paired('eventUs', 99) / 1000,
          cpuPer1000: target.pids.length === 0 ? Number.NaN : (ms.reduce((a, m) => a + m.cpuMs, 0) / requests) * 1000,
          otherThreadsCpuPer1000: target.pids.length === 0 ? Number.NaN : (ms.reduce((a, m) => a + m.otherThreadsCpuMs, 0) / requests) * 1000,
          mainThreadCpuPer1000: target.pids.length === 0 ? Number.NaN : (ms.reduce((a, m) => a + m.cpuMs - m.otherThreadsCpuMs, 0) / requests) * 1000,
          telemetryThreadCpuPer1000: target.name === TARGET_NAMES.full ? (ms.reduce((a, m) => a + m.telemetryThreadCpuMs, 0) / requests) * 1000 : Number.NaN,
          loopP99Ms: target.eventLoopUrl === undefined ? Number.NaN : Math.max(...ms.map((m) => m.eventLoop?.p99Ms ?? Number.NaN)),
          loopMaxMs: target.eventLoopUrl === undefined ? Number.NaN : Math.max(...ms.map((m) => m.eventLoop?.maxMs ?? Number.NaN)),
          peakRssMb: target.pids.length === 0 ? Number.NaN : Math.max(...ms.map((m) => m.peakRssMb)),
          roundRps: ms.map((m) => m.result.requests / m.result.seconds),
          clientCpuPct: (ms.reduce((a, m) => a + m.result.clientCpuMs, 0) / (seconds * 1000)) * 100,
          clientElu: median(ms.map((m) => m.result.clientEventLoopUtilization)),
          simCpuPct: (ms.reduce((a, m) => a + m.simCpuMs, 0) / (seconds * 1000)) * 100,
        };
      });
      results.set(scenario.name, rows);
      const table = [
        `### ${scenario.name}: ${scenario.what}`,
        '',
        '| target | req/s | errors | TTFE p50 / p99 ms | added TTFE p50 / p99 ms | event p50 / p99 ms | added event p99 ms | CPU ms / 1k req: all / other threads | relay thread CPU ms / 1k req | telemetry thread CPU ms / 1k req | relay event-loop delay p99 / max ms | peak RSS MB | client CPU % / ELU | sim CPU % |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        ...rows.map(
          (r) =>
            `| ${r.target} | ${fmt(r.rps, 0)} | ${r.errors} | ${fmt(r.ttfeP50, 3)} / ${fmt(r.ttfeP99, 3)} | ${fmt(r.addedTtfeP50, 3)} / ${fmt(r.addedTtfeP99, 3)} | ${fmt(r.eventP50, 3)} / ${fmt(r.eventP99, 3)} | ${fmt(r.addedEventP99, 3)} | ${fmt(r.cpuPer1000, 0)} / ${fmt(r.otherThreadsCpuPer1000, 0)} | ${fmt(r.mainThreadCpuPer1000, 0)} | ${fmt(r.telemetryThreadCpuPer1000, 0)} | ${fmt(r.loopP99Ms, 2)} / ${fmt(r.loopMaxMs, 2)} | ${fmt(r.peakRssMb, 0)} | ${fmt(r.clientCpuPct, 0)} / ${fmt(r.clientElu, 2)} | ${fmt(r.simCpuPct, 0)} |`,
        ),
        '',
      ].join('\n');
      sections.push(table);
      log(table);
    }
    const verdicts = targetsSection(results);
    if (verdicts !== '') log(verdicts);
    return writeReport(options.out, '# modeltap overhead benchmark', [
      `Generated by \`npm run bench:overhead\` on ${new Date().toISOString().slice(0, 10)}: ${options.rounds} rounds × ${options.seconds} s per target and scenario, targets alternated round by round, on this machine (${readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? '?'} cores, Node ${process.version}).`,
      'Latencies are one-way from the simulator\'s monotonic send stamps; "added" is the paired difference against the direct run of the same round (median over rounds).',
      'CPU and RSS are the proxy process\'s own (nginx: master and worker); CPU is given for all its threads and, of that, for those other than the main one (for Node: V8\'s garbage collector and compiler helpers, libuv\'s pool); the relay thread is the main one (all minus other threads: the relay, and with telemetry the recording of its facts); the telemetry thread (`modeltap-telemetry`, where the OpenTelemetry SDK builds and exports spans and metrics) is one of the other threads, and shown on its own. The relay\'s event-loop delay is modeltap\'s own (`--event-loop-stats`, sampled every 10 ms, a new window per run): the p99 of the worst round and the largest delay seen, so that blocks of the event loop (a batch export inside a span\'s end) are visible. The Node processes start afresh for each scenario, so its peak RSS is its own. The client and simulator columns show they were not the bottleneck.',
      '"Node floor" is the least a relay on modeltap\'s stack can do (`node:http`, undici `request()`, `ws`; no routing, parsing, retries or telemetry: `bench/floor-proxy.ts`): the gap between it and nginx is the stack\'s, the gap between it and modeltap is modeltap\'s.',
    ], verdicts === '' ? sections : [verdicts, ...sections]);
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        cleanup();
      } catch {
        // best effort
      }
    }
  }
}
