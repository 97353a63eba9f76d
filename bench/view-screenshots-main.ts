#!/usr/bin/env node
/**
 * `npm run screenshot:view`: regenerates the live view's pictures in docs/view/ from a real run. It
 * starts the simulator and modeltap (its store in memory), sends a minute of mixed traffic through
 * the `openai` SDK (Codex-style sessions of several turns, Responses and Chat streams, JSON calls,
 * upstream 500s that modeltap retries, a stream the upstream cuts), and photographs the Requests,
 * one request, a conversation and the Overview in Debian's Chromium (playwright-core).
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { chromium } from 'playwright-core';
import { startChildCli } from './child-cli.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const out = `${repo}docs/view/`;
const children: ChildProcess[] = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const start = async (args: string[]): Promise<string> => (await startChildCli(repo, args, children, { PATH: process.env['PATH'] })).url;

async function main(): Promise<void> {
  const sim = await start(['sim', '--port', '0', '--gap-ms', '12', '--ttfb-ms', '180']);
  const proxy = await start(['serve', '--port', '0', '--upstream', `${sim}/v1`, '--store', 'memory', '--request-max-retries', '2', '--trace-url', 'http://127.0.0.1:3000/explore?traceId={trace_id}']);
  const seconds = Number(process.argv[2] ?? 60);
  const deadline = Date.now() + seconds * 1000;
  process.stderr.write(`driving traffic for ${seconds} s…\n`);
  const models = ['gpt-5.1-codex', 'gpt-5.1', 'gpt-4.1-mini'];
  // A Codex task: a session of four turns.
  let session = randomUUID();
  for (let i = 0; Date.now() < deadline; i++) {
    if (i % 4 === 0) session = randomUUID();
    const fault = i % 13 === 5 ? { 'x-sim-fault': `status:500;times=1;key=${i}` } : i % 29 === 7 ? { 'x-sim-fault': 'reset:6' } : {};
    const openai = new OpenAI({
      baseURL: `${proxy}/v1`,
      apiKey: 'sk-screenshot',
      maxRetries: 0,
      defaultHeaders: { 'session-id': session, originator: 'codex_exec', 'x-codex-turn-metadata': JSON.stringify({ request_kind: 'turn', turn_id: `turn-${i}` }), ...fault },
    });
    const model = models[i % models.length] as string;
    const calls = [
      (async () => {
        const stream = await openai.responses.create({ model, input: `turn ${i}`, stream: true });
        for await (const _ of stream) void _;
      })(),
      i % 3 === 0 ? openai.responses.create({ model: 'gpt-4.1-mini', input: `summary ${i}` }) : Promise.resolve(),
      i % 4 === 0
        ? (async () => {
            const chat = await openai.chat.completions.create({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: `chat ${i}` }], stream: true, stream_options: { include_usage: true } });
            for await (const _ of chat) void _;
          })()
        : Promise.resolve(),
    ];
    await Promise.allSettled(calls);
    await sleep(250);
  }
  mkdirSync(out, { recursive: true });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    await page.goto(`${proxy}/#/requests`);
    await page.locator('table.requests tbody tr').first().waitFor();
    await page.screenshot({ path: `${out}requests.png` });
    // One request retried after a 500, if the run had one: its waterfall shows each attempt.
    const { operations } = (await (await fetch(`${proxy}/modeltap/api/operations?limit=500`)).json()) as { operations: { id: number; retries: number; transport: string | null }[] };
    const retried = operations.find((o) => o.retries > 0 && o.transport === 'http_sse');
    if (retried !== undefined) await page.goto(`${proxy}/#/requests/${retried.id}`);
    else await page.locator('table.requests tbody tr', { hasText: 'gpt-5.1-codex' }).first().click();
    await page.locator('section.waterfall').waitFor();
    await page.screenshot({ path: `${out}request.png` });
    await page.goto(`${proxy}/#/conversations`);
    await page.locator('table.conversations tbody tr').nth(1).click();
    await page.locator('table.turns tbody tr').first().waitFor();
    await page.screenshot({ path: `${out}conversation.png` });
    await page.goto(`${proxy}/#/overview?range=15m`);
    await page.locator('.chart canvas').nth(5).waitFor();
    await page.screenshot({ path: `${out}overview.png`, fullPage: true });
  } finally {
    await browser.close();
  }
  process.stderr.write(`wrote ${out}{requests,request,conversation,overview}.png\n`);
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`screenshot: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const child of children) child.kill('SIGTERM');
  });
