import { api, type Conversation, type Operation } from './api.js';
import { h, replace } from './dom.js';
import { count, ms, time, usd } from './format.js';
import type { Page, PageContext } from './page.js';

/** Refreshes on new requests at most this often, in ms (a busy agent writes many per second). */
const REFRESH_MS = 2000;

/** Calls `run` after new requests arrive, at most every {@link REFRESH_MS}. */
export function throttledRefresh(ctx: PageContext, run: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = ctx.live.listen(() => {
    timer ??= setTimeout(() => {
      timer = undefined;
      run();
    }, REFRESH_MS);
  });
  return () => {
    stop();
    if (timer !== undefined) clearTimeout(timer);
  };
}

function listPage(root: HTMLElement, ctx: PageContext): Page {
  const body = h('tbody', {});
  const note = h('p', { class: 'note' });
  replace(
    root,
    h('h1', {}, 'Conversations'),
    h('p', { class: 'hint' }, "A conversation is one Codex session (its session id): an agent task's turns."),
    h('table', { class: 'conversations' }, h('thead', {}, h('tr', {}, ...['Conversation', 'Requests', 'Errors', 'Started', 'Last answer', 'Time in requests', 'Tokens in', 'Tokens out', 'Cost'].map((t) => h('th', {}, t)))), body),
    note,
  );
  const load = (): void => {
    api<{ conversations: Conversation[] }>('conversations', { limit: 100 }).then(
      ({ conversations }) => {
        body.replaceChildren(
          ...conversations.map((c) => {
            const href = `#/conversations/${encodeURIComponent(c.conversationId)}`;
            return h(
              'tr',
              { class: 'clickable', 'data-conversation': c.conversationId, on: { click: () => void (location.hash = href) } },
              h('td', {}, h('a', { href }, c.conversationId)),
              h('td', { class: 'num' }, c.operations),
              h('td', { class: c.errors > 0 ? 'num bad' : 'num' }, c.errors),
              h('td', {}, time(c.firstArrivalMs)),
              h('td', {}, time(c.lastEndMs)),
              h('td', { class: 'num' }, ms(c.durationMs)),
              h('td', { class: 'num' }, count(c.inputTokens)),
              h('td', { class: 'num' }, count(c.outputTokens)),
              h('td', { class: 'num cost' }, `${usd(c.costPicos)}${c.unpriced > 0 ? ` + ${c.unpriced} unpriced` : ''}`),
            );
          }),
        );
        note.textContent = conversations.length === 0 ? 'No conversations yet: Codex sends its session id with every turn.' : '';
      },
      (error: unknown) => (note.textContent = String(error)),
    );
  };
  load();
  return { dispose: throttledRefresh(ctx, load) };
}

function conversationPage(root: HTMLElement, ctx: PageContext): Page {
  const id = ctx.id ?? '';
  const load = async (): Promise<void> => {
    const operations: Operation[] = [];
    // Newest first from the API, page by page; a long task has at most a few thousand turns.
    for (let before: number | undefined, pages = 0; pages < 20; pages++) {
      const page = await api<{ operations: Operation[]; next: number | null }>(`conversations/${encodeURIComponent(id)}`, { before, limit: 500 });
      operations.push(...page.operations);
      if (page.next === null) break;
      before = page.next;
    }
    operations.reverse();
    // A Codex task with sub-agents is several sessions: the one that spawned this, and those it spawned.
    const spawned = await api<{ operations: Operation[] }>('operations', { parent_thread: id, limit: 500 });
    const subagents = [...new Set(spawned.operations.map((o) => o.conversationId).filter((c): c is string => c !== null && c !== id))];
    const parent = operations.find((o) => o.parentThreadId !== null)?.parentThreadId ?? null;
    const link = (c: string): HTMLElement => h('a', { href: `#/conversations/${encodeURIComponent(c)}` }, c);
    const sum = (f: (o: Operation) => number | null): number => operations.reduce((a, o) => a + (f(o) ?? 0), 0);
    const errors = operations.filter((o) => o.errorType !== null).length;
    const unpriced = operations.filter((o) => o.inputTokens !== null && o.costPicos === null).length;
    const first = operations[0];
    const last = operations.at(-1);
    replace(
      root,
      h('p', {}, h('a', { href: '#/conversations' }, '← Conversations')),
      h('h1', {}, 'Conversation ', h('code', {}, id)),
      parent === null ? null : h('p', { class: 'spawned-by' }, 'A sub-agent, spawned by ', link(parent)),
      subagents.length === 0 ? null : h('p', { class: 'subagents' }, `Sub-agents it spawned (${subagents.length}): `, ...subagents.flatMap((c, i) => (i === 0 ? [link(c)] : [', ', link(c)]))),
      h(
        'div',
        { class: 'totals' },
        h('span', {}, `${operations.length} requests`),
        h('span', { class: errors > 0 ? 'bad' : '' }, `${errors} errors`),
        h('span', {}, `${count(sum((o) => o.inputTokens))} tokens in`),
        h('span', {}, `${count(sum((o) => o.outputTokens))} tokens out`),
        h('span', { class: 'cost' }, `${usd(sum((o) => o.costPicos))}${unpriced > 0 ? ` + ${unpriced} unpriced` : ''}`),
        h('span', {}, `${ms(sum((o) => o.durationMs))} in requests`),
        first && last ? h('span', {}, `${ms(last.endMs - first.arrivalMs)} from first to last`) : null,
      ),
      h(
        'table',
        { class: 'turns' },
        h('thead', {}, h('tr', {}, ...['#', 'Arrival', 'Turn', 'Kind', 'Model', 'Transport', 'Status', 'First chunk', 'Duration', 'Tokens in', 'Tokens out', 'Cost'].map((t) => h('th', {}, t)))),
        h(
          'tbody',
          {},
          ...operations.map((o, i) => {
            const href = `#/requests/${o.id}`;
            return h(
              'tr',
              { class: 'clickable', 'data-id': o.id, on: { click: () => void (location.hash = href) } },
              h('td', { class: 'num' }, i + 1),
              h('td', {}, h('a', { href }, time(o.arrivalMs))),
              h('td', {}, o.turnId ?? '–'),
              h('td', {}, o.requestKind ?? '–'),
              h('td', {}, o.responseModel ?? o.requestModel ?? '–'),
              h('td', {}, o.transport ?? '–'),
              h('td', { class: o.errorType !== null ? 'bad' : 'good' }, o.status ?? '–', o.errorType === null ? null : ` ${o.errorType}`),
              h('td', { class: 'num' }, ms(o.ttfcMs)),
              h('td', { class: 'num' }, ms(o.durationMs)),
              h('td', { class: 'num' }, count(o.inputTokens)),
              h('td', { class: 'num' }, count(o.outputTokens)),
              h('td', { class: 'num cost' }, o.inputTokens === null ? '–' : usd(o.costPicos)),
            );
          }),
        ),
      ),
    );
  };
  replace(root, h('p', { class: 'note' }, 'Loading…'));
  const run = (): void => void load().catch((error: unknown) => replace(root, h('p', { class: 'note' }, String(error))));
  run();
  return { dispose: throttledRefresh(ctx, run) };
}

/** Conversations (Codex sessions), and one conversation's turns in order with its totals. */
export function conversationsPage(root: HTMLElement, ctx: PageContext): Page {
  return ctx.id === undefined ? listPage(root, ctx) : conversationPage(root, ctx);
}
