/** Milliseconds as people read them: 840 ms, 1.24 s, 3 min 5 s; a dash for nothing. */
export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  if (value < 10) return `${value.toFixed(2)} ms`;
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(2)} s`;
  return `${Math.floor(value / 60_000)} min ${Math.round((value % 60_000) / 1000)} s`;
}

/** A count with thousands separators; a dash for nothing. */
export function count(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : value.toLocaleString('en-US');
}

/** An epoch-ms time as local `HH:MM:SS.mmm`, with the date when it is not today. */
export function time(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  const today = new Date();
  return d.toDateString() === today.toDateString() ? clock : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock}`;
}

/** A long id cut to its end (ids differ there least often at the start). */
export function shortId(id: string | null, keep = 12): string {
  if (id === null) return '–';
  return id.length <= keep ? id : `…${id.slice(-keep)}`;
}

/** A cost in pico-USD as dollars: to the cent above $1, else to four significant digits; "unknown" for null. */
export function usd(picos: number | null | undefined): string {
  if (picos === null || picos === undefined) return 'unknown';
  const dollars = picos / 1e12;
  if (dollars === 0) return '$0';
  return dollars >= 1 ? `$${dollars.toFixed(2)}` : `$${dollars.toPrecision(4)}`;
}

/** Bytes as B, KB, MB. */
export function bytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}
