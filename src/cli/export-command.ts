import { parseTime } from '../store/store-api.js';
import { Store } from '../store/store.js';
import { helpText, parseFlags, UsageError, type FlagDef } from './flags.js';

export const EXPORT_FLAGS: readonly FlagDef[] = [
  { name: 'format', kind: 'string', value: 'jsonl', help: 'Output format: one JSON object per line.', defaultText: 'jsonl' },
  { name: 'since', kind: 'string', value: 'TIME', help: 'Only requests that arrived at or after this time (ISO 8601, or epoch ms).' },
  { name: 'until', kind: 'string', value: 'TIME', help: 'Only requests that arrived before this time.' },
  { name: 'events', kind: 'boolean', help: "Include each operation's event timeline.", defaultText: 'off' },
];

export const EXPORT_HELP = helpText('Usage: modeltap export PATH [--format jsonl] [--since TIME] [--until TIME] [--events]', 'Writes the requests of a store (modeltap serve --store PATH) to stdout, oldest first.', EXPORT_FLAGS);

function time(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = parseTime(text);
  if (!Number.isFinite(n)) throw new UsageError(`--${flag} must be an ISO 8601 time or epoch milliseconds, not '${text}'`);
  return n;
}

/** `modeltap export PATH`: every stored request as JSON lines, page by page (the store is never read whole). */
export async function exportCommand(argv: readonly string[], io: { stdout: (s: string) => void }): Promise<number> {
  const path = argv[0];
  if (path === undefined || path.startsWith('--')) throw new UsageError('modeltap export needs the PATH of a store');
  const v = parseFlags(argv.slice(1), EXPORT_FLAGS, {});
  const format = (v['format'] as string | undefined) ?? 'jsonl';
  if (format !== 'jsonl') throw new UsageError(`--format must be jsonl, not '${format}'`);
  const since = time(v['since'] as string | undefined, 'since');
  const until = time(v['until'] as string | undefined, 'until');
  const withEvents = v['events'] === true;
  const store = new Store(path, { readOnly: true });
  try {
    if (store.fault !== null) throw new UsageError(`cannot read the store ${path}: ${store.fault.message}`);
    let after = 0;
    for (;;) {
      const page = store.listOperations({ after, limit: 500, ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }) });
      let out = '';
      for (const op of page.operations) out += `${JSON.stringify(withEvents ? { ...op, events: store.getOperation(op.id)?.events ?? [] } : op)}\n`;
      if (out !== '') io.stdout(out);
      if (page.next === null) return 0;
      after = page.next;
    }
  } finally {
    store.close();
  }
}
