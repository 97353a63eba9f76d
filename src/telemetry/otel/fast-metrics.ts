import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type MetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { MetricSpec } from './instruments.js';

/** A histogram or counter the hot path records into: the `record` / `add` shape of the OTel API. */
export interface FastInstrument {
  record(value: number, attributes: Attributes): void;
  add(value: number, attributes: Attributes): void;
}

interface Point {
  readonly attributes: Attributes;
  count: number;
  sum: number;
  min: number;
  max: number;
  /** Histograms: one count per bucket (boundaries.length + 1). */
  readonly buckets: Float64Array | undefined;
}

function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

/** A key for attribute sets that arrive as fresh objects (once per request, not per event). */
function attributesKey(attributes: Attributes): string {
  const keys = Object.keys(attributes).sort();
  let key = '';
  for (const k of keys) key += `${k}\u0000${String(attributes[k])}\u0001`;
  return key;
}

/**
 * One catalogue instrument aggregated in place. Why not the SDK's instruments: sdk-metrics hashes
 * the attributes (sorting the keys and serialising them) on every record, and the hot path records
 * several values per SSE event. Here an attribute object seen before is found by identity, and a
 * record is a binary search and a few increments: O(1), no allocation. The data is cumulative and
 * reaches every exporter through a standard MetricProducer.
 */
class Aggregate implements FastInstrument {
  readonly spec: MetricSpec;
  readonly #byObject = new WeakMap<Attributes, Point>();
  readonly #byKey = new Map<string, Point>();
  readonly #boundaries: readonly number[] | undefined;

  constructor(spec: MetricSpec) {
    this.spec = spec;
    this.#boundaries = spec.kind === 'histogram' ? (spec.buckets ?? []) : undefined;
  }

  record(value: number, attributes: Attributes): void {
    if (!Number.isFinite(value)) return;
    const point = this.#point(attributes);
    point.count++;
    point.sum += value;
    if (value < point.min) point.min = value;
    if (value > point.max) point.max = value;
    const boundaries = this.#boundaries;
    const buckets = point.buckets;
    if (boundaries === undefined || buckets === undefined) return;
    // Buckets are (previous, boundary]: the first boundary not below the value.
    let lo = 0;
    let hi = boundaries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((boundaries[mid] as number) < value) lo = mid + 1;
      else hi = mid;
    }
    buckets[lo] = (buckets[lo] as number) + 1;
  }

  add(value: number, attributes: Attributes): void {
    if (!Number.isFinite(value)) return;
    // Counters must not go down; up-down counters may.
    if (value < 0 && this.spec.kind === 'counter') return;
    this.#point(attributes).sum += value;
  }

  #point(attributes: Attributes): Point {
    let point = this.#byObject.get(attributes);
    if (point !== undefined) return point;
    const key = attributesKey(attributes);
    point = this.#byKey.get(key);
    if (point === undefined) {
      point = {
        attributes: { ...attributes },
        count: 0,
        sum: 0,
        min: Number.POSITIVE_INFINITY,
        max: Number.NEGATIVE_INFINITY,
        buckets: this.#boundaries === undefined ? undefined : new Float64Array(this.#boundaries.length + 1),
      };
      this.#byKey.set(key, point);
    }
    this.#byObject.set(attributes, point);
    return point;
  }

  /** The instrument's data since `startMs`, ending now, or undefined when nothing was recorded. */
  collect(startTime: HrTime, endTime: HrTime): MetricData | undefined {
    if (this.#byKey.size === 0) return undefined;
    const descriptor = { name: this.spec.name, description: this.spec.description, unit: this.spec.unit, valueType: ValueType.DOUBLE };
    const points = [...this.#byKey.values()];
    if (this.spec.kind === 'histogram') {
      const boundaries = [...(this.#boundaries ?? [])];
      return {
        descriptor,
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.HISTOGRAM,
        dataPoints: points.map((p) => ({
          attributes: p.attributes,
          startTime,
          endTime,
          value: {
            buckets: { boundaries, counts: Array.from(p.buckets ?? []) },
            count: p.count,
            sum: p.sum,
            ...(p.count > 0 ? { min: p.min, max: p.max } : {}),
          },
        })),
      };
    }
    return {
      descriptor,
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: this.spec.kind === 'counter',
      dataPoints: points.map((p) => ({ attributes: p.attributes, startTime, endTime, value: p.sum })),
    };
  }
}

/** The catalogue's instruments aggregated in place, and the producer that exports them. */
export class FastMetrics implements MetricProducer {
  readonly #instruments: Aggregate[] = [];
  readonly #startTime = hrTime(performance.timeOrigin + performance.now());
  readonly #scope: { name: string; version: string };

  constructor(scope: { name: string; version: string }) {
    this.#scope = scope;
  }

  /** An instrument for a catalogue entry. */
  instrument(spec: MetricSpec): FastInstrument {
    const aggregate = new Aggregate(spec);
    this.#instruments.push(aggregate);
    return aggregate;
  }

  async collect(): Promise<CollectionResult> {
    const endTime = hrTime(performance.timeOrigin + performance.now());
    const metrics: MetricData[] = [];
    for (const instrument of this.#instruments) {
      const data = instrument.collect(this.#startTime, endTime);
      if (data !== undefined) metrics.push(data);
    }
    return {
      // The reader keeps its own resource; only the scope metrics are taken from here.
      resourceMetrics: { resource: resourceFromAttributes({}), scopeMetrics: [{ scope: this.#scope, metrics }] },
      errors: [],
    };
  }
}
