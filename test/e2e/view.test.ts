// The live view in a real browser (Debian's Chromium through playwright-core): the built
// `modeltap serve --store`, the `openai` SDK and `codex exec` as callers, `modeltap sim` upstream.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactPath, launchChromium } from '../helpers/browser.js';
import { readmeConfig, runCli, runCodex, stoppedBy, type RunningCli } from './cli.js';

// The page's globals, for the functions that run in it: the test program has no DOM library (it
// would retype Node's globals, `performance` among them).
declare const document: any, window: any, location: any, MutationObserver: any;

const started = stoppedBy(afterAll);
let browser: Browser;
let sim: RunningCli;
let proxy: RunningCli;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'modeltap-view-e2e-'));
  browser = await launchChromium();
  started.add(() => browser.close());
  sim = await started.cli(['sim', '--port', '0']);
  proxy = await started.cli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`, '--store', join(dir, 'run.db'), '--trace-url', 'http://tempo.example/trace/{trace_id}']);
}, 30_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A page on the view, waiting until its stream is live; errors in the page fail the test. */
async function openView(path = '/'): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(`${proxy.url}${path}`);
  await page.locator('#status.live').waitFor();
  return { page, errors };
}

/**
 * Watches the open table for a new row of `model`; its `at` resolves with the epoch ms at which the
 * page added it. The watch is installed before this returns (so a row that arrives
 * at once is not missed), and the time is the page's own (a MutationObserver), not polling's.
 */
async function rowAdded(page: Page, model: string): Promise<{ readonly at: Promise<number> }> {
  const key = `rowAdded${Math.random().toString(36).slice(2)}`;
  await page.evaluate(
    ([wanted, slot]) => {
      const body = document.querySelector('table.requests tbody');
      window[slot] = new Promise<number>((resolve) => {
        new MutationObserver((mutations: { addedNodes: { cells?: { textContent: string }[] }[] }[], observer: { disconnect(): void }) => {
          for (const m of mutations) {
            for (const row of m.addedNodes) {
              if (row.cells?.[1]?.textContent === wanted) {
                observer.disconnect();
                resolve(Date.now());
                return;
              }
            }
          }
        }).observe(body, { childList: true });
      });
    },
    [model, key] as const,
  );
  // Wrapped: an async function's returned promise would be awaited with it.
  return { at: page.evaluate((slot) => window[slot] as Promise<number>, key) };
}

/** A row the open table added: its operation id, its conversation (the cell's title holds the whole id), when. */
interface AddedRow {
  readonly id: number;
  readonly conversation: string | null;
  readonly at: number;
}

/**
 * Records every row the open table adds from now on, timed as {@link rowAdded} times one (the
 * page's own Date.now() in a MutationObserver). `read` gives what it recorded so far; `rowsOf`
 * waits until it has recorded `count` rows of `conversation`.
 */
async function watchRows(page: Page): Promise<{ read(): Promise<AddedRow[]>; rowsOf(conversation: string, count: number): Promise<void> }> {
  const key = `addedRows${Math.random().toString(36).slice(2)}`;
  await page.evaluate((slot) => {
    const seen: AddedRow[] = (window[slot] = []);
    new MutationObserver((mutations: { addedNodes: { dataset?: Record<string, string>; cells?: { querySelector(s: string): { title: string } | null }[] }[] }[]) => {
      const at = Date.now();
      for (const m of mutations) {
        for (const row of m.addedNodes) {
          if (row.dataset?.['id'] === undefined) continue;
          seen.push({ id: Number(row.dataset['id']), conversation: row.cells?.[9]?.querySelector('a')?.title ?? null, at });
        }
      }
    }).observe(document.querySelector('table.requests tbody'), { childList: true });
  }, key);
  return {
    read: () => page.evaluate((slot) => window[slot] as AddedRow[], key),
    rowsOf: async (conversation, count) => {
      await page.waitForFunction(([slot, wanted, n]) => (window[slot] as AddedRow[]).filter((r) => r.conversation === wanted).length >= n, [key, conversation, count] as const);
    },
  };
}

/** One operation as `GET /modeltap/api/operations` lists it: the fields these tests read. */
interface StoredOperation {
  readonly id: number;
  readonly arrivalMs: number;
  readonly endMs: number;
  readonly route: string | null;
  readonly status: number | null;
  readonly errorType: string | null;
  readonly requestModel: string | null;
  readonly conversationId: string | null;
  readonly responseId: string | null;
  readonly traceId: string | null;
  readonly turnId: string | null;
}

/** The main proxy's stored operations for `query`, newest first. */
async function operations(query: string): Promise<{ operations: StoredOperation[]; next: number | null }> {
  const res = await fetch(`${proxy.url}/modeltap/api/operations?${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { operations: StoredOperation[]; next: number | null };
}

/** The Requests page's filter inputs (it also has `replica`, shown only for a fleet of replicas). */
const FILTER_INPUTS = ['model', 'route', 'status', 'error', 'conversation', 'since', 'until', 'q'] as const;
type FilterValues = Partial<Record<(typeof FILTER_INPUTS)[number], string | number>>;

/** A row of the Requests table as the page shows it. */
interface ListedRow {
  readonly id: number;
  readonly route: string;
  readonly status: string;
  readonly failed: boolean;
  readonly conversation: string | null;
}

/**
 * Fills the open Requests page's filter form with `values` and empties its other inputs (`since` and
 * `until` are epoch ms, typed as the page's local time into their `datetime-local` inputs), submits
 * it, and resolves once the hash carries exactly these filters and the list they select has loaded:
 * its rows, its note, and the hash's filters (the times as the epoch ms the page filters by).
 */
async function filterBy(page: Page, values: FilterValues): Promise<{ rows: ListedRow[]; note: string; query: Record<string, string> }> {
  for (const name of FILTER_INPUTS) {
    const value = values[name];
    // A time as the page's clock reads it (its time zone), to the second the input keeps.
    const text = value === undefined ? '' : name === 'since' || name === 'until' ? await page.evaluate((t) => new Date(t - new Date(t).getTimezoneOffset() * 60_000).toISOString().slice(0, 19), Number(value)) : String(value);
    await page.fill(`form.filters input[name="${name}"]`, text);
  }
  // The page swaps in a new list on hashchange, a task after the hash is set: until then the old
  // list is still there, so the wait below tells the two apart.
  await page.evaluate(() => (window.listBefore = document.querySelector('table.requests')));
  await page.click('form.filters button[type="submit"]');
  const texts = Object.entries(values).map(([name, value]) => [name, name === 'since' || name === 'until' ? null : String(value)] as const);
  await page.waitForFunction((wanted) => {
    const query = new URLSearchParams(location.hash.split('?')[1] ?? '');
    return [...query.keys()].length === wanted.length && wanted.every(([name, text]) => query.has(name) && (text === null || query.get(name) === text));
  }, texts);
  // Loaded: the first page of rows is appended at once, or the note says none matches.
  await page.waitForFunction(() => {
    const table = document.querySelector('table.requests');
    return table !== null && table !== window.listBefore && (table.tBodies[0].rows.length > 0 || document.querySelector('#page p.note')?.textContent !== '');
  });
  return page.evaluate(() => ({
    rows: [...document.querySelectorAll('table.requests tbody tr')].map((r: any) => ({
      id: Number(r.dataset.id),
      route: r.cells[2].textContent as string,
      status: r.cells[4].textContent as string,
      failed: r.cells[4].classList.contains('bad') as boolean,
      conversation: (r.cells[9].querySelector('a')?.title ?? null) as string | null,
    })),
    note: document.querySelector('#page p.note').textContent as string,
    query: Object.fromEntries(new URLSearchParams(location.hash.split('?')[1] ?? '')),
  }));
}

/** The first match of `pattern` in what `cli` printed on stderr, waiting for it to be printed. */
async function stderrLine(cli: RunningCli, pattern: RegExp): Promise<RegExpExecArray> {
  for (;;) {
    const match = pattern.exec(cli.stderr());
    if (match !== null) return match;
    await new Promise((resolve) => cli.proc.stderr?.once('data', resolve));
  }
}

const openai = (): OpenAI => new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'sk-view-e2e' });

describe('the live view', () => {
  it('shows each request within 1 s without a reload, and its waterfall has every event the upstream sent', async () => {
    const { page, errors } = await openView();
    await page.evaluate(() => (window.loadedOnce = true));
    const appeared = await rowAdded(page, 'gpt-5.1');
    let events = 0;
    const stream = await openai().responses.create({ model: 'gpt-5.1', input: 'hello', stream: true });
    for await (const _ of stream) events++;
    const done = Date.now();
    const at = await appeared.at;
    expect(at - done).toBeLessThan(1000);
    const chatAppeared = await rowAdded(page, 'gpt-4.1-mini');
    const chat = await openai().chat.completions.create({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
    for await (const _ of chat) void _;
    const chatDone = Date.now();
    expect((await chatAppeared.at) - chatDone).toBeLessThan(1000);
    // The same document all along: nothing reloaded it.
    expect(await page.evaluate(() => window.loadedOnce === true)).toBe(true);
    await page.screenshot({ path: artifactPath('view-requests.png'), fullPage: true });

    await page.locator('table.requests tbody tr', { hasText: 'gpt-5.1' }).first().click();
    const waterfall = page.locator('section.waterfall');
    await waterfall.waitFor();
    expect(Number(await waterfall.getAttribute('data-events'))).toBe(events);
    expect(await page.locator('.event-mark').count()).toBe(events);
    expect(await page.locator('table.events tbody tr').count()).toBe(events);
    // Its tokens, as the simulator reported them, and the trace link from --trace-url.
    const usage = await page.locator('section.usage').innerText();
    expect(usage).toMatch(/Input tokens\s+\d+/);
    expect(usage).toMatch(/Output tokens\s+\d+/);
    expect(usage).toMatch(/Cost\s+\$\d/);
    expect(await page.locator('a.trace-link').getAttribute('href')).toMatch(/^http:\/\/tempo\.example\/trace\/[0-9a-f]{32}$/);
    await page.screenshot({ path: artifactPath('view-request.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("shows each of Codex's requests in the open Requests page within 1 s, and groups its turns under its session id on the Conversations page", async () => {
    const { page: requests, errors: requestErrors } = await openView('/#/requests');
    await requests.evaluate(() => (window.loadedOnce = true));
    const added = await watchRows(requests);
    const before = await (await fetch(`${sim.url}/__sim/log`)).json() as unknown[];
    const run = await runCodex(readmeConfig(`${proxy.url}/v1`, false));
    expect(run.code, run.stderr).toBe(0);
    const log = ((await (await fetch(`${sim.url}/__sim/log`)).json()) as { headers: Record<string, string> }[]).slice(before.length);
    const sessions = new Set(log.map((e) => e.headers['session-id']).filter((s): s is string => s !== undefined));
    expect(sessions.size).toBe(1);
    const session = [...sessions][0] as string;
    const modelCalls = log.filter((e) => e.headers['session-id'] === session).length;
    expect(modelCalls).toBeGreaterThan(0);

    // Each of them is a row the open page added, no more, and each within 1 s of the moment the
    // proxy finished it: the store's endMs and the page's Date.now(), one machine's clock.
    await added.rowsOf(session, modelCalls);
    const codexRows = (await added.read()).filter((r) => r.conversation === session);
    const stored = await operations(`conversation=${encodeURIComponent(session)}`);
    expect(stored.operations.length).toBe(modelCalls);
    expect(codexRows.map((r) => r.id).sort((a, b) => a - b)).toEqual(stored.operations.map((op) => op.id).sort((a, b) => a - b));
    for (const op of stored.operations) {
      const shown = codexRows.find((r) => r.id === op.id) as AddedRow;
      expect(shown.at - op.endMs, `operation ${op.id}`).toBeLessThan(1000);
    }
    expect(await requests.evaluate(() => window.loadedOnce === true)).toBe(true);
    expect(requestErrors).toEqual([]);
    await requests.close();

    const { page, errors } = await openView('/#/conversations');
    const row = page.locator(`tr[data-conversation="${session}"]`);
    await row.waitFor();
    await row.click();
    const turns = page.locator('table.turns tbody tr');
    await turns.first().waitFor();
    expect(await turns.count()).toBe(modelCalls);
    expect(await page.locator('h1 code').innerText()).toBe(session);
    await page.screenshot({ path: artifactPath('view-conversation.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
    }, 60_000);

  it('narrows the list by its filters and draws the Overview charts with points', async () => {
    for (const model of ['gpt-4.1-mini', 'gpt-5.1', 'gpt-4.1-mini']) await openai().responses.create({ model, input: 'filter me' });
    const { page, errors } = await openView('/#/requests');
    const rows = page.locator('table.requests tbody tr');
    await rows.first().waitFor();
    const all = await rows.count();
    await page.fill('input[name="model"]', 'gpt-4.1-mini');
    await page.click('form.filters button[type="submit"]');
    await page.waitForFunction(() => location.hash.includes('model=gpt-4.1-mini'));
    await page.waitForFunction(() => {
      const cells = [...document.querySelectorAll('table.requests tbody tr')].map((r: any) => r.cells[1]?.textContent as string);
      return cells.length > 0 && cells.every((c) => c === 'gpt-4.1-mini');
    });
    const narrowed = await rows.count();
    expect(narrowed).toBeGreaterThanOrEqual(3);
    expect(narrowed).toBeLessThan(all);
    // A request that does not match does not join the filtered list when it arrives.
    await openai().responses.create({ model: 'gpt-5.1', input: 'not this one' });
    const mini = await rowAdded(page, 'gpt-4.1-mini');
    await openai().responses.create({ model: 'gpt-4.1-mini', input: 'this one' });
    await mini.at;
    expect(await rows.count()).toBe(narrowed + 1);

    await page.goto(`${proxy.url}/#/overview?range=15m`);
    const chart = page.locator('.chart[data-title="Requests per second"]');
    await chart.waitFor();
    expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThan(0);
    for (const title of ['Time to first chunk', 'Duration', 'Tokens per second (input + output)']) {
      expect(Number(await page.locator(`.chart[data-title="${title}"]`).getAttribute('data-points')), title).toBeGreaterThan(0);
    }
    expect(await page.locator('.chart canvas').count()).toBe(6);
    await page.screenshot({ path: artifactPath('view-overview.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('narrows the list by route, status, error type, conversation, time range and a search on ids', async () => {
    // A known mix, each request under a model of its own so that its row can be awaited.
    const tag = Math.random().toString(36).slice(2, 8);
    const model = { responses: `mix-responses-${tag}`, chat: `mix-chat-${tag}`, failing: `mix-failing-${tag}`, conversation: `mix-conversation-${tag}` };
    const session = `view-e2e-session-${tag}`;
    const { page, errors } = await openView('/#/requests');
    const arrived = await Promise.all(Object.values(model).map((m) => rowAdded(page, m)));
    const sent = Date.now();
    const response = await openai().responses.create({ model: model.responses, input: 'mix' });
    await openai().chat.completions.create({ model: model.chat, messages: [{ role: 'user', content: 'mix' }] });
    const failing = await fetch(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sim-fault': 'status:400' }, body: JSON.stringify({ model: model.failing, input: 'mix' }) });
    expect(failing.status).toBe(400);
    await failing.text();
    await openai().responses.create({ model: model.conversation, input: 'mix' }, { headers: { 'session-id': session } });
    const done = Date.now();
    for (const a of arrived) await a.at;
    const all = await page.locator('table.requests tbody tr').count();

    // What each filter must list, decided here from everything stored (the page lists it all: fewer
    // than its first 100 rows), newest first as the page lists it.
    const stored = await operations('limit=500');
    expect(stored.next).toBeNull();
    expect(stored.operations.length).toBe(all);
    const mixOf = (m: string): StoredOperation => {
      const found = stored.operations.filter((op) => op.requestModel === m);
      expect(found, m).toHaveLength(1);
      return found[0] as StoredOperation;
    };
    const mix = { responses: mixOf(model.responses), chat: mixOf(model.chat), failing: mixOf(model.failing), conversation: mixOf(model.conversation) };
    const mixIds = new Set(Object.values(mix).map((op) => op.id));
    expect(mix.responses.responseId).toBe(response.id);
    expect(mix.chat.route).not.toBe(mix.responses.route);
    expect(mix.failing.status).toBe(400);
    expect(mix.failing.errorType).not.toBeNull();
    expect(mix.conversation.conversationId).toBe(session);
    /** Filters the page with `values`: it lists exactly the stored operations `keep` passes, of the mix exactly `fromMix`, fewer than all. */
    const listed = async (values: FilterValues, keep: (op: StoredOperation) => boolean, fromMix: readonly StoredOperation[]): Promise<ListedRow[]> => {
      const { rows } = await filterBy(page, values);
      const label = JSON.stringify(values);
      expect(rows.map((r) => r.id), label).toEqual(stored.operations.filter(keep).map((op) => op.id));
      expect(rows.filter((r) => mixIds.has(r.id)).map((r) => r.id), label).toEqual(fromMix.map((op) => op.id));
      expect(rows.length, label).toBeLessThan(all);
      return rows;
    };

    const chatRoute = mix.chat.route as string;
    for (const row of await listed({ route: chatRoute }, (op) => op.route === chatRoute, [mix.chat])) expect(row.route).toBe(chatRoute);
    for (const row of await listed({ status: 400 }, (op) => op.status === 400, [mix.failing])) expect(row.status).toMatch(/^400\b/);
    const errorType = mix.failing.errorType as string;
    for (const row of await listed({ error: errorType }, (op) => op.errorType === errorType, [mix.failing])) expect(row.status).toContain(errorType);
    for (const row of await listed({ error: 'any' }, (op) => op.errorType !== null, [mix.failing])) expect(row.failed).toBe(true);
    for (const row of await listed({ conversation: session }, (op) => op.conversationId === session, [mix.conversation])) expect(row.conversation).toBe(session);
    // A search on ids: the response id finds its request, the conversation id the one in it.
    await listed({ q: response.id }, (op) => op.responseId === response.id, [mix.responses]);
    await listed({ q: session }, (op) => [op.responseId, op.traceId, op.conversationId, op.turnId].includes(session), [mix.conversation]);

    // A time range that ends before the mix was sent lists none of it (the input keeps whole
    // seconds: the page filters by the time the hash carries, at most `sent`).
    const early = await filterBy(page, { until: sent });
    const until = Number(early.query['until']);
    expect(until).toBeLessThanOrEqual(sent);
    expect(until).toBeGreaterThan(sent - 1000);
    expect(early.rows.map((r) => r.id)).toEqual(stored.operations.filter((op) => op.arrivalMs < until).map((op) => op.id));
    expect(early.rows.filter((r) => mixIds.has(r.id))).toEqual([]);
    expect(early.rows.length).toBeLessThan(all);
    if (early.rows.length === 0) expect(early.note).toBe('No request matches these filters.');
    // So does one that begins after it: nothing arrived since.
    const late = await filterBy(page, { since: done + 1000 });
    expect(Number(late.query['since'])).toBeGreaterThanOrEqual(done);
    expect(late.rows).toEqual([]);
    expect(late.note).toBe('No request matches these filters.');
    // One from just before the mix to past it lists all of it, and only what arrived in it.
    const around = await filterBy(page, { since: sent, until: done + 1000 });
    const [since, to] = [Number(around.query['since']), Number(around.query['until'])];
    expect(around.rows.map((r) => r.id)).toEqual(stored.operations.filter((op) => op.arrivalMs >= since && op.arrivalMs < to).map((op) => op.id));
    expect(around.rows.filter((r) => mixIds.has(r.id)).map((r) => r.id).sort((a, b) => a - b)).toEqual([...mixIds].sort((a, b) => a - b));
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a retried request: a lane per attempt with each retry marked; a failed one: what its error said and the upstream request id', async () => {
    const { page, errors } = await openView();
    const retried = await rowAdded(page, 'retried-model');
    // The simulator answers the first two requests carrying this header value 503, then streams.
    const answer = await fetch(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sim-fault': 'status:503;times=2' }, body: JSON.stringify({ model: 'retried-model', input: 'x', stream: true }) });
    expect(answer.status).toBe(200);
    await answer.text();
    await retried.at;
    await page.locator('table.requests tbody tr', { hasText: 'retried-model' }).first().click();
    const waterfall = page.locator('section.waterfall');
    await waterfall.waitFor();
    expect(await waterfall.getAttribute('data-attempts')).toBe('3');
    expect(await page.locator('.attempt-lane .lane-name').allInnerTexts()).toEqual(['attempt 1: HTTP 503', 'attempt 2: HTTP 503', 'attempt 3: HTTP 200']);
    expect(await page.locator('.retry-mark').count()).toBe(2);
    expect(await page.locator('.mark.retry').innerText()).toBe('2 retries before this answer');
    expect(await page.locator('table.attempts tbody tr td:nth-child(4)').allInnerTexts()).toEqual(['HTTP 503', 'HTTP 503', 'HTTP 200']);
    await page.screenshot({ path: artifactPath('view-retried.png'), fullPage: true });

    await page.goto(`${proxy.url}/#/requests`);
    const refused = await rowAdded(page, 'refused-model');
    expect((await fetch(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sim-fault': 'status:400' }, body: JSON.stringify({ model: 'refused-model', input: 'x' }) })).status).toBe(400);
    await refused.at;
    await page.locator('table.requests tbody tr', { hasText: 'refused-model' }).first().click();
    const error = page.locator('section.error-detail');
    await error.waitFor();
    // The simulator's OpenAI-shaped body, read to its message; its x-request-id to quote upstream.
    expect(await error.locator('dl').innerText()).toMatch(/Type\s+400\s+Message\s+simulated 400\s+Upstream request id\s+req_sim/);
    expect(await error.locator('table.attempts tbody tr').count()).toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('links a Codex session to the sub-agents it spawned, and each sub-agent to its parent', async () => {
    const root = `task-root-${Date.now()}`;
    const sub = `task-sub-${Date.now()}`;
    const { page, errors } = await openView();
    const rootRow = await rowAdded(page, 'root-model');
    const subRow = await rowAdded(page, 'subagent-model');
    const send = (model: string, headers: Record<string, string>) =>
      fetch(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ model, input: 'x' }) }).then((r) => r.text());
    await send('root-model', { 'session-id': root, 'thread-id': root, 'x-codex-turn-metadata': JSON.stringify({ request_kind: 'turn', turn_id: 't-root' }) });
    // As Codex sends a spawned sub-agent's turn: its own session and thread, its parent in the metadata.
    await send('subagent-model', { 'session-id': sub, 'thread-id': sub, 'x-codex-turn-metadata': JSON.stringify({ request_kind: 'subagent_turn', turn_id: 't-sub', parent_thread_id: root }) });
    await rootRow.at;
    await subRow.at;
    await page.goto(`${proxy.url}/#/conversations/${encodeURIComponent(root)}`);
    const spawned = page.locator('p.subagents a');
    await spawned.first().waitFor();
    expect(await spawned.allInnerTexts()).toEqual([sub]);
    expect(await page.locator('p.spawned-by').count()).toBe(0);
    await spawned.first().click();
    await page.locator('p.spawned-by a').waitFor();
    expect(await page.locator('h1 code').innerText()).toBe(sub);
    expect(await page.locator('p.spawned-by a').innerText()).toBe(root);
    await page.locator('table.turns tbody tr').first().click();
    await page.locator('a.parent-thread').waitFor();
    expect(await page.locator('a.parent-thread').getAttribute('href')).toBe(`#/conversations/${encodeURIComponent(root)}`);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('beyond loopback a browser trades ?key= for an HttpOnly cookie that opens the view and its API only', async () => {
    const keyed = await started.cli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`, '--store', 'memory', '--access-key', 'view-key-1']);
    expect((await fetch(`${keyed.url}/`)).status).toBe(401);
    expect((await fetch(`${keyed.url}/?key=wrong`)).status).toBe(401);
    const exchange = await fetch(`${keyed.url}/?key=view-key-1`, { redirect: 'manual' });
    expect(exchange.status).toBe(303);
    expect(exchange.headers.get('location')).toBe('/');
    const cookie = exchange.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^modeltap_view=[\w-]+; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(cookie).not.toContain('view-key-1');
    const jar = cookie.split(';')[0] as string;
    expect((await fetch(`${keyed.url}/modeltap/api/operations`, { headers: { cookie: jar } })).status).toBe(200);
    // The cookie is not the key: it spends no credentials.
    const model = await fetch(`${keyed.url}/v1/responses`, { method: 'POST', headers: { cookie: jar, 'content-type': 'application/json' }, body: '{"model":"m","input":"x"}' });
    expect(model.status).toBe(401);

    const page = await browser.newPage();
    await page.goto(`${keyed.url}/?key=view-key-1`);
    await page.locator('#status.live').waitFor();
    expect(page.url()).toBe(`${keyed.url}/`);
    const appeared = page.locator('table.requests tbody tr').first().waitFor();
    await fetch(`${keyed.url}/v1/responses`, { method: 'POST', headers: { 'x-modeltap-key': 'view-key-1', 'content-type': 'application/json' }, body: '{"model":"keyed","input":"x"}' }).then((r) => r.text());
    await appeared;
    await page.close();
  });

  it('modeltap view PATH opens a stored run later, read-only, with no proxy in it', async () => {
    const path = join(dir, 'ci-run.db');
    const run = await started.cli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`, '--store', path]);
    let events = 0;
    const stream = await new OpenAI({ baseURL: `${run.url}/v1`, apiKey: 'sk-view-e2e' }).responses.create({ model: 'stored-model', input: 'keep me', stream: true });
    for await (const _ of stream) events++;
    expect(await run.stop('SIGTERM')).toBe(0);
    expect((await runCli(['view', join(dir, 'missing.db'), '--port', '0'])).stderr).toContain('no store at');

    const viewer = await started.cli(['view', path, '--port', '0']);
    expect(viewer.stderr()).toContain('read-only: requests up to #1');
    expect((await fetch(`${viewer.url}/v1/responses`, { method: 'POST', body: '{}' })).status).toBe(404);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${viewer.url}/`);
    await page.locator('#status.stored').waitFor();
    const row = page.locator('table.requests tbody tr', { hasText: 'stored-model' });
    await row.click();
    await page.locator('section.waterfall').waitFor();
    expect(await page.locator('.event-mark').count()).toBe(events);
    expect(await page.locator('section.usage').innerText()).toMatch(/Total\s+\d+/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a new user: serve --upstream sim, one request, the printed URL shows it, its waterfall and its tokens", async () => {
    const home = join(dir, 'new-user');
    const cli = await started.cli(['serve', '--upstream', 'sim', '--port', '0'], { HOME: home });
    const printed = (await stderrLine(cli, /modeltap live view: (http:\/\/\S+)/))[1];
    expect(printed).toBe(`${cli.url}/`);
    const answer = (await (await fetch(`${cli.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-5.1', input: 'hello', stream: true }) })).text());
    const events = answer.split('\n\n').filter((e) => e.includes('data:')).length;
    const page = await browser.newPage();
    await page.goto(printed as string);
    await page.locator('table.requests tbody tr', { hasText: 'gpt-5.1' }).click();
    await page.locator('section.waterfall').waitFor();
    expect(await page.locator('.event-mark').count()).toBe(events);
    expect(await page.locator('section.usage').innerText()).toMatch(/Input tokens\s+[1-9]\d*[\s\S]*Output tokens\s+[1-9]/);
    await page.close();
  });

  it('says so when the store cannot be written, while the relay serves on', async () => {
    const cli = await started.cli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`, '--store', '/proc/modeltap-cannot/run.db']);
    expect((await fetch(`${cli.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m","input":"x"}' })).status).toBe(200);
    const page = await browser.newPage();
    await page.goto(`${cli.url}/`);
    const banner = page.locator('#banner');
    await banner.locator('text=is failing').waitFor();
    expect(await banner.innerText()).toContain('store_unavailable');
    await page.close();
  });

  it('keeps at most 500 rows in an open page however many requests arrive, the rest a click away', async () => {
    const cli = await started.cli(['serve', '--port', '0', '--upstream', `${sim.url}/v1`, '--store', 'memory']);
    const page = await browser.newPage();
    await page.goto(`${cli.url}/`);
    await page.locator('#status.live').waitFor();
    const last = await rowAdded(page, 'last');
    const post = (model: string) => fetch(`${cli.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, input: 'x' }) }).then((r) => r.text());
    for (let i = 0; i < 26; i++) await Promise.all(Array.from({ length: 20 }, () => post('many')));
    await post('last');
    await last.at;
    const rows = page.locator('table.requests tbody tr');
    expect(await rows.count()).toBe(500);
    await page.locator('button.more').click();
    await page.waitForFunction(() => document.querySelectorAll('table.requests tbody tr').length > 500);
    expect(await rows.count()).toBe(521);
    await page.close();
  }, 60_000);
});
