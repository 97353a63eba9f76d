import { formatReport, type ReportFormat } from '../summary/format-report.js';
import { SummaryInputError } from '../summary/parse-summary.js';
import { helpText, parseFlags, UsageError, type FlagDef } from './flags.js';
import { loadSummaries } from './load-summary.js';

export const REPORT_FLAGS: readonly FlagDef[] = [
  {
    name: 'from',
    kind: 'string',
    value: 'URL|FILE|STORE',
    repeatable: true,
    help: "A running modeltap's base URL (its /modeltap/summary), a summary file, or a request store (modeltap serve --store PATH, or its postgres:// URL: every replica writing to it); several (e.g. a fleet's replicas) are merged from their raw samples.",
  },
  { name: 'format', kind: 'string', value: 'table|json|markdown', help: 'Output format.', defaultText: 'table' },
  { name: 'access-key', env: 'MODELTAP_ACCESS_KEY', kind: 'string', value: 'KEY', help: 'The access key, for a modeltap that requires one.' },
];

export const REPORT_HELP = helpText('Usage: modeltap report --from URL|FILE|STORE [--from …] [--format table|json|markdown]', 'Prints a run summary (of several sources, merged).', REPORT_FLAGS);

export async function reportCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: { stdout: (s: string) => void }): Promise<number> {
  const v = parseFlags(argv, REPORT_FLAGS, env);
  const from = (v['from'] as string[] | undefined) ?? [];
  if (from.length === 0) throw new UsageError('--from is required');
  const format = ((v['format'] as string | undefined) ?? 'table') as ReportFormat;
  if (!['table', 'json', 'markdown'].includes(format)) throw new UsageError(`--format must be table, json or markdown, not '${format}'`);
  try {
    io.stdout(formatReport(await loadSummaries(from, { accessKey: v['access-key'] as string | undefined }), format));
  } catch (error) {
    if (error instanceof SummaryInputError) throw new UsageError(error.message);
    throw error;
  }
  return 0;
}
