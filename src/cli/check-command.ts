import { readFileSync, writeFileSync } from 'node:fs';
import { CEILING_METRICS, checkMarkdown, compareSummaries, githubBenchmarkJson } from '../ci/compare-summaries.js';
import { parseSummary, SummaryInputError } from '../summary/parse-summary.js';
import { helpText, parseFlags, UsageError, type FlagDef } from './flags.js';

export const CHECK_FLAGS: readonly FlagDef[] = [
  { name: 'baseline', kind: 'string', value: 'FILE', help: 'The committed baseline summary.' },
  { name: 'current', kind: 'string', value: 'FILE', help: 'The summary of this run.' },
  { name: 'max-regression', kind: 'integer', value: 'PERCENT', help: 'How much a median may worsen before it can fail.', defaultText: '10' },
  { name: 'min-change-ms', kind: 'number', value: 'MS', help: 'A latency must also worsen by this many milliseconds before it can fail (sub-millisecond medians drift between identical runs).', defaultText: '1' },
  { name: 'ceiling', kind: 'string', value: 'METRIC=VALUE', help: 'Absolute ceilings, e.g. ttfc_p50_ms=800,cost_per_request_usd=0.002,cost_total_usd=5 (comma-separated; output_tokens_per_s is a floor). The run\'s total cost is gated only by its ceiling.' },
  { name: 'metrics', kind: 'string', value: 'LIST', help: 'Compare only these metrics (comma-separated, e.g. overhead_p50_ms,error_rate).', defaultText: 'all' },
  { name: 'github-benchmark-json', kind: 'string', value: 'FILE', help: "Also write github-action-benchmark's customSmallerIsBetter JSON here." },
];

export const CHECK_HELP = helpText(
  'Usage: modeltap check --baseline FILE --current FILE [options]',
  'Compares two run summaries: exit 0 no regression, 1 regression (each named), 2 bad input. Prints a Markdown table fit for $GITHUB_STEP_SUMMARY.',
  CHECK_FLAGS,
);

function readSummary(path: string, what: string) {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new SummaryInputError(`cannot read the ${what} ${path}`);
  }
  return parseSummary(text, `the ${what} ${path}`);
}

export function checkCommand(argv: readonly string[], io: { stdout: (s: string) => void; stderr: (s: string) => void }): number {
  const v = parseFlags(argv, CHECK_FLAGS, {});
  const baselinePath = v['baseline'] as string | undefined;
  const currentPath = v['current'] as string | undefined;
  if (baselinePath === undefined || currentPath === undefined) throw new UsageError('--baseline and --current are required');
  const ceilings: Record<string, number> = {};
  for (const pair of ((v['ceiling'] as string | undefined) ?? '').split(',').filter(Boolean)) {
    const [metric, value] = pair.split('=');
    if (!metric || value === undefined || !Number.isFinite(Number(value))) throw new UsageError(`--ceiling takes METRIC=VALUE, not '${pair}'`);
    // A misspelt ceiling would pass every run: refuse it.
    if (!CEILING_METRICS.includes(metric)) throw new UsageError(`--ceiling: no ceiling applies to '${metric}' (one of ${CEILING_METRICS.join(', ')})`);
    ceilings[metric] = Number(value);
  }
  try {
    const only = ((v['metrics'] as string | undefined) ?? '').split(',').filter(Boolean);
    const compared = compareSummaries(readSummary(baselinePath, 'baseline'), readSummary(currentPath, 'current run'), {
      maxRegressionPercent: (v['max-regression'] as number | undefined) ?? 10,
      minChangeMs: (v['min-change-ms'] as number | undefined) ?? 1,
      alpha: 0.01,
      ceilings,
    });
    const rows = only.length === 0 ? compared : compared.filter((r) => only.includes(r.metric));
    if (rows.length === 0) throw new SummaryInputError(`no compared metric is among --metrics ${only.join(',')}`);
    io.stdout(checkMarkdown(rows));
    const json = v['github-benchmark-json'] as string | undefined;
    if (json !== undefined) writeFileSync(json, `${JSON.stringify(githubBenchmarkJson(rows), null, 2)}\n`);
    const regressions = rows.filter((r) => r.regression);
    for (const r of regressions) io.stderr(`regression: ${r.group} ${r.metric}: ${r.reason}\n`);
    return regressions.length === 0 ? 0 : 1;
  } catch (error) {
    if (error instanceof SummaryInputError) throw new UsageError(error.message);
    throw error;
  }
}
