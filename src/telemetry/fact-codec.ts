/**
 * A batch of facts as two transferable buffers and two short lists, for the hand-off to the
 * telemetry thread: structured-cloning the flat array itself (mixed numbers, strings and nulls)
 * cost the relay's thread about 100 µs per 50-event stream in `postMessage` (bench:profile,
 * sse-c1); typed arrays move without a copy, and each distinct string is sent once per batch.
 */

/** The encoded batch. */
export interface EncodedFacts {
  /** Numbers, string indexes and object indexes, one per slot. */
  readonly values: Float64Array<ArrayBuffer>;
  /** What each slot is: 0 number, 1 null, 2 string (index into strings), 3 object (index into objects), 4 undefined. */
  readonly tags: Uint8Array<ArrayBuffer>;
  readonly strings: string[];
  readonly objects: unknown[];
}

/** Encodes a batch; `values.buffer` and `tags.buffer` are to be transferred. */
export function encodeFacts(facts: readonly unknown[]): EncodedFacts {
  const n = facts.length;
  const values = new Float64Array(n);
  const tags = new Uint8Array(n);
  const strings: string[] = [];
  const index = new Map<string, number>();
  const objects: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const v = facts[i];
    if (typeof v === 'number') {
      values[i] = v;
    } else if (typeof v === 'string') {
      let at = index.get(v);
      if (at === undefined) {
        at = strings.length;
        strings.push(v);
        index.set(v, at);
      }
      tags[i] = 2;
      values[i] = at;
    } else if (v === null) {
      tags[i] = 1;
    } else if (v === undefined) {
      tags[i] = 4;
    } else {
      tags[i] = 3;
      values[i] = objects.length;
      objects.push(v);
    }
  }
  return { values, tags, strings, objects };
}

/** The flat batch again. */
export function decodeFacts(encoded: EncodedFacts): unknown[] {
  const { values, tags, strings, objects } = encoded;
  const n = values.length;
  const facts = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const tag = tags[i];
    const v = values[i] as number;
    facts[i] = tag === 0 ? v : tag === 2 ? strings[v] : tag === 3 ? objects[v] : tag === 1 ? null : undefined;
  }
  return facts;
}
