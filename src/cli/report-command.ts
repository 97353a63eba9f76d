import { readFileSync } from 'node:fs';
import { formatReport, type ReportFormat } from '../summary/format-report.js';
import { parseSummary } from '../summary/parse-summary.js';
import { summaryFromStore } from '../store/store-summary.js';
import { helpText, parseFlags, UsageError, type FlagDef } from './flags.js';

/** The first 16 bytes of every SQLite database file. */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

export const REPORT_FLAGS: readonly FlagDef[] = [
  { name: 'from', kind: 'string', value: 'URL|FILE', help: "A running modeltap's base URL (its /modeltap/summary), a summary file, or a request store (modeltap serve --store PATH)." },
  { name: 'format', kind: 'string', value: 'table|json|markdown', help: 'Output format.', defaultText: 'table' },
  { name: 'access-key', env: 'MODELTAP_ACCESS_KEY', kind: 'string', value: 'KEY', help: 'The access key, for a modeltap that requires one.' },
];

export const REPORT_HELP = helpText('Usage: modeltap report --from URL|FILE|STORE [--format table|json|markdown]', 'Prints a run summary.', REPORT_FLAGS);

export async function reportCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: { stdout: (s: string) => void }): Promise<number> {
  const v = parseFlags(argv, REPORT_FLAGS, env);
  const from = v['from'] as string | undefined;
  if (from === undefined) throw new UsageError('--from is required');
  const format = ((v['format'] as string | undefined) ?? 'table') as ReportFormat;
  if (!['table', 'json', 'markdown'].includes(format)) throw new UsageError(`--format must be table, json or markdown, not '${format}'`);
  let text: string;
  if (/^https?:\/\//.test(from)) {
    const base = from.replace(/\/+$/, '').replace(/\/v1$/, '');
    const key = v['access-key'] as string | undefined;
    const res = await fetch(`${base}/modeltap/summary`, { headers: key === undefined ? {} : { 'x-modeltap-key': key } }).catch((e: unknown) => {
      throw new UsageError(`cannot reach ${base}: ${(e as Error).message}`);
    });
    if (!res.ok) throw new UsageError(`${base}/modeltap/summary answered ${res.status}`);
    text = await res.text();
  } else {
    let bytes: Buffer;
    try {
      bytes = readFileSync(from);
    } catch {
      throw new UsageError(`cannot read ${from}`);
    }
    // A request store (modeltap serve --store PATH) reads as the summary of what it holds.
    if (bytes.subarray(0, 16).equals(SQLITE_HEADER)) {
      try {
        io.stdout(formatReport(summaryFromStore(from), format));
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      return 0;
    }
    text = bytes.toString('utf8');
  }
  try {
    io.stdout(formatReport(parseSummary(text, from), format));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return 0;
}
