// Issue 22: a fleet-wide CI gate. Three real `modeltap serve` replicas share the traffic; `report`
// and `check` over their summaries (URLs, a summary file, a SQLite store) equal one summary of all
// of it: the same counts, and the percentiles of the union of the replicas' raw samples.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SummaryRecorder, type RunSummary, type Stat, type SummaryGroup } from '../../src/summary/summary-recorder.js';
import { runCli, stoppedBy, type RunningCli } from './cli.js';

const started = stoppedBy(afterAll);
const dir = mkdtempSync(join(tmpdir(), 'modeltap-fleet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const summaryFile = join(dir, 'replica-2.json');
const storeFile = join(dir, 'replica-3.db');
const STATS = ['ttfcMs', 'durationMs', 'outputTokensPerSecond', 'overheadMs'] as const;

/** One request of the mix: streamed and plain Responses calls, a streamed Chat call, and every 15th a 400 from the simulator (not retried, unlike a 500). */
async function send(base: string, i: number, ttfbMs: number): Promise<void> {
  const chat = i % 5 === 4;
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-sim-ttfb-ms': String(ttfbMs), ...(i % 15 === 7 ? { 'x-sim-fault': 'status:400' } : {}) };
  const body = chat ? { model: 'gpt-5.1', messages: [{ role: 'user', content: `c${i}` }], stream: true, stream_options: { include_usage: true } } : { model: 'gpt-5.1-codex', input: `r${i}`, stream: i % 2 === 0 };
  const res = await fetch(`${base}${chat ? '/v1/chat/completions' : '/v1/responses'}`, { method: 'POST', headers, body: JSON.stringify(body) });
  await res.text();
}

/** Sends `n` requests spread unevenly (4:3:2) over the replicas, each replica's share one after another, and returns how many each got. */
async function spread(replicas: readonly RunningCli[], n: number, ttfbMs: number): Promise<number[]> {
  const weights = [4, 3, 2].slice(0, replicas.length);
  const cycle = weights.reduce((a, b) => a + b, 0);
  const shares: number[][] = replicas.map(() => []);
  for (let i = 0; i < n; i++) {
    let slot = i % cycle;
    let r = 0;
    while (slot >= (weights[r] as number)) slot -= weights[r++] as number;
    (shares[r] as number[]).push(i);
  }
  await Promise.all(replicas.map(async (replica, r) => {
    for (const i of shares[r] as number[]) await send(replica.url, i, ttfbMs);
  }));
  return shares.map((s) => s.length);
}

const total = (s: RunSummary): number => s.groups.reduce((n, g) => n + g.count, 0);

async function summaryOf(base: string): Promise<RunSummary> {
  return (await (await fetch(`${base}/modeltap/summary`)).json()) as RunSummary;
}

/** A replica's summary once it holds `count` requests (a request is recorded as it ends, just after the caller has its last byte). */
async function settled(base: string, count: number): Promise<RunSummary> {
  for (let i = 0; i < 200; i++) {
    const s = await summaryOf(base);
    if (total(s) >= count) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${base} did not record ${count} requests`);
}

const keyOf = (g: SummaryGroup): string => `${g.route} ${g.model ?? ''} ${g.transport} ${g.requestKind ?? ''}`;
/** The quantile as the run summary defines it (the value at rank floor(p·n) of the sorted values), computed here from the raw samples. */
const at = (sorted: readonly number[], p: number): number => (sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number));

/** What one summary of all the traffic says, from the parts' own groups: counts and tokens summed, percentiles of the union of the raw samples. */
function union(parts: readonly RunSummary[]): Map<string, Record<string, unknown>> {
  const groups = new Map<string, SummaryGroup[]>();
  for (const g of parts.flatMap((p) => p.groups)) groups.set(keyOf(g), [...(groups.get(keyOf(g)) ?? []), g]);
  return new Map(
    [...groups].map(([key, gs]) => {
      const stats = Object.fromEntries(
        STATS.map((name) => {
          const samples = gs.flatMap((g) => g[name].samples).sort((a, b) => a - b);
          const count = gs.reduce((n, g) => n + g[name].count, 0);
          return [name, { count, p50: at(samples, 0.5), p90: at(samples, 0.9), p99: at(samples, 0.99), max: count === 0 ? 0 : Math.max(...gs.map((g) => g[name].max)), samples }];
        }),
      );
      const errors: Record<string, number> = {};
      for (const g of gs) for (const [k, v] of Object.entries(g.errors)) errors[k] = (errors[k] ?? 0) + v;
      const known = gs.filter((g) => g.tokens !== null);
      const tokens = known.length === 0 ? null : { input: known.reduce((n, g) => n + (g.tokens?.input ?? 0), 0), output: known.reduce((n, g) => n + (g.tokens?.output ?? 0), 0), cached: known.reduce((n, g) => n + (g.tokens?.cached ?? 0), 0) };
      return [key, { count: gs.reduce((n, g) => n + g.count, 0), errors, tokens, usageUnreported: gs.reduce((n, g) => n + g.usageUnreported, 0), costUnknown: gs.reduce((n, g) => n + g.costUnknown, 0), ...stats }];
    }),
  );
}

/** A summary in the shape of {@link union}, samples sorted. */
function shape(s: RunSummary): Map<string, Record<string, unknown>> {
  return new Map(
    s.groups.map((g) => [
      keyOf(g),
      {
        count: g.count,
        errors: g.errors,
        tokens: g.tokens,
        usageUnreported: g.usageUnreported,
        costUnknown: g.costUnknown,
        ...Object.fromEntries(STATS.map((name) => [name, { ...(g[name] as Stat), samples: [...g[name].samples].sort((a, b) => a - b) }])),
      },
    ]),
  );
}

const report = async (args: string[]): Promise<RunSummary> => {
  const { code, stdout, stderr } = await runCli(['report', ...args, '--format', 'json']);
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout) as RunSummary;
};

describe('a fleet of three replicas', () => {
  let replicas: RunningCli[];
  let sent: number[];
  let fromUrls: RunSummary;
  const SENT = 90;

  beforeAll(async () => {
    replicas = [
      await started.cli(['serve', '--upstream', 'sim', '--port', '0', '--store', 'memory']),
      await started.cli(['serve', '--upstream', 'sim', '--port', '0', '--store', 'memory', '--summary-file', summaryFile]),
      await started.cli(['serve', '--upstream', 'sim', '--port', '0', '--store', storeFile]),
    ];
    sent = await spread(replicas, SENT, 40);
  }, 60_000);

  it('report --from URL ×3: the total counts sent, and the percentiles of the union of the replicas’ own samples', async () => {
    expect(sent).toEqual([40, 30, 20]);
    const own = await Promise.all(replicas.map((r, i) => settled(r.url, sent[i] as number)));
    fromUrls = await report(replicas.flatMap((r) => ['--from', r.url]));
    expect(total(fromUrls)).toBe(SENT);
    expect(own.map(total)).toEqual(sent);
    // Every 15th request, from the 8th, was a 400: 6 of 90.
    expect(fromUrls.groups.reduce((n, g) => n + Object.values(g.errors).reduce((a, b) => a + b, 0), 0)).toBe(6);
    expect(fromUrls.groups.length).toBeGreaterThanOrEqual(3);
    expect(shape(fromUrls)).toEqual(union(own));
    expect(fromUrls.source).toBe('proxy');
    expect(Date.parse(fromUrls.startedAt)).toBe(Math.min(...own.map((s) => Date.parse(s.startedAt))));
    // The table says the same total.
    const table = await runCli(['report', ...replicas.flatMap((r) => ['--from', r.url])]);
    expect(table.stdout).toMatch(new RegExp(`^total: ${SENT} requests, cost \\$`, 'm'));
  }, 60_000);

  it('report --from a URL, a summary file and a SQLite store: the same traffic, merged from each source’s samples', async () => {
    // The second replica writes its summary file as it exits, the third has its store written.
    expect(await (replicas[1] as RunningCli).stop('SIGTERM')).toBe(0);
    expect(await (replicas[2] as RunningCli).stop('SIGTERM')).toBe(0);
    const sources = [(replicas[0] as RunningCli).url, summaryFile, storeFile];
    const each = await Promise.all(sources.map((s) => report(['--from', s])));
    expect(each.map(total)).toEqual(sent);
    const mixed = await report(sources.flatMap((s) => ['--from', s]));
    expect(total(mixed)).toBe(SENT);
    expect(shape(mixed)).toEqual(union(each));
    // Counts, errors and tokens agree with the three URLs' summary of the same traffic.
    const counts = (s: RunSummary) => [...shape(s)].map(([k, g]) => [k, g['count'], g['errors'], g['tokens'], g['usageUnreported']]).sort();
    expect(counts(mixed)).toEqual(counts(fromUrls));
    writeFileSync(join(dir, 'merged-baseline.json'), JSON.stringify(fromUrls));
  }, 60_000);

  it('check --current ×3 passes against a merged baseline of the same traffic, and fails (exit 1) against a much faster fleet', async () => {
    const currents = [(replicas[0] as RunningCli).url, summaryFile, storeFile].flatMap((s) => ['--current', s]);
    const same = await runCli(['check', '--baseline', join(dir, 'merged-baseline.json'), ...currents]);
    expect(same.stderr).toBe('');
    expect(same.stdout).toContain('### modeltap check: no regression');
    expect(same.code).toBe(0);
    // Two more replicas, serving the same mix 40 ms faster: a baseline of two sources, merged.
    const fast = [await started.cli(['serve', '--upstream', 'sim', '--port', '0', '--store', 'memory']), await started.cli(['serve', '--upstream', 'sim', '--port', '0', '--store', 'memory'])];
    const fastSent = await spread(fast, 60, 0);
    await Promise.all(fast.map((r, i) => settled(r.url, fastSent[i] as number)));
    const slower = await runCli(['check', ...fast.flatMap((r) => ['--baseline', r.url]), ...currents]);
    expect(slower.stderr).toMatch(/^regression: \/v1\/responses gpt-5\.1-codex http_sse ttfc_p50_ms: \+\d+\.\d % \(p=/m);
    expect(slower.code).toBe(1);
  }, 60_000);

  it('a source that fails is named (exit 2), and a proxy summary is not merged with a bench one', async () => {
    const url = (replicas[0] as RunningCli).url;
    const missing = join(dir, 'none.json');
    const bad = await runCli(['report', '--from', url, '--from', missing]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`modeltap: cannot read ${missing}\n`);
    const down = await runCli(['check', '--baseline', summaryFile, '--current', url, '--current', 'http://127.0.0.1:9/']);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/^modeltap: cannot reach the current run http:\/\/127\.0\.0\.1:9\/: /);
    const recorder = new SummaryRecorder('bench');
    recorder.record({ route: '/v1/responses', model: 'gpt-5.1-codex', transport: 'http_sse', error: undefined, ttfcMs: 1, durationMs: 2, overheadMs: undefined, tokens: undefined });
    const bench = join(dir, 'bench.json');
    writeFileSync(bench, JSON.stringify(recorder.summary()));
    const mixed = await runCli(['report', '--from', summaryFile, '--from', bench]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toBe(`modeltap: cannot merge a proxy summary (${summaryFile}) with a bench summary (${bench})\n`);
    expect(JSON.parse(readFileSync(summaryFile, 'utf8'))).toMatchObject({ source: 'proxy' });
  });
});
