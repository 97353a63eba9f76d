// openai 7's ResponsesWebSocketSession (several responses at once on one socket, in lanes told
// apart by `stream_id`) against the built `modeltap sim`, directly and through the built
// `modeltap serve`: every lane's finalResponse() resolves, and modeltap's spans (OTLP) and run
// summary count exactly the usage the SDK got.
import OpenAI from 'openai';
import type { Response } from 'openai/resources/responses/responses';
import { ResponsesWS } from 'openai/resources/responses/ws';
import { ResponsesWebSocketSession } from 'openai/lib/responses/responses-websocket-session';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/summary/summary-recorder.js';
import { startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { type RunningCli, stoppedBy } from './cli.js';

const started = stoppedBy(afterEach);
const cli = started.cli;

/**
 * On one socket: a first response on the default lane, then lanes `a` and `b` at once, `a` with
 * two requests queued (answered in order). Resolves with every final response, in that order.
 */
async function lanes(baseURL: string): Promise<Response[]> {
  const client = new OpenAI({ apiKey: 'sk-lanes', baseURL, maxRetries: 0 });
  const rws = new ResponsesWS(client);
  started.add(async () => rws.close());
  await new Promise<void>((resolve, reject) => {
    rws.socket.on('open', () => resolve());
    rws.socket.on('error', reject);
  });
  const session = new ResponsesWebSocketSession(rws, { maxLanes: 8, maxBufferedEvents: 10_000, maxBufferedBytes: 16 * 1024 * 1024 });
  // A lane whose events never arrive (a server that does not echo stream_id) would wait for ever.
  const signal = AbortSignal.timeout(10_000);
  const main = session.lane();
  main.create({ model: 'gpt-5.1', input: 'the first turn' });
  const first = await main.finalResponse({ signal });
  const a = session.lane('a');
  const b = session.lane('b');
  a.create({ model: 'gpt-5.1', input: 'lane a, its first request', previous_response_id: first.id });
  b.create({ model: 'gpt-5.1', input: 'lane b, a request of another length', previous_response_id: first.id });
  a.create({ model: 'gpt-5.1', input: 'lane a, its second request, the longest of all' });
  const [a1, a2, b1] = await Promise.all([
    (async () => [await a.finalResponse({ signal }), await a.finalResponse({ signal })])(),
    b.finalResponse({ signal }),
  ]).then(([fromA, fromB]) => [...fromA, fromB]);
  session.close();
  rws.close();
  return [first, a1, a2, b1].filter((r): r is Response => r !== undefined);
}

type OtlpValue = { stringValue?: string; intValue?: string | number };
interface OtlpSpan {
  name: string;
  attributes: { key: string; value: OtlpValue }[];
}

/** The `chat` spans of every OTLP/JSON trace export received so far. */
function chatSpans(bodies: Buffer[]): OtlpSpan[] {
  const out: OtlpSpan[] = [];
  for (const body of bodies) {
    const parsed = JSON.parse(body.toString()) as { resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[] };
    for (const rs of parsed.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) if (s.name.startsWith('chat ')) out.push(s);
  }
  return out;
}

const attr = (span: OtlpSpan, key: string): string | number | undefined => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue));
};

describe('openai 7 ResponsesWebSocketSession lanes', () => {
  it('against modeltap sim directly: every lane finalResponse() resolves, a lane in order', async () => {
    const sim = await cli(['sim', '--port', '0', '--events', '4']);
    const responses = await lanes(`${sim.url}/v1`);
    expect(responses).toHaveLength(4);
    expect(responses.map((r) => r.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    expect(new Set(responses.map((r) => r.id)).size).toBe(4);
    expect(responses.every((r) => r.output_text === 'Hello from the modeltap')).toBe(true);
  });

  it('through modeltap serve: every lane resolves; spans and summary count the usage the SDK got', async () => {
    const receiver = await startOtlpReceiver();
    started.add(() => receiver.close());
    const sim = await cli(['sim', '--port', '0', '--events', '4']);
    const proxy = await cli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`], {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_METRIC_EXPORT_INTERVAL: '600000',
    });
    const responses = await lanes(`${proxy.url}/v1`);
    expect(responses).toHaveLength(4);
    const input = responses.reduce((acc, r) => acc + (r.usage?.input_tokens ?? 0), 0);
    const output = responses.reduce((acc, r) => acc + (r.usage?.output_tokens ?? 0), 0);
    expect(input).toBeGreaterThan(0);
    const summary = (await (await fetch(`${proxy.url}/modeltap/summary`)).json()) as RunSummary;
    const group = summary.groups.find((g) => g.transport === 'websocket');
    expect(group).toMatchObject({ count: 4, errors: {}, tokens: { input, output } });
    // SIGTERM flushes the spans.
    expect(await proxy.stop()).toBe(0);
    const spans = chatSpans(receiver.exports.filter((e) => e.path === '/v1/traces').map((e) => e.body));
    expect(spans).toHaveLength(4);
    for (const r of responses) {
      const span = spans.find((s) => attr(s, 'gen_ai.response.id') === r.id);
      expect(span, r.id).toBeDefined();
      expect({ input: attr(span as OtlpSpan, 'gen_ai.usage.input_tokens'), output: attr(span as OtlpSpan, 'gen_ai.usage.output_tokens'), error: attr(span as OtlpSpan, 'error.type') }).toEqual({
        input: r.usage?.input_tokens,
        output: r.usage?.output_tokens,
        error: undefined,
      });
    }
  });
});
