import { describe, expect, it } from 'vitest';
import { findStreamId, TurnTracker, watchUpstreamFrame } from '../../../src/proxy/websocket-turns.js';
import type { TurnTelemetry } from '../../../src/telemetry/proxy-telemetry.js';

/** A turn's telemetry that records what it is told, as `<name> <call>`. */
function turn(name: string, calls: string[]): TurnTelemetry {
  return {
    onEvent: (event) => calls.push(`${name} event ${event.type}`),
    onChunk: () => calls.push(`${name} chunk`),
    onWrite: () => calls.push(`${name} write`),
    end: (errorType) => calls.push(`${name} end ${errorType ?? 'ok'}`),
  };
}

const frame = (value: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify(value));
const watch = (turns: TurnTracker, value: Record<string, unknown>): void => watchUpstreamFrame(frame(value), value['type'] as string, 0, turns);

describe('findStreamId', () => {
  it('reads a plain lane id near the head or the tail of a frame, not in the middle of a long one', () => {
    expect(findStreamId(frame({ type: 'response.output_text.delta', stream_id: 'lane-1', delta: 'x' }))).toBe('lane-1');
    expect(findStreamId(Buffer.from('{"type":"d", "stream_id" : "a.b_c"}'))).toBe('a.b_c');
    expect(findStreamId(frame({ type: 'response.output_text.delta', delta: 'x'.repeat(10_000), stream_id: 'tail' }))).toBe('tail');
    expect(findStreamId(frame({ type: 'response.output_text.delta', a: 'x'.repeat(5000), stream_id: 'middle', b: 'y'.repeat(5000) }))).toBeUndefined();
    expect(findStreamId(frame({ type: 'response.output_text.delta', delta: 'x' }))).toBeUndefined();
    expect(findStreamId(frame({ type: 'd', stream_id: null }))).toBeUndefined();
    expect(findStreamId(frame({ type: 'd', stream_id: 'a"b' }))).toBeUndefined();
    expect(findStreamId(frame({ type: 'd', stream_id: 'x'.repeat(300) }))).toBeUndefined();
    // Inside a string value the quotes are escaped: not a key.
    expect(findStreamId(frame({ type: 'd', delta: '"stream_id":"no"' }))).toBeUndefined();
  });
});

describe('TurnTracker', () => {
  it('attributes frames to their lane head, FIFO per lane; lanes interleave', () => {
    const calls: string[] = [];
    const turns = new TurnTracker();
    turns.start('a', turn('a1', calls));
    turns.start('b', turn('b1', calls));
    turns.start('a', turn('a2', calls));
    watch(turns, { type: 'response.created', stream_id: 'b', response: { id: 'r-b1' } });
    watch(turns, { type: 'response.output_text.delta', stream_id: 'a', delta: 'x' });
    watch(turns, { type: 'response.completed', stream_id: 'a', response: { id: 'r-a1', usage: { input_tokens: 1, output_tokens: 1 } } });
    watch(turns, { type: 'response.output_text.delta', stream_id: 'a', delta: 'y' });
    watch(turns, { type: 'response.completed', stream_id: 'b', response: { id: 'r-b1' } });
    watch(turns, { type: 'response.failed', stream_id: 'a', response: { id: 'r-a2', error: { code: 'insufficient_quota', message: 'no' } } });
    expect(turns.size).toBe(0);
    expect(calls).toEqual([
      'b1 chunk',
      'b1 write',
      'b1 event created',
      'a1 chunk',
      'a1 write',
      'a1 chunk',
      'a1 event completed',
      'a1 end ok',
      'a2 chunk',
      'a2 write',
      'b1 chunk',
      'b1 event completed',
      'b1 end ok',
      'a2 chunk',
      'a2 end quota_exceeded',
    ]);
  });

  it('without stream_id: the default lane head, else the oldest open turn (an upstream that does not echo)', () => {
    const calls: string[] = [];
    const turns = new TurnTracker();
    turns.start('a', turn('a', calls));
    turns.start(undefined, turn('default', calls));
    turns.start('b', turn('b', calls));
    watch(turns, { type: 'response.completed', response: { id: 'r1' } });
    watch(turns, { type: 'response.incomplete', response: { id: 'r2', status: 'incomplete', usage: { input_tokens: 2, output_tokens: 9 } } });
    watch(turns, { type: 'error', error: { code: 'x', message: 'bad' } });
    expect(calls.filter((c) => c.includes('end') || c.includes('event'))).toEqual(['default event completed', 'default end ok', 'a event completed', 'a end ok', 'b end stream']);
    expect(turns.size).toBe(0);
  });

  it('a frame of a lane with no open turn belongs to none; endAll ends what is open with the cause', () => {
    const calls: string[] = [];
    const turns = new TurnTracker();
    turns.start('a', turn('a', calls));
    turns.start(undefined, turn('default', calls));
    watch(turns, { type: 'response.completed', stream_id: 'zzz', response: { id: 'r' } });
    expect(calls).toEqual([]);
    turns.endAll('aborted');
    turns.endAll('aborted');
    expect(calls).toEqual(['a end aborted', 'default end aborted']);
  });
});
