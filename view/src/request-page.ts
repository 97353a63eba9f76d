import { api, ApiError, type Attempt, type Operation, type OperationEvent } from './api.js';
import { h, replace, type Child } from './dom.js';
import { bytes, count, ms, time, usd } from './format.js';
import type { Page, PageContext } from './page.js';
import { attemptOutcome, phases, type Phase } from './phases.js';

type Detail = Operation & { readonly events: OperationEvent[] };

const pct = (value: number, total: number): string => `${total <= 0 ? 0 : Math.min(100, Math.max(0, (value / total) * 100))}%`;

function waterfall(op: Detail): HTMLElement {
  const total = Math.max(op.endMs - op.arrivalMs, 0.001);
  const sentAt = op.sentMs === null ? 0 : op.sentMs - op.arrivalMs;
  const bar = (p: Phase): HTMLElement => {
    const el = h('div', { class: `bar ${p.css}`, title: `${p.name}: ${ms(p.to - p.from)}` });
    el.style.left = pct(p.from, total);
    el.style.width = pct(Math.max(p.to - p.from, total / 500), total);
    return h('div', { class: 'lane' }, h('span', { class: 'lane-name' }, p.name), h('span', { class: 'lane-track' }, el), h('span', { class: 'lane-ms' }, `${ms(p.from)} → ${ms(p.to)}`));
  };
  const marks = h('span', { class: 'lane-track events-track' });
  for (const e of op.events) {
    const mark = h('span', { class: `event-mark${e.ok ? '' : ' failed'}`, title: `${e.kind} at +${ms(sentAt + e.offsetMs)}, ${bytes(e.bytes)}` });
    mark.style.left = pct(sentAt + e.offsetMs, total);
    marks.append(mark);
  }
  const retryMarks: Child[] = [];
  if (op.retries > 0) retryMarks.push(h('span', { class: 'mark retry' }, `${op.retries} ${op.retries === 1 ? 'retry' : 'retries'} before this answer`));
  if (op.authRecoveries > 0) retryMarks.push(h('span', { class: 'mark auth' }, `${op.authRecoveries} 401 ${op.authRecoveries === 1 ? 'recovery' : 'recoveries'}`));
  // One lane per attempt once there is more than one (a lone attempt is the upstream phase above):
  // a retry marked where it was sent, a 401 recovery where it ended.
  const attemptLanes = op.attempts.length < 2 ? [] : op.attempts.map((a, i) => attemptLane(a, i, total));
  return h(
    'section',
    { class: 'waterfall', 'data-events': op.events.length, 'data-attempts': op.attempts.length },
    h('h2', {}, 'Waterfall'),
    h('div', { class: 'marks' }, h('span', { class: 'mark' }, `arrival ${time(op.arrivalMs)}`), ...retryMarks, h('span', { class: 'mark' }, `end +${ms(total)}`)),
    ...phases(op).map(bar),
    ...attemptLanes,
    h('div', { class: 'lane' }, h('span', { class: 'lane-name' }, `${count(op.eventCount)} ${op.transport === 'websocket' ? 'frames' : 'events'}`), marks, h('span', { class: 'lane-ms' }, op.eventCount > op.events.length ? `first ${count(op.events.length)} shown` : '')),
  );
}

function attemptLane(a: Attempt, index: number, total: number): HTMLElement {
  const failed = a.status === null || a.status >= 400;
  const end = a.ms === null ? total : a.atMs + a.ms;
  const el = h('div', { class: `bar phase-attempt${failed ? ' failed' : ''}`, title: `attempt ${index + 1}: ${attemptOutcome(a)} after ${ms(a.ms)}` });
  el.style.left = pct(a.atMs, total);
  el.style.width = pct(Math.max(end - a.atMs, total / 500), total);
  const track = h('span', { class: 'lane-track' }, el);
  if (index > 0) {
    const retry = h('span', { class: 'attempt-mark retry-mark', title: `retry sent at +${ms(a.atMs)}` });
    retry.style.left = pct(a.atMs, total);
    track.append(retry);
  }
  if (a.recovery !== null) {
    const recovery = h('span', { class: `attempt-mark recovery-mark${a.recovery.outcome === 'success' ? '' : ' failed'}`, title: `401 recovery at +${ms(a.recovery.atMs)}: ${a.recovery.outcome === 'success' ? 'new credentials' : 'failed'}` });
    recovery.style.left = pct(a.recovery.atMs, total);
    track.append(recovery);
  }
  const label = `attempt ${index + 1}: ${attemptOutcome(a)}${a.recovery === null ? '' : a.recovery.outcome === 'success' ? ', credentials refreshed' : ', recovery failed'}`;
  return h('div', { class: 'lane attempt-lane' }, h('span', { class: 'lane-name' }, label), track, h('span', { class: 'lane-ms' }, `${ms(a.atMs)} → ${a.ms === null ? '…' : ms(end)}`));
}

/** What went wrong: the error's type and message, the upstream's request id, and each attempt when there were several. */
function errorSection(op: Detail, failed: boolean): HTMLElement | null {
  if (!failed && op.attempts.length < 2) return null;
  const rows = op.attempts.map((a, i) =>
    h(
      'tr',
      { class: a.status !== null && a.status < 400 ? '' : 'bad' },
      h('td', { class: 'num' }, i + 1),
      h('td', { class: 'num' }, ms(a.atMs)),
      h('td', { class: 'num' }, ms(a.ms)),
      h('td', {}, attemptOutcome(a)),
      h('td', {}, a.recovery === null ? '' : `401 recovery at +${ms(a.recovery.atMs)}: ${a.recovery.outcome}`),
    ),
  );
  return h(
    'section',
    { class: 'error-detail' },
    h('h2', {}, failed ? 'Error' : 'Attempts'),
    failed
      ? dl([
          ['Type', op.errorType ?? `HTTP ${op.status}`],
          ['Message', op.errorMessage],
          ['Upstream request id', op.upstreamRequestId],
        ])
      : null,
    rows.length === 0
      ? null
      : h(
          'table',
          { class: 'attempts' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Attempt'), h('th', {}, 'Sent after arrival'), h('th', {}, 'Took'), h('th', {}, 'Outcome'), h('th', {}, 'Then'))),
          h('tbody', {}, ...rows),
        ),
  );
}

const dl = (items: readonly (readonly [string, Child])[]): HTMLElement => h('dl', {}, ...items.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '–')]));

function eventsTable(op: Detail): HTMLElement {
  const sentAt = op.sentMs === null ? 0 : op.sentMs - op.arrivalMs;
  return h(
    'section',
    {},
    h('h2', {}, op.transport === 'websocket' ? 'Frames' : 'Events'),
    h(
      'table',
      { class: 'events' },
      h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'Type'), h('th', {}, 'After the send'), h('th', {}, 'After arrival'), h('th', {}, 'Size'), h('th', {}, 'OK'))),
      h(
        'tbody',
        {},
        ...op.events.map((e, i) =>
          h('tr', { class: e.ok ? '' : 'bad' }, h('td', { class: 'num' }, i + 1), h('td', {}, e.kind), h('td', { class: 'num' }, ms(e.offsetMs)), h('td', { class: 'num' }, ms(sentAt + e.offsetMs)), h('td', { class: 'num' }, bytes(e.bytes)), h('td', {}, e.ok ? 'yes' : 'no')),
        ),
      ),
    ),
  );
}

function content(op: Detail): HTMLElement | null {
  if (op.content === null) return null;
  let text = op.content;
  try {
    text = JSON.stringify(JSON.parse(op.content), null, 2);
  } catch {
    // shown as stored
  }
  return h('section', {}, h('h2', {}, 'Content (captured)'), h('pre', { class: 'content' }, text));
}

/** One request: its waterfall, events, usage, ids, error and trace. */
export function requestPage(root: HTMLElement, ctx: PageContext): Page {
  replace(root, h('p', { class: 'note' }, 'Loading…'));
  void api<Detail>(`operations/${encodeURIComponent(ctx.id ?? '')}`).then(
    (op) => {
      const trace =
        op.traceId === null ? null : ctx.traceUrl === '' ? op.traceId : h('a', { href: ctx.traceUrl.replaceAll('{trace_id}', op.traceId), target: '_blank', rel: 'noopener noreferrer', class: 'trace-link' }, op.traceId);
      const failed = op.errorType !== null || (op.status !== null && op.status >= 400);
      replace(
        root,
        h('p', {}, h('a', { href: '#/requests' }, '← Requests')),
        h('h1', {}, `${op.method} ${op.path}`, ' ', h('span', { class: failed ? 'badge bad' : 'badge good' }, op.status ?? 'no status')),
        waterfall(op),
        errorSection(op, failed),
        h(
          'div',
          { class: 'columns' },
          h(
            'section',
            {},
            h('h2', {}, 'Timing'),
            dl([
              ['Time to first chunk', ms(op.ttfcMs)],
              ['Duration', ms(op.durationMs)],
              ["modeltap's own share", ms(op.overheadMs)],
              ['Upstream', ms(op.upstreamMs)],
              ['Transport', op.transport],
              ['Retries', op.retries],
              ['401 recoveries', op.authRecoveries],
            ]),
          ),
          h(
            'section',
            { class: 'usage' },
            h('h2', {}, 'Usage'),
            dl([
              ['Input tokens', count(op.inputTokens)],
              ['Cached input', count(op.cachedInputTokens)],
              ['Output tokens', count(op.outputTokens)],
              ['Reasoning', count(op.reasoningTokens)],
              ['Total', count(op.totalTokens)],
              ['Service tier', op.serviceTier],
              ['Cost', op.inputTokens === null ? 'unknown (no usage reported)' : op.costPicos === null ? 'unknown (no price for this model)' : usd(op.costPicos)],
            ]),
          ),
          h(
            'section',
            {},
            h('h2', {}, 'Ids'),
            dl([
              ['Model', op.requestModel === op.responseModel || op.responseModel === null ? op.requestModel : `${op.requestModel ?? '–'} → ${op.responseModel}`],
              ['Response', op.responseId],
              ['Session (conversation)', op.conversationId === null ? null : h('a', { href: `#/conversations/${encodeURIComponent(op.conversationId)}` }, op.conversationId)],
              // Codex gives a thread its session's id; a sub-agent's parent thread is the session that spawned it.
              ['Thread', op.threadId],
              ['Parent thread', op.parentThreadId === null ? null : h('a', { href: `#/conversations/${encodeURIComponent(op.parentThreadId)}`, class: 'parent-thread' }, op.parentThreadId)],
              ['Turn', op.turnId],
              ['Request kind', op.requestKind],
              ['Originator', op.originator],
              ['Replica', op.replica === null ? null : h('a', { href: `#/requests?replica=${encodeURIComponent(op.replica)}` }, op.replica)],
              ['Trace', trace],
              ['Span', op.spanId],
            ]),
          ),
        ),
        eventsTable(op),
        content(op),
      );
    },
    (error: unknown) => replace(root, h('p', { class: 'note' }, error instanceof ApiError && error.status === 404 ? `No request ${ctx.id ?? ''} in the store.` : String(error))),
  );
  return { dispose: () => undefined };
}
