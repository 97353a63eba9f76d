// The built CLI as users run it: flags, help, refusal to listen unsafely, shutdown, the quick start.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERVE_FLAGS } from '../../src/cli/serve-command.js';
import { runCli, startCli } from './cli.js';

const repo = new URL('../../', import.meta.url).pathname;

describe('modeltap serve: flags', () => {
  it('--help documents every flag and its environment variable', async () => {
    const { code, stdout } = await runCli(['serve', '--help']);
    expect(code).toBe(0);
    for (const flag of SERVE_FLAGS) {
      expect(stdout).toContain(`--${flag.name}`);
      if (flag.env) expect(stdout).toContain(flag.env);
    }
  });

  it.each([
    [['serve', '--bogus'], 'modeltap: unknown flag --bogus\n'],
    [['serve', '--port', 'eighty'], "modeltap: --port must be a whole number, not 'eighty'\n"],
    [['serve', '--upstream', 'ftp://x'], "modeltap: --upstream must be http(s), not 'ftp:'\n"],
    [['serve', '--port'], 'modeltap: --port needs a value\n'],
    [['nope'], "modeltap: unknown command 'nope' (try modeltap --help)\n"],
  ])('%j: one clear line and exit status 2', async (args, line) => {
    const { code, stderr } = await runCli(args);
    expect(code).toBe(2);
    expect(stderr).toBe(line);
  });

  it('a bad environment value is refused the same way', async () => {
    const { code, stderr } = await runCli(['serve'], { MODELTAP_PORT: '-1' });
    expect(code).toBe(2);
    expect(stderr).toBe("modeltap: MODELTAP_PORT must be a whole number, not '-1'\n");
  });

  it('refuses to listen beyond loopback without an access key, and says why', async () => {
    const { code, stderr } = await runCli(['serve', '--host', '0.0.0.0', '--port', '0', '--upstream', 'sim']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^modeltap: refusing to listen on 0\.0\.0\.0 without an access key.*--access-key/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('modeltap serve: shutdown', () => {
  it('SIGTERM during a stream: the stream completes, new connections are refused, then exit 0', async () => {
    const proxy = await startCli(['serve', '--port', '0', '--upstream', 'sim']);
    const res = await fetch(`${proxy.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sim-events': '20', 'x-sim-gap-ms': '50' },
      body: JSON.stringify({ model: 'm', input: 'x', stream: true }),
    });
    const reader = res.body?.getReader();
    const first = await reader?.read();
    expect(first?.done).toBe(false);
    proxy.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    await expect(fetch(`${proxy.url}/healthz`)).rejects.toThrow();
    let text = Buffer.from(first?.value ?? new Uint8Array()).toString();
    for (let chunk = await reader?.read(); chunk && !chunk.done; chunk = await reader?.read()) text += Buffer.from(chunk.value).toString();
    expect(text).toContain('response.completed');
    expect(await proxy.exited).toBe(0);
    expect(proxy.stderr()).toContain('SIGTERM: finishing 1 in-flight request(s), then exiting');
  });

  it('a second signal aborts at once', async () => {
    const proxy = await startCli(['serve', '--port', '0', '--upstream', 'sim']);
    const res = await fetch(`${proxy.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sim-events': '1000', 'x-sim-gap-ms': '50' },
      body: JSON.stringify({ model: 'm', input: 'x', stream: true }),
    });
    const reader = res.body?.getReader();
    await reader?.read();
    proxy.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    proxy.proc.kill('SIGTERM');
    expect(await proxy.exited).toBe(0);
    expect(proxy.stderr()).toContain('SIGTERM: aborting now');
  });
});

describe('README quick start', () => {
  it('the build leaves the bin executable (npm links it before `prepare` builds it, so npm cannot mark it)', () => {
    const bin = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).bin.modeltap as string;
    expect(statSync(join(repo, bin)).mode & 0o111).toBe(0o111);
  });

  it('`npx modeltap` runs this package\'s own CLI', async () => {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile('npx', ['--no-install', 'modeltap', '--version'], { cwd: repo, timeout: 30_000 }, (error, out) => (error ? reject(error) : resolve(out)));
    });
    expect(stdout.trim()).toBe(JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version);
  });

  it('the SDK snippet works against `modeltap serve --upstream sim`', async () => {
    const proxy = await startCli(['serve', '--port', '0', '--upstream', 'sim']);
    const readme = readFileSync(join(repo, 'README.md'), 'utf8');
    const quickStart = readme.slice(readme.indexOf('## Quick start'));
    const snippet = /```js\n([\s\S]*?)```/.exec(quickStart)?.[1] ?? '';
    expect(snippet).toContain("baseURL: 'http://127.0.0.1:8787/v1'");
    const dir = mkdtempSync(join(repo, '.readme-example-'));
    const file = join(dir, 'quick-start.mjs');
    writeFileSync(file, snippet.replace('http://127.0.0.1:8787/v1', `${proxy.url}/v1`));
    try {
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, [file], { cwd: repo, timeout: 15_000, env: { PATH: process.env['PATH'] ?? '', OPENAI_API_KEY: 'sk-anything' } }, (error, out) =>
          error ? reject(error) : resolve(out),
        );
      });
      expect(stdout).toBe('Hello from the modeltap simulator. All systems\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await proxy.stop();
    }
  });
});
