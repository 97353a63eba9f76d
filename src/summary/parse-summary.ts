import { SUMMARY_VERSION, type RunSummary, type SummaryGroup, type TokenSums } from './summary-recorder.js';

/**
 * Why a summary input was refused: `invalid` (not a summary this modeltap reads), `unreadable` (a
 * source that cannot be read or reached), `unmergeable` (summaries that cannot be merged), or
 * `incomparable` (summaries that cannot be compared).
 */
export type SummaryInputCode = 'invalid' | 'unreadable' | 'unmergeable' | 'incomparable';

/** A summary input that cannot be read, merged or compared: `modeltap report` and `check` exit 2 with its message. */
export class SummaryInputError extends Error {
  override readonly name = 'SummaryInputError';
  /** Default `invalid`. */
  readonly code: SummaryInputCode;

  constructor(message: string, code: SummaryInputCode = 'invalid', options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Summary versions this modeltap reads: the current one, and 1 (upgraded as {@link upgradeV1Group} says). */
export const READABLE_SUMMARY_VERSIONS: readonly number[] = [1, SUMMARY_VERSION];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const isTokens = (v: unknown): v is TokenSums => isObj(v) && typeof v['input'] === 'number' && typeof v['output'] === 'number' && typeof v['cached'] === 'number';

/**
 * A version-1 group in today's shape. Version 1 had no request kind (read as none), named a
 * model-less group `unknown` (read as no model), and added nothing for a request without usage, so
 * tokens of 0/0/0 mean no request of the group reported usage (read as unknown); with some tokens,
 * it cannot tell how many requests lacked usage and says none did, as its own `check` assumed.
 */
function upgradeV1Group(g: Obj): SummaryGroup {
  const { model, tokens, ...rest } = g;
  const t = tokens as TokenSums;
  const unknown = t.input === 0 && t.output === 0 && t.cached === 0;
  return {
    ...(rest as unknown as SummaryGroup),
    ...(typeof model === 'string' && model !== 'unknown' ? { model } : {}),
    tokens: unknown ? null : t,
    usageUnreported: unknown ? (g['count'] as number) : 0,
  };
}

/** Parses and validates a summary (version 1 or 2), in the current shape. */
export function parseSummary(text: string, what: string): RunSummary {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SummaryInputError(`${what} is not JSON`);
  }
  const s = parsed as Partial<RunSummary> | null;
  if (s === null || typeof s !== 'object' || !Array.isArray(s.groups)) throw new SummaryInputError(`${what} is not a modeltap run summary (no groups)`);
  if (!READABLE_SUMMARY_VERSIONS.includes(s.version as number)) {
    throw new SummaryInputError(`${what} has summary version ${String(s.version)}; this modeltap reads versions ${READABLE_SUMMARY_VERSIONS.join(' and ')}`);
  }
  const v1 = s.version === 1;
  for (const g of s.groups as unknown[]) {
    if (!isObj(g) || typeof g['count'] !== 'number' || typeof g['route'] !== 'string' || typeof g['transport'] !== 'string' || !isObj(g['ttfcMs']) || typeof g['ttfcMs']['count'] !== 'number' || !isObj(g['durationMs']) || !Array.isArray(g['durationMs']['samples'])) {
      throw new SummaryInputError(`${what} has a malformed group`);
    }
    const tokensOk = v1 ? isTokens(g['tokens']) : (g['tokens'] === null || isTokens(g['tokens'])) && typeof g['usageUnreported'] === 'number';
    const labelsOk = (g['model'] === undefined || typeof g['model'] === 'string') && (g['requestKind'] === undefined || typeof g['requestKind'] === 'string');
    const costOk = (g['costUsd'] === undefined || g['costUsd'] === null || (typeof g['costUsd'] === 'number' && Number.isFinite(g['costUsd']))) && (g['costUnknown'] === undefined || typeof g['costUnknown'] === 'number');
    if (!tokensOk || !labelsOk || !costOk) throw new SummaryInputError(`${what} has a malformed group`);
  }
  const groups = (s.groups as unknown as Obj[]).map((g) => withCost(v1 ? upgradeV1Group(g) : (g as unknown as SummaryGroup)));
  return { ...(s as RunSummary), version: SUMMARY_VERSION, groups };
}

/** A summary written before costs were (modeltap before issue 21) knows the cost of none of its requests. */
function withCost(g: SummaryGroup): SummaryGroup {
  const partial = g as Omit<SummaryGroup, 'costUsd' | 'costUnknown'> & Partial<Pick<SummaryGroup, 'costUsd' | 'costUnknown'>>;
  if (partial.costUsd !== undefined && partial.costUnknown !== undefined) return g;
  return { ...g, costUsd: partial.costUsd ?? null, costUnknown: partial.costUnknown ?? (partial.costUsd === undefined || partial.costUsd === null ? g.count : 0) };
}
