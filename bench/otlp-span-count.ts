/**
 * Counts the spans of an OTLP/HTTP protobuf trace export (`ExportTraceServiceRequest`) by kind and
 * name, reading only the fields it needs (opentelemetry-proto `trace/v1/trace.proto`): the
 * benchmark's receiver checks that every request was exported exactly once without a protobuf
 * library of its own.
 */

/** Spans seen, by name, per OTLP span kind (1 internal, 2 server, 3 client, …). */
export type SpanCounts = Map<string, number>;

/** The key {@link countOtlpSpans} counts a span under: `kind name`, e.g. `2 POST /v1/responses`. */
export const spanKey = (kind: number, name: string): string => `${kind} ${name}`;

const VARINT = 0;
const FIXED64 = 1;
const BYTES = 2;
const FIXED32 = 5;

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const byte = this.buf[this.pos++] as number;
      // Lengths and kinds fit in 53 bits; multiplication keeps them exact past 32.
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new Error('varint too long');
    }
  }

  /** Calls `field(number, wire, start, end)` for each field; `start`/`end` bound a length-delimited one. */
  fields(field: (number: number, wire: number, start: number, end: number) => void): void {
    while (this.pos < this.end) {
      const tag = this.varint();
      const wire = tag % 8;
      const number = Math.floor(tag / 8);
      if (wire === VARINT) {
        const value = this.varint();
        field(number, wire, value, value);
      } else if (wire === BYTES) {
        const length = this.varint();
        const start = this.pos;
        this.pos += length;
        if (this.pos > this.end) throw new Error('truncated field');
        field(number, wire, start, this.pos);
      } else if (wire === FIXED64) {
        this.pos += 8;
      } else if (wire === FIXED32) {
        this.pos += 4;
      } else {
        throw new Error(`unsupported wire type ${wire}`);
      }
    }
  }
}

const decoder = new TextDecoder();

/** Adds the spans of one `ExportTraceServiceRequest` body to `counts` and returns how many it held. */
export function countOtlpSpans(body: Uint8Array, counts: SpanCounts): number {
  let total = 0;
  // ExportTraceServiceRequest.resource_spans = 1 → ResourceSpans.scope_spans = 2 → ScopeSpans.spans = 2.
  new Reader(body, 0, body.length).fields((n, wire, start, end) => {
    if (n !== 1 || wire !== BYTES) return;
    new Reader(body, start, end).fields((n2, wire2, start2, end2) => {
      if (n2 !== 2 || wire2 !== BYTES) return;
      new Reader(body, start2, end2).fields((n3, wire3, start3, end3) => {
        if (n3 !== 2 || wire3 !== BYTES) return;
        let name = '';
        let kind = 0;
        // Span.name = 5, Span.kind = 6.
        new Reader(body, start3, end3).fields((n4, wire4, start4, end4) => {
          if (n4 === 5 && wire4 === BYTES) name = decoder.decode(body.subarray(start4, end4));
          else if (n4 === 6 && wire4 === VARINT) kind = start4;
        });
        const key = spanKey(kind, name);
        counts.set(key, (counts.get(key) ?? 0) + 1);
        total++;
      });
    });
  });
  return total;
}
