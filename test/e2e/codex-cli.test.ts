// The real Codex CLI (`@openai/codex`, the version package.json pins) through the built
// `modeltap serve` to `modeltap sim`, configured with the README's own config.toml snippet.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readmeConfig, runCodex, startCli, type RunningCli } from './cli.js';

const repo = new URL('../../', import.meta.url).pathname;
const codexVersion = (JSON.parse(readFileSync(join(repo, 'node_modules/@openai/codex/package.json'), 'utf8')) as { version: string }).version;

interface CodexRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function codexExec(baseUrl: string, websockets = false): Promise<CodexRun> {
  return runCodex(readmeConfig(baseUrl, websockets));
}

let sim: RunningCli;
let proxy: RunningCli;

beforeAll(async () => {
  sim = await startCli(['sim', '--port', '0']);
  proxy = await startCli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`]);
});
afterAll(async () => {
  await proxy?.stop();
  await sim?.stop();
});

interface SimEntry {
  method: string;
  path: string;
  headers: Record<string, string>;
  model?: string;
  transport?: string;
  generate?: boolean;
}

async function simLog(): Promise<SimEntry[]> {
  return (await (await fetch(`${sim.url}/__sim/log`)).json()) as SimEntry[];
}

describe('codex exec through modeltap', () => {
  it("the README's config as written: its model, over the Responses WebSocket, with the sim's answer", async () => {
    const before = (await simLog()).length;
    const run = await codexExec(`${proxy.url}/v1`, true);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Hello from the modeltap simulator.');
    const seen = (await simLog()).slice(before);
    const turns = seen.filter((e) => e.transport === 'websocket' && e.generate !== false);
    expect(turns.length).toBeGreaterThanOrEqual(1);
    expect(turns[0]?.model).toBe('gpt-5.1-codex');
    expect(seen.filter((e) => e.method === 'POST')).toEqual([]);
  });

  it('completes with the same answer as against the sim directly, and its headers reach the upstream', async () => {
    const before = (await simLog()).length;
    const proxied = await codexExec(`${proxy.url}/v1`);
    expect(proxied.code).toBe(0);
    const seen = (await simLog()).slice(before);
    const direct = await codexExec(`${sim.url}/v1`);
    expect(direct.code).toBe(0);
    expect(proxied.stdout).toBe(direct.stdout);
    expect(proxied.stdout).toContain('Hello from the modeltap simulator.');
    const post = seen.find((e) => e.method === 'POST' && e.path === '/v1/responses');
    expect(post?.model).toBe('gpt-5.1-codex');
    expect(post?.headers['user-agent']?.startsWith(`codex_exec/${codexVersion} `)).toBe(true);
    expect(post?.headers['authorization']).toBe('Bearer sk-codex-e2e');
    expect(post?.headers['session-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(post?.headers['x-codex-turn-metadata']).toContain('"request_kind":"turn"');
  });
});
