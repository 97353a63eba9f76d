import { costPerRequest, NO_MODEL, runCost, type RunSummary, type Stat, type SummaryGroup } from './summary-recorder.js';

/** Output formats of `modeltap report`. */
export type ReportFormat = 'table' | 'json' | 'markdown';

const ms = (s: Stat): string => (s.count === 0 ? '–' : `${s.p50.toFixed(1)} / ${s.p90.toFixed(1)} / ${s.p99.toFixed(1)} / ${s.max.toFixed(1)}`);

/** Unreported usage reads `unknown`, never 0; a group where only some requests reported it says how many did not. */
function tokens(g: SummaryGroup): string {
  if (g.tokens === null) return 'unknown';
  const sums = `${g.tokens.input}/${g.tokens.output}/${g.tokens.cached}`;
  return g.usageUnreported === 0 ? sums : `${sums} (+${g.usageUnreported} unknown)`;
}

/** USD to four significant digits (a request's cost is often a few millionths of a dollar); `unknown` when not known. */
export const usdText = (v: number | null | undefined): string => (v === null || v === undefined ? 'unknown' : v === 0 ? '$0' : `$${Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(4)}`);

/** A group's cost: the known part, and how many requests' cost is unknown, never counted as 0. */
function cost(g: SummaryGroup): string {
  const known = usdText(g.costUsd);
  return g.costUsd === null || g.costUnknown === 0 ? known : `${known} (+${g.costUnknown} unknown)`;
}

/** The whole run: requests and cost, with the unknown ones said. */
function totalLine(summary: RunSummary): string {
  const t = runCost(summary);
  return `total: ${t.count} requests, cost ${usdText(t.usd)}${t.usd !== null && t.unknown > 0 ? ` (+${t.unknown} requests of unknown cost)` : ''}${t.usd !== null && t.count > t.unknown ? `, ${usdText(t.usd / (t.count - t.unknown))} per request` : ''}`;
}

/** A summary as a readable table, Markdown, or JSON (without the raw samples, which stay in files). */
export function formatReport(summary: RunSummary, format: ReportFormat): string {
  if (format === 'json') return `${JSON.stringify(summary, null, 2)}\n`;
  const header = ['route', 'model', 'transport', 'kind', 'requests', 'errors', 'TTFC ms p50/p90/p99/max', 'duration ms p50/p90/p99/max', 'out tok/s p50', 'overhead ms p50/p99', 'tokens in/out/cached', 'cost', 'cost/request'];
  const rows = summary.groups.map((g) => [
    g.route,
    g.model ?? NO_MODEL,
    g.transport,
    g.requestKind ?? '–',
    String(g.count),
    Object.entries(g.errors).map(([k, v]) => `${k}:${v}`).join(' ') || '0',
    ms(g.ttfcMs),
    ms(g.durationMs),
    g.outputTokensPerSecond.count === 0 ? '–' : g.outputTokensPerSecond.p50.toFixed(0),
    g.overheadMs.count === 0 ? '–' : `${g.overheadMs.p50.toFixed(3)} / ${g.overheadMs.p99.toFixed(3)}`,
    tokens(g),
    cost(g),
    usdText(costPerRequest(g)),
  ]);
  if (format === 'markdown') {
    return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`), '', totalLine(summary), ''].join('\n');
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [`${summary.source} summary, ${summary.startedAt} – ${summary.endedAt}`, line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), totalLine(summary), ''].join('\n');
}
