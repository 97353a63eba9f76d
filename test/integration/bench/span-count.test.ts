// Issue 19, acceptance 5 at a small scale: the built CLI with full telemetry in front of the
// simulator, OTLP to the benchmark's counting receiver: one SERVER and one `chat …` span per
// request, nothing dropped, everything exported by the SIGTERM shutdown.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../../bench/overhead.js';
import { runSpanCount, spanCountVerdict } from '../../../bench/span-count.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

describe('the span count run', () => {
  it('counts one SERVER and one chat span per request, none dropped', async () => {
    const scenario = SCENARIOS.find((s) => s.name === 'sse-c64');
    if (scenario === undefined) throw new Error('no sse-c64');
    const result = await runSpanCount(repo, { ...scenario, concurrency: 8 }, 1, { PATH: process.env['PATH'], MODELTAP_TELEMETRY_THREAD: process.env['MODELTAP_TELEMETRY_THREAD'] });
    expect(result.requests).toBeGreaterThan(0);
    expect(result.attemptSpans).toBe(result.requests);
    expect(spanCountVerdict(result)).toEqual({ ok: true, lines: expect.any(Array) });
  }, 60_000);
});
