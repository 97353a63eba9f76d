// The Responses WebSocket end to end: real clients (the Codex CLI, the WebSocket client of the
// openai SDK 7 and 6.49) through the built `modeltap serve` to the built `modeltap sim`.
import { afterEach, describe, expect, it } from 'vitest';
import { runCodex, type RunningCli, stoppedBy } from './cli.js';
import { SDKS, type Sdk } from './openai-sdks.js';

const started = stoppedBy(afterEach);
const cli = started.cli;

interface SimEntry {
  method: string;
  transport: string;
  connection?: number;
  generate?: boolean;
  previousResponseId?: string;
  frameType?: string;
  headers?: Record<string, string>;
}
async function simLog(sim: RunningCli): Promise<SimEntry[]> {
  return (await (await fetch(`${sim.url}/__sim/log`)).json()) as SimEntry[];
}

function codexExec(baseUrl: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCodex(
    `model = "gpt-5.1-codex"\nmodel_provider = "modeltap"\n\n[model_providers.modeltap]\nname = "modeltap"\nbase_url = "${baseUrl}"\nenv_key = "OPENAI_API_KEY"\nwire_api = "responses"\nsupports_websockets = true\n`,
  );
}

/** Two responses on one WebSocket connection of `sdk`; resolves with their ids and texts. */
async function sdkTwoTurns(sdk: Sdk, baseUrl: string): Promise<{ ids: string[]; texts: string[] }> {
  const client = new sdk.OpenAI({ apiKey: 'sk-sdk-ws', baseURL: baseUrl });
  const rws = new sdk.ResponsesWS(client);
  const ids: string[] = [];
  const texts: string[] = [];
  let done: () => void = () => undefined;
  let failed: (error: Error) => void = () => undefined;
  rws.on('response.completed', (event) => {
    ids.push(event.response.id);
    // Raw WebSocket events carry no SDK-computed output_text: read the message item.
    const message = event.response.output.find((item) => item.type === 'message');
    texts.push(message?.type === 'message' ? message.content.map((c) => (c.type === 'output_text' ? c.text : '')).join('') : '');
    done();
  });
  rws.on('error', (error) => failed(error));
  for (const input of ['first', 'second']) {
    await new Promise<void>((resolve, reject) => {
      done = resolve;
      failed = reject;
      rws.send({ type: 'response.create', model: 'gpt-5.1', input } as never);
    });
  }
  rws.close();
  return { ids, texts };
}

describe('the Responses WebSocket through modeltap', () => {
  it('codex exec with supports_websockets completes; the sim saw the prewarm, then the turn with previous_response_id, on one socket', async () => {
    const sim = await cli(['sim', '--port', '0']);
    const proxy = await cli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`]);
    const run = await codexExec(`${proxy.url}/v1`);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Hello from the modeltap simulator.');
    const ws = (await simLog(sim)).filter((e) => e.transport === 'websocket');
    expect(ws.length).toBeGreaterThanOrEqual(2);
    expect(ws[0]).toMatchObject({ frameType: 'response.create', generate: false });
    expect(ws[1]).toMatchObject({ frameType: 'response.create', generate: true });
    expect(ws[1]?.previousResponseId).toMatch(/^resp_/);
    expect(new Set(ws.map((e) => e.connection)).size).toBe(1);
    expect((await simLog(sim)).filter((e) => e.method === 'POST')).toEqual([]);
  });

  it.each(SDKS)('the $name WebSocket client completes two responses on one connection', async (sdk) => {
    const sim = await cli(['sim', '--port', '0', '--events', '3']);
    const proxy = await cli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`]);
    const { ids, texts } = await sdkTwoTurns(sdk, `${proxy.url}/v1`);
    expect(ids).toHaveLength(2);
    expect(texts).toEqual(['Hello from the', 'Hello from the']);
    const ws = (await simLog(sim)).filter((e) => e.transport === 'websocket');
    expect(ws).toHaveLength(2);
    expect(ws[0]?.connection).toBe(ws[1]?.connection);
    expect(ws[0]?.headers?.['user-agent']).toBe(sdk.wsUserAgent);
  });

  it('a sim that refuses WebSocket: Codex gets 426 and finishes over HTTP with no retry', async () => {
    const sim = await cli(['sim', '--port', '0', '--no-websocket']);
    const proxy = await cli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`]);
    const run = await codexExec(`${proxy.url}/v1`);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Hello from the modeltap simulator.');
    // One refused upgrade: a 404 or a dropped socket would have cost Codex ~5 retries.
    expect(proxy.stderr().match(/upstream refused the WebSocket upgrade \(426\); answered 426/g)).toHaveLength(1);
    expect((await simLog(sim)).filter((e) => e.method === 'POST').length).toBeGreaterThanOrEqual(1);
  });
});

describe('--ws-bridge: WebSocket callers to an HTTP-only sim', () => {
  it.each(SDKS)('the $name WebSocket client completes two responses', async (sdk) => {
    const sim = await cli(['sim', '--port', '0', '--no-websocket', '--events', '3']);
    const proxy = await cli(['serve', '--port', '0', '--ws-bridge', '--upstream', `${sim.url}/v1`]);
    const { ids, texts } = await sdkTwoTurns(sdk, `${proxy.url}/v1`);
    expect(ids).toHaveLength(2);
    expect(texts).toEqual(['Hello from the', 'Hello from the']);
    const posts = (await simLog(sim)).filter((e) => e.method === 'POST');
    expect(posts).toHaveLength(2);
    expect(posts[0]?.headers?.['user-agent']).toBe(sdk.wsUserAgent);
  });

  it('codex exec completes its turn', async () => {
    const sim = await cli(['sim', '--port', '0', '--no-websocket']);
    const proxy = await cli(['serve', '--port', '0', '--ws-bridge', '--upstream', `${sim.url}/v1`]);
    const run = await codexExec(`${proxy.url}/v1`);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Hello from the modeltap simulator.');
    const log = await simLog(sim);
    expect(log.filter((e) => e.transport === 'websocket')).toEqual([]);
    expect(log.filter((e) => e.method === 'POST').length).toBeGreaterThanOrEqual(1);
  });
});
