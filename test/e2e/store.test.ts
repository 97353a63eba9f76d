// `modeltap serve --store` end to end: the built CLI with the built-in simulator, the `openai` SDK
// as the caller, and the database read back after a SIGTERM (which writes what is left).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { runCli, stoppedBy } from './cli.js';

const started = stoppedBy(afterEach);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'modeltap-store-e2e-'));
  dirs.push(dir);
  return dir;
}

describe('modeltap serve --store', () => {
  it('keeps the requests an openai SDK client made, in a 0600 file at the default place', async () => {
    const state = tempDir();
    const cli = await started.cli(['serve', '--upstream', 'sim', '--port', '0', '--store', 'default'], { XDG_STATE_HOME: state, HOME: state });
    const client = new OpenAI({ baseURL: `${cli.url}/v1`, apiKey: 'sk-test' });
    const stream = await client.responses.create({ model: 'gpt-5.1', input: 'hi', stream: true });
    for await (const _ of stream) void _;
    await client.responses.create({ model: 'gpt-5.1', input: 'hi' });
    const api = (await (await fetch(`${cli.url}/modeltap/api/operations`)).json()) as { operations: { transport: string }[] };
    expect(api.operations.map((o) => o.transport)).toEqual(['http_json', 'http_sse']);
    expect(await cli.stop('SIGTERM')).toBe(0);
    const path = join(state, 'modeltap', 'modeltap.db');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const store = new Store(path);
    try {
      const ops = store.listOperations().operations.reverse();
      expect(ops.map((o) => [o.kind, o.transport, o.requestModel, o.status])).toEqual([
        ['model', 'http_sse', 'gpt-5.1', 200],
        ['model', 'http_json', 'gpt-5.1', 200],
      ]);
      expect(ops[0]?.eventCount).toBeGreaterThan(2);
      expect(ops.every((o) => (o.inputTokens ?? 0) > 0)).toBe(true);
    } finally {
      store.close();
    }
  });

  it('modeltap export writes the stored requests as JSON lines, oldest first, without touching the file', async () => {
    const path = join(tempDir(), 'run.db');
    const cli = await started.cli(['serve', '--upstream', 'sim', '--port', '0', '--store', path]);
    for (const stream of [true, false]) await fetch(`${cli.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', input: 'hi', stream }) }).then((r) => r.text());
    expect(await cli.stop('SIGTERM')).toBe(0);
    const before = statSync(path).mtimeMs;
    const plain = await runCli(['export', path]);
    expect(plain.code).toBe(0);
    const lines = plain.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l['transport'])).toEqual(['http_sse', 'http_json']);
    expect(lines[0]).not.toHaveProperty('events');
    const withEvents = await runCli(['export', path, '--events']);
    const first = JSON.parse(withEvents.stdout.split('\n')[0] ?? '{}') as { events: unknown[]; eventCount: number };
    expect(first.events).toHaveLength(first.eventCount);
    expect((await runCli(['export', path, '--since', '2999-01-01T00:00:00Z'])).stdout).toBe('');
    expect(statSync(path).mtimeMs).toBe(before);
    const missing = await runCli(['export', join(tempDir(), 'none.db')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/cannot read the store .*none\.db: no store at/);
  });

  it('modeltap report --from a store reads it as the run summary of what it holds', async () => {
    const dir = tempDir();
    const path = join(dir, 'run.db');
    const summaryFile = join(dir, 'summary.json');
    const cli = await started.cli(['serve', '--upstream', 'sim', '--port', '0', '--store', path, '--summary-file', summaryFile]);
    const post = (model: string, headers: Record<string, string> = {}) =>
      fetch(`${cli.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ model, input: 'hi', stream: true }) }).then((r) => r.text());
    for (const model of ['gpt-5.1', 'gpt-5.1', 'gpt-4.1-mini', 'no-price']) await post(model);
    await post('gpt-4.1-mini', { 'x-sim-fault': 'status:429' });
    expect(await cli.stop('SIGTERM')).toBe(0);
    const fromStore = await runCli(['report', '--from', path, '--format', 'json']);
    const fromSummary = await runCli(['report', '--from', summaryFile, '--format', 'json']);
    expect(fromStore.code).toBe(0);
    type Group = { model: string; count: number; errors: Record<string, number>; tokens: unknown; ttfcMs: { count: number }; durationMs: { count: number }; costUsd: number | null; costUnknown: number };
    const shape = (text: string) =>
      ((JSON.parse(text) as { groups: Group[] }).groups.map((g) => ({ model: g.model, count: g.count, errors: g.errors, tokens: g.tokens, ttfc: g.ttfcMs.count, duration: g.durationMs.count, cost: g.costUsd, costUnknown: g.costUnknown })) as unknown[]).sort((x, y) =>
        JSON.stringify(x).localeCompare(JSON.stringify(y)),
      );
    // The same groups, counts, errors, tokens and cost as the proxy's own summary of the same run.
    expect(shape(fromStore.stdout)).toEqual(shape(fromSummary.stdout));
    expect(shape(fromStore.stdout)).toHaveLength(3);
    const groups = (JSON.parse(fromStore.stdout) as { groups: Group[] }).groups;
    expect(groups.find((g) => g.model === 'gpt-5.1')?.costUsd).toBeGreaterThan(0);
    expect(groups.find((g) => g.model === 'no-price')).toMatchObject({ costUsd: null, costUnknown: 1 });
    // The 429 reported no usage: its cost is unknown too.
    expect(groups.find((g) => g.model === 'gpt-4.1-mini')).toMatchObject({ count: 2, costUnknown: 1 });
  });

  it('without a store, its API says so', async () => {
    const cli = await started.cli(['serve', '--upstream', 'sim', '--port', '0', '--store', 'off']);
    const res = await fetch(`${cli.url}/modeltap/api/operations`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('store_off');
    expect(cli.stderr()).toContain('the request store is off, so it shows nothing');
  });

  it('is on by default: at the default place with a home, in memory without one', async () => {
    const state = tempDir();
    const home = await started.cli(['serve', '--upstream', 'sim', '--port', '0'], { HOME: state });
    await fetch(`${home.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m","input":"x"}' }).then((r) => r.text());
    expect(((await (await fetch(`${home.url}/modeltap/api/store`)).json()) as { location: string }).location).toBe(join(state, '.local', 'state', 'modeltap', 'modeltap.db'));
    expect(((await (await fetch(`${home.url}/modeltap/api/operations`)).json()) as { operations: unknown[] }).operations).toHaveLength(1);
    expect(home.stderr()).toContain(`modeltap live view: ${home.url}/ (requests kept in ${join(state, '.local', 'state', 'modeltap', 'modeltap.db')})`);
    const homeless = await started.cli(['serve', '--upstream', 'sim', '--port', '0']);
    expect(((await (await fetch(`${homeless.url}/modeltap/api/store`)).json()) as { location: string }).location).toBe(':memory:');
    expect(homeless.stderr()).toContain('(requests kept in memory for this run)');
  });

  it('a bad --retention exits 2 with one line', async () => {
    const { code, stderr } = await runCli(['serve', '--upstream', 'sim', '--port', '0', '--store', 'memory', '--retention', 'a week']);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toEqual(["modeltap: --retention must be a duration such as 7d, 12h, 30m or 90s, not 'a week'"]);
  });
});
