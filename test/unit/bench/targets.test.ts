import { describe, expect, it } from 'vitest';
import { TARGET_NAMES, targetsSection, type TargetRow } from '../../../bench/targets.js';

const row = (target: string, over: Partial<TargetRow> = {}): TargetRow => ({
  target,
  rps: 1000,
  errors: 0,
  addedTtfeP50: 0.2,
  addedTtfeP99: 0.8,
  addedEventP99: 0.2,
  peakRssMb: 100,
  ...over,
});

const lineOf = (report: string, start: string): string => report.split('\n').find((l) => l.startsWith(`| ${start}`)) ?? '';

describe('targetsSection', () => {
  it('checks each acceptance item on the full-telemetry column and shows the other targets beside it', () => {
    const results = new Map<string, TargetRow[]>([
      [
        'sse-c1',
        [
          row('direct'),
          row(TARGET_NAMES.floor, { addedTtfeP50: 0.26, addedEventP99: 1.4 }),
          row(TARGET_NAMES.off, { addedTtfeP50: 0.45 }),
          row(TARGET_NAMES.full, { addedTtfeP50: 0.57, addedTtfeP99: 0.9, addedEventP99: 2.2, rps: 900 }),
          row(TARGET_NAMES.nginx, { addedTtfeP50: 0.24 }),
        ],
      ],
      ['json-c32', [row(TARGET_NAMES.off, { rps: 5000 }), row(TARGET_NAMES.full, { rps: 3000 }), row(TARGET_NAMES.nginx, { rps: 10000 }), row(TARGET_NAMES.floor, { rps: 5500 })]],
      ['sse-c256', [row(TARGET_NAMES.off, { peakRssMb: 184 }), row(TARGET_NAMES.full, { peakRssMb: 149.6, errors: 2 })]],
    ]);
    const report = targetsSection(results);
    expect(lineOf(report, 'added time to first event p50 (sse-c1)')).toBe('| added time to first event p50 (sse-c1) | 0.57 ms | 0.45 ms | 0.26 ms | 0.24 ms | ≤ 0.3 ms | **not met** |');
    expect(lineOf(report, 'added time to first event p99 (sse-c1)')).toContain('| 0.90 ms |');
    expect(lineOf(report, 'added time to first event p99 (sse-c1)')).toMatch(/\| met \|$/);
    expect(lineOf(report, 'added per-event latency p99 (sse-c1)')).toMatch(/\| 2\.20 ms \| 0\.20 ms \| 1\.40 ms \| 0\.20 ms \| ≤ 0\.3 ms \| \*\*not met\*\* \|$/);
    expect(lineOf(report, "requests/s, share of nginx's (json-c32)")).toBe("| requests/s, share of nginx's (json-c32) | 30 % | 50 % | 55 % | 100 % | ≥ 50 % | **not met** |");
    // No nginx or floor in this scenario: their cells are dashes, not zeros.
    expect(lineOf(report, 'peak RSS (sse-c256)')).toBe('| peak RSS (sse-c256) | 150 MB | 184 MB | – | – | ≤ 150 MB | met |');
    expect(lineOf(report, 'throughput, full telemetry against off (sse-c1)')).toContain('| −10.0 % |');
    expect(lineOf(report, 'throughput, full telemetry against off (sse-c1)')).toMatch(/\| met \|$/);
    expect(lineOf(report, 'throughput, full telemetry against off (json-c32)')).toMatch(/\| −40\.0 % \|.*\*\*not met\*\* \|$/);
    expect(lineOf(report, 'errors')).toBe('| errors, every scenario and target | 2 | | | | 0 | **not met** |');
  });

  it('shows how far the rounds spread on telemetry on against off, paired round by round', () => {
    const report = targetsSection(
      new Map([['sse-c1', [row(TARGET_NAMES.off, { rps: 1000, roundRps: [1000, 1100, 900] }), row(TARGET_NAMES.full, { rps: 860, roundRps: [880, 880, 810] })]]]),
    );
    expect(lineOf(report, 'throughput, full telemetry against off (sse-c1)')).toBe(
      '| throughput, full telemetry against off (sse-c1) | −14.0 % (rounds −20.0 to −10.0 %) | | | | ≥ −15 % | met |',
    );
    // One round only: nothing to spread.
    const one = targetsSection(new Map([['ws-c8', [row(TARGET_NAMES.off, { roundRps: [1000] }), row(TARGET_NAMES.full, { rps: 950, roundRps: [950] })]]]));
    expect(lineOf(one, 'throughput, full telemetry against off (ws-c8)')).toContain('| −5.0 % |');
  });

  it('leaves out the scenarios that did not run, and is empty when none of them did', () => {
    const report = targetsSection(new Map([['ws-c8', [row(TARGET_NAMES.off), row(TARGET_NAMES.full, { rps: 950 })]]]));
    expect(report).not.toContain('sse-c1');
    expect(lineOf(report, 'throughput, full telemetry against off (ws-c8)')).toContain('| −5.0 % |');
    expect(targetsSection(new Map())).toBe('');
  });

  it('shows a dash, not a verdict, when a number cannot be computed (no nginx in the run)', () => {
    const report = targetsSection(new Map([['json-c32', [row(TARGET_NAMES.off), row(TARGET_NAMES.full)]]]));
    expect(lineOf(report, "requests/s, share of nginx's (json-c32)")).toBe("| requests/s, share of nginx's (json-c32) | – | – | – | – | ≥ 50 % | – |");
  });

  it('checks issue 19 against telemetry off: relay CPU as a ratio, loop delay, p99s and RSS as a difference', () => {
    const report = targetsSection(
      new Map([
        [
          'sse-c1',
          [
            row(TARGET_NAMES.off, { mainThreadCpuPer1000: 460, loopMaxMs: 10, addedTtfeP99: 1.9, addedEventP99: 0.8 }),
            row(TARGET_NAMES.full, { mainThreadCpuPer1000: 529, loopMaxMs: 11.5, addedTtfeP99: 2.05, addedEventP99: 1.2 }),
          ],
        ],
        ['json-c32', [row(TARGET_NAMES.off, { mainThreadCpuPer1000: 138 }), row(TARGET_NAMES.full, { mainThreadCpuPer1000: 173 })]],
        ['sse-c256', [row(TARGET_NAMES.off, { peakRssMb: 300 }), row(TARGET_NAMES.full, { peakRssMb: 320 })]],
      ]),
    );
    expect(lineOf(report, 'relay-thread CPU per request (sse-c1)')).toBe('| relay-thread CPU per request (sse-c1) | 529 ms / 1k (1.15 × off) | 460 ms / 1k | | | ≤ 1.15 × off | met |');
    expect(lineOf(report, 'relay-thread CPU per request (json-c32)')).toMatch(/\(1\.25 × off\) .*\*\*not met\*\* \|$/);
    expect(lineOf(report, 'relay event-loop delay, max (sse-c1)')).toBe('| relay event-loop delay, max (sse-c1) | 11.50 ms (off + 1.50 ms) | 10.00 ms | | | ≤ off + 1 ms | **not met** |');
    expect(lineOf(report, 'added time to first event p99 against off (sse-c1)')).toMatch(/\(off \+ 0\.15 ms\) .*\| met \|$/);
    expect(lineOf(report, 'added per-event latency p99 against off (sse-c1)')).toMatch(/\*\*not met\*\* \|$/);
    expect(lineOf(report, 'peak RSS against off (sse-c256)')).toBe('| peak RSS against off (sse-c256) | 320 MB (off + 20 MB) | 300 MB | | | ≤ off + 25 MB | met |');
    // No relay CPU measured (an older report's rows): no row rather than a wrong verdict.
    expect(lineOf(report, 'relay-thread CPU per request (sse-c64)')).toBe('');
  });

  it("checks issue 20's store target: JSON C=32 throughput with the store on against full telemetry with it off", () => {
    const met = targetsSection(new Map([['json-c32', [row(TARGET_NAMES.off, { rps: 5000 }), row(TARGET_NAMES.full, { rps: 3000 }), row(TARGET_NAMES.store, { rps: 2800 })]]]));
    expect(lineOf(met, 'requests/s with the store on (json-c32)')).toBe('| requests/s with the store on (json-c32) | 2800 req/s (0.93 × store off) | | | | ≥ 0.9 × full telemetry, store off (3000 req/s) | met |');
    const notMet = targetsSection(new Map([['json-c32', [row(TARGET_NAMES.off, { rps: 5000 }), row(TARGET_NAMES.full, { rps: 3000 }), row(TARGET_NAMES.store, { rps: 2600 })]]]));
    expect(lineOf(notMet, 'requests/s with the store on (json-c32)')).toMatch(/0\.87 × store off.*\*\*not met\*\* \|$/);
    // A run without the store target (older reports, the profile run): no row.
    expect(lineOf(targetsSection(new Map([['json-c32', [row(TARGET_NAMES.off), row(TARGET_NAMES.full)]]])), 'requests/s with the store on (json-c32)')).toBe('');
  });
});
