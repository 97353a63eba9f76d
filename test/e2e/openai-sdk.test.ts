// The openai SDK (7 and 6.49) through the built CLI (`modeltap serve`) to the built `modeltap sim`,
// compared with the same SDK calls made to the sim directly: outcome and received bytes must be equal.
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, type RunningCli } from './cli.js';
import { SDKS, type Sdk } from './openai-sdks.js';

let sim: RunningCli;
let proxy: RunningCli;

beforeAll(async () => {
  sim = await startCli(['sim', '--port', '0', '--events', '6']);
  proxy = await startCli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`]);
});
afterAll(async () => {
  await proxy?.stop();
  await sim?.stop();
});

/**
 * A client of `sdk` whose fetch records the exact bytes of every response body it receives, and
 * the SDK version each request announces (`x-stainless-package-version`).
 */
function recordingClient(sdk: Sdk, base: string): { client: OpenAI; bodies: Buffer[]; versions: (string | null)[] } {
  const bodies: Buffer[] = [];
  const versions: (string | null)[] = [];
  const recordingFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    versions.push(new Headers(init?.headers).get('x-stainless-package-version'));
    const res = await fetch(input, init);
    const bytes = Buffer.from(await res.arrayBuffer());
    bodies.push(bytes);
    return new Response(bytes, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  return { client: new sdk.OpenAI({ apiKey: 'sk-e2e', baseURL: `${base}/v1`, fetch: recordingFetch, maxRetries: 0 }), bodies, versions };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Runs the same call of `sdk` through modeltap and directly; returns both outcomes and both bodies. */
async function compare<T>(sdk: Sdk, run: (client: OpenAI) => Promise<T>): Promise<{ proxied: T; direct: T }> {
  const viaProxy = recordingClient(sdk, proxy.url);
  const direct = recordingClient(sdk, sim.url);
  const proxiedOutcome = await run(viaProxy.client);
  const directOutcome = await run(direct.client);
  expect(viaProxy.versions).toEqual([sdk.version]);
  expect(viaProxy.bodies.length).toBe(1);
  expect(viaProxy.bodies[0]?.equals(direct.bodies[0] ?? Buffer.alloc(0))).toBe(true);
  expect(proxiedOutcome).toEqual(directOutcome);
  return { proxied: proxiedOutcome, direct: directOutcome };
}

describe.each(SDKS)('$name through modeltap', (sdk) => {
  it('responses.create, not streamed', async () => {
    const { proxied } = await compare(sdk, (c) => c.responses.create({ model: 'gpt-5.1', input: 'hi' }));
    expect(proxied.output_text).toBe('Hello from the modeltap simulator.');
    expect(proxied.usage?.output_tokens).toBe(6);
  });

  it('responses.create, streamed', async () => {
    const { proxied } = await compare(sdk, async (c) => collect(await c.responses.create({ model: 'gpt-5.1', input: 'hi', stream: true })));
    expect(proxied.at(-1)?.type).toBe('response.completed');
  });

  it('the responses.stream() helper', async () => {
    const { proxied } = await compare(sdk, async (c) => {
      const stream = c.responses.stream({ model: 'gpt-5.1', input: 'hi' });
      const deltas: string[] = [];
      stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
      const final = await stream.finalResponse();
      return { deltas, text: final.output_text, id: final.id };
    });
    expect(proxied.deltas.join('')).toBe(proxied.text);
  });

  it('chat.completions.create, streamed with include_usage', async () => {
    const { proxied } = await compare(sdk, async (c) =>
      collect(await c.chat.completions.create({ model: 'gpt-5.1', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } })),
    );
    expect(proxied.at(-1)?.usage?.completion_tokens).toBe(6);
  });

  it('chat.completions.create, not streamed', async () => {
    const { proxied } = await compare(sdk, (c) => c.chat.completions.create({ model: 'gpt-5.1', messages: [{ role: 'user', content: 'hi' }] }));
    expect(proxied.choices[0]?.message.content).toBe('Hello from the modeltap simulator.');
  });

  it('models.list', async () => {
    const { proxied } = await compare(sdk, async (c) => collect(await c.models.list()));
    expect(proxied.map((m) => m.id)).toContain('gpt-5.1-codex');
  });
});
