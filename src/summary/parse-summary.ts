import { SUMMARY_VERSION, type RunSummary } from './summary-recorder.js';

/** A summary file that cannot be read or compared: `modeltap report` and `check` exit 2 with its message. */
export class SummaryInputError extends Error {
  override readonly name = 'SummaryInputError';
}

/** Parses and validates a summary. */
export function parseSummary(text: string, what: string): RunSummary {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SummaryInputError(`${what} is not JSON`);
  }
  const s = parsed as Partial<RunSummary> | null;
  if (s === null || typeof s !== 'object' || !Array.isArray(s.groups)) throw new SummaryInputError(`${what} is not a modeltap run summary (no groups)`);
  if (s.version !== SUMMARY_VERSION) throw new SummaryInputError(`${what} has summary version ${String(s.version)}; this modeltap reads version ${SUMMARY_VERSION}`);
  for (const g of s.groups) {
    if (typeof g?.count !== 'number' || typeof g.ttfcMs?.count !== 'number' || !Array.isArray(g.durationMs?.samples)) {
      throw new SummaryInputError(`${what} has a malformed group`);
    }
  }
  return s as RunSummary;
}
