import type { OperationRow } from './operation-row.js';

/** An operation's fields as stored, one column each (`snake_case` of the field); `events` has its own table. */
export type RowField = Exclude<keyof OperationRow, 'events'>;

/** Every stored field of an operation, in column order (the SQLite and the PostgreSQL store alike). */
export const FIELDS = [
  'kind',
  'arrivalMs',
  'sentMs',
  'headMs',
  'firstEventMs',
  'endMs',
  'method',
  'route',
  'path',
  'transport',
  'api',
  'stream',
  'requestModel',
  'responseModel',
  'status',
  'errorType',
  'retries',
  'authRecoveries',
  'ttfcMs',
  'durationMs',
  'overheadMs',
  'upstreamMs',
  'inputTokens',
  'cachedInputTokens',
  'outputTokens',
  'reasoningTokens',
  'totalTokens',
  'responseId',
  'serviceTier',
  'conversationId',
  'turnId',
  'requestKind',
  'originator',
  'traceId',
  'spanId',
  'eventCount',
  'content',
  'firstWriteMs',
  'costPicos',
  'replica',
] as const satisfies readonly RowField[];
// Every field of OperationRow has a column: a field added to the row and not here fails to compile.
const EVERY_FIELD: Exclude<RowField, (typeof FIELDS)[number]> extends never ? true : never = true;
void EVERY_FIELD;

/** The column of each of {@link FIELDS}, in the same order. */
export const COLUMNS: readonly string[] = FIELDS.map((f) => f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
