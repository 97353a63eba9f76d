import type { Live } from './live.js';

/** What a page is given: the hash's query, the id in its path, the live stream. */
export interface PageContext {
  readonly params: URLSearchParams;
  readonly id: string | undefined;
  readonly live: Live;
  /** A trace's link, `{trace_id}` where its id goes; '' for none. */
  readonly traceUrl: string;
}

/** A rendered page; `dispose` runs when another replaces it. */
export interface Page {
  dispose(): void;
}
