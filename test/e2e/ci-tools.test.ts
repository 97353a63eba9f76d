// modeltap bench / report / check, with the built CLI and the simulator.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runBench } from '../../src/ci/run-bench.js';
import { costPicos, usdOf } from '../../src/cost/cost.js';
import { shippedPrices } from '../../src/cost/price-table.js';
import { compareSummaries } from '../../src/ci/compare-summaries.js';
import type { RunSummary } from '../../src/summary/summary-recorder.js';
import { progressPrinter } from '../../src/cli/bench-command.js';
import { CLI, runCli, type RunningCli, stoppedBy } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'modeltap-ci-'));
const started = stoppedBy(afterAll);
const cli = started.cli;

let sim: RunningCli;
let slowSim: RunningCli;
beforeAll(async () => {
  sim = await cli(['sim', '--port', '0', '--ttfb-ms', '30', '--events', '5', '--gap-ms', '1', '--input-tokens', '10', '--output-tokens', '4', '--cached-tokens', '2']);
  // The same, with the time to first event raised by 50 %.
  slowSim = await cli(['sim', '--port', '0', '--ttfb-ms', '45', '--events', '5', '--gap-ms', '1', '--input-tokens', '10', '--output-tokens', '4', '--cached-tokens', '2']);
});

const bench = (base: string, extra: Partial<Parameters<typeof runBench>[0]> = {}) =>
  runBench({ baseUrl: `${base}/v1`, mode: 'sse', concurrency: 4, durationS: undefined, count: 120, model: 'gpt-5.1-codex', thinkMs: 0, headers: {}, ...extra });
const options = { maxRegressionPercent: 10, minChangeMs: 1, alpha: 0.01, ceilings: {} };
const save = (name: string, summary: RunSummary): string => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(summary));
  return path;
};

describe('modeltap check', () => {
  it('two runs of the same configuration pass, 10 out of 10 times', async () => {
    for (let rep = 0; rep < 10; rep++) {
      const rows = compareSummaries(await bench(sim.url), await bench(sim.url), options);
      expect(rows.filter((r) => r.regression), `repetition ${rep}`).toEqual([]);
    }
  }, 120_000);

  it('a run with the time to first event raised by 50 % fails with exit 1 and names the metric', async () => {
    const baseline = save('base.json', await bench(sim.url));
    const current = save('slow.json', await bench(slowSim.url));
    const { code, stdout, stderr } = await runCli(['check', '--baseline', baseline, '--current', current]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^regression: \/v1\/responses gpt-5\.1-codex http_sse ttfc_p50_ms: \+\d+\.\d % \(p=/m);
    expect(stdout).toContain('| ttfc_p50_ms |');
    expect(stdout.startsWith('### modeltap check:')).toBe(true);
  });

  it('a 2 % error rate against a 0 % baseline fails', async () => {
    const baseline = save('clean.json', await bench(sim.url, { count: 500 }));
    const current = save('errors.json', await bench(sim.url, { count: 500, headers: { 'x-sim-fault': 'status:500;every=50' } }));
    expect((JSON.parse(readFileSync(current, 'utf8')) as RunSummary).groups[0]?.errors).toEqual({ '500': 10 });
    const { code, stderr } = await runCli(['check', '--baseline', baseline, '--current', current]);
    expect(code).toBe(1);
    expect(stderr).toContain('error_rate: 0.0 % → 2.0 %');
  });

  it('writes github-action-benchmark JSON when asked', async () => {
    const a = save('a.json', await bench(sim.url));
    const out = join(dir, 'gab.json');
    const { code } = await runCli(['check', '--baseline', a, '--current', a, '--github-benchmark-json', out]);
    expect(code).toBe(0);
    const entries = JSON.parse(readFileSync(out, 'utf8')) as { name: string; unit: string; value: number }[];
    expect(entries.map((e) => e.name)).toContain('/v1/responses gpt-5.1-codex http_sse ttfc_p50_ms');
    expect(entries.every((e) => typeof e.value === 'number' && typeof e.unit === 'string')).toBe(true);
  });

  it.each([
    ['not JSON', '{oops', /^modeltap: the baseline .* is not JSON\n$/],
    ['another version', JSON.stringify({ version: 99, groups: [] }), /^modeltap: the baseline .* has summary version 99; this modeltap reads versions 1 and 2\n$/],
    ['no groups', JSON.stringify({ version: 1 }), /is not a modeltap run summary/],
  ])('a baseline that is %s exits 2 with a one-line reason', async (_what, text, message) => {
    const baseline = join(dir, 'bad.json');
    writeFileSync(baseline, text);
    const current = save('ok.json', await bench(sim.url, { count: 20 }));
    const { code, stderr } = await runCli(['check', '--baseline', baseline, '--current', current]);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('a baseline of other routes or models (mismatched) exits 2', async () => {
    const baseline = save('chat.json', await bench(sim.url, { mode: 'chat', count: 20 }));
    const current = save('sse.json', await bench(sim.url, { count: 20 }));
    const { code, stderr } = await runCli(['check', '--baseline', baseline, '--current', current]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^modeltap: the baseline and the current run share no route\/model\/transport\/kind group/);
  });
});

describe('modeltap check: the cost gate, through the simulator', () => {
  // The sim's usage (10 input, 2 of them cached, 4 output) at the shipped price of gpt-5.1-codex.
  const perRequest = usdOf(costPicos(shippedPrices(), 'gpt-5.1-codex', { inputTokens: 10, cachedInputTokens: 2, outputTokens: 4 }, 'default') as number);
  const benchCli = async (name: string, extra: string[] = []): Promise<string> => {
    const out = join(dir, name);
    const { code, stderr } = await runCli(['bench', '--base-url', `${sim.url}/v1`, '--count', '60', '--concurrency', '3', '--out', out, ...extra]);
    expect(code, stderr).toBe(0);
    return out;
  };

  it('bench costs each request from the usage the simulator reported; the same run passes; a 50 % dearer one fails with exit 1, named', async () => {
    const baseline = await benchCli('cost-base.json');
    const written = JSON.parse(readFileSync(baseline, 'utf8')) as RunSummary;
    expect(written.groups[0]).toMatchObject({ count: 60, costUnknown: 0 });
    expect(written.groups[0]?.costUsd).toBeCloseTo(60 * perRequest, 12);
    const same = await runCli(['check', '--baseline', baseline, '--current', await benchCli('cost-same.json')]);
    expect(same.stderr).not.toContain('cost_per_request_usd');
    expect(same.stdout).toMatch(/\| \/v1\/responses gpt-5\.1-codex http_sse \| cost_per_request_usd \| \$\S+ \| \$\S+ \| \+0\.0 % \| – \| ✅ \|/);
    expect(same.code).toBe(0);
    // The same agent on a dearer model price: only the cost moved.
    const dearer = join(dir, 'dearer-prices.json');
    writeFileSync(dearer, JSON.stringify({ 'gpt-5.1-codex': { input: 1.875, cached_input: 0.1875, output: 15 } }));
    const current = await benchCli('cost-dearer.json', ['--prices', dearer]);
    const { code, stdout, stderr } = await runCli(['check', '--baseline', baseline, '--current', current]);
    expect(stderr).toBe('regression: /v1/responses gpt-5.1-codex http_sse cost_per_request_usd: +50.0 %\n');
    expect(stdout).toContain('| (run) | cost_total_usd |');
    expect(code).toBe(1);
  }, 60_000);

  it('--ceiling cost_total_usd fails a run whose total passes it, and a misspelt ceiling is refused', async () => {
    const run = await benchCli('cost-ceiling.json');
    const over = await runCli(['check', '--baseline', run, '--current', run, '--ceiling', `cost_total_usd=${(30 * perRequest).toFixed(9)}`]);
    expect(over.stderr).toMatch(/^regression: \(run\) cost_total_usd: beyond the ceiling /);
    expect(over.code).toBe(1);
    expect((await runCli(['check', '--baseline', run, '--current', run, '--ceiling', `cost_total_usd=${(90 * perRequest).toFixed(9)}`])).code).toBe(0);
    const typo = await runCli(['check', '--baseline', run, '--current', run, '--ceiling', 'cost_usd=1']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("--ceiling: no ceiling applies to 'cost_usd'");
  }, 60_000);
});

describe('modeltap report', () => {
  it('against a proxy that served mixed traffic: counts equal requests sent, tokens equal the sim usage', async () => {
    const proxy = await cli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`]);
    const post = async (path: string, body: unknown) => (await fetch(`${proxy.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).text();
    for (let i = 0; i < 3; i++) await post('/v1/responses', { model: 'gpt-5.1-codex', input: `s${i}`, stream: true });
    for (let i = 0; i < 2; i++) await post('/v1/responses', { model: 'gpt-5.1-codex', input: `j${i}` });
    for (let i = 0; i < 2; i++) await post('/v1/chat/completions', { model: 'gpt-5.1', messages: [{ role: 'user', content: `c${i}` }], stream: true, stream_options: { include_usage: true } });
    const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`);
    await new Promise<void>((resolve) => {
      ws.once('open', () => ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.1-codex', input: 'w' })));
      ws.on('message', (d) => d.toString().includes('"response.completed"') && resolve());
    });
    ws.close();
    await new Promise((r) => setTimeout(r, 200));
    const { code, stdout } = await runCli(['report', '--from', proxy.url, '--format', 'json']);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as RunSummary;
    const group = (route: string, transport: string) => summary.groups.find((g) => g.route === route && g.transport === transport);
    expect(group('/v1/responses', 'http_sse')).toMatchObject({ count: 3, model: 'gpt-5.1-codex', tokens: { input: 30, output: 12, cached: 6 }, errors: {} });
    expect(group('/v1/responses', 'http_json')).toMatchObject({ count: 2, tokens: { input: 20, output: 8, cached: 4 } });
    expect(group('/v1/chat/completions', 'http_sse')).toMatchObject({ count: 2, model: 'gpt-5.1', tokens: { input: 20, output: 8, cached: 4 } });
    expect(group('/v1/responses', 'websocket')).toMatchObject({ count: 1, tokens: { input: 10, output: 4, cached: 2 } });
    expect(group('/v1/responses', 'http_sse')?.overheadMs.count).toBe(3);
    // What each group cost, at the shipped prices of the model that answered.
    const cost = (model: string) => costPicos(shippedPrices(), model, { inputTokens: 10, cachedInputTokens: 2, outputTokens: 4 }, 'default') as number;
    expect(group('/v1/responses', 'http_sse')).toMatchObject({ costUsd: usdOf(3 * cost('gpt-5.1-codex')), costUnknown: 0 });
    expect(group('/v1/chat/completions', 'http_sse')).toMatchObject({ costUsd: usdOf(2 * cost('gpt-5.1')), costUnknown: 0 });
    expect(group('/v1/responses', 'websocket')).toMatchObject({ costUsd: usdOf(cost('gpt-5.1-codex')), costUnknown: 0 });
    const table = await runCli(['report', '--from', proxy.url]);
    expect(table.stdout).toMatch(/\/v1\/responses\s+gpt-5\.1-codex\s+http_sse\s+–\s+3\s+0\s/);
    const total = usdOf(6 * cost('gpt-5.1-codex') + 2 * cost('gpt-5.1'));
    expect(table.stdout).toContain(`total: 8 requests, cost $${total.toPrecision(4)}, $${(total / 8).toPrecision(4)} per request\n`);
    const markdown = await runCli(['report', '--from', proxy.url, '--format', 'markdown']);
    expect(markdown.stdout.split('\n')[0]).toMatch(/^\| route \| model \| transport \| kind \| requests/);
  });
});

describe('modeltap bench', () => {
  it('writes a summary whose counts match what the sim served', async () => {
    const out = join(dir, 'bench.json');
    const before = ((await (await fetch(`${sim.url}/__sim/log`)).json()) as unknown[]).length;
    const { code } = await runCli(['bench', '--base-url', `${sim.url}/v1`, '--mode', 'json', '--count', '37', '--concurrency', '3', '--out', out]);
    expect(code).toBe(0);
    const summary = JSON.parse(readFileSync(out, 'utf8')) as RunSummary;
    const served = ((await (await fetch(`${sim.url}/__sim/log`)).json()) as unknown[]).length - before;
    expect(summary.source).toBe('bench');
    expect(summary.groups[0]).toMatchObject({ route: '/v1/responses', transport: 'http_json', count: 37, tokens: { input: 370, output: 148, cached: 74 } });
    expect(served).toBe(37);
  });

  it('shows progress in place on a terminal (a real pseudo-terminal) and as plain lines otherwise', async () => {
    const shell = `${process.execPath} ${CLI} bench --base-url ${sim.url}/v1 --count 40 --concurrency 2`;
    const tty = await new Promise<string>((resolve) => execFile('script', ['-qec', shell, '/dev/null'], { timeout: 30_000 }, (_e, out) => resolve(out)));
    expect(tty).toMatch(/\r\u001b\[2K\d+ requests, \d+\/s, 0 errors/);
    const plain = await runCli(['bench', '--base-url', `${sim.url}/v1`, '--count', '40', '--concurrency', '2']);
    expect(plain.stderr).not.toContain('\r');
    expect(plain.stderr).toMatch(/^\d+ requests, \d+\/s, 0 errors, \d+\.\d s\n/);
    const lines: string[] = [];
    const print = progressPrinter(false, (s) => lines.push(s));
    for (const t of [0, 1, 4.9, 5.1, 9, 10.2]) print({ done: 1, errors: 0, elapsedS: t });
    expect(lines).toHaveLength(3);
  });
});
