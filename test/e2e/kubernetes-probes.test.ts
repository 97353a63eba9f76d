// The Kubernetes Deployment (deploy/kubernetes/base) against the built CLI, laid out as the
// Dockerfile's final stage lays out the image: modeltap run with the base's ConfigMap settings answers
// the Deployment's probe paths without the access key, guards the rest with the key the Secret
// provides, serves the live view and /metrics on the metrics port, and drains on SIGTERM as the
// termination grace period assumes. Listening moves to loopback and port 0 for the test.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { baseEnv } from './cli.js';

const root = new URL('../../', import.meta.url).pathname;

interface Probe {
  httpGet: { path: string; port: string };
}
interface Rendered {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: { template: { spec: { containers: { name: string; readinessProbe: Probe; livenessProbe: Probe; startupProbe: Probe }[] } } };
}

const objects = parseAllDocuments(execFileSync('kubectl', ['kustomize', join(root, 'deploy/kubernetes/base')], { encoding: 'utf8' })).map((d) => d.toJS() as Rendered);
const config = objects.find((o) => o.kind === 'ConfigMap')?.data ?? {};
const container = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'modeltap')?.spec?.template.spec.containers.find((c) => c.name === 'modeltap');
const key = 'k8s-test-access-key';
const dir = mkdtempSync(join(tmpdir(), 'modeltap-k8s-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The image's /app: what the Dockerfile's final stage copies (from the build stage, which builds
 * dist as `npm run build` does here, or from the repository), node_modules linked rather than copied.
 */
function imageLayout(): string {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const app = join(dir, 'app');
  mkdirSync(app);
  const copies = [...final.matchAll(/^COPY (?:--from=build \/app\/)?(\S+) (\S+)$/gm)].map((m) => [m[1] as string, m[2] as string] as const);
  expect(copies.length).toBeGreaterThanOrEqual(3);
  for (const [from, to] of copies) {
    const target = join(app, to);
    if (from === 'node_modules') symlinkSync(join(root, 'node_modules'), target);
    else cpSync(join(root, from), to.endsWith('/') ? join(target, from) : target, { recursive: true });
  }
  return app;
}

/** Starts `node dist/cli/main.js serve` in the image layout, as the ENTRYPOINT does, and waits for its listening line. */
async function startImage(app: string, env: Record<string, string>): Promise<{ url: string; stderr: () => string; proc: ReturnType<typeof spawn>; exited: Promise<number | null> }> {
  const proc = spawn(process.execPath, ['dist/cli/main.js', 'serve'], { cwd: app, env: { ...baseEnv(), ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within 10 s: ${stderr}`)), 10_000);
    proc.stderr?.on('data', () => {
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}: ${stderr}`));
    });
  });
  return { url, stderr: () => stderr, proc, exited };
}

/** The base's settings as the pod gets them (ConfigMap and Secrets), but on loopback and free ports. */
function podEnv(): Record<string, string> {
  return {
    ...config,
    MODELTAP_HOST: '127.0.0.1',
    MODELTAP_PORT: '0',
    MODELTAP_METRICS_PORT: '0',
    MODELTAP_STORE: join(dir, 'modeltap.db'),
    MODELTAP_ACCESS_KEY: key,
    [config['MODELTAP_API_KEY_ENV'] ?? 'unset']: 'sk-k8s-test',
    MODELTAP_REPLICA: 'modeltap-7d9f8-abcde',
    HOME: dir,
  };
}

describe('the Kubernetes Deployment against modeltap', () => {
  it('answers the probe paths without a key, guards the proxy and /metrics with the Secret key, and drains on SIGTERM', async () => {
    expect(container).toBeDefined();
    const probes = [container?.readinessProbe, container?.livenessProbe, container?.startupProbe] as Probe[];
    expect(Number(config['MODELTAP_DRAIN_DELAY_MS'])).toBeGreaterThanOrEqual(1000);
    const cli = await startImage(imageLayout(), podEnv());
    try {
      for (const probe of probes) {
        const res = await fetch(`${cli.url}${probe.httpGet.path}`);
        expect(res.status, probe.httpGet.path).toBe(200);
        expect(await res.json()).toEqual({ status: probe.httpGet.path === '/readyz' ? 'ready' : 'ok' });
      }
      expect((await fetch(`${cli.url}/v1/models`)).status).toBe(401);
      const view = await fetch(`${cli.url}/`, { headers: { 'x-modeltap-key': key } });
      expect(view.status).toBe(200);
      expect(await view.text()).toContain('<script');

      const metricsUrl = /modeltap metrics on (http:\/\/\S+\/metrics)/.exec(cli.stderr())?.[1];
      expect(metricsUrl, cli.stderr()).toBeDefined();
      expect((await fetch(metricsUrl as string)).status).toBe(401);
      const metrics = await fetch(metricsUrl as string, { headers: { authorization: `Bearer ${key}` } });
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('target_info');

      // The drain delay: /readyz turns 503 at once while the listener still serves.
      cli.proc.kill('SIGTERM');
      let ready = 200;
      for (let i = 0; i < 200 && ready !== 503; i++) {
        const res = await fetch(`${cli.url}/readyz`);
        ready = res.status;
        if (ready === 503) expect(await res.json()).toEqual({ status: 'draining' });
        else await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(ready).toBe(503);
      expect((await fetch(`${cli.url}/healthz`)).status).toBe(200);
      expect(cli.proc.exitCode).toBeNull();
    } finally {
      // A second signal ends the drain early; the kill bounds the test if it does not.
      cli.proc.kill('SIGTERM');
      const timer = setTimeout(() => cli.proc.kill('SIGKILL'), 15_000);
      await cli.exited;
      clearTimeout(timer);
    }
  }, 30_000);
});
