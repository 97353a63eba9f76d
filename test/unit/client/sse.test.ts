import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SseFramer, type SseFrame } from '../../../src/client/sse.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../../fixtures/sse/${name}`, import.meta.url));

function frames(chunks: readonly Uint8Array[]): SseFrame[] {
  const framer = new SseFramer();
  const out: SseFrame[] = [];
  for (const chunk of chunks) {
    framer.push(chunk);
    for (let f = framer.next(); f !== undefined; f = framer.next()) out.push(f);
  }
  const last = framer.flush();
  if (last) out.push(last);
  return out;
}

function withEndings(buf: Buffer, ending: '\n' | '\r\n' | '\r'): Buffer {
  return Buffer.from(buf.toString('latin1').replace(/\n/g, ending), 'latin1');
}

const transcripts = ['responses-tool-call.sse', 'chat-tool-call.sse', 'fields.sse'];
const endings = ['\n', '\r\n', '\r'] as const;

describe('SseFramer', () => {
  for (const name of transcripts) {
    for (const ending of endings) {
      const label = JSON.stringify(ending);
      const bytes = withEndings(fixture(name), ending);
      const whole = frames([bytes]);

      it(`${name} (${label}): frames concatenate back to the exact bytes`, () => {
        expect(Buffer.concat(whole.map((f) => f.raw)).equals(bytes)).toBe(true);
        expect(whole.filter((f) => f.event !== undefined).length).toBeGreaterThan(0);
      });

      it(`${name} (${label}): the same frames and events at every split point`, () => {
        for (let i = 0; i <= bytes.length; i++) {
          const split = frames([bytes.subarray(0, i), bytes.subarray(i)]);
          expect(split.map((f) => f.event)).toEqual(whole.map((f) => f.event));
          expect(Buffer.concat(split.map((f) => f.raw)).equals(bytes)).toBe(true);
        }
      });

      it(`${name} (${label}): the same events fed one byte at a time`, () => {
        const single = frames([...bytes].map((b) => Uint8Array.of(b)));
        expect(single.map((f) => f.event)).toEqual(whole.map((f) => f.event));
        expect(Buffer.concat(single.map((f) => f.raw)).equals(bytes)).toBe(true);
      });
    }
  }

  it('the same events whatever the line endings (bytes and text parsers agree)', () => {
    for (const name of transcripts) {
      const lf = frames([fixture(name)]).map((f) => f.event);
      expect(frames([withEndings(fixture(name), '\r\n')]).map((f) => f.event)).toEqual(lf);
      expect(frames([withEndings(fixture(name), '\r')]).map((f) => f.event)).toEqual(lf);
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

  it('strips a byte-order mark from the first frame only for parsing', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('data: hi\n\n')]);
    const out = frames([bytes]);
    expect(out[0]?.event).toEqual({ event: 'message', data: 'hi' });
    expect(out[0]?.raw.equals(bytes)).toBe(true);
  });
});
