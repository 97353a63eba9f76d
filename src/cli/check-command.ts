import { writeFileSync } from 'node:fs';
import { CEILING_METRICS, checkMarkdown, compareSummaries, githubBenchmarkJson } from '../ci/compare-summaries.js';
import { SummaryInputError } from '../summary/parse-summary.js';
import { helpText, parseFlags, UsageError, type FlagDef } from './flags.js';
import { loadSummaries } from './load-summary.js';

export const CHECK_FLAGS: readonly FlagDef[] = [
  { name: 'baseline', kind: 'string', value: 'FILE|URL|STORE', repeatable: true, help: 'The committed baseline summary (or a base URL, or a request store); several are merged from their raw samples.' },
  { name: 'current', kind: 'string', value: 'FILE|URL|STORE', repeatable: true, help: "The summary of this run: a file, a running modeltap's base URL, or a request store; several (e.g. a fleet's replicas) are merged from their raw samples." },
  { name: 'max-regression', kind: 'integer', value: 'PERCENT', help: 'How much a median may worsen before it can fail.', defaultText: '10' },
  { name: 'min-change-ms', kind: 'number', value: 'MS', help: 'A latency must also worsen by this many milliseconds before it can fail (sub-millisecond medians drift between identical runs).', defaultText: '1' },
  { name: 'ceiling', kind: 'string', value: 'METRIC=VALUE', help: 'Absolute ceilings, e.g. ttfc_p50_ms=800,cost_per_request_usd=0.002,cost_total_usd=5 (comma-separated; output_tokens_per_s is a floor). The run\'s total cost is gated only by its ceiling.' },
  { name: 'metrics', kind: 'string', value: 'LIST', help: 'Compare only these metrics (comma-separated, e.g. overhead_p50_ms,error_rate).', defaultText: 'all' },
  { name: 'access-key', env: 'MODELTAP_ACCESS_KEY', kind: 'string', value: 'KEY', help: 'The access key, for a modeltap (a URL source) that requires one.' },
  { name: 'github-benchmark-json', kind: 'string', value: 'FILE', help: "Also write github-action-benchmark's customSmallerIsBetter JSON here." },
];

export const CHECK_HELP = helpText(
  'Usage: modeltap check --baseline FILE|URL|STORE [--baseline …] --current FILE|URL|STORE [--current …] [options]',
  'Compares two run summaries (each of one or more sources, merged): exit 0 no regression, 1 regression (each named), 2 bad input. Prints a Markdown table fit for $GITHUB_STEP_SUMMARY.',
  CHECK_FLAGS,
);

export async function checkCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: { stdout: (s: string) => void; stderr: (s: string) => void }): Promise<number> {
  const v = parseFlags(argv, CHECK_FLAGS, env);
  const baselines = (v['baseline'] as string[] | undefined) ?? [];
  const currents = (v['current'] as string[] | undefined) ?? [];
  if (baselines.length === 0 || currents.length === 0) throw new UsageError('--baseline and --current are required');
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
    const accessKey = v['access-key'] as string | undefined;
    const baseline = await loadSummaries(baselines, { accessKey, what: (s) => `the baseline ${s}` });
    const current = await loadSummaries(currents, { accessKey, what: (s) => `the current run ${s}` });
    const compared = compareSummaries(baseline, current, {
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
