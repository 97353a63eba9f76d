// Retries only where they are safe: model calls as before; any other /v1/* request only when its
// method is idempotent (RFC 9110 §9.2.2) or the caller sent an Idempotency-Key. Counted on the
// fake upstream, which answers every attempt with 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyServer } from '../../../src/proxy/server.js';
import { createProxy } from '../../../src/cli/create-proxy.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';

const RETRIES = 2;
let upstream: FakeUpstream;
let proxy: ProxyServer;

beforeAll(async () => {
  upstream = await startFakeUpstream((_req, res) => {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"boom","type":"server_error","param":null,"code":null}}');
  });
  proxy = await createProxy({ upstream: `${upstream.url}/v1`, port: 0, requestMaxRetries: RETRIES });
});
afterAll(async () => {
  await proxy.shutdown(0);
  await upstream.close();
});

/** Sends one request through the proxy; returns its status and how often the upstream saw it. */
async function attempts(method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; reached: number }> {
  const before = upstream.calls.length;
  const hasBody = method !== 'GET' && method !== 'HEAD' && method !== 'DELETE' && method !== 'OPTIONS';
  const res = await fetch(`${proxy.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(hasBody ? { body: '{"purpose":"batch"}' } : {}),
  });
  await res.arrayBuffer();
  return { status: res.status, reached: upstream.calls.length - before };
}

describe('passthrough retries', () => {
  it.each([
    ['POST', '/v1/files'],
    ['POST', '/v1/batches'],
    ['POST', '/v1/uploads'],
    ['POST', '/v1/fine_tuning/jobs'],
    ['POST', '/v1/vector_stores'],
    ['PATCH', '/v1/files/file-1'],
  ])('%s %s without an Idempotency-Key reaches a 500 upstream exactly once', async (method, path) => {
    expect(await attempts(method, path)).toEqual({ status: 500, reached: 1 });
  });

  it.each([
    ['GET', '/v1/models'],
    ['HEAD', '/v1/models'],
    ['OPTIONS', '/v1/models'],
    ['DELETE', '/v1/files/file-1'],
    ['PUT', '/v1/files/file-1'],
  ])('%s %s (idempotent) is retried: requestMaxRetries + 1 attempts', async (method, path) => {
    expect(await attempts(method, path)).toEqual({ status: 500, reached: RETRIES + 1 });
  });

  it('a POST with an Idempotency-Key is retried, the key sent on every attempt', async () => {
    const before = upstream.calls.length;
    expect(await attempts('POST', '/v1/files', { 'idempotency-key': 'key-1' })).toEqual({ status: 500, reached: RETRIES + 1 });
    expect(upstream.calls.slice(before).map((c) => c.headers['idempotency-key'])).toEqual(['key-1', 'key-1', 'key-1']);
  });

  it.each(['/v1/responses', '/v1/chat/completions', '/v1/responses/compact'])('model call POST %s is still retried', async (path) => {
    expect(await attempts('POST', path)).toEqual({ status: 500, reached: RETRIES + 1 });
  });
});
