import { api, type Operation } from './api.js';
import { h, replace } from './dom.js';
import { count, ms, shortId, time, usd } from './format.js';
import { FILTERS, matches, toMs, type Filters } from './operation-filter.js';
import type { Page, PageContext } from './page.js';

/** Rows the table holds at most: new ones push the oldest out, so a tab open for a day stays small. */
export const MAX_ROWS = 500;
const PAGE = 100;

/** `datetime-local` text for an epoch-ms or ISO time (what the inputs show). */
function localInput(text: string | undefined): string {
  if (text === undefined) return '';
  const t = toMs(text);
  if (!Number.isFinite(t)) return '';
  const d = new Date(t - new Date(t).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 19);
}

function tokens(op: Operation): string {
  if (op.inputTokens === null && op.outputTokens === null) return '–';
  return `${count(op.inputTokens)} → ${count(op.outputTokens)}`;
}

function statusCell(op: Operation): HTMLElement {
  const failed = op.errorType !== null || (op.status !== null && op.status >= 400);
  return h('td', { class: failed ? 'bad' : 'good' }, op.status === null ? '–' : op.status, op.errorType === null ? null : h('span', { class: 'error-type' }, ` ${op.errorType}`));
}

function row(op: Operation): HTMLTableRowElement {
  const href = `#/requests/${op.id}`;
  return h(
    'tr',
    { 'data-id': op.id, class: 'clickable', on: { click: () => void (location.hash = href) } },
    h('td', {}, h('a', { href }, time(op.arrivalMs))),
    h('td', {}, op.responseModel ?? op.requestModel ?? '–'),
    h('td', {}, op.route ?? op.path),
    h('td', {}, op.transport ?? '–'),
    statusCell(op),
    h('td', { class: 'num' }, ms(op.ttfcMs)),
    h('td', { class: 'num' }, ms(op.durationMs)),
    h('td', { class: 'num' }, tokens(op)),
    h('td', { class: 'num cost' }, op.inputTokens === null ? '–' : usd(op.costPicos)),
    h('td', {}, op.conversationId === null ? '–' : h('a', { href: `#/conversations/${encodeURIComponent(op.conversationId)}`, title: op.conversationId, on: { click: (e) => e.stopPropagation() } }, shortId(op.conversationId))),
    h('td', { class: 'replica' }, op.replica === null ? '–' : h('a', { href: `#/requests?replica=${encodeURIComponent(op.replica)}`, on: { click: (e) => e.stopPropagation() } }, op.replica)),
  );
}

/** Requests: newest first, arriving live, with filters and a search on ids. */
export function requestsPage(root: HTMLElement, ctx: PageContext): Page {
  const filters: Filters = {};
  for (const name of FILTERS) {
    const value = ctx.params.get(name);
    if (value !== null && value !== '') filters[name] = value;
  }
  const body = h('tbody', {});
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Older requests');
  const note = h('p', { class: 'note' });
  let oldest: number | null = null;
  let loaded = false;
  const pending: Operation[] = [];

  const input = (name: keyof Filters, placeholder: string, type = 'text'): HTMLInputElement =>
    h('input', { name, placeholder, type, value: type === 'datetime-local' ? localInput(filters[name]) : (filters[name] ?? ''), step: type === 'datetime-local' ? 1 : undefined });
  const replicaInput = input('replica', 'replica');
  // The Replica column and filter appear once the rows name more than one replica (a fleet on a
  // shared PostgreSQL store), or a replica filter is set: a single modeltap's view stays as it was.
  const replicas = new Set<string>();
  const table = h('table', { class: 'requests' });
  function fleet(ops: readonly Operation[]): void {
    for (const op of ops) if (op.replica !== null) replicas.add(op.replica);
    const shown = replicas.size > 1 || filters.replica !== undefined;
    table.classList.toggle('fleet', shown);
    replicaInput.hidden = !shown;
  }
  table.append(h('thead', {}, h('tr', {}, ...['Arrival', 'Model', 'Route', 'Transport', 'Status', 'First chunk', 'Duration', 'Tokens in → out', 'Cost', 'Conversation'].map((t) => h('th', {}, t)), h('th', { class: 'replica' }, 'Replica'))), body);
  fleet([]);
  const form = h(
    'form',
    { class: 'filters', on: { submit: (e) => apply(e) } },
    input('model', 'model'),
    input('route', 'route, e.g. /v1/responses'),
    input('status', 'status'),
    input('error', 'error type or any'),
    input('conversation', 'conversation id'),
    h('label', {}, 'from ', input('since', 'since', 'datetime-local')),
    h('label', {}, 'to ', input('until', 'until', 'datetime-local')),
    input('q', 'search ids (response, trace, turn, conversation)'),
    replicaInput,
    h('button', { type: 'submit' }, 'Filter'),
    h('a', { href: '#/requests', class: 'clear' }, 'Clear'),
  );

  function apply(event: Event): void {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (typeof value !== 'string' || value.trim() === '') continue;
      const local = (form.elements.namedItem(name) as HTMLInputElement | null)?.type === 'datetime-local';
      params.set(name, local ? String(new Date(value).getTime()) : value.trim());
    }
    const text = params.toString();
    location.hash = `#/requests${text === '' ? '' : `?${text}`}`;
  }

  function add(ops: readonly Operation[]): void {
    // Newest first: each newer operation goes on top.
    fleet(ops);
    for (const op of ops) if (matches(op, filters)) body.prepend(row(op));
    while (body.rows.length > MAX_ROWS) body.lastElementChild?.remove();
    const last = body.lastElementChild as HTMLElement | null;
    if (last !== null && body.rows.length === MAX_ROWS) {
      oldest = Number(last.dataset['id']);
      more.hidden = false;
    }
    empty();
  }

  function empty(): void {
    note.textContent = body.rows.length === 0 ? (Object.keys(filters).length > 0 ? 'No request matches these filters.' : 'No requests yet: send one through modeltap and it appears here.') : '';
  }

  async function load(before: number | undefined): Promise<void> {
    try {
      const page = await api<{ operations: Operation[]; next: number | null }>('operations', { ...filters, before, limit: PAGE });
      fleet(page.operations);
      for (const op of page.operations) body.append(row(op));
      oldest = page.next;
      more.hidden = page.next === null;
      empty();
    } catch (error) {
      note.textContent = error instanceof Error ? error.message : String(error);
    }
  }

  more.addEventListener('click', () => {
    if (oldest !== null) void load(oldest);
  });

  replace(
    root,
    h('h1', {}, 'Requests'),
    form,
    table,
    note,
    more,
  );

  const stop = ctx.live.listen((ops) => (loaded ? add(ops) : pending.push(...ops)));
  void ctx.live.ready.then(async () => {
    const cursor = ctx.live.cursor;
    await load(cursor === undefined ? undefined : cursor + 1);
    loaded = true;
    add(pending.splice(0));
  });
  return { dispose: stop };
}
