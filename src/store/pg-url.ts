/** Whether `--store` names a PostgreSQL database (`postgres://…` or `postgresql://…`). */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(location);
}

/** A PostgreSQL URL as it may be shown or logged: its password replaced by `***` (an unparsable one, by its scheme alone). */
export function redactPostgresUrl(location: string): string {
  try {
    const url = new URL(location);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return `${location.slice(0, location.indexOf('://') + 3)}…`;
  }
}
