// The overhead benchmark's runner, end to end on the built CLI, shortened to one round of one
// second on two scenarios: it must start every target afresh per scenario, measure each with no
// errors and write the report (speed itself is not asserted here; it belongs in the report).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { runOverheadBenchmark, SCENARIOS } from '../../bench/overhead.js';
import { runProfileBenchmark } from '../../bench/profile-run.js';

const repo = new URL('../../', import.meta.url).pathname;

/** Whether this Node gives a worker's OS thread the worker's name (Node 24 does, Node 22 does not). */
async function workerThreadsNamed(): Promise<boolean> {
  const worker = new Worker('setTimeout(() => undefined, 5000)', { eval: true, name: 'modeltap-probe' });
  try {
    await new Promise((resolve) => worker.once('online', resolve));
    return readdirSync('/proc/self/task').some((tid) => {
      try {
        return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').startsWith('modeltap-probe');
      } catch {
        return false;
      }
    });
  } finally {
    await worker.terminate();
  }
}

describe('npm run bench:overhead', () => {
  it('measures every target in every scenario and writes one table per scenario', async () => {
    const namesWorkerThreads = await workerThreadsNamed();
    const out = join(mkdtempSync(join(tmpdir(), 'modeltap-overhead-')), 'overhead.md');
    const scenarios = SCENARIOS.filter((s) => s.name === 'sse-c1' || s.name === 'ws-c8');
    await runOverheadBenchmark({ repo, rounds: 1, seconds: 1, scenarios, out, log: () => undefined, env: { PATH: process.env['PATH'] } });
    const report = readFileSync(out, 'utf8');
    rmSync(dirname(out), { recursive: true, force: true });
    for (const scenario of scenarios) expect(report).toContain(`### ${scenario.name}: ${scenario.what}`);
    const rows = report.split('\n').filter((line) => /^\| (direct|Node floor|modeltap|nginx)/.test(line));
    const names = [...new Set(rows.map((r) => r.split(' | ')[0]?.slice(2)))];
    expect(names.slice(0, 4)).toEqual(['direct', 'Node floor (node:http + undici, no telemetry)', 'modeltap (telemetry off)', 'modeltap (full telemetry)']);
    for (const row of rows) {
      const cells = row.split(' | ');
      expect(Number(cells[1]), row).toBeGreaterThan(0); // req/s
      expect(cells[2], row).toBe('0'); // errors
      // CPU per 1,000 requests, all threads / threads other than the main one (none for direct).
      const cpu = /^(\d+) \/ (\d+)$/.exec(cells[7] ?? '');
      if (cells[0] === '| direct') expect(cells[7]).toBe('– / –');
      else expect(Number(cpu?.[2]), row).toBeLessThanOrEqual(Number(cpu?.[1]));
      // The relay (main) thread's CPU is the rest of it; the event-loop delay is modeltap's own (--event-loop-stats).
      // (each rounded on its own: within 1)
      if (cells[0] !== '| direct') expect(Math.abs(Number(cells[8]) - (Number(cpu?.[1]) - Number(cpu?.[2]))), row).toBeLessThanOrEqual(1);
      // The telemetry thread's CPU, full telemetry only: some of the other threads' (it builds and
      // exports every span). Found by its OS thread name, which Node 22 does not set: a dash there.
      if (cells[0] === '| modeltap (full telemetry)' && !namesWorkerThreads) expect(cells[9], row).toBe('–');
      else if (cells[0] === '| modeltap (full telemetry)') {
        expect(Number(cells[9]), row).toBeGreaterThan(0);
        expect(Number(cells[9]), row).toBeLessThanOrEqual(Number(cpu?.[2]) + 1);
      } else expect(cells[9], row).toBe('–');
      const loop = /^(\d+\.\d\d) \/ (\d+\.\d\d)$/.exec(cells[10] ?? '');
      if (cells[0]?.startsWith('| modeltap')) expect(Number(loop?.[1]), row).toBeLessThanOrEqual(Number(loop?.[2]));
      else expect(cells[10], row).toBe('– / –');
    }
    expect(rows.length).toBe(names.length * scenarios.length);
    // The acceptance check comes first, from the same run: the scenarios that ran, and only those.
    expect(report.indexOf('### Targets')).toBeLessThan(report.indexOf('### sse-c1'));
    expect(report).toMatch(/^\| added time to first event p50 \(sse-c1\) \| \d+\.\d\d ms \|/m);
    // One round: no spread to show.
    expect(report).toMatch(/^\| throughput, full telemetry against off \(ws-c8\) \| [+−]\d+\.\d % \|/m);
    // Issue 19's checks against telemetry off, from the same rows.
    expect(report).toMatch(/^\| relay-thread CPU per request \(ws-c8\) \| \d+ ms \/ 1k \(\d\.\d\d × off\) \| \d+ ms \/ 1k \|/m);
    expect(report).toMatch(/^\| relay event-loop delay, max \(sse-c1\) \| \d+\.\d\d ms \(off [+−] \d+\.\d\d ms\) \|/m);
    expect(report).not.toContain('(json-c32)');
    expect(report).toMatch(/^\| errors, every scenario and target \| 0 \|/m);
  }, 90_000);
});

describe('npm run bench:profile', () => {
  it('profiles the floor and modeltap, off and full, and tabulates CPU per request by area', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'modeltap-profile-out-')), 'profile.md');
    const scenarios = SCENARIOS.filter((s) => s.name === 'json-c32');
    const workDirs = (): string[] => readdirSync(tmpdir()).filter((name) => /^modeltap-profile-(?!out-)/.test(name));
    const before = workDirs();
    await runProfileBenchmark({ repo, seconds: 1, scenarios, out, log: () => undefined, env: { PATH: process.env['PATH'] } });
    const report = readFileSync(out, 'utf8');
    const flameDir = join(dirname(out), 'flame');
    const flames = readdirSync(flameDir).sort();
    const fullFlame = readFileSync(join(flameDir, 'json-c32-full.svg'), 'utf8');
    const telemetryFlame = readFileSync(join(flameDir, 'json-c32-full-telemetry.svg'), 'utf8');
    const floorFlame = readFileSync(join(flameDir, 'json-c32-floor.svg'), 'utf8');
    rmSync(dirname(out), { recursive: true, force: true });
    // One flame graph per target and thread, named in the report; the SDK's frames are drawn where
    // it runs: in full telemetry's telemetry thread.
    expect(flames).toEqual(['json-c32-floor.svg', 'json-c32-full-telemetry.svg', 'json-c32-full.svg', 'json-c32-off.svg']);
    expect(report).toContain('`flame/json-c32-floor.svg`, `flame/json-c32-off.svg`, `flame/json-c32-full.svg`, `flame/json-c32-full-telemetry.svg`');
    expect(fullFlame).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(telemetryFlame).toMatch(/<title>[^<]*\[@opentelemetry\/sdk-trace\]: [\d.]+ µs per request/);
    expect(floorFlame).not.toContain('[@opentelemetry/');
    expect(floorFlame).toMatch(/<title>[^<]*\[undici\]: [\d.]+ µs per request/);
    // The CPU profiles (tens of MB) are removed once summarised.
    expect(workDirs()).toEqual(before);
    expect(report).toContain(
      '| area (self time, µs per request) | Node floor (node:http + undici, no telemetry) | modeltap (telemetry off) | modeltap (full telemetry) | modeltap (full telemetry): telemetry thread |',
    );
    const busy = /^\| \*\*all but idle\*\* \| \*\*([\d.]+)\*\* \| \*\*([\d.]+)\*\* \| \*\*([\d.]+)\*\* \| \*\*([\d.]+)\*\* \|$/m.exec(report);
    expect(busy?.slice(1).map(Number).every((v) => v > 0)).toBe(true);
    // The floor never loads the OpenTelemetry SDK; with full telemetry, the telemetry thread spends
    // time in it on every request, more than the relay's thread (which at most loads its modules).
    const sdk = /^\| @opentelemetry\/sdk-trace \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$/m.exec(report)?.slice(1).map(Number);
    expect(sdk?.[0]).toBe(0);
    expect(sdk?.[3]).toBeGreaterThan(sdk?.[2] ?? 0);
  }, 90_000);
});

