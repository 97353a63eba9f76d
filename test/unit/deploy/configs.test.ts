// The shipped stack: otel/*, dashboards/*, docker-compose.yml. Docker cannot run here, so the files
// are checked for what makes them work: valid syntax, pinned images, existing mounts, loopback-only
// ports, components that exist in the pinned images, and datasource uids that are provisioned.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = new URL('../../../', import.meta.url).pathname;
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
type Obj = Record<string, unknown>;

describe('otel/prometheus.yml', () => {
  it('passes promtool check config', () => {
    const out = execFileSync('promtool', ['check', 'config', join(root, 'otel/prometheus.yml')]).toString();
    expect(out).toContain('SUCCESS');
  });
});

// Components of otel/opentelemetry-collector-contrib:0.115.1 that the config may use.
const CONTRIB_0_115 = {
  receivers: ['otlp', 'prometheus', 'hostmetrics'],
  processors: ['batch', 'memory_limiter', 'resource', 'attributes', 'filter', 'transform'],
  exporters: ['otlp', 'otlphttp', 'prometheusremotewrite', 'prometheus', 'debug'],
  extensions: ['health_check', 'pprof', 'zpages'],
} as const;

describe('otel/collector.yaml', () => {
  const config = parse(read('otel/collector.yaml')) as Obj;

  it('defines every component its pipelines use, and only components of the pinned image', () => {
    for (const kind of ['receivers', 'processors', 'exporters', 'extensions'] as const) {
      for (const name of Object.keys((config[kind] as Obj | undefined) ?? {})) {
        expect(CONTRIB_0_115[kind], `${kind}: ${name}`).toContain(name.split('/')[0]);
      }
    }
    const service = config['service'] as { extensions: string[]; pipelines: Record<string, Record<string, string[]>> };
    for (const ext of service.extensions) expect(Object.keys(config['extensions'] as Obj)).toContain(ext);
    for (const pipeline of Object.values(service.pipelines)) {
      for (const kind of ['receivers', 'processors', 'exporters'] as const) {
        for (const name of pipeline[kind] ?? []) expect(Object.keys(config[kind] as Obj), `${kind}: ${name}`).toContain(name);
      }
    }
    expect(Object.keys(service.pipelines).sort()).toEqual(['metrics', 'traces']);
  });

  it('sends traces to Tempo and metrics to Prometheus remote write', () => {
    const exporters = config['exporters'] as Record<string, Obj>;
    expect(exporters['otlp/tempo']?.['endpoint']).toBe('tempo:4317');
    expect(exporters['prometheusremotewrite']?.['endpoint']).toBe('http://prometheus:9090/api/v1/write');
  });
});

describe('otel/tempo.yaml', () => {
  it('receives OTLP and stores locally', () => {
    const config = parse(read('otel/tempo.yaml')) as { server: Obj; distributor: { receivers: { otlp: { protocols: Obj } } }; storage: { trace: Obj } };
    expect(config.server['http_listen_port']).toBe(3200);
    expect(Object.keys(config.distributor.receivers.otlp.protocols).sort()).toEqual(['grpc', 'http']);
    expect(['local', 's3', 'gcs', 'azure']).toContain(config.storage.trace['backend']);
  });
});

describe('dashboards', () => {
  const dashboards = readdirSync(join(root, 'dashboards')).filter((f) => f.endsWith('.json'));
  const provisioned = (parse(read('otel/grafana/datasources.yaml')) as { datasources: { uid: string; type: string }[] }).datasources;

  it('use only provisioned datasource uids, in panels, targets, variables and trace links', () => {
    expect(dashboards.sort()).toEqual(['agents.json', 'overview.json', 'streams.json']);
    const uids = new Set<string>();
    for (const file of dashboards) {
      const text = read(`dashboards/${file}`);
      for (const m of text.matchAll(/"uid":\s*"([^"]+)"/g)) if (m[1] !== undefined && !m[1].startsWith('modeltap-')) uids.add(m[1]);
      for (const m of text.matchAll(/%22datasource%22:%22([a-z]+)%22/g)) if (m[1]) uids.add(m[1]);
    }
    expect([...uids].sort()).toEqual(['prometheus', 'tempo']);
    for (const uid of uids) expect(provisioned.map((d) => d.uid)).toContain(uid);
  });

  it('have variables for model, route, transport and instance, and no high-cardinality labels', () => {
    for (const file of dashboards) {
      const d = JSON.parse(read(`dashboards/${file}`)) as { templating: { list: { name: string }[] } };
      expect(d.templating.list.map((v) => v.name).sort()).toEqual(['instance', 'model', 'route', 'transport']);
      expect(read(`dashboards/${file}`)).not.toMatch(/gen_ai_conversation_id|gen_ai_response_id|turn_id/);
    }
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml')) as { services: Record<string, { image?: string; build?: unknown; volumes?: string[]; ports?: string[]; environment?: Record<string, string>; healthcheck?: unknown }> };
  const services = compose.services;

  it('pins every image', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build !== undefined) continue;
      expect(service.image, name).toMatch(/^[^:]+:(?!latest$)[\w.-]+$/);
    }
    expect(services['modeltap']?.build).toBe('.');
  });

  it('mounts only files and folders that exist in the repository', () => {
    for (const service of Object.values(services)) {
      for (const volume of service.volumes ?? []) {
        const host = volume.split(':')[0] ?? '';
        expect(existsSync(join(root, host)), host).toBe(true);
      }
    }
    expect(existsSync(join(root, 'Dockerfile'))).toBe(true);
  });

  it('publishes ports on 127.0.0.1 only', () => {
    const ports = Object.values(services).flatMap((s) => s.ports ?? []);
    expect(ports.length).toBeGreaterThan(3);
    for (const port of ports) expect(port).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  });

  it('points modeltap at the collector through the standard variables, with the access key Prometheus uses', () => {
    const env = services['modeltap']?.environment ?? {};
    expect(env['OTEL_EXPORTER_OTLP_ENDPOINT']).toBe('http://otel-collector:4318');
    expect(env['OTEL_EXPORTER_OTLP_PROTOCOL']).toBe('http/protobuf');
    expect(services['otel-collector']).toBeDefined();
    const key = /:-([^}]+)\}/.exec(env['MODELTAP_ACCESS_KEY'] ?? '')?.[1];
    expect(read('otel/prometheus.yml')).toContain(`credentials: ${key}`);
  });

  it('has health checks where the image has a shell tool to run them', () => {
    for (const name of ['modeltap', 'prometheus', 'tempo', 'grafana']) expect(services[name]?.healthcheck, name).toBeDefined();
    // modeltap's is its readiness probe, which answers without the access key.
    const probe = JSON.stringify((services['modeltap']?.healthcheck as { test: string[] }).test);
    expect(probe).toContain('http://127.0.0.1:8787/readyz');
    expect(probe).not.toContain('x-modeltap-key');
  });
});
