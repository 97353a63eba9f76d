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
  'threadId',
  'parentThreadId',
  'errorMessage',
  'upstreamRequestId',
  'attempts',
] as const satisfies readonly RowField[];
// Every field of OperationRow has a column: a field added to the row and not here fails to compile.
const EVERY_FIELD: Exclude<RowField, (typeof FIELDS)[number]> extends never ? true : never = true;
void EVERY_FIELD;

/** The column of each of {@link FIELDS}, in the same order. */
export const COLUMNS: readonly string[] = FIELDS.map((f) => f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));

/** A field's value as its column holds it: `attempts` as JSON text (null when there are none). */
export function columnValue(row: OperationRow, field: RowField): string | number | boolean | null {
  if (field === 'attempts') return row.attempts.length === 0 ? null : JSON.stringify(row.attempts);
  return row[field];
}

/** A column's value read back as its field's (the inverse of {@link columnValue}; SQLite's 0/1 `stream` is the caller's). */
export function fieldValue(field: RowField, value: unknown): unknown {
  if (field === 'attempts') return typeof value === 'string' ? (JSON.parse(value) as unknown) : [];
  return value ?? null;
}
