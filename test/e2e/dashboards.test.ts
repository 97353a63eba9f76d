// Every panel of every dashboard, proven against a real Prometheus (Debian's) that runs the
// repository's otel/prometheus.yml (target rewritten to this modeltap) after mixed traffic.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runCost, type RunSummary } from '../../src/summary/summary-recorder.js';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { startCli, type RunningCli } from './cli.js';

const root = new URL('../../', import.meta.url).pathname;
// The access key otel/prometheus.yml sends as a bearer token.
const KEY = /credentials: (\S+)/.exec(readFileSync(join(root, 'otel/prometheus.yml'), 'utf8'))?.[1] ?? '';

interface Target {
  expr: string;
}
interface Panel {
  title: string;
  type: string;
  /** Absent on a row (a heading). */
  targets?: Target[];
}
interface Dashboard {
  title: string;
  panels: Panel[];
  templating: { list: { name: string; query: { query: string } }[] };
}

const dashboards = readdirSync(join(root, 'dashboards'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(root, 'dashboards', f), 'utf8')) as Dashboard);

/** Grafana's variables as Grafana substitutes them with "All" selected. */
function substitute(expr: string): string {
  return expr
    .replace(/\$__rate_interval/g, '30s')
    .replace(/\$__range/g, '5m')
    .replace(/\$__interval/g, '15s')
    .replace(/\$(instance|model|route|transport)\b/g, '.*');
}

let sim: RunningCli;
let proxy: RunningCli;
let prometheus: RunningPrometheus;

const headers = {
  'content-type': 'application/json',
  'x-modeltap-key': KEY,
  originator: 'codex_exec',
  'session-id': 'dash-session',
  'x-codex-turn-metadata': '{"request_kind":"turn","turn_id":"t-1"}',
};

async function post(path: string, body: unknown, extra: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`${proxy.url}${path}`, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

async function wsTurn(extra: Record<string, string> = {}): Promise<number> {
  const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/v1/responses`, { headers: { ...headers, ...extra } });
  return new Promise((resolve) => {
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('open', () => ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.1-codex', input: 'ws' })));
    ws.on('message', (data) => {
      if (data.toString().includes('"response.completed"')) {
        ws.close();
        resolve(101);
      }
    });
  });
}

beforeAll(async () => {
  sim = await startCli(['sim', '--port', '0']);
  // Loopback with an access key: Prometheus must send it (as otel/prometheus.yml does) to scrape.
  proxy = await startCli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`, '--access-key', KEY, '--auth-command', 'echo sk-held', '--request-max-retries', '1']);
  prometheus = await startPrometheus(new URL(proxy.url).host, { configFile: join(root, 'otel/prometheus.yml') });
  // Mixed traffic: streams, non-streams, Chat, WebSocket, failures, retries, a 401 recovery, a fallback.
  expect(await post('/v1/responses', { model: 'gpt-5.1-codex', input: 'hi', stream: true })).toBe(200);
  expect(await post('/v1/responses', { model: 'gpt-5.1-codex', input: 'hi' })).toBe(200);
  expect(await post('/v1/chat/completions', { model: 'gpt-5.1', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } })).toBe(200);
  expect(await post('/v1/chat/completions', { model: 'gpt-5.1', messages: [{ role: 'user', content: 'hi' }] })).toBe(200);
  expect(await post('/v1/responses', { model: 'gpt-5.1-codex', input: 'retry', stream: true }, { 'x-sim-fault': 'status:500;times=1' })).toBe(200);
  expect(await post('/v1/responses', { model: 'gpt-5.1-codex', input: 'auth', stream: true }, { 'x-sim-fault': 'status:401;times=1' })).toBe(200);
  expect(await post('/v1/responses', { model: 'gpt-5.1-codex', input: 'reset', stream: true }, { 'x-sim-fault': 'reset:6' })).toBe(200);
  expect(await post('/v1/responses', { model: 'gpt-5.1-codex', input: 'bad sse', stream: true }, { 'x-sim-fault': 'malformed:6' })).toBe(200);
  expect(await post('/v1/responses', { model: 'gpt-5.1-codex', input: 'overloaded' }, { 'x-sim-fault': 'status:503' })).toBe(503);
  expect(await wsTurn()).toBe(101);
  expect(await wsTurn()).toBe(101);
  expect(await wsTurn({ 'x-sim-websocket': 'refuse' })).toBe(426);
  // A model without a price: its cost is unknown (the cost row's last panel).
  expect(await post('/v1/responses', { model: 'house-model', input: 'hi' })).toBe(200);
  // More traffic after the first scrapes, so that rates see an increase.
  await new Promise((r) => setTimeout(r, 2500));
  expect(await post('/v1/responses', { model: 'gpt-5.1-codex', input: 'again', stream: true })).toBe(200);
  expect(await post('/v1/responses', { model: 'gpt-5.1-codex', input: 'retry 2', stream: true }, { 'x-sim-fault': 'status:500;times=1' })).toBe(200);
  expect(await wsTurn()).toBe(101);
  // Wait for two scrapes after the last request (a loaded machine can delay them).
  const after = Date.now() / 1000;
  for (let i = 0; i < 150; i++) {
    const up = (await prometheus.query('count_over_time(up{job="modeltap"}[1m])')) as { value: [number, string] }[];
    const last = (await prometheus.query('timestamp(up{job="modeltap"})')) as { value: [number, string] }[];
    if (Number(up[0]?.value[1] ?? 0) >= 3 && Number(last[0]?.value[1] ?? 0) > after + 1) break;
    await new Promise((r) => setTimeout(r, 200));
  }
}, 90_000);

/** The query's result, retried for a few seconds while it is empty (scrapes land asynchronously). */
async function eventually(expr: string): Promise<unknown[]> {
  for (let i = 0; ; i++) {
    const result = await prometheus.query(expr);
    if (result.length > 0 || i >= 50) return result;
    await new Promise((r) => setTimeout(r, 200));
  }
}

afterAll(async () => {
  await prometheus?.stop();
  await proxy?.stop();
  await sim?.stop();
});

describe('the dashboards against a real Prometheus', () => {
  it('Prometheus scrapes modeltap with the access key from otel/prometheus.yml', async () => {
    const up = (await prometheus.query('up{job="modeltap"}')) as { value: [number, string] }[];
    expect(up[0]?.value[1]).toBe('1');
  });

  it('the cost Prometheus holds is what the run summary says the traffic cost', async () => {
    const res = await fetch(`${proxy.url}/modeltap/summary`, { headers: { 'x-modeltap-key': KEY } });
    const summary = (await res.json()) as RunSummary;
    const known = runCost(summary).usd;
    expect(known).toBeGreaterThan(0);
    const scraped = (await prometheus.query('sum(modeltap_cost_total{job="modeltap"})')) as { value: [number, string] }[];
    expect(Number(scraped[0]?.value[1])).toBeCloseTo(known ?? 0, 12);
    const unpriced = (await prometheus.query('sum by (gen_ai_request_model) (modeltap_cost_unpriced_total{job="modeltap"})')) as { metric: Record<string, string>; value: [number, string] }[];
    expect(unpriced.map((r) => [r.metric['gen_ai_request_model'], r.value[1]])).toEqual([['house-model', '1']]);
  });

  for (const dashboard of dashboards) {
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        it(`${dashboard.title} › ${panel.title}: ${target.expr.slice(0, 80)}…`, async () => {
          const result = await eventually(substitute(target.expr));
          expect(result.length, substitute(target.expr)).toBeGreaterThan(0);
        });
      }
    }
    it(`${dashboard.title}: every template variable has values`, async () => {
      for (const variable of dashboard.templating.list) {
        const match = /^label_values\((.+), (\w+)\)$/.exec(variable.query.query);
        expect(match, variable.query.query).not.toBeNull();
        const result = await eventually(`count by (${match?.[2]}) (${match?.[1]})`);
        expect(result.length, variable.name).toBeGreaterThan(0);
      }
    });
  }
});
