/** An error's message (the first of an AggregateError's: a host with several addresses refused on each). */
export const messageOf = (error: unknown): string => {
  if (error instanceof AggregateError && error.errors.length > 0) return messageOf(error.errors[0]);
  if (error instanceof Error) return error.message || String((error as { code?: unknown }).code ?? error.name);
  return String(error);
};

/**
 * Whether `error` is PostgreSQL refusing a statement with the connection still sound (a value it
 * rejects): the batch is lost, the store stays up. Anything else (refused, reset, timed out, a
 * server shutting down) means the database is unavailable.
 */
export function isStatementError(error: unknown): boolean {
  const code = (error as { code?: unknown; severity?: unknown } | null)?.code;
  return typeof (error as { severity?: unknown } | null)?.severity === 'string' && typeof code === 'string' && !/^(08|57|53)/.test(code);
}

/** Whether `error` is a statement that took longer than the timeout (cancelled by the server, or given up on by the client). */
export function isTimeout(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '57014' || messageOf(error) === 'Query read timeout';
}
