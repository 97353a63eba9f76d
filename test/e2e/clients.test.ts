// Today's agent frameworks through the built CLI (`modeltap serve --upstream sim`): @openai/agents
// (HTTP and its Responses WebSocket transport), the Vercel AI SDK (Responses and Chat) and LangChain's
// ChatOpenAI (Chat Completions and Responses). Each call must get the simulator's answer, and
// modeltap's telemetry for it (the run summary and gen_ai.client.token.usage on /metrics) must show
// exactly the input and output tokens the client itself reports.
import { createOpenAI } from '@ai-sdk/openai';
import type { UsageMetadata } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { Agent, OpenAIProvider, Runner } from '@openai/agents';
import { generateText, streamText } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import { startCli, type RunningCli } from './cli.js';

/** The sim's answer with its default 8 events, one token each. */
const ANSWER = 'Hello from the modeltap simulator. All systems';

let running: { stop(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const r of running.reverse()) await r.stop();
  running = [];
});

/** `modeltap serve --upstream sim`, exporting its spans as OTLP/JSON to `receiver`. */
interface Served extends RunningCli {
  readonly receiver: OtlpReceiver;
}

/** A fresh `modeltap serve --upstream sim` per test, so its telemetry holds that test's calls only. */
async function serve(): Promise<Served> {
  const receiver = await startOtlpReceiver();
  running.push({ stop: () => receiver.close() });
  const proxy = await startCli(['serve', '--port', '0', '--upstream', 'sim'], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
  running.push(proxy);
  return { ...proxy, receiver };
}

/** The `gen_ai.usage.*_tokens` of every exported `chat gpt-5.1` span. */
function spanTokens(receiver: OtlpReceiver): Tokens[] {
  type Attribute = { key: string; value: { intValue?: number | string } };
  type Export = { resourceSpans?: { scopeSpans?: { spans?: { name: string; attributes?: Attribute[] }[] }[] }[] };
  const out: Tokens[] = [];
  for (const e of receiver.exports.filter((x) => x.path === '/v1/traces')) {
    for (const rs of (JSON.parse(e.body.toString()) as Export).resourceSpans ?? []) {
      for (const span of (rs.scopeSpans ?? []).flatMap((ss) => ss.spans ?? [])) {
        if (span.name !== 'chat gpt-5.1') continue;
        // OTLP/JSON may write an int64 as a string.
        const attr = (key: string): number => Number(span.attributes?.find((a) => a.key === key)?.value.intValue ?? Number.NaN);
        out.push({ input: attr('gen_ai.usage.input_tokens'), output: attr('gen_ai.usage.output_tokens') });
      }
    }
  }
  return out;
}

/** What the embedded simulator served, from the URL the listening line names. */
async function simLog(proxy: RunningCli): Promise<{ method: string; transport: string; connection?: number; frameType?: string }[]> {
  const sim = /upstream sim at (http:\/\/[^\s/]+)/.exec(proxy.stderr())?.[1];
  if (!sim) throw new Error(`no sim URL in: ${proxy.stderr()}`);
  return (await (await fetch(`${sim}/__sim/log`)).json()) as { method: string; transport: string; connection?: number; frameType?: string }[];
}

interface Tokens {
  readonly input: number;
  readonly output: number;
}
interface Group {
  route: string;
  model: string;
  transport: string;
  count: number;
  errors: Record<string, number>;
  tokens: { input: number; output: number };
}

/** Polls `probe` (every 25 ms, 5 s at most): the summary records a call just after its last byte. */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Sum of `gen_ai_client_token_usage_sum` over every series of one token type. */
function metricSum(text: string, type: 'input' | 'output'): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('gen_ai_client_token_usage_sum{') && line.includes(`gen_ai_token_type="${type}"`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/**
 * Asserts modeltap's telemetry shows `calls` calls on `route` over `transport`, with exactly the
 * tokens the client reported, in the run summary, on /metrics and on the spans; stops `proxy`
 * (SIGTERM flushes the spans), so the client must have closed its connections.
 */
async function expectTelemetry(proxy: Served, route: string, transport: string, calls: number, reported: Tokens): Promise<void> {
  const groups = await until('the summary to record the calls', async () => {
    const summary = (await (await fetch(`${proxy.url}/modeltap/summary`)).json()) as { groups: Group[] };
    return summary.groups.reduce((n, g) => n + g.count, 0) >= calls ? summary.groups : undefined;
  });
  expect(groups).toHaveLength(1);
  expect(groups[0]).toMatchObject({ route, model: 'gpt-5.1', transport, count: calls, errors: {} });
  expect(groups[0]?.tokens).toMatchObject(reported);
  const metrics = await (await fetch(`${proxy.url}/metrics`)).text();
  expect({ input: metricSum(metrics, 'input'), output: metricSum(metrics, 'output') }).toEqual(reported);
  expect(await proxy.stop()).toBe(0);
  const spans = spanTokens(proxy.receiver);
  expect(spans).toHaveLength(calls);
  expect({ input: spans.reduce((n, t) => n + t.input, 0), output: spans.reduce((n, t) => n + t.output, 0) }).toEqual(reported);
}

describe('@openai/agents through modeltap', () => {
  const agent = new Agent({ name: 'e2e', instructions: 'Be brief.', model: 'gpt-5.1' });
  function runner(proxy: Served, useResponsesWebSocket: boolean, useResponses = true): { runner: Runner; provider: OpenAIProvider } {
    const provider = new OpenAIProvider({ apiKey: 'sk-agents-e2e', baseURL: `${proxy.url}/v1`, useResponses, useResponsesWebSocket });
    // Tracing off: the SDK would otherwise export its traces to OpenAI's servers.
    return { runner: new Runner({ modelProvider: provider, tracingDisabled: true }), provider };
  }

  it('Responses over HTTP, not streamed', async () => {
    const proxy = await serve();
    const result = await runner(proxy, false).runner.run(agent, 'hi');
    expect(result.finalOutput).toBe(ANSWER);
    const usage = result.runContext.usage;
    expect(usage.outputTokens).toBe(8);
    await expectTelemetry(proxy, '/v1/responses', 'http_json', 1, { input: usage.inputTokens, output: usage.outputTokens });
  });

  it('Responses over HTTP, streamed', async () => {
    const proxy = await serve();
    const result = await runner(proxy, false).runner.run(agent, 'hi', { stream: true });
    let text = '';
    for await (const chunk of result.toTextStream()) text += chunk;
    await result.completed;
    expect(text).toBe(ANSWER);
    expect(result.finalOutput).toBe(ANSWER);
    const usage = result.runContext.usage;
    expect(usage.outputTokens).toBe(8);
    await expectTelemetry(proxy, '/v1/responses', 'http_sse', 1, { input: usage.inputTokens, output: usage.outputTokens });
  });

  it.each([false, true])('Chat Completions (useResponses: false), streamed: %s', async (stream) => {
    const proxy = await serve();
    const chatRunner = runner(proxy, false, false).runner;
    const result = stream ? await chatRunner.run(agent, 'hi', { stream: true }) : await chatRunner.run(agent, 'hi');
    if ('completed' in result) {
      for await (const _ of result) void _;
      await result.completed;
    }
    expect(result.finalOutput).toBe(ANSWER);
    const usage = result.runContext.usage;
    expect(usage.outputTokens).toBe(8);
    await expectTelemetry(proxy, '/v1/chat/completions', stream ? 'http_sse' : 'http_json', 1, { input: usage.inputTokens, output: usage.outputTokens });
  });

  it('Responses over its WebSocket transport (useResponsesWebSocket): one run, then two at once, on one socket', async () => {
    const proxy = await serve();
    const { runner: wsRunner, provider } = runner(proxy, true);
    let results;
    try {
      const first = await wsRunner.run(agent, 'hi');
      // The SDK queues concurrent runs on its one socket (no lanes), so each turn follows the last.
      const [second, third] = await Promise.all([
        wsRunner.run(agent, 'again'),
        (async () => {
          const streamed = await wsRunner.run(agent, 'and again', { stream: true });
          for await (const _ of streamed) void _;
          await streamed.completed;
          return streamed;
        })(),
      ]);
      results = [first, second, third];
    } finally {
      await provider.close();
    }
    expect(results.map((r) => r.finalOutput)).toEqual([ANSWER, ANSWER, ANSWER]);
    const input = results.reduce((n, r) => n + r.runContext.usage.inputTokens, 0);
    const output = results.reduce((n, r) => n + r.runContext.usage.outputTokens, 0);
    expect(output).toBe(24);
    const ws = (await simLog(proxy)).filter((e) => e.transport === 'websocket');
    expect(ws.map((e) => e.frameType)).toEqual(['response.create', 'response.create', 'response.create']);
    expect(new Set(ws.map((e) => e.connection))).toEqual(new Set([0]));
    expect((await simLog(proxy)).filter((e) => e.method === 'POST')).toEqual([]);
    await expectTelemetry(proxy, '/v1/responses', 'websocket', 3, { input, output });
  });
});

describe('the Vercel AI SDK (ai + @ai-sdk/openai) through modeltap', () => {
  const cases = [
    { name: 'Responses (openai.responses)', kind: 'responses', route: '/v1/responses' },
    { name: 'Chat Completions (openai.chat)', kind: 'chat', route: '/v1/chat/completions' },
  ] as const;

  describe.each(cases)('$name', ({ kind, route }) => {
    function model(proxy: Served) {
      const openai = createOpenAI({ apiKey: 'sk-ai-sdk-e2e', baseURL: `${proxy.url}/v1` });
      return kind === 'responses' ? openai.responses('gpt-5.1') : openai.chat('gpt-5.1');
    }

    it('generateText', async () => {
      const proxy = await serve();
      const result = await generateText({ model: model(proxy), prompt: 'hi', maxRetries: 0 });
      expect(result.text).toBe(ANSWER);
      expect(result.usage.outputTokens).toBe(8);
      await expectTelemetry(proxy, route, 'http_json', 1, { input: result.usage.inputTokens ?? -1, output: result.usage.outputTokens ?? -1 });
    });

    it('streamText', async () => {
      const proxy = await serve();
      const result = streamText({ model: model(proxy), prompt: 'hi', maxRetries: 0 });
      let text = '';
      for await (const chunk of result.textStream) text += chunk;
      const usage = await result.usage;
      expect(text).toBe(ANSWER);
      expect(usage.outputTokens).toBe(8);
      await expectTelemetry(proxy, route, 'http_sse', 1, { input: usage.inputTokens ?? -1, output: usage.outputTokens ?? -1 });
    });
  });
});

describe('@langchain/openai ChatOpenAI through modeltap', () => {
  const cases = [
    { name: 'Chat Completions', useResponsesApi: false, route: '/v1/chat/completions' },
    { name: 'Responses (useResponsesApi)', useResponsesApi: true, route: '/v1/responses' },
  ] as const;

  describe.each(cases)('$name', ({ useResponsesApi, route }) => {
    function chat(proxy: Served): ChatOpenAI {
      return new ChatOpenAI({ model: 'gpt-5.1', apiKey: 'sk-langchain-e2e', configuration: { baseURL: `${proxy.url}/v1` }, useResponsesApi, maxRetries: 0 });
    }

    it('invoke', async () => {
      const proxy = await serve();
      const message = await chat(proxy).invoke('hi');
      expect(message.text).toBe(ANSWER);
      // Typed explicitly: TypeScript 7 infers LangChain's message-structure type for it as never.
      const usage = message.usage_metadata as UsageMetadata | undefined;
      expect(usage?.output_tokens).toBe(8);
      await expectTelemetry(proxy, route, 'http_json', 1, { input: usage?.input_tokens ?? -1, output: usage?.output_tokens ?? -1 });
    });

    it('stream', async () => {
      const proxy = await serve();
      let text = '';
      let input = 0;
      let output = 0;
      for await (const chunk of await chat(proxy).stream('hi')) {
        text += chunk.text;
        const usage = chunk.usage_metadata as UsageMetadata | undefined;
        input += usage?.input_tokens ?? 0;
        output += usage?.output_tokens ?? 0;
      }
      expect(text).toBe(ANSWER);
      expect(output).toBe(8);
      await expectTelemetry(proxy, route, 'http_sse', 1, { input, output });
    });
  });
});
