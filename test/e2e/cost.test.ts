// `modeltap serve --prices FILE` end to end: the built CLI with the built-in simulator; the cost in
// Prometheus text at /metrics, and a bad file refused at start.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, stoppedBy } from './cli.js';

const started = stoppedBy(afterAll);
const dir = mkdtempSync(join(tmpdir(), 'modeltap-cost-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('modeltap serve --prices', () => {
  it('costs a model the file prices, shown in /metrics; a model without a price is counted as unpriced', async () => {
    const file = join(dir, 'prices.json');
    writeFileSync(file, JSON.stringify({ 'house-model': { input: 1000, output: 1000 } }));
    const cli = await started.cli(['serve', '--upstream', 'sim', '--port', '0', '--store', 'off', '--prices', file]);
    const usages: { input_tokens: number; output_tokens: number }[] = [];
    for (const model of ['house-model', 'mystery-model']) {
      const body = (await (await fetch(`${cli.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, input: 'x' }) })).json()) as { usage: { input_tokens: number; output_tokens: number } };
      usages.push(body.usage);
    }
    // The metrics are read once both calls have ended: each /metrics read flushes what ended before it.
    const text = await (await fetch(`${cli.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('modeltap_cost_total{') && l.includes('gen_ai_request_model="house-model"'));
    expect(line).toBeDefined();
    // What the simulator reported, at 1000 USD per million input or output tokens.
    const usage = usages[0] as { input_tokens: number; output_tokens: number };
    expect(usage.input_tokens).toBeGreaterThan(0);
    expect(Number(line?.split(' ').at(-1))).toBeCloseTo(((usage.input_tokens + usage.output_tokens) * 1000) / 1e6, 12);
    expect(text).toMatch(/modeltap_cost_unpriced_total\{[^}]*gen_ai_request_model="mystery-model"[^}]*\} 1/);
  });

  it('refuses a file that is not a price table, naming the entry', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ 'house-model': { input: 'cheap', output: 1 } }));
    const bad = await runCli(['serve', '--upstream', 'sim', '--port', '0', '--prices', file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--prices: house-model.input must be a price in USD per million tokens');
    const missing = await runCli(['serve', '--upstream', 'sim', '--port', '0', '--prices', join(dir, 'none.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--prices: cannot read');
  });
});
