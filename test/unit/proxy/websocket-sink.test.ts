import { describe, expect, it } from 'vitest';
import { WS_HIGH_WATER_BYTES, WS_LOW_WATER_BYTES } from '../../../src/proxy/websocket-high-water.js';
import { WebSocketSink, type FrameSender } from '../../../src/proxy/websocket-sink.js';

/** A peer whose queue empties only when the test says so, in send order, like `ws`. */
function scriptedPeer(): FrameSender & { flush(bytes: number): void; open: boolean } {
  const queue: { bytes: number; written: () => void }[] = [];
  const peer = {
    bufferedAmount: 0,
    open: true,
    send(data: Buffer | string, _binary: boolean, written: () => void) {
      const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      peer.bufferedAmount += bytes;
      queue.push({ bytes, written });
    },
    flush(bytes: number) {
      while (bytes > 0 && queue.length > 0) {
        const frame = queue.shift() as { bytes: number; written: () => void };
        peer.bufferedAmount -= frame.bytes;
        bytes -= frame.bytes;
        frame.written();
      }
    },
  };
  return peer;
}

describe('WebSocketSink', () => {
  it('reports a full peer at the high-water mark and resumes the held source below the low one', () => {
    const peer = scriptedPeer();
    const writes: number[] = [];
    const sink = new WebSocketSink(peer, (readAt) => writes.push(readAt));
    const source = { paused: 0, resumed: 0, pause() { this.paused++; }, resume() { this.resumed++; } };
    const frame = Buffer.alloc(WS_HIGH_WATER_BYTES / 4);
    expect([1, 2, 3].map((n) => sink.write(frame, true, n))).toEqual([true, true, true]);
    expect(sink.write(frame, true, 4)).toBe(false);
    sink.hold(source);
    sink.hold(source);
    expect(source.paused).toBe(1);
    peer.flush(frame.length);
    // Three quarters still queued: above the low-water mark, still held.
    expect(peer.bufferedAmount).toBeGreaterThanOrEqual(WS_LOW_WATER_BYTES);
    expect(source.resumed).toBe(0);
    peer.flush(2 * frame.length);
    expect(source.resumed).toBe(1);
    expect(writes).toEqual([1, 2, 3]);
  });

  it('drain() waits for the low-water mark, and close() releases it', async () => {
    const peer = scriptedPeer();
    const sink = new WebSocketSink(peer);
    sink.write(Buffer.alloc(WS_HIGH_WATER_BYTES), false);
    let drained = false;
    const wait = sink.drain().then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    sink.close();
    await wait;
    expect(drained).toBe(true);
  });

  it('drops frames once the peer is closed, without queueing them', () => {
    const peer = scriptedPeer();
    peer.open = false;
    const sink = new WebSocketSink(peer);
    expect(sink.write(Buffer.alloc(WS_HIGH_WATER_BYTES * 2), false)).toBe(true);
    expect(peer.bufferedAmount).toBe(0);
  });
});
