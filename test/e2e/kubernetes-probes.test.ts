// The Kubernetes Deployment (deploy/kubernetes/base) against the built CLI: modeltap run with the
// base's ConfigMap settings answers the Deployment's probe paths without the access key, guards the
// rest with the key the Secret provides, serves /metrics on the metrics port, and drains on SIGTERM
// as the termination grace period assumes. Listening moves to loopback and port 0 for the test.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { startCli } from './cli.js';

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
    const cli = await startCli(['serve'], podEnv());
    try {
      for (const probe of probes) {
        const res = await fetch(`${cli.url}${probe.httpGet.path}`);
        expect(res.status, probe.httpGet.path).toBe(200);
        expect(await res.json()).toEqual({ status: probe.httpGet.path === '/readyz' ? 'ready' : 'ok' });
      }
      expect((await fetch(`${cli.url}/v1/models`)).status).toBe(401);

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
