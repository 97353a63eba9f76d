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

  it("groups Codex's turns under its session id on the Conversations page", async () => {
    const before = await (await fetch(`${sim.url}/__sim/log`)).json() as unknown[];
    const run = await runCodex(readmeConfig(`${proxy.url}/v1`, false));
    expect(run.code, run.stderr).toBe(0);
    const log = ((await (await fetch(`${sim.url}/__sim/log`)).json()) as { headers: Record<string, string> }[]).slice(before.length);
    const sessions = new Set(log.map((e) => e.headers['session-id']).filter((s): s is string => s !== undefined));
    expect(sessions.size).toBe(1);
    const session = [...sessions][0] as string;
    const { page, errors } = await openView('/#/conversations');
    const row = page.locator(`tr[data-conversation="${session}"]`);
    await row.waitFor();
    await row.click();
    const turns = page.locator('table.turns tbody tr');
    await turns.first().waitFor();
    const modelCalls = log.filter((e) => e.headers['session-id'] === session).length;
    expect(await turns.count()).toBe(modelCalls);
    expect(await page.locator('h1 code').innerText()).toBe(session);
    await page.screenshot({ path: artifactPath('view-conversation.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

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
