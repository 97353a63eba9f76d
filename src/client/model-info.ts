/** Reasoning effort levels the Responses API accepts. */
export type ReasoningEffort = 'minimal' | 'low' | 'medium' | 'high' | 'xhigh' | 'none';
/** Reasoning summary setting; `none` omits the key (§2.2.1). */
export type ReasoningSummary = 'auto' | 'concise' | 'detailed' | 'none';
/** Output verbosity. */
export type Verbosity = 'low' | 'medium' | 'high';

/** What the client needs to know about a model to build its requests (Codex's model family). */
export interface ModelInfo {
  /** Tokens in the context window, or null when unknown. */
  readonly contextWindow: number | null;
  /** Share of the window Codex lets a conversation use. Default 95. */
  readonly effectiveContextWindowPercent: number;
  readonly supportsReasoningSummaries: boolean;
  readonly defaultReasoningEffort: ReasoningEffort | null;
  readonly supportsVerbosity: boolean;
  readonly defaultVerbosity: Verbosity | null;
}

const UNKNOWN: ModelInfo = {
  contextWindow: null,
  effectiveContextWindowPercent: 95,
  supportsReasoningSummaries: false,
  defaultReasoningEffort: null,
  supportsVerbosity: false,
  defaultVerbosity: null,
};

const CODEX: ModelInfo = {
  ...UNKNOWN,
  contextWindow: 272_000,
  supportsReasoningSummaries: true,
  defaultReasoningEffort: 'medium',
};

// Prefix table, first match wins, after Codex's model families: codex models reason but take no
// verbosity; GPT-5 chat models take verbosity (default low); o-series reason.
const FAMILIES: readonly (readonly [string, ModelInfo])[] = [
  ['gpt-5.2-codex', CODEX],
  ['gpt-5.1-codex', CODEX],
  ['gpt-5-codex', CODEX],
  ['codex-', CODEX],
  ['gpt-5', { ...CODEX, supportsVerbosity: true, defaultVerbosity: 'low' }],
  ['o3', { ...CODEX, contextWindow: 200_000 }],
  ['o4-mini', { ...CODEX, contextWindow: 200_000 }],
  ['gpt-oss', { ...CODEX, contextWindow: 96_000 }],
  ['gpt-4.1', { ...UNKNOWN, contextWindow: 1_047_576 }],
  ['gpt-4o', { ...UNKNOWN, contextWindow: 128_000 }],
];

/** Model facts for a slug, with `overrides` applied on top. */
export function findModelInfo(slug: string, overrides: Partial<ModelInfo> = {}): ModelInfo {
  const found = FAMILIES.find(([prefix]) => slug.startsWith(prefix));
  return { ...(found?.[1] ?? UNKNOWN), ...overrides };
}
