import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free loopback port (Prometheus needs a fixed one on its command line). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** A real Prometheus (Debian's `prometheus`) on loopback, scraping `target` every second. */
export interface RunningPrometheus {
  readonly url: string;
  query(expr: string): Promise<unknown[]>;
  stop(): Promise<void>;
}

/**
 * Starts Prometheus with `configFile` (the repository's `otel/prometheus.yml` when given, else a
 * minimal one) whose scrape target is rewritten to `target` (host:port) and interval to 1 s.
 */
export async function startPrometheus(target: string, options: { configFile?: string; headers?: Record<string, string> } = {}): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'modeltap-prom-'));
  const port = await freePort();
  const base = options.configFile
    ? readFileSync(options.configFile, 'utf8')
    : `global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: modeltap\n    static_configs:\n      - targets: ['modeltap:8787']\n`;
  const config = base
    .replace(/targets:\s*\[[^\]]*\]/, `targets: ['${target}']`)
    .replace(/scrape_interval:\s*\S+/g, 'scrape_interval: 1s');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const proc: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not up yet
    }
    if (i > 100 || proc.exitCode !== null) throw new Error(`prometheus did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    query: async (expr) => {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await res.json()) as { status: string; data?: { result: unknown[] }; error?: string };
      if (body.status !== 'success') throw new Error(`PromQL ${expr}: ${body.error ?? res.status}`);
      return body.data?.result ?? [];
    },
    stop: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
