import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelClientError } from '../../../src/client/errors.js';
import { MAX_SSE_EVENT_BYTES, parseSseFields, SseFramer, type SseFrame } from '../../../src/client/sse.js';
import { responsesEvents, simIds, simUsage, type SimTurn } from '../../../src/sim/sim-payloads.js';

const fixtureDir = new URL('../../fixtures/sse/', import.meta.url);
const fixture = (name: string): Buffer => readFileSync(new URL(name, fixtureDir));

function frames(chunks: Iterable<Uint8Array>, framer = new SseFramer()): SseFrame[] {
  const out: SseFrame[] = [];
  for (const chunk of chunks) {
    framer.push(chunk);
    for (let f = framer.next(); f !== undefined; f = framer.next()) out.push(f);
  }
  const last = framer.flush();
  if (last) out.push(last);
  return out;
}

/** What a consumer sees of each frame: its event (name, data, id) and its size on the wire. */
const seen = (list: readonly SseFrame[]): unknown[] => list.map((f) => [f.event, f.raw.length]);

function* bytewise(buf: Buffer): Generator<Uint8Array> {
  for (let i = 0; i < buf.length; i++) yield buf.subarray(i, i + 1);
}

function withEndings(buf: Buffer, ending: '\n' | '\r\n' | '\r'): Buffer {
  return Buffer.from(buf.toString('latin1').replace(/\n/g, ending), 'latin1');
}

/** A short simulator turn in the simulator's own framing (the real sim streams the same shape). */
function simTurn(events: number): Buffer {
  const turn: SimTurn = { ids: simIds(Buffer.from('x')), model: 'gpt-5.1-codex', events, usage: simUsage(100, events, {}) };
  const script = responsesEvents(turn);
  const all = [...script.head, ...Array.from({ length: events }, (_, i) => script.delta(i, script.head.length + i)), ...script.tail(script.head.length + events)];
  return Buffer.from(all.map((e) => `event: ${String(e['type'])}\ndata: ${JSON.stringify(e)}\n\n`).join(''));
}

const streams: [string, Buffer][] = [
  ...readdirSync(fixtureDir).map((name): [string, Buffer] => [name, fixture(name)]),
  ['sim turn (3 deltas)', simTurn(3)],
  ['a byte-order mark first', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), fixture('fields.sse')])],
];
const endings = ['\n', '\r\n', '\r'] as const;

describe('SseFramer', () => {
  for (const [name, source] of streams) {
    for (const ending of endings) {
      const label = JSON.stringify(ending);
      const bytes = withEndings(source, ending);
      const whole = frames([bytes]);

      it(`${name} (${label}): frames concatenate back to the exact bytes`, () => {
        expect(Buffer.concat(whole.map((f) => f.raw)).equals(bytes)).toBe(true);
        expect(whole.filter((f) => f.event !== undefined).length).toBeGreaterThan(0);
      });

      it(`${name} (${label}): the same events and byte counts at every split point`, () => {
        const expected = seen(whole);
        for (let i = 0; i <= bytes.length; i++) {
          const split = frames([bytes.subarray(0, i), bytes.subarray(i)]);
          expect(seen(split)).toEqual(expected);
          expect(Buffer.concat(split.map((f) => f.raw)).equals(bytes)).toBe(true);
        }
      });

      it(`${name} (${label}): the same events and byte counts fed one byte at a time`, () => {
        const single = frames(bytewise(bytes));
        expect(seen(single)).toEqual(seen(whole));
        expect(Buffer.concat(single.map((f) => f.raw)).equals(bytes)).toBe(true);
      });
    }
  }

  it('the same events whatever the line endings', () => {
    for (const [, source] of streams) {
      const lf = frames([source]).map((f) => f.event);
      expect(frames([withEndings(source, '\r\n')]).map((f) => f.event)).toEqual(lf);
      expect(frames([withEndings(source, '\r')]).map((f) => f.event)).toEqual(lf);
    }
  });

  it('a stream that switches from LF to CRLF endings part-way, split anywhere', () => {
    const bytes = Buffer.concat([fixture('responses-tool-call.sse'), withEndings(fixture('fields.sse'), '\r\n')]);
    const expected = [...frames([fixture('responses-tool-call.sse')]), ...frames([fixture('fields.sse')])].map((f) => f.event);
    for (let i = 0; i <= bytes.length; i += 7) {
      const split = frames([bytes.subarray(0, i), bytes.subarray(i)]);
      expect(split.map((f) => f.event)).toEqual(expected);
      expect(Buffer.concat(split.map((f) => f.raw)).equals(bytes)).toBe(true);
    }
  });

  it('decodes a multi-byte character split across chunks', () => {
    const bytes = Buffer.from('data: {"delta":"🎉 日本"}\n\n');
    const emoji = bytes.indexOf(0xf0);
    const out = frames([bytes.subarray(0, emoji + 2), bytes.subarray(emoji + 2, emoji + 7), bytes.subarray(emoji + 7)]);
    expect(out).toHaveLength(1);
    expect(out[0]?.event).toEqual({ event: 'message', data: '{"delta":"🎉 日本"}' });
  });

  it('parses fields as WHATWG says', () => {
    const events = frames([fixture('fields.sse')]).map((f) => f.event);
    expect(events).toEqual([
      undefined, // comment only
      { event: 'multi', data: 'first line\nsecond 😀 line', id: '7' },
      { event: 'message', data: 'no-space' }, // an id with NUL is ignored
      { event: 'message', data: '' }, // `data` with no colon is an empty data line
      undefined, // an event name but no data dispatches nothing
    ]);
  });

  it('keeps a frame cut off at EOF as raw bytes that dispatch nothing', () => {
    const out = frames([Buffer.from('data: {"a":1}\n\ndata: {"trunc')]);
    expect(out.map((f) => f.event)).toEqual([{ event: 'message', data: '{"a":1}' }, undefined]);
    expect(out[1]?.raw.toString()).toBe('data: {"trunc');
  });

  it('an event cut off at EOF does not leak into the next stream or frame', () => {
    const framer = new SseFramer();
    framer.push(Buffer.from('event: x\ndata: 1\n\ndata: 2'));
    expect(framer.next()?.event).toEqual({ event: 'x', data: '1' });
    expect(framer.next()).toBeUndefined();
    framer.push(Buffer.from('\n\n'));
    expect(framer.next()?.event).toEqual({ event: 'message', data: '2' });
  });

  it('returns frames as views of the chunk when a chunk holds whole frames', () => {
    const chunk = Buffer.from('data: 1\n\ndata: 2\n\n');
    const out = frames([chunk]);
    expect(out.map((f) => f.raw.buffer === chunk.buffer)).toEqual([true, true]);
  });

  it('waits for the byte after a blank-line CR before ending the frame', () => {
    const framer = new SseFramer();
    framer.push(Buffer.from('data: x\r\n\r'));
    expect(framer.next()).toBeUndefined();
    framer.push(Buffer.from('\ndata: y\r\n\r\n'));
    expect(framer.next()?.raw.toString()).toBe('data: x\r\n\r\n');
    expect(framer.next()?.raw.toString()).toBe('data: y\r\n\r\n');
  });

  it('a blank-line CR followed by another byte ends the frame at the CR, with its event', () => {
    const framer = new SseFramer();
    framer.push(Buffer.from('data: x\r\r'));
    expect(framer.next()).toBeUndefined();
    framer.push(Buffer.from('data: y\r\r'));
    expect(framer.next()).toMatchObject({ event: { event: 'message', data: 'x' } });
    expect(framer.next()).toBeUndefined();
    expect(framer.flush()).toMatchObject({ event: { event: 'message', data: 'y' } });
  });

  it('strips a byte-order mark at the start of the stream only, for parsing', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const bytes = Buffer.concat([bom, Buffer.from('data: hi\n\n'), bom, Buffer.from('data: later\n\n')]);
    const out = frames([bytes]);
    expect(out[0]?.event).toEqual({ event: 'message', data: 'hi' });
    expect(out[0]?.raw.equals(bytes.subarray(0, 13))).toBe(true);
    // Later, U+FEFF is part of the field name, which is then unknown (WHATWG).
    expect(out[1]?.event).toBeUndefined();
  });

  it('refuses a push before the previous chunk is read', () => {
    const framer = new SseFramer();
    framer.push(Buffer.from('data: 1\n\n'));
    expect(() => framer.push(Buffer.from('data: 2\n\n'))).toThrow(TypeError);
  });
});

describe('SseFramer with large events', () => {
  it('an 8 MiB event fed one byte at a time parses in linear time (a quadratic framer times out)', async () => {
    const data = 'x'.repeat(8 * 1024 * 1024);
    const bytes = Buffer.from(`event: big\ndata: ${data}\n\ndata: after\n\n`);
    const framer = new SseFramer();
    const out: SseFrame[] = [];
    for (let i = 0; i < bytes.length; i++) {
      framer.push(bytes.subarray(i, i + 1));
      for (let f = framer.next(); f !== undefined; f = framer.next()) out.push(f);
      // Let the test timeout fire: a quadratic framer must fail here, not hang the run.
      if (i % 4096 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(framer.flush()).toBeUndefined();
    expect(out.map((f) => f.raw.length)).toEqual([bytes.length - 'data: after\n\n'.length, 'data: after\n\n'.length]);
    expect(out[0]?.event?.event).toBe('big');
    expect(out[0]?.event?.data === data).toBe(true);
    expect(Buffer.concat(out.map((f) => f.raw)).equals(bytes)).toBe(true);
  });

  it('the maximum event size is 16 MiB by default', () => {
    expect(MAX_SSE_EVENT_BYTES).toBe(16 * 1024 * 1024);
  });

  function failure(chunks: Iterable<Uint8Array>, maxEventBytes: number): unknown {
    try {
      frames(chunks, new SseFramer({ maxEventBytes }));
    } catch (error) {
      return error;
    }
    return undefined;
  }

  const line = (n: number): Buffer => Buffer.from(`data: ${'y'.repeat(n - 8)}\n\n`);

  it('a frame of exactly the maximum passes; one byte more is a stream error, in one chunk or many', () => {
    expect(frames([line(1000)], new SseFramer({ maxEventBytes: 1000 }))).toHaveLength(1);
    expect(frames(bytewise(line(1000)), new SseFramer({ maxEventBytes: 1000 }))).toHaveLength(1);
    for (const chunks of [[line(1001)], [...bytewise(line(1001))], [line(1001).subarray(0, 500), line(1001).subarray(500)]]) {
      const error = failure(chunks, 1000);
      expect(error).toBeInstanceOf(ModelClientError);
      expect(error).toMatchObject({ kind: 'stream', status: 502, message: 'stream disconnected before completion: SSE event larger than 1000 bytes' });
    }
  });

  it('a frame that never ends fails once it passes the maximum, without waiting for its end', () => {
    const framer = new SseFramer({ maxEventBytes: 1000 });
    const chunk = Buffer.alloc(100, 'z');
    framer.push(Buffer.from('data: '));
    expect(framer.next()).toBeUndefined();
    let pushed = 6;
    let error: unknown;
    while (pushed <= 2000 && error === undefined) {
      framer.push(chunk);
      pushed += chunk.length;
      try {
        framer.next();
      } catch (e) {
        error = e;
      }
    }
    expect(error).toMatchObject({ kind: 'stream' });
    expect(pushed).toBe(1006);
  });
});

describe('parseSseFields', () => {
  it('parses one frame, with or without its blank line, in any line ending', () => {
    expect(parseSseFields(Buffer.from('event: e\nid: 3\ndata: a\ndata: b\n\n'))).toEqual({ event: 'e', data: 'a\nb', id: '3' });
    expect(parseSseFields(Buffer.from('data: {"trunc'))).toEqual({ event: 'message', data: '{"trunc' });
    expect(parseSseFields(Buffer.from('data: x\r\r'))).toEqual({ event: 'message', data: 'x' });
    expect(parseSseFields(Uint8Array.from(Buffer.from('data: y\r\n\r\n')))).toEqual({ event: 'message', data: 'y' });
    expect(parseSseFields(Buffer.from(': comment\nretry: 5\n\n'))).toBeUndefined();
  });
});
