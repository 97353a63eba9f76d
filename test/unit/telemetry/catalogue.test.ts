import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { metricCatalogueRows } from '../../../src/telemetry/otel/catalogue.js';
import { METRICS } from '../../../src/telemetry/otel/instruments.js';

const root = new URL('../../../', import.meta.url).pathname;
const readme = readFileSync(`${root}README.md`, 'utf8');
const telemetrySection = readme.slice(readme.indexOf('## Telemetry'), readme.indexOf('## Use the ModelClient as a library'));

describe('the README telemetry catalogue', () => {
  it('lists every metric the code registers, exactly as registered', () => {
    const rows = metricCatalogueRows();
    expect(rows).toHaveLength(Object.keys(METRICS).length);
    for (const row of rows) expect(telemetrySection).toContain(row);
    const tableRows = telemetrySection.split('\n').filter((l) => /^\| `[a-z_]+\.[a-z_.]+` \| (histogram|counter|updowncounter),/.test(l));
    expect(tableRows).toEqual(rows);
  });

  it('documents every attribute and span event name the OTel layer sets', () => {
    const sources = ['otel-telemetry.ts', 'instruments.ts'].map((f) => readFileSync(`${root}src/telemetry/otel/${f}`, 'utf8')).join('\n');
    const keys = new Set([...sources.matchAll(/'((?:gen_ai|modeltap|http|server|url|client|user_agent|network|error|openai)\.[a-z_.]+)'/g)].map((m) => m[1] ?? ''));
    const undocumented = [...keys].filter((k) => !telemetrySection.includes(`\`${k}\``));
    expect(undocumented).toEqual([]);
    expect(keys.size).toBeGreaterThan(40);
  });
});
