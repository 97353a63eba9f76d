// The sources of `modeltap report --from` and `check --baseline/--current`: chosen by URL scheme,
// read and merged, and every failure naming its source.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSummaries, loadSummary } from '../../../src/cli/load-summary.js';
import { SummaryInputError } from '../../../src/summary/parse-summary.js';
import { SummaryRecorder, type RunSummary } from '../../../src/summary/summary-recorder.js';

const dir = mkdtempSync(join(tmpdir(), 'modeltap-load-summary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, source: RunSummary['source'], count: number): string {
  const recorder = new SummaryRecorder(source);
  for (let i = 0; i < count; i++) recorder.record({ route: '/v1/responses', model: 'm', transport: 'http_sse', error: undefined, ttfcMs: i, durationMs: i + 1, overheadMs: undefined, tokens: undefined });
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(recorder.summary()));
  return path;
}

const failure = async (p: Promise<unknown>): Promise<SummaryInputError> => {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SummaryInputError);
  return error as SummaryInputError;
};

describe('loadSummary / loadSummaries', () => {
  it('reads one file as it is, and several merged', async () => {
    const a = file('a.json', 'proxy', 3);
    const b = file('b.json', 'proxy', 5);
    expect((await loadSummary(a)).groups[0]?.count).toBe(3);
    const merged = await loadSummaries([a, b, a]);
    expect(merged.groups[0]).toMatchObject({ count: 11, durationMs: { count: 11, max: 5 } });
  });

  it('names the source that failed: unreadable, not a summary, an unknown scheme, or one that cannot be merged', async () => {
    const a = file('ok.json', 'proxy', 1);
    const missing = await failure(loadSummaries([a, join(dir, 'none.json')], { what: (s) => `the current run ${s}` }));
    expect(missing.message).toBe(`cannot read the current run ${join(dir, 'none.json')}`);
    expect(missing.code).toBe('unreadable');
    const junk = join(dir, 'junk.json');
    writeFileSync(junk, '{oops');
    expect((await failure(loadSummaries([a, junk]))).message).toBe(`${junk} is not JSON`);
    const scheme = await failure(loadSummary('ftp://db/modeltap'));
    expect(scheme.message).toBe('ftp://db/modeltap: a source is a modeltap base URL (http:// or https://), a summary file, a SQLite store or a postgres:// store, not a ftp:// URL');
    const bench = file('bench.json', 'bench', 1);
    const mixed = await failure(loadSummaries([a, bench]));
    expect(mixed.message).toBe(`cannot merge a proxy summary (${a}) with a bench summary (${bench})`);
    expect(mixed.code).toBe('unmergeable');
  });
});
