import type { SseEvent } from '../telemetry/hooks.js';
import { classifyResponseFailed, MESSAGES, streamError, type ModelClientError } from './errors.js';
import { completedEvent, completedFrameEvent, type ResponseEvent, type ResponseFields, type ResponseItem } from './events.js';
import type { FrameMapper } from './frame-mapper.js';

interface ResponsesFrame {
  type?: unknown;
  response?: unknown;
  item?: unknown;
  delta?: unknown;
  summary_index?: unknown;
  content_index?: unknown;
}

function asItem(value: unknown): ResponseItem | undefined {
  return value !== null && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string'
    ? (value as ResponseItem)
    : undefined;
}

/** Parses JSON, or returns undefined: unparseable data (including `[DONE]`) is skipped (§2.2.3 step 4). */
export function parseJsonData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

const LIGHT_EVENTS: ReadonlySet<string> = new Set([
  'response.created',
  'response.output_item.done',
  'response.completed',
  'response.done',
  'response.failed',
]);

/**
 * The Responses API event dispatcher (spec §2.2.3). It keys on the JSON `type`, not the SSE event
 * name; holds a `response.failed` as the pending error until the end; and marks completion on
 * `response.completed` / `response.done`.
 */
export class ResponsesFrameMapper implements FrameMapper {
  completed = false;
  #pendingError: ModelClientError | undefined;
  readonly #light: boolean;

  /**
   * @param light parse only the frames a relay's telemetry needs (created, output_item.done,
   * completed, done, failed), told apart by their SSE event name, and skip the deltas. Default false.
   */
  constructor(options: { light?: boolean } = {}) {
    this.#light = options.light ?? false;
  }

  map(event: SseEvent, raw: Uint8Array, out: ResponseEvent[]): void {
    if (this.#light && event.event !== 'message' && !LIGHT_EVENTS.has(event.event)) return;
    const mapped = this.#mapData(event.data, raw);
    if (mapped !== undefined) out.push(mapped);
  }

  /** Maps one JSON event (an SSE `data` field or a WebSocket text frame). */
  mapJson(frame: ResponsesFrame, raw: Uint8Array | undefined): ResponseEvent | undefined {
    const r = raw === undefined ? {} : { raw };
    switch (frame.type) {
      case 'response.created':
        return frame.response !== undefined && frame.response !== null ? { type: 'created', ...r } : undefined;
      case 'response.output_item.added': {
        const item = asItem(frame.item);
        return item ? { type: 'output_item_added', item, ...r } : undefined;
      }
      case 'response.output_item.done': {
        const item = asItem(frame.item);
        return item ? { type: 'output_item_done', item, ...r } : undefined;
      }
      case 'response.output_text.delta':
        return typeof frame.delta === 'string' ? { type: 'output_text_delta', delta: frame.delta, ...r } : undefined;
      case 'response.reasoning_summary_text.delta':
        return typeof frame.delta === 'string' && typeof frame.summary_index === 'number'
          ? { type: 'reasoning_summary_delta', delta: frame.delta, summaryIndex: frame.summary_index, ...r }
          : undefined;
      case 'response.reasoning_text.delta':
        return typeof frame.delta === 'string' && typeof frame.content_index === 'number'
          ? { type: 'reasoning_content_delta', delta: frame.delta, contentIndex: frame.content_index, ...r }
          : undefined;
      case 'response.reasoning_summary_part.added':
        return typeof frame.summary_index === 'number'
          ? { type: 'reasoning_summary_part_added', summaryIndex: frame.summary_index, ...r }
          : undefined;
      case 'response.completed':
        return this.#completed(frame, r, true);
      case 'response.done':
        return this.#completed(frame, r, false);
      case 'response.failed':
        this.#pendingError = classifyResponseFailed(frame);
        return undefined;
      default:
        return undefined;
    }
  }

  finish(): ModelClientError | undefined {
    if (this.completed) return undefined;
    return this.#pendingError ?? streamError(MESSAGES.streamClosed);
  }

  /** The error held from a `response.failed`, if any. */
  get pendingError(): ModelClientError | undefined {
    return this.#pendingError;
  }

  #mapData(data: string, raw: Uint8Array): ResponseEvent | undefined {
    const parsed = parseJsonData(data);
    if (parsed === null || typeof parsed !== 'object') return undefined;
    return this.mapJson(parsed as ResponsesFrame, raw);
  }

  #completed(frame: ResponsesFrame, r: { raw?: Uint8Array }, idRequired: boolean): ResponseEvent | undefined {
    const response = frame.response;
    if (response === undefined || response === null || typeof response !== 'object') {
      if (idRequired) return undefined;
      // `response.done` without a response object still completes (§6.1 item 4).
      this.completed = true;
      this.#pendingError = undefined;
      return completedEvent({}, r);
    }
    const id = (response as ResponseFields).id;
    if (typeof id !== 'string' && (idRequired || id !== undefined)) {
      this.#pendingError = streamError('failed to parse ResponseCompleted: missing field `id`', {
        source: 'upstream_event',
      });
      return undefined;
    }
    this.completed = true;
    this.#pendingError = undefined;
    return completedFrameEvent(response as Readonly<Record<string, unknown>>, r);
  }
}
