// The README's GitHub Actions workflow, taken from README.md when the test runs and run step by
// step as a runner would: each `run:` under `bash -e` in a fresh project, with the workflow's,
// job's and step's `env:`, $RUNNER_TEMP, $GITHUB_PATH (lines added to PATH for the later steps)
// and $GITHUB_STEP_SUMMARY. Only what cannot happen here is stood in for: `uses:` steps (checkout,
// setup-node) are skipped, MODELTAP_PACKAGE points at a tarball of this build (`npm pack`, the
// README's tarball route), the upstream is the simulator (MODELTAP_UPSTREAM=sim, the environment
// equivalent of --upstream), 8787 becomes a free port, secrets are a fake key, and the agent's
// `npm test` is a few SDK-shaped requests. It runs twice: once to make the baseline (as the README
// says to refresh it), once as the gated run.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freePort } from '../helpers/prometheus.js';
import { CLI } from './cli.js';

const repo = new URL('../../', import.meta.url).pathname;

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string>;
}

interface Workflow {
  env?: Record<string, string>;
  jobs: Record<string, { env?: Record<string, string>; steps: Step[] }>;
}

/** The ```yaml block of the README's "Gate CI on latency" section, parsed. */
function readmeWorkflow(): Workflow {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Gate CI on latency'));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  if (!yaml) throw new Error('no workflow in the README');
  return parse(yaml) as Workflow;
}

/**
 * The agent's test suite (its `npm test`), stood in for by requests shaped like the openai SDK's.
 * The simulated upstream takes 100 ms to answer: the two runs compare identical code while other
 * test files load the same 2 cores, and that load shifts every latency by a few milliseconds;
 * against 20 ms it was a "regression" of 13 % (CI), against 100 ms it stays well under the 10 %
 * threshold, as it would against a real model.
 */
const AGENT_TESTS = `const base = process.env.OPENAI_BASE_URL;
for (let i = 0; i < 40; i++) {
  const res = await fetch(base + '/responses', { method: 'POST', headers: { 'content-type': 'application/json', 'x-sim-ttfb-ms': '100', authorization: 'Bearer ' + process.env.OPENAI_API_KEY }, body: JSON.stringify({ model: 'gpt-5.1-codex', input: 'test ' + i, stream: true }) });
  if (res.status !== 200) process.exit(1);
  await res.text();
}
`;

/** A fresh checkout of the agent's repository: a package.json whose `npm test` is {@link AGENT_TESTS}, and its lockfile. */
function agentProject(): string {
  const work = mkdtempSync(join(tmpdir(), 'modeltap-workflow-'));
  writeFileSync(join(work, 'agent.test.mjs'), AGENT_TESTS);
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'agent', version: '1.0.0', private: true, scripts: { test: 'node agent.test.mjs' } }));
  writeFileSync(join(work, 'package-lock.json'), JSON.stringify({ name: 'agent', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'agent', version: '1.0.0' } } }));
  return work;
}

interface StepResult {
  name: string;
  code: number;
  out: string;
}

function bash(script: string, cwd: string, env: Record<string, string>, timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    // GitHub's default shell for `run:` on Linux is `bash -e {0}`.
    execFile('bash', ['--noprofile', '--norc', '-e', '-c', script], { cwd, env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out: stdout + stderr }),
    );
  });
}

/** Whether `pid` is a live process (an exited one nobody has reaped yet is not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** Pids of the servers the runs started, killed at the end if a failing step left one running. */
const started = new Set<number>();

async function runWorkflow(work: string, tarball: string): Promise<{ steps: StepResult[]; stepSummary: string; serverPid: number | undefined; serverCommand: string; runnerTemp: string }> {
  const workflow = readmeWorkflow();
  const job = Object.values(workflow.jobs)[0];
  if (!job) throw new Error('no job in the README workflow');
  const runnerTemp = mkdtempSync(join(tmpdir(), 'modeltap-runner-'));
  const githubPath = join(runnerTemp, 'github-path');
  const stepSummary = join(runnerTemp, 'step-summary.md');
  writeFileSync(githubPath, '');
  // Tests never take a fixed port: the README's 8787 becomes a free one.
  const port = String(await freePort());
  const expand = (value: string): string => value.replace(/\$\{\{\s*secrets\.\w+\s*\}\}/g, 'sk-workflow-test').replace(/\b8787\b/g, port);
  const runner: Record<string, string> = {
    // The runner's node (setup-node's) first; HOME keeps npm's cache, so the install needs the
    // registry only for what the cache lacks.
    // npx/npm run put node_modules/.bin directories on the test's PATH; a runner has none.
    PATH: [dirname(process.execPath), ...(process.env['PATH'] ?? '').split(':').filter((p) => !p.includes('node_modules'))].join(':'),
    HOME: process.env['HOME'] ?? runnerTemp,
    CI: 'true',
    RUNNER_TEMP: runnerTemp,
    GITHUB_PATH: githubPath,
    GITHUB_STEP_SUMMARY: stepSummary,
    npm_config_prefer_offline: 'true',
    // A registry fetch that stalls is retried after 30 s instead of npm's 5 minutes (seen here
    // once: two installs in a row past the step's 120 s, then 10 s with a cold cache).
    npm_config_fetch_timeout: '30000',
    npm_config_fetch_retries: '3',
    MODELTAP_UPSTREAM: 'sim',
  };
  const steps: StepResult[] = [];
  let serverPid: number | undefined;
  let serverCommand = '';
  for (const step of job.steps) {
    if (step.uses !== undefined) continue;
    const declared = { ...workflow.env, ...job.env, ...step.env };
    const env: Record<string, string> = { ...runner, ...Object.fromEntries(Object.entries(declared).map(([k, v]) => [k, expand(String(v))])) };
    if ('MODELTAP_PACKAGE' in env) env['MODELTAP_PACKAGE'] = tarball;
    // $GITHUB_PATH: each line added so far goes in front of PATH, the latest first.
    const added = readFileSync(githubPath, 'utf8').split('\n').filter(Boolean).reverse();
    env['PATH'] = [...added, runner['PATH']].join(':');
    const result = await bash(expand(step.run ?? ''), work, env, step.run?.includes('npm install') ? 120_000 : 60_000);
    steps.push({ name: step.name ?? '', ...result });
    const pidFile = join(work, 'modeltap.pid');
    if (serverPid === undefined && existsSync(pidFile)) {
      serverPid = Number(readFileSync(pidFile, 'utf8'));
      started.add(serverPid);
      serverCommand = readFileSync(`/proc/${serverPid}/cmdline`, 'utf8').split('\0').join(' ');
    }
    if (result.code !== 0) break;
  }
  return { steps, stepSummary, serverPid, serverCommand, runnerTemp };
}

let tarball: string;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build first`);
  // The README's tarball route. Scripts off: `prepare` would rebuild dist/ under the other tests'
  // feet; the build this suite runs against is what gets packed.
  const dest = mkdtempSync(join(tmpdir(), 'modeltap-pack-'));
  const packed = await bash(`npm pack --ignore-scripts --silent --pack-destination "${dest}"`, repo, { PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`, HOME: process.env['HOME'] ?? dest }, 60_000);
  expect(packed.code, packed.out).toBe(0);
  const file = readdirSync(dest).find((f) => f.endsWith('.tgz'));
  if (!file) throw new Error(`npm pack wrote no tarball: ${packed.out}`);
  tarball = join(dest, file);
}, 70_000);

afterAll(() => {
  for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

describe('the README workflow', () => {
  it('runs as written: install modeltap from the tarball, start it, the agent tests through it, stop it, gate on the committed baseline', async () => {
    const work = agentProject();
    const names = readmeWorkflow().jobs['agent-tests']?.steps.filter((s) => s.uses === undefined).map((s) => s.name ?? '') ?? [];
    expect(names.at(-1)).toBe('Gate on latency and cost');

    // The first run has no baseline yet (its gate step cannot pass); its summary becomes the
    // baseline, committed as .modeltap/baseline.json, as the README says to refresh it.
    const first = await runWorkflow(work, tarball);
    if (first.steps.slice(0, -1).some((s) => s.code !== 0)) console.error(JSON.stringify(first.steps, null, 1));
    expect(first.steps.map((s) => [s.name, s.code])).toEqual([...names.slice(0, -1).map((n) => [n, 0]), ['Gate on latency and cost', 2]]);
    // The pid file held the server itself (node running the bin the install step put in
    // $RUNNER_TEMP, no npm wrapper), and the stop step waited for it to exit.
    expect(first.serverCommand).toMatch(new RegExp(`^\\S*node ${first.runnerTemp}/modeltap/node_modules/\\.bin/modeltap serve `));
    expect(alive(first.serverPid ?? 0)).toBe(false);
    mkdirSync(join(work, '.modeltap'));
    writeFileSync(join(work, '.modeltap/baseline.json'), readFileSync(join(work, 'modeltap-summary.json')));

    const second = await runWorkflow(work, tarball);
    if (second.steps.some((s) => s.code !== 0)) console.error(JSON.stringify(second.steps, null, 1));
    expect(second.steps.map((s) => [s.name, s.code])).toEqual(names.map((n) => [n, 0]));
    expect(second.serverPid).not.toBe(first.serverPid);
    expect(alive(second.serverPid ?? 0)).toBe(false);
    const table = readFileSync(second.stepSummary, 'utf8');
    expect(table).toContain('### modeltap check: no regression');
    expect(table).toContain('| /v1/responses gpt-5.1-codex http_sse | ttfc_p50_ms |');
    // The simulator's usage at the shipped prices: cost per request compared, the total under its ceiling.
    expect(table).toMatch(/\| \/v1\/responses gpt-5\.1-codex http_sse \| cost_per_request_usd \| \$[\d.e-]+ \| \$[\d.e-]+ \| [^|]+ \| – \| ✅ \|/);
    expect(table).toMatch(/\| \(run\) \| cost_total_usd \| \$[\d.e-]+ \| \$[\d.e-]+ \|/);
    // This run's summary, not the first run's left on disk.
    const summary = JSON.parse(readFileSync(join(work, 'modeltap-summary.json'), 'utf8')) as { groups: { count: number }[]; started_at?: string };
    expect(summary.groups[0]?.count).toBe(40);
    expect(readFileSync(join(work, 'modeltap-summary.json'), 'utf8')).not.toBe(readFileSync(join(work, '.modeltap/baseline.json'), 'utf8'));
  }, 300_000);
});

/** The ```sh block of the README's "Try the cost gate offline" section. */
function costGateExample(): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('### Try the cost gate offline')))?.[1];
  if (!block) throw new Error('no cost gate example in the README');
  return block;
}

describe('the README cost gate example', () => {
  it('runs as written (on a free port): check exits 1 naming cost per request and the total over its ceiling', async () => {
    const work = mkdtempSync(join(tmpdir(), 'modeltap-costgate-'));
    // `modeltap` on PATH is this build; it notes each command's exit code, but the simulator is the
    // process itself (exec), as npm's bin is, so that `kill $SIM` stops it.
    mkdirSync(join(work, 'bin'));
    writeFileSync(join(work, 'bin/modeltap'), `#!/bin/sh\n[ "$1" = sim ] && exec "${process.execPath}" "${CLI}" "$@"\n"${process.execPath}" "${CLI}" "$@"\ncode=$?\necho "$1 $code" >> "${work}/codes"\nexit $code\n`, { mode: 0o755 });
    const port = String(await freePort());
    const script = costGateExample().replace(/\b9000\b/g, port);
    // Pasted into a shell (no -e): the kill after the failing check still runs.
    const out = await new Promise<string>((resolve) => {
      execFile('bash', ['--noprofile', '--norc', '-c', script], { cwd: work, env: { PATH: `${join(work, 'bin')}:${dirname(process.execPath)}:/usr/bin:/bin`, HOME: work }, timeout: 60_000, killSignal: 'SIGKILL' }, (_error, stdout, stderr) => resolve(stdout + stderr));
    });
    expect(readFileSync(join(work, 'codes'), 'utf8').split('\n').filter(Boolean), out).toEqual(['bench 0', 'bench 0', 'check 1']);
    // `kill $SIM` stopped the simulator: its port closes.
    for (let i = 0; i < 100 && (await fetch(`http://127.0.0.1:${port}/v1/models`).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await fetch(`http://127.0.0.1:${port}/v1/models`).then(() => 'open', () => 'closed')).toBe('closed');
    expect(out).toContain('regression: /v1/responses gpt-5.1-codex http_sse cost_per_request_usd: +100.0 %\nregression: (run) cost_total_usd: beyond the ceiling 0.015\n');
    // What the README says check prints, it prints.
    const readme = readFileSync(join(repo, 'README.md'), 'utf8');
    const said = /names both regressions on stderr:\n\n```\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(out).toContain(said);
  }, 90_000);
});
