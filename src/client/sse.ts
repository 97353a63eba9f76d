import type { SseEvent } from '../telemetry/hooks.js';

/** One SSE frame: its exact bytes on the wire and the event it dispatches, if any. */
export interface SseFrame {
  /** The frame's bytes including its terminating blank line; a view, not a copy. */
  readonly raw: Buffer;
  /** Undefined for frames that dispatch nothing (comments only, no `data:`, or cut off at EOF). */
  readonly event: SseEvent | undefined;
}

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);

/**
 * Splits an SSE byte stream into frames without copying: each frame is a view of the chunk it
 * arrived in, and bytes are only concatenated when a frame spans chunks.
 *
 * We frame bytes ourselves instead of using eventsource-parser because a byte-faithful relay needs
 * each frame's exact bytes, and a string parser cannot say where a frame ends in the byte stream
 * once multi-byte characters are involved. Line endings follow the WHATWG rules: CRLF, LF or CR.
 */
export class SseFramer {
  #buf: Buffer = EMPTY;
  /** Start of the current (unfinished) frame in #buf. */
  #start = 0;
  /** Next byte of #buf to scan. */
  #pos = 0;
  /** Bytes in the current line so far (a blank line ends the frame). */
  #lineLen = 0;
  /** The previous byte was a CR that ended a line, so an LF right after it belongs to that CR. */
  #afterCr = false;
  /** A blank line ended with a CR at the very end of the data: the frame ends there, or one byte later if LF follows. */
  #pendingCrEnd = false;
  /** A CR was seen in the stream: from then on, scan byte by byte (CR and CRLF endings). */
  #sawCr = false;

  /** Adds bytes from the stream. */
  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (!this.#sawCr && buf.indexOf(CR) !== -1) this.#sawCr = true;
    if (this.#start >= this.#buf.length) {
      // Everything before was consumed: scan the new chunk in place.
      this.#buf = buf;
      this.#pos = 0;
    } else {
      const rest = this.#buf.subarray(this.#start);
      this.#pos -= this.#start;
      this.#buf = Buffer.concat([rest, buf]);
    }
    this.#start = 0;
  }

  /** The next complete frame, or undefined when more bytes are needed. */
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
          return undefined;
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
      if (this.#pos >= buf.length) return undefined;
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
            return undefined;
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
    return undefined;
  }

  /** At end of stream: whatever bytes remain, as a final frame (dispatching nothing if incomplete). */
  flush(): SseFrame | undefined {
    if (this.#pendingCrEnd) {
      this.#pendingCrEnd = false;
      return this.#cut(this.#pos);
    }
    if (this.#start >= this.#buf.length) return undefined;
    const raw = this.#buf.subarray(this.#start);
    this.#buf = EMPTY;
    this.#start = 0;
    this.#pos = 0;
    this.#lineLen = 0;
    this.#afterCr = false;
    // WHATWG: an event that is not terminated by a blank line is discarded at EOF.
    return { raw, event: undefined };
  }

  #cut(end: number): SseFrame {
    const raw = this.#buf.subarray(this.#start, end);
    this.#start = end;
    this.#pos = end;
    return { raw, event: parseSseFields(raw) };
  }
}

const COLON = 0x3a;
const SPACE = 0x20;

/** Whether `raw[start, end)` is the ASCII field name `name`. */
function isField(raw: Buffer, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (raw[start + i] !== name.charCodeAt(i)) return false;
  return true;
}

/**
 * Parses the fields of one complete frame (WHATWG "interpret an event stream"): `event`, `data`
 * (lines joined with LF), `id` (ignored if it contains NUL); comments and `retry` are skipped.
 * Returns undefined when the frame has no `data` field, which dispatches nothing.
 *
 * Works on the bytes: lines are found with a native search and only the values are decoded, one
 * string each (decoding the whole frame and slicing it was the relay's largest per-event cost).
 * Line endings are split on bytes, which is safe: CR and LF never occur inside a UTF-8 sequence.
 */
export function parseSseFields(raw: Buffer): SseEvent | undefined {
  if (raw.indexOf(CR) !== -1) return parseSseFieldsText(raw);
  // A byte-order mark is not part of the first field name.
  let lineStart = raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0;
  const length = raw.length;
  let eventName = '';
  let data: string | undefined;
  let id: string | undefined;
  while (lineStart < length) {
    let lineEnd = raw.indexOf(LF, lineStart);
    if (lineEnd === -1) lineEnd = length;
    if (lineEnd > lineStart && raw[lineStart] !== COLON) {
      const colon = raw.indexOf(COLON, lineStart);
      let fieldEnd = lineEnd;
      let valueStart = lineEnd;
      if (colon !== -1 && colon < lineEnd) {
        fieldEnd = colon;
        valueStart = raw[colon + 1] === SPACE ? colon + 2 : colon + 1;
        if (valueStart > lineEnd) valueStart = lineEnd;
      }
      if (isField(raw, lineStart, fieldEnd, 'data')) {
        const value = raw.toString('utf8', valueStart, lineEnd);
        data = data === undefined ? value : `${data}\n${value}`;
      } else if (isField(raw, lineStart, fieldEnd, 'event')) {
        eventName = raw.toString('utf8', valueStart, lineEnd);
      } else if (isField(raw, lineStart, fieldEnd, 'id')) {
        const value = raw.toString('utf8', valueStart, lineEnd);
        if (!value.includes('\0')) id = value;
      }
    }
    lineStart = lineEnd + 1;
  }
  if (data === undefined) return undefined;
  const event = eventName === '' ? 'message' : eventName;
  return id === undefined ? { event, data } : { event, data, id };
}

/** {@link parseSseFields} for frames with CR or CRLF line endings, on the decoded text. */
function parseSseFieldsText(raw: Buffer): SseEvent | undefined {
  let text = raw.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let eventName = '';
  let data: string | undefined;
  let id: string | undefined;
  let lineStart = 0;
  const length = text.length;
  while (lineStart < length) {
    let lineEnd = lineStart;
    while (lineEnd < length) {
      const c = text.charCodeAt(lineEnd);
      if (c === LF || c === CR) break;
      lineEnd++;
    }
    if (lineEnd > lineStart && text.charCodeAt(lineStart) !== 0x3a /* ':' comment */) {
      const colon = text.indexOf(':', lineStart);
      let field: string;
      let value: string;
      if (colon === -1 || colon > lineEnd) {
        field = text.slice(lineStart, lineEnd);
        value = '';
      } else {
        field = text.slice(lineStart, colon);
        const valueStart = text.charCodeAt(colon + 1) === 0x20 ? colon + 2 : colon + 1;
        value = valueStart >= lineEnd ? '' : text.slice(valueStart, lineEnd);
      }
      if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
      else if (field === 'event') eventName = value;
      else if (field === 'id' && !value.includes('\0')) id = value;
    }
    // Skip the line terminator: CRLF, LF or CR.
    if (text.charCodeAt(lineEnd) === CR && text.charCodeAt(lineEnd + 1) === LF) lineStart = lineEnd + 2;
    else lineStart = lineEnd + 1;
  }
  if (data === undefined) return undefined;
  const event = eventName === '' ? 'message' : eventName;
  return id === undefined ? { event, data } : { event, data, id };
}
