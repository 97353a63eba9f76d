import type { ConversationSummary } from './store.js';

/**
 * A page of conversations from the rows of either store's conversation query (`limit + 1` rows
 * asked for, so that one more than the page says whether there is a next one).
 */
export function conversationPage(rows: readonly Record<string, unknown>[], limit: number): { readonly conversations: ConversationSummary[]; readonly next: number | null } {
  const page = rows.slice(0, limit).map((r) => ({
    conversationId: r['conversation_id'] as string,
    operations: Number(r['operations']),
    errors: Number(r['errors']),
    firstArrivalMs: r['first_arrival_ms'] as number,
    lastEndMs: r['last_end_ms'] as number,
    durationMs: r['duration_ms'] as number,
    inputTokens: Number(r['input_tokens']),
    outputTokens: Number(r['output_tokens']),
    totalTokens: Number(r['total_tokens']),
    costPicos: Number(r['cost_picos']),
    unpriced: Number(r['unpriced']),
    lastId: Number(r['last_id']),
  }));
  return { conversations: page, next: rows.length > limit ? (page.at(-1)?.lastId ?? null) : null };
}
