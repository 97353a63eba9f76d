// Large SSE events through the proxy: relayed byte for byte, and the maximum event size.
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_SSE_EVENT_BYTES } from '../../../src/client/sse.js';
import type { ProxyServer } from '../../../src/proxy/server.js';
import { createProxy } from '../../../src/cli/create-proxy.js';
import { completed, frame, pieces, startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';

let upstream: FakeUpstream | undefined;
let proxy: ProxyServer | undefined;
afterEach(async () => {
  await proxy?.shutdown(0);
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

async function post(): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(`${proxy?.url}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', input: 'x', stream: true }),
  });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

const created = frame({ type: 'response.created', response: { id: 'resp_big' } });

describe('large SSE events through the proxy', () => {
  it('an 8 MiB event is relayed byte for byte', async () => {
    const big = frame({ type: 'response.output_text.delta', delta: '日本'.repeat(1398101) + 'xy' });
    const body = Buffer.from(created + big + completed('resp_big', { input_tokens: 1, output_tokens: 2, total_tokens: 3 }));
    expect(Buffer.byteLength(big)).toBeGreaterThan(8 * 1024 * 1024);
    upstream = await startFakeUpstream(pieces(body, 1021));
    proxy = await createProxy({ upstream: `${upstream.url}/v1`, port: 0 });
    const reply = await post();
    expect(reply.status).toBe(200);
    expect(reply.body.equals(body)).toBe(true);
  });

  it('an event over the maximum ends the relay with a stream error event and closes the upstream', async () => {
    const body = Buffer.concat([Buffer.from(created), Buffer.from('data: '), Buffer.alloc(MAX_SSE_EVENT_BYTES, 'x')]);
    // Neither the event nor the response ever ends: only the limit stops the relay.
    upstream = await startFakeUpstream(pieces(body, 64 * 1024, false));
    proxy = await createProxy({ upstream: `${upstream.url}/v1`, port: 0 });
    const reply = await post();
    expect(reply.status).toBe(200);
    const error = `event: error\ndata: ${JSON.stringify({ type: 'error', code: 'upstream_disconnected', message: `stream disconnected before completion: SSE event larger than ${MAX_SSE_EVENT_BYTES} bytes`, param: null })}\n\n`;
    expect(reply.body.subarray(reply.body.length - error.length).toString()).toBe(error);
    expect(reply.body.subarray(0, created.length).toString()).toBe(created);
    await upstream.calls[0]?.closed;
  });
});
