import { readFileSync } from 'node:fs';
import { mergeSummaries } from '../summary/merge-summaries.js';
import { parseSummary, SummaryInputError } from '../summary/parse-summary.js';
import type { RunSummary } from '../summary/summary-recorder.js';
import { summaryFromPostgres, summaryFromStore } from '../store/store-summary.js';
import { redactPostgresUrl } from '../store/pg-url.js';

/** The first 16 bytes of every SQLite database file. */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** How long a running modeltap may take to answer for its summary, ms. */
const FETCH_TIMEOUT_MS = 30_000;

/** How {@link loadSummary} reads a source. */
export interface LoadOptions {
  /** The access key, for a modeltap that requires one (`x-modeltap-key`). Default none. */
  readonly accessKey?: string | undefined;
  /** How errors name the source, e.g. `the baseline base.json`. Default the source itself. */
  readonly what?: string;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/**
 * The run summary of one source of `modeltap report --from` and `check --baseline/--current`,
 * chosen by the source's URL scheme: `http(s)://` a running modeltap's base URL (its
 * `/modeltap/summary`); no scheme, a path: a summary file, or a SQLite request store (`modeltap
 * serve --store PATH`) read as the summary of what it holds. Throws {@link SummaryInputError}
 * (`unreadable` or `invalid`) naming the source.
 */
export async function loadSummary(source: string, options: LoadOptions = {}): Promise<RunSummary> {
  const what = options.what ?? source;
  const scheme = SCHEME.exec(source)?.[1]?.toLowerCase();
  switch (scheme) {
    case undefined:
      return fromPath(source, what);
    case 'http':
    case 'https':
      return fromUrl(source, what, options.accessKey);
    case 'postgres':
    case 'postgresql':
      return fromPostgres(source, options.what ?? redactPostgresUrl(source));
    default:
      throw new SummaryInputError(`${what}: a source is a modeltap base URL (http:// or https://), a summary file, a SQLite store or a postgres:// store, not a ${scheme}:// URL`, 'unreadable');
  }
}

/** Every source's summary, merged ({@link mergeSummaries}) when there are several; one source is read as it is. */
export async function loadSummaries(sources: readonly string[], options: { readonly accessKey?: string | undefined; readonly what?: (source: string) => string } = {}): Promise<RunSummary> {
  const names = sources.map((s) => options.what?.(s) ?? s);
  const summaries: RunSummary[] = [];
  // One at a time, so the first source that fails in the given order is the one named.
  for (const [i, source] of sources.entries()) summaries.push(await loadSummary(source, { accessKey: options.accessKey, what: names[i] as string }));
  return summaries.length === 1 ? (summaries[0] as RunSummary) : mergeSummaries(summaries, names);
}

async function fromUrl(url: string, what: string, accessKey: string | undefined): Promise<RunSummary> {
  const base = url.replace(/\/+$/, '').replace(/\/v1$/, '');
  let text: string;
  try {
    const res = await fetch(`${base}/modeltap/summary`, { headers: accessKey === undefined ? {} : { 'x-modeltap-key': accessKey }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!res.ok) {
      await res.body?.cancel();
      throw new SummaryInputError(`${what}: ${base}/modeltap/summary answered ${res.status}${res.status === 401 || res.status === 403 ? ' (does it need --access-key?)' : ''}`, 'unreadable');
    }
    text = await res.text();
  } catch (error) {
    if (error instanceof SummaryInputError) throw error;
    throw new SummaryInputError(`cannot reach ${what}: ${(error as Error).message}`, 'unreadable', { cause: error });
  }
  return parseSummary(text, what);
}

async function fromPath(path: string, what: string): Promise<RunSummary> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new SummaryInputError(`cannot read ${what}`, 'unreadable', { cause: error });
  }
  if (!bytes.subarray(0, 16).equals(SQLITE_HEADER)) return parseSummary(bytes.toString('utf8'), what);
  try {
    return await summaryFromStore(path);
  } catch (error) {
    const message = (error as Error).message;
    throw new SummaryInputError(what === path ? message : `${what}: ${message}`, 'unreadable', { cause: error });
  }
}

async function fromPostgres(url: string, what: string): Promise<RunSummary> {
  try {
    return await summaryFromPostgres(url);
  } catch (error) {
    // Its message names the database with the password redacted; never the source as given.
    throw new SummaryInputError(`${what}: ${(error as Error).message}`, 'unreadable', { cause: error });
  }
}
