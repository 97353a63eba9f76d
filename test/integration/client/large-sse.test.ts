// Large SSE events through the client core: linear framing, exact bytes, and the maximum event size.
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_SSE_EVENT_BYTES, type ResponseEvent, type SsePoll } from '../../../src/index.js';
import { completed, frame, pieces, startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { clientFor, drain, prompt } from '../../helpers/client.js';

let upstream: FakeUpstream | undefined;
afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
});

const created = frame({ type: 'response.created', response: { id: 'resp_big' } });

describe('large SSE events', () => {
  it('an 8 MiB delta arrives whole, its frame bytes exact, and the hooks count its bytes', async () => {
    const delta = 'é'.repeat(4 * 1024 * 1024);
    const big = frame({ type: 'response.output_text.delta', delta });
    const body = Buffer.from(created + big + completed('resp_big'));
    upstream = await startFakeUpstream(pieces(body, 997));
    const polls: SsePoll[] = [];
    const client = clientFor(upstream, { telemetry: { onSsePoll: (poll) => void polls.push(poll) } });
    const { events, error } = await drain(client.newSession().stream(prompt()));
    expect(error).toBeUndefined();
    const deltaEvent = events.find((e): e is Extract<ResponseEvent, { type: 'output_text_delta' }> => e.type === 'output_text_delta');
    expect(deltaEvent?.delta === delta).toBe(true);
    expect(Buffer.from(deltaEvent?.raw ?? new Uint8Array()).equals(Buffer.from(big))).toBe(true);
    expect(polls.map((p) => (p.kind === 'event' ? p.bytes : p.kind))).toEqual([Buffer.byteLength(created), Buffer.byteLength(big), Buffer.byteLength(completed('resp_big'))]);
    expect(events.at(-1)).toMatchObject({ type: 'completed', responseId: 'resp_big' });
  });

  it('an event over the maximum ends the stream with a stream error and closes the upstream', async () => {
    const body = Buffer.concat([Buffer.from(created), Buffer.from('data: '), Buffer.alloc(MAX_SSE_EVENT_BYTES, 'x')]);
    // The upstream never ends the event nor the response: only the limit can stop the reading.
    upstream = await startFakeUpstream(pieces(body, 64 * 1024, false));
    const polls: SsePoll[] = [];
    const client = clientFor(upstream, { telemetry: { onSsePoll: (poll) => void polls.push(poll) } });
    const { events, error } = await drain(client.newSession().stream(prompt()));
    expect(events.map((e) => e.type)).toContain('created');
    expect(error).toMatchObject({ kind: 'stream', status: 502, message: `stream disconnected before completion: SSE event larger than ${MAX_SSE_EVENT_BYTES} bytes` });
    expect(polls.map((p) => p.kind)).toEqual(['event', 'decode_error']);
    await upstream.calls[0]?.closed;
  });
});
