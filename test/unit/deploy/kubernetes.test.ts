// The Kubernetes manifests (deploy/kubernetes): rendered by kubectl's kustomize, every object checked
// against the Kubernetes schemas (kubernetes-models), and against what modeltap serves and reads.
// The probes against a running modeltap are in test/e2e/kubernetes-probes.test.ts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { SERVE_FLAGS } from '../../../src/cli/serve-command.js';
import { unknownFields } from '../../helpers/kubernetes-fields.js';

const root = new URL('../../../', import.meta.url).pathname;
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
type Obj = Record<string, unknown>;

/** A rendered Kubernetes object, as far as these tests look into it. */
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Obj;
  data?: Record<string, string>;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; fieldRef?: { fieldPath: string } };
}
interface Probe {
  httpGet: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  ports: { name: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string } }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: Obj;
  securityContext?: Obj;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  containers: Container[];
  securityContext?: Obj;
  terminationGracePeriodSeconds?: number;
  automountServiceAccountToken?: boolean;
  volumes?: { name: string; emptyDir?: { sizeLimit?: string }; configMap?: { name: string } }[];
}
interface DeploymentSpec {
  replicas?: number;
  selector: { matchLabels: Record<string, string> };
  template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
}

/** `kubectl kustomize DIR`, parsed: every document of the output. */
function render(dir: string): K8sObject[] {
  const out = execFileSync('kubectl', ['kustomize', join(root, dir)], { encoding: 'utf8' });
  return parseAllDocuments(out).map((doc) => {
    expect(doc.errors, dir).toEqual([]);
    return doc.toJS() as K8sObject;
  });
}

const base = render('deploy/kubernetes/base');
const overlay = render('deploy/kubernetes/overlays/otel-gateway');

function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (kind === 'ConfigMap' ? new RegExp(`^${name}-[a-z0-9]{10}$`).test(o.metadata.name) : o.metadata.name === name));
  expect(found.map((o) => `${o.kind}/${o.metadata.name}`), `${kind} ${name}`).toHaveLength(1);
  return found[0] as K8sObject;
}
const deploymentSpec = (o: K8sObject): DeploymentSpec => o.spec as unknown as DeploymentSpec;
const container = (o: K8sObject, name: string): Container => {
  const found = deploymentSpec(o).template.spec.containers.find((c) => c.name === name);
  expect(found, `container ${name}`).toBeDefined();
  return found as Container;
};
/** The container port a probe or Service names (by name or number). */
const portOf = (c: Container, port: string | number): number => {
  const found = c.ports.find((p) => p.name === port || p.containerPort === port);
  expect(found, `port ${port} of ${c.name}`).toBeDefined();
  return (found as { containerPort: number }).containerPort;
};
const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The kubernetes-models class for an apiVersion and kind; throws for a kind it has no schema for. */
async function modelFor(apiVersion: string, kind: string): Promise<new (data: unknown) => { validate(): void }> {
  const module = (await import(`kubernetes-models/${apiVersion}`)) as Record<string, unknown>;
  const model = module[kind];
  if (typeof model !== 'function') throw new Error(`no Kubernetes schema for ${apiVersion} ${kind}`);
  return model as new (data: unknown) => { validate(): void };
}

describe('kubectl kustomize', () => {
  it('renders the base: Deployment, Service, HPA, PDB and the generated ConfigMap, and no Secret', () => {
    expect(base.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '-<hash>')}`).sort()).toEqual([
      'ConfigMap/modeltap-<hash>',
      'Deployment/modeltap',
      'HorizontalPodAutoscaler/modeltap',
      'PodDisruptionBudget/modeltap',
      'Service/modeltap',
    ]);
  });

  it('renders the overlay: the base, the Collector and the Prometheus scrape configuration, and no Secret', () => {
    expect(overlay.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '-<hash>')}`).sort()).toEqual([
      'ConfigMap/modeltap-<hash>',
      'ConfigMap/modeltap-prometheus-<hash>',
      'ConfigMap/otel-collector-<hash>',
      'Deployment/modeltap',
      'Deployment/otel-collector',
      'HorizontalPodAutoscaler/modeltap',
      'PodDisruptionBudget/modeltap',
      'Service/modeltap',
      'Service/otel-collector',
    ]);
  });

  it('points every workload at the generated ConfigMap by its hashed name', () => {
    for (const objects of [base, overlay]) {
      const configMap = find(objects, 'ConfigMap', 'modeltap');
      expect(container(find(objects, 'Deployment', 'modeltap'), 'modeltap').envFrom).toEqual([{ configMapRef: { name: configMap.metadata.name } }]);
    }
    const collector = deploymentSpec(find(overlay, 'Deployment', 'otel-collector')).template.spec;
    expect(collector.volumes?.find((v) => v.name === 'config')?.configMap?.name).toBe(find(overlay, 'ConfigMap', 'otel-collector').metadata.name);
  });
});

describe('Kubernetes schemas', () => {
  it('every rendered object validates against the schema of its apiVersion and kind', async () => {
    for (const object of [...base, ...overlay]) {
      const Model = await modelFor(object.apiVersion, object.kind);
      expect(() => new Model(object).validate(), `${object.kind}/${object.metadata.name}`).not.toThrow();
    }
  });

  it('the schemas reject a broken object and an unknown kind', async () => {
    const deployment = structuredClone(find(base, 'Deployment', 'modeltap'));
    const ports = (deploymentSpec(deployment).template.spec.containers[0] as Container).ports as unknown as { containerPort: unknown }[];
    (ports[0] as { containerPort: unknown }).containerPort = 'http';
    const Model = await modelFor('apps/v1', 'Deployment');
    expect(() => new Model(deployment).validate()).toThrow(/containerPort must be integer/);
    await expect(modelFor('apps/v1', 'Deploymnet')).rejects.toThrow(/no Kubernetes schema/);
  });

  it('every field of every object is one its type declares (the API server would drop a misspelt one)', () => {
    for (const object of [...base, ...overlay]) expect(unknownFields(object), `${object.kind}/${object.metadata.name}`).toEqual([]);
    const deployment = structuredClone(find(base, 'Deployment', 'modeltap')) as unknown as { spec: { template: { spec: { containers: Obj[] } } } };
    const first = deployment.spec.template.spec.containers[0] as Obj;
    first['readinesProbe'] = first['readinessProbe'];
    (first['securityContext'] as Obj)['readOnlyRootFileSystem'] = true;
    expect(unknownFields(deployment as unknown as K8sObject)).toEqual([
      'Deployment.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem',
      'Deployment.spec.template.spec.containers[0].readinesProbe',
    ]);
  });
});

describe('the modeltap Deployment', () => {
  const deployment = find(base, 'Deployment', 'modeltap');
  const spec = deploymentSpec(deployment);
  const pod = spec.template.spec;
  const modeltap = container(deployment, 'modeltap');
  const config = find(base, 'ConfigMap', 'modeltap').data ?? {};
  const env = new Map((modeltap.env ?? []).map((e) => [e.name, e]));

  it('runs the image tagged with the package version, built from the Dockerfile, with its entrypoint', () => {
    const version = (JSON.parse(read('package.json')) as { version: string }).version;
    expect(modeltap.image).toBe(`modeltap:${version}`);
    expect(read('Dockerfile')).toContain('ENTRYPOINT ["node", "dist/cli/main.js"]');
    expect(modeltap.args).toEqual(['serve']);
  });

  it('runs an image that builds and holds everything the npm package ships (dist with the view, view/static, prices)', () => {
    const dockerfile = read('Dockerfile');
    const [build = '', final = ''] = dockerfile.split(/^FROM .*$/m).slice(1);
    // Every TypeScript project that writes into dist is compiled in the build stage, from its sources.
    for (const file of ['tsconfig.build.json', 'tsconfig.view.json']) {
      const project = parse(read(file)) as { compilerOptions?: { outDir?: string }; include: string[] };
      expect(project.compilerOptions?.outDir ?? 'dist', file).toMatch(/^dist/);
      expect(build).toContain(`tsc -p ${file}`);
      expect(build).toMatch(new RegExp(`^COPY .*\\b${file.replace('.', '\\.')}\\b`, 'm'));
      for (const include of project.include) expect(build, include).toMatch(new RegExp(`^COPY (?:.* )?${include.split('/')[0]}(?: .*)? \\S+$`, 'm'));
    }
    const copied = [...final.matchAll(/^COPY (?:--from=build \/app\/)?(\S+) \S+$/gm)].map((m) => m[1]);
    for (const shipped of (JSON.parse(read('package.json')) as { files: string[] }).files) expect(copied, shipped).toContain(shipped);
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'node_modules']));
  });

  it('reads only MODELTAP_* variables that modeltap serve has', () => {
    const known = new Set(SERVE_FLAGS.map((f) => f.env));
    for (const objects of [base, overlay]) {
      const names = [...Object.keys(find(objects, 'ConfigMap', 'modeltap').data ?? {}), ...(container(find(objects, 'Deployment', 'modeltap'), 'modeltap').env ?? []).map((e) => e.name)];
      const ours = names.filter((n) => n.startsWith('MODELTAP_'));
      expect(ours.length).toBeGreaterThan(8);
      for (const name of ours) expect(known.has(name), name).toBe(true);
    }
  });

  it('sets only OTEL_* variables that modeltap or the OpenTelemetry SDK reads', () => {
    const sdk = join(root, 'node_modules/@opentelemetry');
    const sources = [read('src/cli/telemetry-config.ts'), read('src/cli/serve-command.ts')];
    for (const pkg of readdirSync(sdk)) {
      const walk = (dir: string): void => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          if (entry.isDirectory()) walk(join(dir, entry.name));
          else if (entry.name.endsWith('.mjs')) sources.push(readFileSync(join(dir, entry.name), 'utf8'));
        }
      };
      walk(join(sdk, pkg));
    }
    const names = [...Object.keys(find(overlay, 'ConfigMap', 'modeltap').data ?? {}), ...(container(find(overlay, 'Deployment', 'modeltap'), 'modeltap').env ?? []).map((e) => e.name)].filter((n) => n.startsWith('OTEL_'));
    expect(names.sort()).toEqual(['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_METRICS_EXPORTER', 'OTEL_RESOURCE_ATTRIBUTES', 'OTEL_SERVICE_NAME']);
    for (const name of names) expect(sources.some((s) => s.includes(`'${name}'`) || s.includes(`"${name}"`)), name).toBe(true);
  });

  it('listens beyond loopback with the access key from a Secret, and the upstream key from a Secret through --api-key-env', () => {
    expect(config['MODELTAP_HOST']).toBe('0.0.0.0');
    expect(config['MODELTAP_ACCESS_KEY']).toBeUndefined();
    expect(env.get('MODELTAP_ACCESS_KEY')?.valueFrom?.secretKeyRef).toEqual({ name: 'modeltap-access-key', key: 'key' });
    const keyVariable = config['MODELTAP_API_KEY_ENV'] as string;
    expect(keyVariable).toMatch(/^[A-Z_]+$/);
    expect(env.get(keyVariable)?.valueFrom?.secretKeyRef).toEqual({ name: 'modeltap-upstream', key: 'api-key' });
    // Optional: without the Secret the ConfigMap's SQLite path stays in force.
    expect(env.get('MODELTAP_STORE')?.valueFrom?.secretKeyRef).toEqual({ name: 'modeltap-store', key: 'url', optional: true });
    expect(env.get('MODELTAP_REPLICA')?.valueFrom?.fieldRef).toEqual({ fieldPath: 'metadata.name' });
  });

  it('documents a kubectl create secret command for every Secret key it reads', () => {
    const doc = read('docs/kubernetes.md');
    const refs = (modeltap.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : []));
    expect(refs).toHaveLength(3);
    for (const ref of refs) expect(doc).toMatch(new RegExp(`kubectl create secret generic ${ref.name} --from-literal=${ref.key}=`));
  });

  it('probes /readyz and /healthz on the container port that MODELTAP_PORT sets, /metrics on MODELTAP_METRICS_PORT', () => {
    expect(modeltap.readinessProbe?.httpGet.path).toBe('/readyz');
    expect(modeltap.livenessProbe?.httpGet.path).toBe('/healthz');
    expect(modeltap.startupProbe?.httpGet.path).toBe('/healthz');
    for (const probe of [modeltap.readinessProbe, modeltap.livenessProbe, modeltap.startupProbe]) {
      expect(portOf(modeltap, (probe as Probe).httpGet.port)).toBe(Number(config['MODELTAP_PORT']));
    }
    expect(portOf(modeltap, 'metrics')).toBe(Number(config['MODELTAP_METRICS_PORT']));
    expect(Number(config['MODELTAP_METRICS_PORT'])).not.toBe(Number(config['MODELTAP_PORT']));
  });

  it('gives the pod longer to stop than the drain delay and the shutdown grace together, with no preStop on top', () => {
    const drainMs = Number(config['MODELTAP_DRAIN_DELAY_MS']);
    const graceMs = Number(config['MODELTAP_SHUTDOWN_GRACE_MS']);
    expect(drainMs).toBeGreaterThan(0);
    expect(graceMs).toBeGreaterThan(0);
    // The margin covers the last export (the OTLP exporters' 10 s timeout) and the exit.
    expect((pod.terminationGracePeriodSeconds as number) * 1000).toBeGreaterThanOrEqual(drainMs + graceMs + 10_000);
    expect(modeltap.lifecycle?.['preStop']).toBeUndefined();
    // The drain holds the pod ready-but-leaving for a readiness period at least.
    expect(drainMs).toBeGreaterThanOrEqual((modeltap.readinessProbe?.periodSeconds ?? 10) * 1000);
  });

  it('runs as non-root with a read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(modeltap.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.automountServiceAccountToken).toBe(false);
    // USER node in the Dockerfile is uid 1000 in the node images.
    expect(read('Dockerfile')).toMatch(/^USER node$/m);
  });

  it('writes the store and /tmp only to emptyDir volumes', () => {
    const emptyDirs = new Set((pod.volumes ?? []).filter((v) => v.emptyDir !== undefined).map((v) => v.name));
    const writable = (modeltap.volumeMounts ?? []).filter((m) => emptyDirs.has(m.name) && m.readOnly !== true).map((m) => m.mountPath);
    expect(writable).toContain('/tmp');
    const store = config['MODELTAP_STORE'] as string;
    expect(store.startsWith('/')).toBe(true);
    expect(writable.some((dir) => store.startsWith(`${dir}/`)), store).toBe(true);
    for (const v of pod.volumes ?? []) expect(v.emptyDir?.sizeLimit, v.name).toMatch(/^\d+[MG]i$/);
  });

  it('requests and limits CPU and memory, the memory request above the peak RSS the benchmark measured', () => {
    const { requests = {}, limits = {} } = modeltap.resources ?? {};
    const mib = (q: string | undefined): number => {
      const m = /^(\d+)(Mi|Gi)$/.exec(q ?? '');
      return m === null ? Number.NaN : Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
    };
    const cores = (q: string | undefined): number => (q?.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q));
    expect(cores(requests['cpu'])).toBeGreaterThan(0);
    expect(cores(limits['cpu'])).toBeGreaterThanOrEqual(cores(requests['cpu']));
    expect(mib(limits['memory'])).toBeGreaterThanOrEqual(mib(requests['memory']));
    const peak = Math.max(...[...read('bench/results/overhead.md').matchAll(/\| modeltap \(full telemetry\) \|(?:[^|\n]*\|){10} (\d+) \|/g)].map((m) => Number(m[1])));
    expect(peak).toBeGreaterThan(100);
    expect(mib(requests['memory']) * 1.048576).toBeGreaterThan(peak);
  });

  it('has no replicas field for the HPA to fight with', () => {
    expect(spec.replicas).toBeUndefined();
    expect(matches(spec.selector.matchLabels, spec.template.metadata.labels)).toBe(true);
  });
});

describe('Service, HPA and PDB', () => {
  const deployment = find(base, 'Deployment', 'modeltap');
  const labels = deploymentSpec(deployment).template.metadata.labels;
  const modeltap = container(deployment, 'modeltap');

  it('the Service selects the pods and targets the proxy port', () => {
    const spec = find(base, 'Service', 'modeltap').spec as { selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] };
    expect(matches(spec.selector, labels)).toBe(true);
    expect(spec.ports).toHaveLength(1);
    expect(portOf(modeltap, spec.ports[0]?.targetPort as string)).toBe(Number(find(base, 'ConfigMap', 'modeltap').data?.['MODELTAP_PORT']));
  });

  it('the HPA scales the Deployment on CPU, from two replicas', () => {
    const spec = find(base, 'HorizontalPodAutoscaler', 'modeltap').spec as { scaleTargetRef: Obj; minReplicas: number; maxReplicas: number; metrics: { type: string; resource: { name: string; target: { type: string; averageUtilization: number } } }[] };
    expect(spec.scaleTargetRef).toEqual({ apiVersion: deployment.apiVersion, kind: 'Deployment', name: deployment.metadata.name });
    expect(spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(spec.maxReplicas).toBeGreaterThan(spec.minReplicas);
    expect(spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: expect.any(Number) as number } } }]);
    // Utilization is of the request: without a CPU request the HPA has nothing to measure against.
    expect(modeltap.resources?.requests?.['cpu']).toBeDefined();
  });

  it('the PDB selects the pods and leaves one serving', () => {
    const spec = find(base, 'PodDisruptionBudget', 'modeltap').spec as { selector: { matchLabels: Record<string, string> }; maxUnavailable: number };
    expect(matches(spec.selector.matchLabels, labels)).toBe(true);
    const hpa = find(base, 'HorizontalPodAutoscaler', 'modeltap').spec as { minReplicas: number };
    expect(spec.maxUnavailable).toBeLessThan(hpa.minReplicas);
  });
});

// Components of otel/opentelemetry-collector-contrib:0.115.1 the gateway may use (as in
// configs.test.ts, plus the tail sampling processor, part of the contrib distribution).
const CONTRIB_0_115 = {
  receivers: ['otlp'],
  processors: ['batch', 'memory_limiter', 'tail_sampling'],
  exporters: ['otlp', 'otlphttp', 'debug'],
  extensions: ['health_check'],
} as const;

// The keys each of those components' configuration accepts in 0.115 (from their Config structs;
// the Collector refuses a configuration with any other key), as far as the gateway uses them.
const KEYS: Record<string, readonly string[]> = {
  'extensions.health_check': ['endpoint', 'path', 'tls', 'cors', 'auth', 'response_headers', 'check_collector_pipeline'],
  'receivers.otlp': ['protocols'],
  'receivers.otlp.protocols': ['grpc', 'http'],
  'processors.memory_limiter': ['check_interval', 'limit_mib', 'spike_limit_mib', 'limit_percentage', 'spike_limit_percentage'],
  'processors.batch': ['timeout', 'send_batch_size', 'send_batch_max_size', 'metadata_keys', 'metadata_cardinality_limit'],
  'processors.tail_sampling': ['decision_wait', 'num_traces', 'expected_new_traces_per_sec', 'policies', 'decision_cache'],
  'exporters.otlp': ['endpoint', 'tls', 'compression', 'headers', 'timeout', 'sending_queue', 'retry_on_failure', 'balancer_name', 'auth', 'keepalive', 'write_buffer_size', 'read_buffer_size', 'authority'],
};
// Tail sampling policy types in 0.115, and the key of each one's settings.
const POLICY_TYPES = ['always_sample', 'latency', 'numeric_attribute', 'probabilistic', 'status_code', 'string_attribute', 'rate_limiting', 'span_count', 'trace_state', 'boolean_attribute', 'ottl_condition', 'composite', 'and'];
const POLICY_KEYS: Record<string, readonly string[]> = {
  latency: ['threshold_ms', 'upper_threshold_ms'],
  probabilistic: ['hash_salt', 'sampling_percentage'],
  status_code: ['status_codes'],
};

describe('the OpenTelemetry Collector gateway', () => {
  const deployment = find(overlay, 'Deployment', 'otel-collector');
  const collector = container(deployment, 'otel-collector');
  const configMap = find(overlay, 'ConfigMap', 'otel-collector');
  const configFile = /^--config=(.+)$/.exec(collector.args?.[0] ?? '')?.[1] ?? '';
  const mount = collector.volumeMounts?.find((m) => m.name === 'config');
  const text = configMap.data?.[configFile.slice((mount?.mountPath.length ?? 0) + 1)] ?? '';
  const config = parse(text) as Obj;
  const section = (kind: string): Record<string, Obj | null> => (config[kind] as Record<string, Obj | null> | undefined) ?? {};
  type Pipeline = Record<'receivers' | 'processors' | 'exporters', string[] | undefined>;
  const service = config['service'] as { extensions: string[]; pipelines: Record<string, Pipeline>; telemetry: { metrics: { readers: { pull: { exporter: { prometheus: { host: string; port: number } } } }[] } } };

  it('runs the contrib image the compose stack pins, with its configuration from the ConfigMap', () => {
    const compose = parse(read('docker-compose.yml')) as { services: Record<string, { image?: string }> };
    expect(collector.image).toBe(compose.services['otel-collector']?.image);
    expect(collector.image).toMatch(/^otel\/opentelemetry-collector-contrib:\d+\.\d+\.\d+$/);
    expect(mount?.readOnly).toBe(true);
    expect(configFile.startsWith(`${mount?.mountPath}/`)).toBe(true);
    expect(text).toContain('tail_sampling');
  });

  it('defines every component its pipelines use, and only components of the pinned image', () => {
    for (const kind of ['receivers', 'processors', 'exporters', 'extensions'] as const) {
      for (const name of Object.keys(section(kind))) expect(CONTRIB_0_115[kind], `${kind}: ${name}`).toContain(name.split('/')[0]);
    }
    for (const ext of service.extensions) expect(Object.keys(section('extensions'))).toContain(ext);
    for (const pipeline of Object.values(service.pipelines)) {
      for (const kind of ['receivers', 'processors', 'exporters'] as const) {
        expect(pipeline[kind]?.length, kind).toBeGreaterThan(0);
        for (const name of pipeline[kind] ?? []) expect(Object.keys(section(kind)), `${kind}: ${name}`).toContain(name);
      }
    }
    expect(Object.keys(service.pipelines)).toEqual(['traces']);
  });

  it('uses only keys the components accept, with values they accept', () => {
    for (const [path, keys] of Object.entries(KEYS)) {
      const [kind, type, ...rest] = path.split('.') as [string, string, ...string[]];
      for (const [name, settings] of Object.entries(section(kind))) {
        if (name.split('/')[0] !== type) continue;
        const value = rest.reduce<Obj | null | undefined>((o, k) => o?.[k] as Obj | undefined, settings);
        for (const key of Object.keys(value ?? {})) expect(keys, `${path}: ${key}`).toContain(key);
      }
    }
    const memory = section('processors')['memory_limiter'] as { check_interval: string; limit_percentage: number; spike_limit_percentage: number };
    expect(memory.check_interval).toMatch(/^\d+(ms|s)$/);
    expect(memory.spike_limit_percentage).toBeLessThan(memory.limit_percentage);
    expect(memory.limit_percentage).toBeLessThanOrEqual(100);
    const protocols = (section('receivers')['otlp'] as { protocols: Record<string, { endpoint: string }> }).protocols;
    for (const protocol of Object.values(protocols)) expect(Object.keys(protocol)).toEqual(['endpoint']);
    expect(protocols['grpc']?.endpoint).toBe('0.0.0.0:4317');
    expect(protocols['http']?.endpoint).toBe('0.0.0.0:4318');
    const reader = service.telemetry.metrics.readers[0]?.pull.exporter.prometheus;
    expect(Object.keys(service.telemetry.metrics)).toEqual(['readers']);
    expect(reader).toEqual({ host: '0.0.0.0', port: portOf(collector, 'metrics') });
  });

  it('tail-samples every error, every slow trace and a share of the rest, and runs no spanmetrics', () => {
    const tail = section('processors')['tail_sampling'] as { decision_wait: string; num_traces: number; policies: Obj[] };
    expect(tail.decision_wait).toMatch(/^\d+s$/);
    expect(tail.num_traces).toBeGreaterThan(0);
    for (const policy of tail.policies) {
      const type = policy['type'] as string;
      expect(POLICY_TYPES, type).toContain(type);
      expect(Object.keys(policy).sort()).toEqual(['name', 'type', type].sort());
      for (const key of Object.keys(policy[type] as Obj)) expect(POLICY_KEYS[type], `${type}: ${key}`).toContain(key);
    }
    const byType = (type: string): Obj[] => tail.policies.filter((p) => p['type'] === type).map((p) => p[type] as Obj);
    expect(byType('status_code')).toEqual([{ status_codes: ['ERROR'] }]);
    expect(byType('latency')[0]?.['threshold_ms']).toBeGreaterThan(0);
    const share = byType('probabilistic')[0]?.['sampling_percentage'] as number;
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThan(100);
    expect(tail.policies.map((p) => p['type'])).not.toContain('always_sample');
    // The processor sees whole traces: after the memory limiter, before batching.
    expect(service.pipelines['traces']?.processors).toEqual(['memory_limiter', 'tail_sampling', 'batch']);
    expect(config['connectors']).toBeUndefined();
    expect(text).not.toMatch(/spanmetrics/);
  });

  it('is given every environment variable its configuration expands', () => {
    const env = new Set((collector.env ?? []).map((e) => e.name));
    const used = [...text.matchAll(/\$\{env:([A-Z_]+)\}/g)].map((m) => m[1] as string);
    expect(used.length).toBeGreaterThan(0);
    for (const name of used) expect(env.has(name), name).toBe(true);
  });

  it('runs as non-root with a read-only root filesystem, one replica, probed on the health_check extension', () => {
    const spec = deploymentSpec(deployment);
    expect(spec.replicas).toBe(1);
    expect(spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(collector.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    const health = (section('extensions')['health_check'] as { endpoint: string }).endpoint;
    for (const probe of [collector.readinessProbe, collector.livenessProbe]) expect(`0.0.0.0:${portOf(collector, (probe as Probe).httpGet.port)}`).toBe(health);
  });

  it('is what modeltap exports to: its Service, the OTLP/HTTP receiver, over http/protobuf; metrics are scraped instead', () => {
    const config = find(overlay, 'ConfigMap', 'modeltap').data ?? {};
    const endpoint = new URL(config['OTEL_EXPORTER_OTLP_ENDPOINT'] ?? '');
    const svc = find(overlay, 'Service', 'otel-collector');
    const ports = (svc.spec as { selector: Record<string, string>; ports: { name: string; port: number; targetPort: string }[] }).ports;
    expect(endpoint.hostname).toBe(svc.metadata.name);
    const port = ports.find((p) => p.port === Number(endpoint.port));
    expect(portOf(collector, port?.targetPort as string)).toBe(4318);
    expect(config['OTEL_EXPORTER_OTLP_PROTOCOL']).toBe('http/protobuf');
    expect(config['OTEL_METRICS_EXPORTER']).toBe('none');
    expect(matches((svc.spec as { selector: Record<string, string> }).selector, deploymentSpec(deployment).template.metadata.labels)).toBe(true);
    for (const p of ports) expect(portOf(collector, p.targetPort)).toBe(p.port);
  });
});

describe('the Prometheus scrape configuration', () => {
  const text = Object.values(find(overlay, 'ConfigMap', 'modeltap-prometheus').data ?? {})[0] ?? '';
  const config = parse(text) as { scrape_configs: { job_name: string; authorization?: { credentials_file: string }; kubernetes_sd_configs: Obj[]; relabel_configs: { source_labels?: string[]; regex?: string; action?: string }[] }[] };
  const dir = mkdtempSync(join(tmpdir(), 'modeltap-k8s-prom-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const job = (name: string): (typeof config.scrape_configs)[number] => {
    const found = config.scrape_configs.find((j) => j.job_name === name);
    expect(found, name).toBeDefined();
    return found as (typeof config.scrape_configs)[number];
  };

  it('passes promtool check config (with static targets for the Kubernetes discovery, which Debian builds leave out)', () => {
    const checked = structuredClone(config) as { scrape_configs: Obj[] };
    const credentials = join(dir, 'key');
    writeFileSync(credentials, 'test-key\n');
    for (const scrape of checked.scrape_configs) {
      delete scrape['kubernetes_sd_configs'];
      scrape['static_configs'] = [{ targets: ['modeltap:8789'] }];
      if (scrape['authorization'] !== undefined) scrape['authorization'] = { credentials_file: credentials };
    }
    const file = join(dir, 'prometheus.yml');
    writeFileSync(file, stringify(checked));
    expect(execFileSync('promtool', ['check', 'config', file]).toString()).toContain('SUCCESS');
  });

  it('discovers the pods of each job in its own namespace, by the labels the Deployments give them', () => {
    const podLabels = (name: string): Record<string, string> => deploymentSpec(find(overlay, 'Deployment', name)).template.metadata.labels;
    for (const [jobName, deployment] of [['modeltap', 'modeltap'], ['otel-collector', 'otel-collector']] as const) {
      const sd = job(jobName).kubernetes_sd_configs;
      expect(sd).toHaveLength(1);
      const { role, namespaces, selectors, ...rest } = sd[0] as { role: string; namespaces: Obj; selectors: { role: string; label: string }[] };
      expect(rest).toEqual({});
      expect(role).toBe('pod');
      expect(namespaces).toEqual({ own_namespace: true });
      expect(selectors).toHaveLength(1);
      expect(selectors[0]?.role).toBe('pod');
      const [key, value] = (selectors[0]?.label ?? '').split('=') as [string, string];
      expect(podLabels(deployment)[key], jobName).toBe(value);
    }
  });

  it('keeps only the container port named metrics: modeltap on MODELTAP_METRICS_PORT with the access key, the Collector on its telemetry port', () => {
    const keptPort = (name: string): string | undefined => job(name).relabel_configs.find((r) => r.action === 'keep' && r.source_labels?.[0] === '__meta_kubernetes_pod_container_port_name')?.regex;
    const modeltap = container(find(overlay, 'Deployment', 'modeltap'), 'modeltap');
    expect(portOf(modeltap, keptPort('modeltap') as string)).toBe(Number(find(overlay, 'ConfigMap', 'modeltap').data?.['MODELTAP_METRICS_PORT']));
    expect(portOf(container(find(overlay, 'Deployment', 'otel-collector'), 'otel-collector'), keptPort('otel-collector') as string)).toBe(8888);
    expect(job('modeltap').authorization?.credentials_file).toMatch(/^\/etc\/prometheus\/modeltap\/key$/);
    expect(read('docs/kubernetes.md')).toContain('/etc/prometheus/modeltap');
    const meta = text.match(/__meta_kubernetes_[a-z_]+/g) ?? [];
    for (const label of meta) expect(['__meta_kubernetes_pod_container_port_name', '__meta_kubernetes_pod_phase', '__meta_kubernetes_pod_name', '__meta_kubernetes_namespace']).toContain(label);
  });
});
