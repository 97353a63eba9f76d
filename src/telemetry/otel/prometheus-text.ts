/** Prometheus text of modeltap's metrics: built in the telemetry thread (or the in-process pipeline), never by the relay. */
import { PrometheusSerializer, type PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { METRICS, type MetricSpec } from './instruments.js';

/** The Prometheus name of a catalogue metric: dots to underscores, `_seconds` for seconds, `_total` for counters. */
export function prometheusName(spec: MetricSpec): string {
  const base = spec.name.replace(/[^a-zA-Z0-9_:]/g, '_');
  const withUnit = spec.unit === 's' ? `${base}_seconds` : base;
  return spec.kind === 'counter' ? `${withUnit}_total` : withUnit;
}

// The JS exporter leaves units out of names; the OpenTelemetry Prometheus compatibility spec (and
// the Collector) add them, so `/metrics` does too and dashboards see one name wherever they scrape.
const SUFFIXES = Object.values(METRICS as Record<string, MetricSpec>)
  .filter((spec) => spec.unit === 's')
  .map((spec) => {
    const base = spec.name.replace(/[^a-zA-Z0-9_:]/g, '_');
    return { pattern: new RegExp(`^(# (?:HELP|TYPE|UNIT) )?${base}(_bucket|_sum|_count)?(?=[ {])`, 'gm'), replacement: `$1${base}_seconds$2` };
  });

/** The reader's metrics as Prometheus text with unit suffixes (in the telemetry thread: serialising is not the relay's work). */
export async function prometheusText(reader: PrometheusExporter): Promise<string> {
  const { resourceMetrics } = await reader.collect();
  let text = serializer.serialize(resourceMetrics);
  for (const { pattern, replacement } of SUFFIXES) text = text.replace(pattern, replacement);
  return text;
}

const serializer = new PrometheusSerializer(undefined, false);
