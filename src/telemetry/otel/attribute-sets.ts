import type { Attributes } from '@opentelemetry/api';

/** Distinct sets kept per table; beyond it, fresh objects are built (correct, only slower). */
const MAX_SETS = 4096;

/**
 * One shared attribute object per distinct attribute set, so that recording a metric finds its
 * data point by object identity (FastMetrics' WeakMap) instead of hashing a fresh object's sorted
 * keys: that hashing was the OTel layer's largest per-request cost. Every set is derived from
 * `empty` one attribute at a time, so no key string is built or hashed per request.
 */
export class AttributeSets {
  /** The set with no attributes, where every derivation starts. */
  readonly empty: Attributes = Object.freeze({});
  /** Derived sets by base, then name, then value. */
  readonly #derived = new WeakMap<Attributes, Map<string, Map<string | number | boolean, Attributes>>>();

  /** The shared set `base` plus `name` = `value` (which replaces a `name` already in `base`). */
  with(base: Attributes, name: string, value: string | number | boolean): Attributes {
    let byName = this.#derived.get(base);
    if (byName === undefined) {
      byName = new Map();
      this.#derived.set(base, byName);
    }
    let byValue = byName.get(name);
    if (byValue === undefined) {
      byValue = new Map();
      byName.set(name, byValue);
    }
    let attrs = byValue.get(value);
    if (attrs === undefined) {
      attrs = { ...base, [name]: value };
      if (byValue.size < MAX_SETS) byValue.set(value, attrs);
    }
    return attrs;
  }
}
