// Telemetry end to end: the built CLI exporting to a real OTLP/HTTP receiver (protobuf and JSON)
// and a real OTLP/gRPC one, as the standard OTEL_* variables (read by @opentelemetry/sdk-node) or a
// declarative configuration file say; scraped by a real Prometheus; secrets never exported; a dead
// or hanging collector costs nothing.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { METRICS, type MetricSpec } from '../../src/telemetry/otel/instruments.js';
import { prometheusName } from '../../src/telemetry/otel/prometheus-text.js';
import { freePort, startPrometheus } from '../helpers/prometheus.js';
import { protobufStrings, startOtlpGrpcReceiver, startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import { type RunningCli, stoppedBy } from './cli.js';

const started = stoppedBy(afterEach);
const cli = started.cli;

const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

async function call(url: string, path: string, init: RequestInit): Promise<number> {
  const res = await fetch(`${url}${path}`, init);
  await res.arrayBuffer();
  return res.status;
}

/** Streams, non-streams, Chat, a retry, a 401 recovery and a failure. */
async function mixedTraffic(url: string, headers: Record<string, string> = {}): Promise<void> {
  expect(await call(url, '/v1/responses', post({ model: 'gpt-5.1', input: 'hi', stream: true }, headers))).toBe(200);
  expect(await call(url, '/v1/responses', post({ model: 'gpt-5.1', input: 'hi' }, headers))).toBe(200);
  expect(await call(url, '/v1/chat/completions', post({ model: 'gpt-5.1', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } }, headers))).toBe(200);
  expect(await call(url, '/v1/chat/completions', post({ model: 'gpt-5.1', messages: [{ role: 'user', content: 'hi' }] }, headers))).toBe(200);
  expect(await call(url, '/v1/responses', post({ model: 'gpt-5.1', input: 'retry', stream: true }, { ...headers, 'x-sim-fault': 'status:500;times=1' }))).toBe(200);
  expect(await call(url, '/v1/responses', post({ model: 'gpt-5.1', input: 'auth', stream: true }, { ...headers, 'x-sim-fault': 'status:401;times=1' }))).toBe(200);
  expect(await call(url, '/v1/responses', post({ model: 'gpt-5.1', input: 'reset', stream: true }, { ...headers, 'x-sim-fault': 'reset:6' }))).toBe(200);
  // A Responses WebSocket turn, and an upgrade the upstream refuses (a fallback to HTTP).
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/responses`, { headers });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.1', input: 'ws' })));
    ws.on('message', (data) => {
      if (data.toString().includes('"response.completed"')) resolve();
    });
    ws.once('error', reject);
  });
  ws.close();
  const refused = new WebSocket(`${url.replace('http', 'ws')}/v1/responses`, { headers: { ...headers, 'x-sim-websocket': 'refuse' } });
  expect(await new Promise<number>((resolve) => refused.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)))).toBe(426);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('OTLP/HTTP export from the built CLI', () => {
  it.each(['http/protobuf', 'http/json'])('delivers spans and metrics over %s', async (protocol) => {
    const receiver: OtlpReceiver = await startOtlpReceiver();
    started.add(() => receiver.close());
    const sim = await cli(['sim', '--port', '0']);
    const proxy = await cli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`], {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      OTEL_METRIC_EXPORT_INTERVAL: '500',
      OTEL_SERVICE_NAME: 'modeltap-e2e',
    });
    expect(await call(proxy.url, '/v1/responses', post({ model: 'gpt-5.1', input: 'hi', stream: true }))).toBe(200);
    const contentType = protocol === 'http/json' ? 'application/json' : 'application/x-protobuf';
    const strings = (path: string): Set<string> => {
      const out = new Set<string>();
      for (const e of receiver.exports.filter((x) => x.path === path)) {
        expect(e.contentType).toBe(contentType);
        if (protocol === 'http/json') JSON.stringify(JSON.parse(e.body.toString())).replace(/"((?:[^"\\]|\\.)*)"/g, (_m, s: string) => (out.add(s), ''));
        else protobufStrings(e.body, out);
      }
      return out;
    };
    const spans = await until('spans', async () => {
      const s = strings('/v1/traces');
      return s.has('chat gpt-5.1') ? s : undefined;
    });
    for (const expected of ['POST /v1/responses', 'chat gpt-5.1', 'POST', 'gen_ai.operation.name', 'gen_ai.usage.output_tokens', 'service.name', 'modeltap-e2e', 'service.version', 'service.instance.id']) {
      expect(spans).toContain(expected);
    }
    const metrics = await until('metrics', async () => {
      const s = strings('/v1/metrics');
      return s.has('gen_ai.client.operation.duration') ? s : undefined;
    });
    for (const expected of ['gen_ai.client.operation.duration', 'gen_ai.client.token.usage', 'http.server.request.duration', 'modeltap.sse_event', 'modeltap-e2e']) {
      expect(metrics).toContain(expected);
    }
  });

  it('flushes spans and metrics on SIGTERM, long before the export interval', async () => {
    const receiver = await startOtlpReceiver();
    started.add(() => receiver.close());
    const proxy = await cli(['serve', '--port', '0', '--upstream', 'sim'], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRIC_EXPORT_INTERVAL: '600000', OTEL_BSP_SCHEDULE_DELAY: '600000' });
    expect(await call(proxy.url, '/v1/responses', post({ model: 'm', input: 'hi', stream: true }))).toBe(200);
    expect(await proxy.stop()).toBe(0);
    expect(receiver.exports.map((e) => e.path).sort()).toEqual(['/v1/metrics', '/v1/traces']);
  });

  it('OTEL_SDK_DISABLED=true turns everything off, /metrics included', async () => {
    const receiver = await startOtlpReceiver();
    started.add(() => receiver.close());
    const proxy = await cli(['serve', '--port', '0', '--upstream', 'sim'], { OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRIC_EXPORT_INTERVAL: '200' });
    expect(await call(proxy.url, '/v1/responses', post({ model: 'm', input: 'hi', stream: true }))).toBe(200);
    expect((await fetch(`${proxy.url}/metrics`)).status).toBe(404);
    await new Promise((r) => setTimeout(r, 1500));
    expect(receiver.exports).toEqual([]);
  });
});

const GRPC_TRACES = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const GRPC_METRICS = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';

/** Every string in the protobuf exports a receiver got on `path`. */
function protobufExports(receiver: OtlpReceiver, path: string): Set<string> {
  const out = new Set<string>();
  for (const e of receiver.exports.filter((x) => x.path === path)) protobufStrings(e.body, out);
  return out;
}

describe('OTLP/gRPC export from the built CLI', () => {
  it('OTEL_EXPORTER_OTLP_PROTOCOL=grpc delivers spans and metrics to a gRPC receiver', async () => {
    const receiver = await startOtlpGrpcReceiver();
    started.add(() => receiver.close());
    const sim = await cli(['sim', '--port', '0']);
    const proxy = await cli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`], {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_METRIC_EXPORT_INTERVAL: '500',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_SERVICE_NAME: 'modeltap-grpc',
    });
    expect(await call(proxy.url, '/v1/responses', post({ model: 'gpt-5.1', input: 'hi', stream: true }))).toBe(200);
    const spans = await until('spans over gRPC', async () => {
      const s = protobufExports(receiver, GRPC_TRACES);
      return s.has('chat gpt-5.1') ? s : undefined;
    });
    for (const expected of ['POST /v1/responses', 'chat gpt-5.1', 'POST', 'gen_ai.usage.output_tokens', 'service.name', 'modeltap-grpc', 'service.version', 'service.instance.id']) {
      expect(spans).toContain(expected);
    }
    const metrics = await until('metrics over gRPC', async () => {
      const s = protobufExports(receiver, GRPC_METRICS);
      return s.has('gen_ai.client.operation.duration') ? s : undefined;
    });
    for (const expected of ['gen_ai.client.operation.duration', 'gen_ai.client.token.usage', 'http.server.request.duration', 'modeltap.sse_event', 'modeltap-grpc']) {
      expect(metrics).toContain(expected);
    }
  });

  it('per-signal protocols and endpoints: traces over gRPC, metrics over OTLP/HTTP', async () => {
    const grpc = await startOtlpGrpcReceiver();
    const http = await startOtlpReceiver();
    started.add(() => grpc.close());
    started.add(() => http.close());
    const proxy = await cli(['serve', '--port', '0', '--upstream', 'sim'], {
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: grpc.url,
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${http.url}/v1/metrics`,
      OTEL_METRIC_EXPORT_INTERVAL: '500',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    });
    expect(await call(proxy.url, '/v1/responses', post({ model: 'm', input: 'hi', stream: true }))).toBe(200);
    await until('spans over gRPC', async () => (protobufExports(grpc, GRPC_TRACES).has('chat m') ? true : undefined));
    await until('metrics over HTTP', async () => (http.exports.some((e) => e.path === '/v1/metrics' && protobufStrings(e.body).has('gen_ai.client.operation.duration')) ? true : undefined));
    expect(grpc.exports.filter((e) => e.path === GRPC_METRICS)).toEqual([]);
    expect(http.exports.filter((e) => e.path !== '/v1/metrics')).toEqual([]);
  });
});

describe('the standard OTEL_* variables, read by the SDK', () => {
  it('OTEL_TRACES_EXPORTER=console prints the spans on stdout, and exports no metrics', async () => {
    const proxy = await cli(['serve', '--port', '0', '--upstream', 'sim'], { OTEL_TRACES_EXPORTER: 'console' });
    expect(await call(proxy.url, '/v1/responses', post({ model: 'gpt-5.1', input: 'hi', stream: true }))).toBe(200);
    // A simple processor: each span is printed when it ends, the SERVER span last.
    const out = await until('console spans', async () => (proxy.stdout().includes("name: 'POST /v1/responses'") ? proxy.stdout() : undefined));
    expect(out).toContain("name: 'chat gpt-5.1'");
    expect(out).toContain("'gen_ai.operation.name': 'chat'");
    expect(out).toContain("'service.name': 'modeltap'");
  });

  it('OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME make the resource, on exported spans and on /metrics', async () => {
    const proxy = await cli(['serve', '--port', '0', '--upstream', 'sim'], {
      OTEL_TRACES_EXPORTER: 'console',
      OTEL_SERVICE_NAME: 'from-service-name',
      // OTEL_SERVICE_NAME wins over a service.name here (the specification's order).
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=e2e,service.name=from-attributes,team=obs',
    });
    expect(await call(proxy.url, '/v1/responses', post({ model: 'm', input: 'hi', stream: true }))).toBe(200);
    const out = await until('console spans', async () => (proxy.stdout().includes("name: 'POST /v1/responses'") ? proxy.stdout() : undefined));
    for (const expected of ["'deployment.environment.name': 'e2e'", "team: 'obs'", "'service.name': 'from-service-name'"]) expect(out).toContain(expected);
    expect(out).not.toContain('from-attributes');
    const targetInfo = (await (await fetch(`${proxy.url}/metrics`)).text()).split('\n').find((l) => l.startsWith('target_info{'));
    expect(targetInfo).toMatch(/deployment_environment_name="e2e"/);
    expect(targetInfo).toMatch(/service_name="from-service-name"/);
  });

  it('OTEL_PROPAGATORS=b3: the caller\'s b3 context is the parent, and the upstream gets b3, not traceparent', async () => {
    const sim = await cli(['sim', '--port', '0']);
    const proxy = await cli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`], { OTEL_PROPAGATORS: 'b3' });
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const callerSpan = 'b7ad6b7169203331';
    expect(await call(proxy.url, '/v1/responses', post({ model: 'm', input: 'hi', stream: true }, { b3: `${traceId}-${callerSpan}-1` }))).toBe(200);
    const log = (await (await fetch(`${sim.url}/__sim/log`)).json()) as { path: string; headers: Record<string, string | undefined> }[];
    const headers = log.find((e) => e.path === '/v1/responses')?.headers ?? {};
    // The attempt span's context: the caller's trace, a span of modeltap's own.
    expect(headers['b3']).toMatch(new RegExp(`^${traceId}-[0-9a-f]{16}-1$`));
    expect(headers['b3']).not.toContain(callerSpan);
    expect(headers['traceparent']).toBeUndefined();
  });

  it('OTEL_TRACES_SAMPLER=always_off: no span is exported, and the upstream is told the trace is not sampled', async () => {
    const sim = await cli(['sim', '--port', '0']);
    const proxy = await cli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`], { OTEL_TRACES_EXPORTER: 'console', OTEL_TRACES_SAMPLER: 'always_off' });
    expect(await call(proxy.url, '/v1/responses', post({ model: 'm', input: 'hi', stream: true }))).toBe(200);
    const log = (await (await fetch(`${sim.url}/__sim/log`)).json()) as { path: string; headers: Record<string, string | undefined> }[];
    expect(log.find((e) => e.path === '/v1/responses')?.headers['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    await proxy.stop();
    expect(proxy.stdout()).not.toContain('POST /v1/responses');
  });

  it('OTEL_BSP_MAX_QUEUE_SIZE: spans beyond a full queue are dropped, and counted as queue_full', async () => {
    const receiver = await startOtlpReceiver({ hang: true });
    started.add(() => receiver.close());
    const proxy = await cli(['serve', '--port', '0', '--upstream', 'sim'], {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
      OTEL_BSP_MAX_QUEUE_SIZE: '4',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '4',
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    // Three spans a request: the first batch hangs in its export, the queue fills behind it.
    for (let i = 0; i < 4; i++) expect(await call(proxy.url, '/v1/responses', post({ model: 'm', input: `r${i}`, stream: true }))).toBe(200);
    const text = await (await fetch(`${proxy.url}/metrics`)).text();
    expect(text).toMatch(/^modeltap_telemetry_dropped_total\{[^}]*reason="queue_full"[^}]*\} [1-9]/m);
    // A graceful stop would wait out the hanging export's timeout.
    await proxy.stop('SIGKILL');
  });

  it('OTEL_CONFIG_FILE: a declarative configuration file sets up the resource and the exporters', async () => {
    const receiver = await startOtlpReceiver();
    started.add(() => receiver.close());
    const file = join(mkdtempSync(join(tmpdir(), 'modeltap-otel-')), 'otel.yaml');
    writeFileSync(
      file,
      [
        'file_format: "1.0"',
        'resource:',
        '  attributes:',
        '    - name: service.name',
        '      value: modeltap-from-file',
        'tracer_provider:',
        '  processors:',
        '    - batch:',
        '        schedule_delay: 200',
        '        exporter:',
        '          otlp_http:',
        // Substituted from the environment by the SDK.
        '            endpoint: ${RECEIVER_URL}/v1/traces',
        'meter_provider:',
        '  readers:',
        '    - periodic:',
        '        interval: 500',
        '        timeout: 500',
        '        exporter:',
        '          otlp_http:',
        '            endpoint: ${RECEIVER_URL}/v1/metrics',
        '            encoding: json',
        '',
      ].join('\n'),
    );
    const proxy = await cli(['serve', '--port', '0', '--upstream', 'sim'], { OTEL_CONFIG_FILE: file, RECEIVER_URL: receiver.url });
    expect(await call(proxy.url, '/v1/responses', post({ model: 'm', input: 'hi', stream: true }))).toBe(200);
    const spans = await until('spans', async () => {
      const s = protobufExports(receiver, '/v1/traces');
      return s.has('chat m') ? s : undefined;
    });
    expect(spans).toContain('modeltap-from-file');
    const metrics = await until('metrics', async () => {
      const text = receiver.exports.filter((e) => e.path === '/v1/metrics').map((e) => e.body.toString()).join('\n');
      return text.includes('gen_ai.client.operation.duration') ? text : undefined;
    });
    expect(metrics).toContain('modeltap-from-file');
  });
});

describe('a real Prometheus scraping /metrics', () => {
  it('finds data for every catalogue metric after mixed traffic', async () => {
    const sim = await cli(['sim', '--port', '0']);
    const proxy = await cli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`, '--auth-command', 'echo sk-held-by-modeltap', '--request-max-retries', '1']);
    const prometheus = await startPrometheus(new URL(proxy.url).host);
    started.add(() => prometheus.stop());
    await mixedTraffic(proxy.url);
    // A model the price table does not know: its cost is unknown, counted in modeltap.cost.unpriced.
    expect(await call(proxy.url, '/v1/responses', post({ model: 'unpriced-model', input: 'hi' }))).toBe(200);
    // Drops happen only when a collector fails (tested below), telemetry errors only when telemetry
    // throws (test/integration/proxy/throwing-telemetry.test.ts). Everything else must be there.
    const pending = new Set<string>([METRICS.telemetryDropped.name, METRICS.telemetryErrors.name]);
    const missing: string[] = [];
    for (const spec of Object.values(METRICS as Record<string, MetricSpec>)) {
      if (pending.has(spec.name)) continue;
      const expr = spec.kind === 'histogram' ? `${prometheusName(spec)}_count` : prometheusName(spec);
      const result = await until(expr, async () => ((await prometheus.query(expr)).length > 0 ? true : undefined), 15_000).catch(() => undefined);
      if (result === undefined) missing.push(expr);
    }
    expect(missing).toEqual([]);
    // Values are the sim's: 8 output tokens (its default 8 events) for each completed response.
    const output = (await prometheus.query('sum(modeltap_usage_tokens_total{gen_ai_token_type="output"})')) as { value: [number, string] }[];
    expect(Number(output[0]?.value[1])).toBe(8 * 8); // seven HTTP responses and one WebSocket turn
  });
});

describe('secrets and content', () => {
  const KEY = 'sk-modeltap-distinctive-key-7f3a9c';
  const PROMPT = 'the purple elephant dances at midnight 42';

  async function exportedText(capture: boolean): Promise<{ all: string; prompt: boolean }> {
    const receiver = await startOtlpReceiver();
    started.add(() => receiver.close());
    const sim = await cli(['sim', '--port', '0']);
    const proxy = await cli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`], {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_METRIC_EXPORT_INTERVAL: '300',
      ...(capture ? { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' } : {}),
    });
    const auth = { authorization: `Bearer ${KEY}`, 'api-key': KEY, cookie: `session=${KEY}` };
    expect(await call(proxy.url, '/v1/responses', post({ model: 'gpt-5.1', instructions: `system ${PROMPT}`, input: PROMPT, stream: true }, auth))).toBe(200);
    expect(await call(proxy.url, '/v1/chat/completions', post({ model: 'gpt-5.1', messages: [{ role: 'user', content: PROMPT }] }, auth))).toBe(200);
    expect(await call(proxy.url, '/v1/responses', post({ model: 'gpt-5.1', input: PROMPT }, { ...auth, 'x-sim-fault': 'status:400' }))).toBe(400);
    await until('exports', async () => (receiver.exports.some((e) => e.path === '/v1/traces') && receiver.exports.some((e) => e.path === '/v1/metrics') ? true : undefined));
    const metricsText = await (await fetch(`${proxy.url}/metrics`)).text();
    await proxy.stop();
    const all = [...receiver.exports.map((e) => e.body.toString()), metricsText, proxy.stderr()].join('\n');
    return { all, prompt: all.includes(PROMPT) };
  }

  it('by default neither the key nor the prompt appears in any export, metric or log', async () => {
    const { all, prompt } = await exportedText(false);
    expect(all).toContain('chat gpt-5.1');
    expect(prompt).toBe(false);
    expect(all).not.toContain(KEY);
  });

  it('with content capture on, the prompt appears and the key still does not', async () => {
    const { all, prompt } = await exportedText(true);
    expect(prompt).toBe(true);
    expect(all).toContain('gen_ai.input.messages');
    expect(all).not.toContain(KEY);
  });
});

describe('a collector that is down or hangs', () => {
  async function rssKb(pid: number): Promise<number> {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  }

  it.each(['closed port', 'hanging server', 'server answering 500'])('%s: 500 requests all succeed, none waits for the exporter, drops are counted', async (kind) => {
    let endpoint: string;
    if (kind === 'closed port') {
      endpoint = `http://127.0.0.1:${await freePort()}`;
    } else {
      const receiver = await startOtlpReceiver(kind === 'hanging server' ? { hang: true } : { status: 500 });
      started.add(() => receiver.close());
      endpoint = receiver.url;
    }
    const sim = await cli(['sim', '--port', '0']);
    const proxy = await cli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`], {
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_TIMEOUT: '10000',
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
    });
    const pid = proxy.proc.pid as number;
    await call(proxy.url, '/v1/responses', post({ model: 'm', input: 'warm', stream: true }));
    const before = await rssKb(pid);
    const latencies: number[] = [];
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const started = performance.now();
          const status = await call(proxy.url, '/v1/responses', post({ model: 'm', input: `r${batch}-${i}`, stream: true }));
          latencies.push(performance.now() - started);
          expect(status).toBe(200);
        }),
      );
    }
    expect(latencies).toHaveLength(500);
    // The exporter timeout is 10 s; a request that waited for it would show.
    expect(Math.max(...latencies)).toBeLessThan(2_000);
    const growthMb = ((await rssKb(pid)) - before) / 1024;
    expect(growthMb).toBeLessThan(100);
    const dropped = await until(
      'modeltap_telemetry_dropped_total',
      async () => {
        const text = await (await fetch(`${proxy.url}/metrics`)).text();
        const lines = text.split('\n').filter((l) => l.startsWith('modeltap_telemetry_dropped_total'));
        return lines.length > 0 ? lines : undefined;
      },
      25_000,
    );
    expect(dropped.join('\n')).toMatch(/reason="export_failed"/);
  }, 60_000);
});
