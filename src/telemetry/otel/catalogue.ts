import { METRICS, type MetricSpec } from './instruments.js';
import { prometheusName } from './prometheus-text.js';

/** The README's metric table rows, one per catalogue metric (a test keeps the README equal to it). */
export function metricCatalogueRows(): string[] {
  return Object.values(METRICS as Record<string, MetricSpec>).map(
    (m) => `| \`${m.name}\` | ${m.kind}, \`${m.unit}\` | \`${prometheusName(m)}\` | ${m.attributes.map((a) => `\`${a}\``).join(', ')} | ${m.description} |`,
  );
}
