import type { SseEvent } from '../telemetry/hooks.js';
import type { ModelClientError } from './errors.js';
import type { ResponseEvent } from './events.js';

/**
 * Turns the dispatched events of one SSE stream into `ResponseEvent`s. One mapper per stream; the
 * Responses and Chat Completions wire formats each have one.
 */
export interface FrameMapper {
  /**
   * Maps one SSE event read from the frame `raw`, pushing what it produces onto `out`. The first
   * event pushed carries `raw`; a frame that maps to nothing leaves `out` empty.
   */
  map(event: SseEvent, raw: Uint8Array, out: ResponseEvent[]): void;
  /** At end of stream: pushes final events and returns the error the stream ends with, if any. */
  finish(out: ResponseEvent[]): ModelClientError | undefined;
  /** True once the response completed; a strict reader stops reading here (spec §2.2.3). */
  readonly completed: boolean;
}
