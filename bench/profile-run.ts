import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { summarizeProfile, type CpuProfile, type ProfileSummary } from './cpu-profile.js';
import { discardReceiver } from './discard-receiver.js';
import { flameGraph } from './flame-graph.js';
import { nodeTargetCommands, runClient, SCENARIOS, startProcess, type OverheadOptions, type Scenario, writeReport } from './overhead.js';

/** Options of {@link runProfileBenchmark}: the overhead benchmark's, one round. */
export interface ProfileOptions extends Omit<OverheadOptions, 'rounds'> {
  /** Where the flame graphs go, one SVG per scenario and target. Default: `flame/` beside the report. */
  readonly flameDir?: string;
}

/** Default scenarios: the JSON throughput one and the SSE latency one. */
export const PROFILE_SCENARIOS: readonly Scenario[] = SCENARIOS.filter((s) => s.name === 'json-c32' || s.name === 'sse-c1');

const AREAS_SHOWN = 30;
/** Areas every report shows, after the costliest. */
const ALWAYS_SHOWN = ['@opentelemetry/sdk-trace'];

/**
 * `npm run bench:profile`: the Node floor, modeltap with telemetry off and modeltap with full
 * telemetry, each under `node --cpu-prof` and the overhead benchmark's load, and a Markdown table of
 * CPU per request by area (package, Node module, modeltap file, GC and syscalls) side by side: where
 * modeltap's time goes, against the least the stack itself costs.
 */
export async function runProfileBenchmark(options: ProfileOptions): Promise<string> {
  const { repo, log } = options;
  const env = { ...options.env };
  const cli = join(repo, 'dist/cli/main.js');
  const work = mkdtempSync(join(tmpdir(), 'modeltap-profile-'));
  const sim = await startProcess(process.execPath, [cli, 'sim', '--port', '0', '--stamp'], env);
  const receiver = await discardReceiver();
  const simBase = `${sim.url}/v1`;
  const targets = nodeTargetCommands(repo, simBase, receiver.url, env);
  const flameDir = options.flameDir ?? join(dirname(options.out), 'flame');
  mkdirSync(flameDir, { recursive: true });
  const sections: string[] = [];
  const flames: string[] = [];
  try {
    for (const scenario of options.scenarios) {
      const columns: { name: string; summary: ProfileSummary }[] = [];
      for (const [i, target] of targets.entries()) {
        const dir = join(work, `${scenario.name}-${i}`);
        const proc = await startProcess(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...target.args], target.env);
        const exited = once(proc.proc, 'exit');
        let result: Awaited<ReturnType<typeof runClient>>;
        try {
          result = await runClient(repo, { baseUrl: `${proc.url}/v1`, mode: scenario.mode, concurrency: scenario.concurrency, seconds: options.seconds, events: scenario.events, gapMs: scenario.gapMs }, env);
        } finally {
          // SIGTERM, not SIGKILL: the profile is written on a clean exit.
          proc.proc.kill('SIGTERM');
          await exited;
        }
        // One profile per thread (`CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile`): the main
        // thread (id 0) relays; another is modeltap's telemetry thread, drawn beside it.
        const files = readdirSync(dir)
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => ({ f, tid: Number(f.split('.')[4]) }))
          .sort((x, y) => x.tid - y.tid);
        if (files.length === 0) throw new Error(`${target.name} wrote no CPU profile`);
        for (const [n, { f }] of files.entries()) {
          const profile = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile;
          const name = n === 0 ? target.name : `${target.name}: telemetry thread`;
          columns.push({ name, summary: summarizeProfile(profile, result.requests) });
          const flame = join(flameDir, `${scenario.name}-${target.key}${n === 0 ? '' : '-telemetry'}.svg`);
          writeFileSync(flame, flameGraph(profile, { title: `${scenario.name} (${scenario.what}): ${name}`, requests: result.requests }));
          flames.push(flame);
        }
        log(`${scenario.name} ${target.name}: ${result.requests} requests, ${result.errors} errors`);
      }
      // The areas costliest with full telemetry, on either of its threads.
      const fullColumns = columns.filter((c) => c.name.startsWith(targets.at(-1)?.name ?? ''));
      const worst = new Map<string, number>();
      for (const c of fullColumns) for (const a of c.summary.byArea) worst.set(a.area, Math.max(worst.get(a.area) ?? 0, a.us));
      const areas = [...worst.entries()]
        .sort((x, y) => y[1] - x[1])
        .slice(0, AREAS_SHOWN)
        .map(([area]) => area);
      // The SDK's own area is what the comparison is about: shown even when a short or loaded run
      // leaves it out of the costliest.
      for (const area of ALWAYS_SHOWN) if (!areas.includes(area) && worst.has(area)) areas.push(area);
      const summaries = columns.map((c) => c.summary);
      const cost = (s: ProfileSummary, area: string): string => (s.byArea.find((a) => a.area === area)?.us ?? 0).toFixed(1);
      sections.push(
        [
          `### ${scenario.name}: ${scenario.what}`,
          '',
          `| area (self time, µs per request) | ${columns.map((c) => c.name).join(' | ')} |`,
          `| --- | ${columns.map(() => '---:').join(' | ')} |`,
          `| **all but idle** | ${summaries.map((s) => `**${s.busyUs.toFixed(1)}**`).join(' | ')} |`,
          ...areas.map((area) => `| ${area} | ${summaries.map((s) => cost(s, area)).join(' | ')} |`),
          '',
        ].join('\n'),
      );
    }
  } finally {
    sim.proc.kill('SIGTERM');
    receiver.close();
    // The profiles run to tens of MB; only the summary and the flame graphs are kept.
    rmSync(work, { recursive: true, force: true });
  }
  return writeReport(options.out, '# Where the time goes', [
    `Generated by \`npm run bench:profile\` on ${new Date().toISOString().slice(0, 10)} (Node ${process.version}): each target under \`node --cpu-prof\` for ${options.seconds} s of the overhead benchmark's load, one after the other, self time summed by area and divided by the requests served. Profiling slows everything down, and start-up (module loading) is included, so compare columns, not absolute values. The ${AREAS_SHOWN} areas costliest with full telemetry are shown.`,
    '',
    `Each profile is also drawn as a flame graph, an SVG to open in a browser (hover a bar for its time per request, click to zoom; not committed, the run writes them): ${flames.map((f) => `\`${relative(dirname(options.out), f)}\``).join(', ')}.`,
  ], sections);
}
