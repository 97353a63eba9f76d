import { createParser, type EventSourceMessage, type EventSourceParser } from 'eventsource-parser';
import type { SseEvent } from '../telemetry/hooks.js';
import { streamError } from './errors.js';

/** One SSE frame: its exact bytes on the wire and the event it dispatches, if any. */
export interface SseFrame {
  /** The frame's bytes including its terminating blank line; a view of a chunk when it arrived whole. */
  readonly raw: Buffer;
  /** Undefined for frames that dispatch nothing (comments only, no `data:`, or cut off at EOF). */
  readonly event: SseEvent | undefined;
}

/**
 * Largest SSE frame (one event with its field lines, as sent) a stream may carry: 16 MiB. A larger
 * one ends the stream with a `stream` error instead of growing the buffer that collects it.
 */
export const MAX_SSE_EVENT_BYTES = 16 * 1024 * 1024;

/** Options for {@link SseFramer}. */
export interface SseFramerOptions {
  /** Largest frame in bytes; default {@link MAX_SSE_EVENT_BYTES}. */
  readonly maxEventBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);

function toSseEvent(message: EventSourceMessage): SseEvent {
  const event = message.event ?? 'message';
  return message.id === undefined ? { event, data: message.data } : { event, data: message.data, id: message.id };
}

/**
 * eventsource-parser, fed whole frames only: an event it dispatches during `feed` belongs to the
 * frame just fed, which is how each event keeps its exact bytes (the parser reports no offsets).
 */
class FrameParser {
  #event: SseEvent | undefined;
  readonly #parser: EventSourceParser = createParser({
    onEvent: (message) => {
      this.#event = toSseEvent(message);
    },
  });

  /** The event of one frame's text; `terminate` ends a frame that lacks its blank line first. */
  parse(text: string, terminate: boolean): SseEvent | undefined {
    // eventsource-parser 4 ends a line at a final CR at once (and drops an LF that starts the next
    // feed, as CR LF's second half: the framer never starts a frame with one).
    this.#parser.feed(text);
    if (terminate) this.#parser.feed('\n\n');
    const event = this.#event;
    this.#event = undefined;
    return event;
  }
}

/**
 * Splits an SSE byte stream into frames and parses each one with eventsource-parser.
 *
 * Frames are found on the bytes, because a byte-faithful relay needs each frame's exact bytes and a
 * string parser cannot say where a frame ends in the byte stream. A frame that arrived in one
 * chunk is a view of it; one that spans chunks is collected once into a buffer that grows by
 * doubling, so a frame of N bytes costs O(N) whatever the chunking. Each frame is decoded once,
 * whole (CR and LF never occur inside a UTF-8 sequence, so a frame always ends on a character).
 * Line endings follow the WHATWG rules: CRLF, LF or CR.
 */
export class SseFramer {
  /** The chunk being scanned. */
  #buf: Buffer = EMPTY;
  /** Start in #buf of the current (unfinished) frame; its earlier bytes are in #head. */
  #start = 0;
  /** Next byte of #buf to scan. */
  #pos = 0;
  /** The current frame's bytes from earlier chunks: #head[0, #headLen). */
  #head: Buffer = EMPTY;
  #headLen = 0;
  /** Bytes in the current line so far (a blank line ends the frame). */
  #lineLen = 0;
  /** The previous byte was a CR that ended a line, so an LF right after it belongs to that CR. */
  #afterCr = false;
  /** A blank line ended with a CR at the very end of the data: the frame ends there, or one byte later if LF follows. */
  #pendingCrEnd = false;
  /** A CR was seen in the stream: from then on, scan byte by byte (CR and CRLF endings). */
  #sawCr = false;
  /** No frame parsed yet: a byte-order mark may lead the stream. */
  #first = true;
  readonly #max: number;
  readonly #parser = new FrameParser();

  constructor(options: SseFramerOptions = {}) {
    this.#max = options.maxEventBytes ?? MAX_SSE_EVENT_BYTES;
  }

  /** Adds bytes from the stream; call {@link next} until it returns undefined first. */
  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#pos < this.#buf.length) throw new TypeError('SseFramer.push() before next() returned undefined');
    if (!this.#sawCr && buf.indexOf(CR) !== -1) this.#sawCr = true;
    // The unfinished frame's bytes move to #head before this chunk replaces the previous one.
    if (this.#start < this.#buf.length) this.#append(this.#buf, this.#start, this.#buf.length);
    this.#buf = buf;
    this.#start = 0;
    this.#pos = 0;
  }

  /**
   * The next complete frame, or undefined when more bytes are needed. Throws a `stream` error
   * when the current frame grows beyond the maximum event size.
   */
  next(): SseFrame | undefined {
    const buf = this.#buf;
    if (!this.#sawCr) {
      // LF-only streams (what OpenAI sends): jump from line end to line end with a native search.
      let pos = this.#pos;
      let lineLen = this.#lineLen;
      for (;;) {
        const lf = buf.indexOf(LF, pos);
        if (lf === -1) {
          this.#lineLen = lineLen + buf.length - pos;
          this.#pos = buf.length;
          return this.#needMore();
        }
        if (lf === pos && lineLen === 0) {
          this.#lineLen = 0;
          return this.#cut(lf + 1);
        }
        lineLen = 0;
        pos = lf + 1;
      }
    }
    if (this.#pendingCrEnd) {
      if (this.#pos >= buf.length) return this.#needMore();
      this.#pendingCrEnd = false;
      const end = buf[this.#pos] === LF ? this.#pos + 1 : this.#pos;
      this.#afterCr = false;
      return this.#cut(end);
    }
    let pos = this.#pos;
    let lineLen = this.#lineLen;
    let afterCr = this.#afterCr;
    const length = buf.length;
    while (pos < length) {
      const byte = buf[pos++];
      if (byte === LF) {
        if (afterCr) {
          afterCr = false;
          continue;
        }
        if (lineLen === 0) {
          this.#lineLen = 0;
          this.#afterCr = false;
          return this.#cut(pos);
        }
        lineLen = 0;
      } else if (byte === CR) {
        if (lineLen === 0) {
          // A blank line ended by CR: the frame ends here, but a following LF is part of it.
          this.#lineLen = 0;
          this.#afterCr = false;
          if (pos >= length) {
            this.#pos = pos;
            this.#pendingCrEnd = true;
            return this.#needMore();
          }
          return this.#cut(buf[pos] === LF ? pos + 1 : pos);
        }
        lineLen = 0;
        afterCr = true;
      } else {
        afterCr = false;
        lineLen++;
      }
    }
    this.#pos = pos;
    this.#lineLen = lineLen;
    this.#afterCr = afterCr;
    return this.#needMore();
  }

  /** At end of stream: whatever bytes remain, as a final frame (dispatching nothing if incomplete). */
  flush(): SseFrame | undefined {
    if (this.#pendingCrEnd) {
      this.#pendingCrEnd = false;
      return this.#cut(this.#pos);
    }
    if (this.#start >= this.#buf.length && this.#headLen === 0) return undefined;
    const raw = this.#take(this.#buf.length);
    this.#buf = EMPTY;
    this.#start = 0;
    this.#pos = 0;
    this.#lineLen = 0;
    this.#afterCr = false;
    // WHATWG: an event that is not terminated by a blank line is discarded at EOF.
    return { raw, event: undefined };
  }

  #needMore(): undefined {
    if (this.#headLen + this.#buf.length - this.#start > this.#max) throw tooLarge(this.#max);
    return undefined;
  }

  #cut(end: number): SseFrame {
    const raw = this.#take(end);
    this.#start = end;
    this.#pos = end;
    if (raw.length > this.#max) throw tooLarge(this.#max);
    let from = 0;
    if (this.#first) {
      this.#first = false;
      // A byte-order mark is not part of the first field name.
      if (raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) from = 3;
    }
    return { raw, event: this.#parser.parse(raw.toString('utf8', from), false) };
  }

  /** The current frame's bytes up to #buf[end]: a view when it lies in #buf alone. */
  #take(end: number): Buffer {
    if (this.#headLen === 0) return this.#buf.subarray(this.#start, end);
    this.#append(this.#buf, this.#start, end);
    const raw = this.#head.subarray(0, this.#headLen);
    // The frame keeps the buffer; the next frame that spans chunks gets a new one.
    this.#head = EMPTY;
    this.#headLen = 0;
    return raw;
  }

  #append(src: Buffer, start: number, end: number): void {
    const needed = this.#headLen + end - start;
    if (needed > this.#head.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, 2 * this.#head.length, 4096));
      this.#head.copy(grown, 0, 0, this.#headLen);
      this.#head = grown;
    }
    src.copy(this.#head, this.#headLen, start, end);
    this.#headLen = needed;
  }
}

function tooLarge(max: number): Error {
  return streamError(`SSE event larger than ${max} bytes`);
}

const fields = new FrameParser();

/**
 * Parses the fields of one frame's bytes (WHATWG "interpret an event stream", by eventsource-parser):
 * `event` (default `message`), `data` (lines joined with LF), `id` (ignored if it contains NUL);
 * comments and `retry` are skipped. The end of `raw` ends the frame, blank line or not. Returns
 * undefined when the frame has no `data` field, which dispatches nothing.
 */
export function parseSseFields(raw: Uint8Array): SseEvent | undefined {
  const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const from = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  return fields.parse(buf.toString('utf8', from), true);
}
