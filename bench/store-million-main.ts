#!/usr/bin/env node
/** `npm run bench:store [ROWS]`: the store's view queries over a million operations (see store-million.ts); one Markdown row per query, the median of 5. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../src/store/store.js';
import { fill, timeQueries } from './store-million.js';

async function main(): Promise<void> {
  const rows = Number(process.argv[2] ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'modeltap-million-'));
  try {
    const path = join(dir, 'million.db');
    const started = performance.now();
    fill(path, rows);
    process.stdout.write(`filled ${rows.toLocaleString('en-US')} operations in ${((performance.now() - started) / 1000).toFixed(1)} s (node ${process.version})\n\n| query | median ms | status |\n|---|---:|---:|\n`);
    const store = new Store(path, { readOnly: true });
    for (const r of await timeQueries(store)) process.stdout.write(`| ${r.name} | ${r.ms.toFixed(1)} | ${r.status} |\n`);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
