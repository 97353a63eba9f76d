// `modeltap serve --store postgres://…` end to end: three replicas of the built CLI (the built-in
// simulator upstream) on one PostgreSQL started by the test (initdb, pg_ctl). They start together
// (one migration), a view's live feed on one receives what the other two served, with their
// replica names, within 1 s; the database stopped mid-run costs the relays nothing, the dropped
// rows are counted, and writes resume when it is back.
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PG_SCHEMA_VERSION } from '../../src/store/pg-schema.js';
import { queryAt, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { sseEvents, type SseEvents } from '../helpers/sse-events.js';
import { artifactPath, launchChromium } from '../helpers/browser.js';
import { runCli, stoppedBy, type RunningCli } from './cli.js';

// The page's globals, for the functions that run in it (the test program has no DOM library).
declare const document: any;

const started = stoppedBy(afterEach);
let server: TestPostgres;
let databases = 0;
beforeAll(async () => {
  server = await startPostgres('e2e');
}, 120_000);
afterAll(() => server?.stop());
const streams: SseEvents[] = [];
afterEach(() => {
  for (const s of streams.splice(0)) s.close();
});

/** Polls `check` every 25 ms, at most `tries` times, until it holds. */
async function until(check: () => boolean | Promise<boolean>, what: string, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`never: ${what}`);
}

const storeInfo = async (cli: RunningCli): Promise<{ open: boolean; dropped: number; fault: { code: string } | null; location: string }> =>
  (await (await fetch(`${cli.url}/modeltap/api/store`)).json()) as { open: boolean; dropped: number; fault: { code: string } | null; location: string };

/** Replicas (r1, r2 and r3) on `url`, started at once; resolves when each one's store is open (the relay does not wait for it). */
async function replicas(url: string, names = ['r1', 'r2', 'r3']): Promise<RunningCli[]> {
  const clis = await Promise.all(names.map((name) => started.cli(['serve', '--upstream', 'sim', '--port', '0', '--store', url, '--replica', name])));
  for (const cli of clis) await until(async () => (await storeInfo(cli)).open, 'the store open');
  return clis;
}

const post = (cli: RunningCli, model: string) =>
  fetch(`${cli.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, input: 'hi', stream: true }) }).then(async (r) => ({ status: r.status, text: await r.text() }));

interface LiveOperation {
  readonly id: number;
  readonly replica: string | null;
  readonly requestModel: string | null;
}

/** Operations pushed on a live feed, with the time each arrived (performance.now()). */
function collect(stream: SseEvents): { readonly seen: (LiveOperation & { readonly at: number })[] } {
  const seen: (LiveOperation & { at: number })[] = [];
  void (async () => {
    for (;;) {
      const event = await stream.next('operations');
      const at = performance.now();
      for (const op of (event['operations'] as LiveOperation[]) ?? []) seen.push({ ...op, at });
    }
  })();
  return { seen };
}

describe('modeltap serve --store postgres://', () => {
  it('three replicas migrate once; the live feed of r1 shows what r2 and r3 served, named, within 1 s', async () => {
    const url = await server.createDatabase(`fleet${++databases}`);
    const [r1, r2, r3] = (await replicas(url)) as [RunningCli, RunningCli, RunningCli];
    expect(await queryAt(url, 'SELECT version FROM modeltap_schema')).toEqual([{ version: PG_SCHEMA_VERSION }]);
    expect(await storeInfo(r1)).toMatchObject({ location: url, open: true, fault: null });
    for (const cli of [r1, r2, r3]) expect(cli.stderr()).not.toMatch(/failed/);
    expect(r1.stderr()).toContain(`requests kept in ${url}, shared by every replica; this one is r1`);
    const live = await sseEvents(`${r1.url}/modeltap/api/live`);
    streams.push(live);
    await live.next('ready');
    const feed = collect(live);
    // r2 through the openai SDK, r3 by plain fetch: each request's end, then the wait for it on r1.
    const sdk = new OpenAI({ baseURL: `${r2.url}/v1`, apiKey: 'sk-test' });
    const served: { replica: string; model: string; done: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const stream = await sdk.responses.create({ model: `sdk-${i}`, input: 'hi', stream: true });
      for await (const _ of stream) void _;
      served.push({ replica: 'r2', model: `sdk-${i}`, done: performance.now() });
      expect((await post(r3, `fetch-${i}`)).status).toBe(200);
      served.push({ replica: 'r3', model: `fetch-${i}`, done: performance.now() });
    }
    await until(() => served.every((s) => feed.seen.some((o) => o.requestModel === s.model)), 'every request on r1');
    for (const s of served) {
      const op = feed.seen.find((o) => o.requestModel === s.model);
      expect([s.model, op?.replica]).toEqual([s.model, s.replica]);
      expect([s.model, (op?.at ?? Infinity) - s.done < 1000]).toEqual([s.model, true]);
    }
    // Each operation once, in id order.
    const ids = feed.seen.map((o) => o.id);
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
    // The API of r1 reads the fleet's rows, and filters by replica.
    const byReplica = (await (await fetch(`${r1.url}/modeltap/api/operations?replica=r3`)).json()) as { operations: LiveOperation[] };
    expect(byReplica.operations.map((o) => o.requestModel)).toEqual(['fetch-2', 'fetch-1', 'fetch-0']);
    // `report --from` the shared store: the summary of the whole fleet, one group per model here.
    const report = await runCli(['report', '--from', url, '--format', 'json']);
    expect(report.stderr).toBe('');
    const groups = (JSON.parse(report.stdout) as { groups: { model?: string; count: number }[] }).groups;
    expect(groups.map((g) => [g.model, g.count]).sort()).toEqual(served.map((x) => [x.model, 1]).sort());
  });

  it("r1's view in a browser lists r2's and r3's requests, live, with the Replica column and filter", async () => {
    const url = await server.createDatabase(`fleet${++databases}`);
    const [r1, r2, r3] = (await replicas(url)) as [RunningCli, RunningCli, RunningCli];
    const browser = await launchChromium();
    started.add(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // One replica's rows alone: a single modeltap's view, no Replica column.
    expect((await post(r1, 'on-r1')).status).toBe(200);
    await page.goto(`${r1.url}/`);
    await page.locator('#status.live').waitFor();
    await page.locator('table.requests tbody tr').first().waitFor();
    expect(await page.locator('table.requests th.replica').isVisible()).toBe(false);
    // Served by the other two while the page is open: they arrive live, and the column appears.
    const rows = async (): Promise<string[][]> =>
      page.evaluate(() => [...document.querySelectorAll('table.requests tbody tr')].map((r: any) => [r.cells[1].textContent, r.cells[r.cells.length - 1].textContent]));
    expect((await post(r2, 'on-r2')).status).toBe(200);
    // Each replica writes its rows in its own time: r3's would take the lower id if it committed
    // first, so r3 is sent to only once r2's row is on the page (the order asserted below).
    await until(async () => (await rows()).length === 2, "r2's row on the page");
    expect((await post(r3, 'on-r3')).status).toBe(200);
    await until(async () => (await rows()).length === 3, 'three rows on the page');
    expect(await rows()).toEqual([
      ['on-r3', 'r3'],
      ['on-r2', 'r2'],
      ['on-r1', 'r1'],
    ]);
    expect(await page.locator('table.requests th.replica').isVisible()).toBe(true);
    expect(await page.locator('form.filters input[name=replica]').isVisible()).toBe(true);
    await page.screenshot({ path: artifactPath('view-fleet.png'), fullPage: true });
    // The replica filter, from a replica cell's link: r2's rows alone, new ones of r3 not shown.
    await page.locator('table.requests td.replica a', { hasText: 'r2' }).click();
    await until(async () => JSON.stringify(await rows()) === JSON.stringify([['on-r2', 'r2']]), "r2's rows alone");
    expect((await post(r3, 'on-r3-again')).status).toBe(200);
    expect((await post(r2, 'on-r2-again')).status).toBe(200);
    await until(async () => (await rows()).length === 2, "r2's new row");
    expect(await rows()).toEqual([
      ['on-r2-again', 'r2'],
      ['on-r2', 'r2'],
    ]);
    expect(errors).toEqual([]);
  }, 60_000);

  it('the database stopped mid-run: the relays keep serving, drops are counted, writes resume when it is back', async () => {
    const own = await startPostgres('away');
    try {
      // A password in the URL (the test server trusts any): never printed, nor answered by the API.
      const url = own.url.replace('postgres@', 'postgres:hunter2@');
      const [a, b] = (await replicas(url, ['a', 'b'])) as [RunningCli, RunningCli];
      expect((await storeInfo(a)).location).toBe(own.url.replace('postgres@', 'postgres:***@'));
      expect((await post(a, 'before')).status).toBe(200);
      await until(async () => (await own.query("SELECT 1 FROM operations WHERE request_model = 'before'")).length === 1, 'the first row written');
      own.stopServer();
      for (let i = 0; i < 5; i++) for (const cli of [a, b]) expect((await post(cli, `while-${i}`)).status).toBe(200);
      const dropped = async (cli: RunningCli): Promise<number> => {
        const text = await (await fetch(`${cli.url}/metrics`)).text();
        return text
          .split('\n')
          .filter((l) => l.startsWith('modeltap_telemetry_dropped_total{') && l.includes('signal="store"') && l.includes('reason="store_unavailable"'))
          .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
      };
      for (const cli of [a, b]) {
        await until(async () => (await dropped(cli)) >= 5, 'five rows dropped and counted');
        const info = await storeInfo(cli);
        expect(info).toMatchObject({ open: false, fault: { code: 'store_unavailable' } });
        expect(info.dropped).toBe(await dropped(cli));
        expect(cli.stderr().match(/failed \(store_unavailable/g)).toHaveLength(1);
      }
      own.start();
      for (const cli of [a, b]) await until(async () => (await storeInfo(cli)).open, 'the store open again');
      for (const cli of [a, b]) expect((await post(cli, `after-${cli === a ? 'a' : 'b'}`)).status).toBe(200);
      await until(async () => (await own.query("SELECT replica FROM operations WHERE request_model LIKE 'after-%'")).length === 2, 'writes after the return');
      expect(await own.query("SELECT request_model, replica FROM operations WHERE request_model LIKE 'after-%' ORDER BY replica")).toEqual([
        { request_model: 'after-a', replica: 'a' },
        { request_model: 'after-b', replica: 'b' },
      ]);
      for (const cli of [a, b]) expect(cli.stderr().match(/works again/g)).toHaveLength(1);
      for (const cli of [a, b]) expect(cli.stderr()).not.toContain('hunter2');
      expect(a.stderr()).toContain('postgres:***@');
      for (const cli of [a, b]) expect(await cli.stop('SIGTERM')).toBe(0);
    } finally {
      own.stop();
    }
  }, 60_000);
});
