import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = new URL('../../', import.meta.url).pathname;
/** The built CLI. */
export const CLI = `${repo}dist/cli/main.js`;

/** A running `modeltap` child process. */
export interface RunningCli {
  readonly url: string;
  readonly proc: ChildProcess;
  /** Everything it printed on stderr so far. */
  stderr(): string;
  /** Everything it printed on stdout so far (read as it comes, so a chatty child never blocks). */
  stdout(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code when the process exits. */
  exited: Promise<number | null>;
}

/**
 * What every spawned process gets of this one's environment: PATH, and the suite's
 * `--telemetry-thread` mode (MODELTAP_TELEMETRY_THREAD), so the e2e tests run in both modes.
 */
export function baseEnv(): Record<string, string> {
  const mode = process.env['MODELTAP_TELEMETRY_THREAD'];
  return { PATH: process.env['PATH'] ?? '', ...(mode === undefined ? {} : { MODELTAP_TELEMETRY_THREAD: mode }) };
}

/** Starts `modeltap <args>` and waits for its "listening on <url>" line (10 s at most). */
export async function startCli(args: readonly string[], env: Record<string, string> = {}): Promise<RunningCli> {
  const proc = spawn(process.execPath, [CLI, ...args], { env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  proc.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within 10 s: ${stderr}`)), 10_000);
    const check = (): void => {
      const match = /listening on (http:\/\/[^\s]+)/.exec(stderr);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    proc.stderr?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}: ${stderr}`));
    });
  });
  return {
    url,
    proc,
    stderr: () => stderr,
    stdout: () => stdout,
    exited,
    stop: (signal = 'SIGTERM') => {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Runs `modeltap <args>` to completion. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [CLI, ...args], { env: { ...baseEnv(), ...env } });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The README's Codex snippet pointed at `baseUrl`: as written, or with its WebSocket line taken out. */
export function readmeConfig(baseUrl: string, websockets: boolean): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const toml = /```toml\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!toml) throw new Error('no toml snippet in the README');
  const config = toml.replace('http://127.0.0.1:8787/v1', baseUrl);
  if (websockets) return config;
  if (!config.includes('supports_websockets = true\n')) throw new Error('the README snippet has no supports_websockets = true');
  return config.replace('supports_websockets = true\n', '');
}

/** Runs `codex exec "say hello"` (the real Codex CLI from npm) with a custom provider at `baseUrl`. */
export function runCodex(configToml: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const home = mkdtempSync(join(tmpdir(), 'modeltap-codex-home-'));
  const work = mkdtempSync(join(tmpdir(), 'modeltap-codex-work-'));
  writeFileSync(join(home, 'config.toml'), configToml);
  return new Promise((resolve) => {
    // stdin is closed: `codex exec` reads a piped stdin as part of the prompt and would wait for it.
    const child = spawn(`${repo}node_modules/.bin/codex`, ['exec', '--skip-git-repo-check', 'say hello'], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...baseEnv(), HOME: home, CODEX_HOME: home, OPENAI_API_KEY: 'sk-codex-e2e', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** What a test file started, stopped newest first by the vitest hook it was made with. */
export interface Started {
  /** Starts `modeltap <args>` (as {@link startCli}) and stops it with the rest. */
  cli(args: readonly string[], env?: Record<string, string>): Promise<RunningCli>;
  /** Stops something else with the rest (a receiver, a Prometheus). */
  add(stop: () => Promise<unknown>): void;
}

/** Everything started through the result is stopped by `hook` (`afterEach` or `afterAll`), newest first. */
export function stoppedBy(hook: (fn: () => Promise<void>) => void): Started {
  let stops: (() => Promise<unknown>)[] = [];
  hook(async () => {
    const now = stops.reverse();
    stops = [];
    for (const stop of now) await stop();
  });
  return {
    cli: async (args, env = {}) => {
      const proc = await startCli(args, env);
      stops.push(() => proc.stop());
      return proc;
    },
    add: (stop) => {
      stops.push(stop);
    },
  };
}
