// Issue 19, scope 3: the telemetry thread is never in the relay's way, and nothing is lost
// silently. The real proxy in front of the simulator, the real SDK in a real worker thread.
import { afterEach, describe, expect, it } from 'vitest';
import { createProxy } from '../../../src/cli/create-proxy.js';
import type { ProxyServer } from '../../../src/proxy/server.js';
import { startSim } from '../../../src/sim/sim-server.js';
import type { TelemetryThread } from '../../../src/telemetry/otel/telemetry-thread.js';
import { otelKit, waitForServerSpans, type OtelKit } from '../../helpers/otel-kit.js';

let cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

interface Setup {
  kit: OtelKit;
  proxy: ProxyServer;
  thread: TelemetryThread;
  /** Resolves with the first log line that matches. */
  logged(pattern: RegExp): Promise<string>;
}

async function setup(threadOptions: Parameters<typeof otelKit>[0] extends infer O ? (O extends { threadOptions?: infer T } ? T : never) : never, sim: Parameters<typeof startSim>[0] = {}): Promise<Setup> {
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const kit = otelKit({
    threadOptions,
    log: (line) => {
      lines.push(line);
      for (const w of waiters) if (w.pattern.test(line)) w.resolve(line);
    },
  });
  const upstream = await startSim({ events: 3, usage: { inputTokens: 5, outputTokens: 2 }, ...sim });
  const proxy = await createProxy({ upstream: `${upstream.url}/v1`, port: 0, ...(kit.runtime.telemetry ? { telemetry: kit.runtime.telemetry } : {}) });
  cleanup.push(() => upstream.close(), () => proxy.shutdown(0), () => kit.runtime.shutdown());
  const thread = kit.runtime.thread;
  if (thread === undefined) throw new Error('these tests need the telemetry thread (thread: on)');
  return {
    kit,
    proxy,
    thread,
    logged: (pattern) => {
      const seen = lines.find((l) => pattern.test(l));
      return seen !== undefined ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ pattern, resolve }));
    },
  };
}

const call = async (proxy: ProxyServer, stream = false, model = 'm'): Promise<{ status: number; body: string }> => {
  const res = await fetch(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, input: 'hi', stream }) });
  return { status: res.status, body: await res.text() };
};

type Metrics = Awaited<ReturnType<OtelKit['metrics']>>;
const dropped = (metrics: Metrics, reason: string): number =>
  (metrics.get('modeltap.telemetry.dropped')?.points ?? []).filter((p) => p.attributes['reason'] === reason).reduce((n, p) => n + (p.value as number), 0);
const serverSpans = (kit: OtelKit) => kit.spans().then((spans) => spans.filter((s) => s.kind === 1));

// Each runs only with the thread on: the in-process mode has no thread to lose.
describe.runIf(process.env['MODELTAP_TELEMETRY_THREAD'] !== 'off')('the telemetry thread', () => {
  it('killed mid-stream: the relay finishes the stream, one line is logged, a new thread exports later requests, the lost request is counted', async () => {
    const { kit, proxy, thread, logged } = await setup({}, { events: 6, gapMs: 40 });
    expect((await call(proxy)).status).toBe(200);
    await waitForServerSpans(kit, 1);
    const first = thread.worker;
    // A stream is open when the thread dies: its telemetry lived there.
    const res = await fetch(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', input: 'hi', stream: true }) });
    expect(res.status).toBe(200);
    await first.terminate();
    const line = await logged(/telemetry thread crashed/);
    expect(line).toMatch(/started a new one; the telemetry of 1 request\(s\) it held is lost/);
    const body = await res.text();
    expect(body).toContain('response.completed');
    expect(thread.restarts).toBe(1);
    expect(thread.worker).not.toBe(first);
    // The new thread builds and exports what comes after, and counts what was lost.
    kit.reset();
    for (let i = 0; i < 3; i++) expect((await call(proxy, i % 2 === 0)).status).toBe(200);
    const spans = await waitForServerSpans(kit, 3);
    expect(spans.filter((s) => s.name === 'chat m')).toHaveLength(3);
    expect(dropped(await kit.metrics(), 'thread_lost')).toBe(1);
  });

  it('hung: the watchdog replaces it while the relay goes on serving', async () => {
    const { kit, proxy, thread, logged } = await setup({ hangMs: 300, testHooks: true });
    expect((await call(proxy)).status).toBe(200);
    await waitForServerSpans(kit, 1);
    thread.hangForTests(60_000);
    // The relay does not wait for it.
    for (let i = 0; i < 5; i++) expect((await call(proxy, true)).status).toBe(200);
    expect(await logged(/telemetry thread hung: started a new one/)).toBeTruthy();
    expect(thread.restarts).toBe(1);
    kit.reset();
    // A model of its own: calls made during the hang that the recorder had not handed over yet may
    // still reach the new thread, so their spans can follow the reset. Read what the new thread
    // exports as it does, without asking it for a flush: on a loaded machine the watchdog's short
    // test hangMs can take a thread that is still starting for hung, and reject a pending flush.
    expect((await call(proxy, false, 'after')).status).toBe(200);
    let after = kit.exported().filter((s) => s.name === 'chat after');
    // Bounded: the span processor exports within its 5 s delay; 15 s of checks leave it room on a loaded machine.
    for (let i = 0; i < 750 && after.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = kit.exported().filter((s) => s.name === 'chat after');
    }
    expect(after).toHaveLength(1);
  }, 30_000);

  it('slow to start: a new thread still loading the SDK after hangMs is not taken for hung', async () => {
    // Without the start allowance every new thread was replaced in turn, and after three telemetry was off.
    const { kit, proxy, thread } = await setup({ hangMs: 200, testHooks: true, startStallMsForTests: 1500 });
    expect((await call(proxy)).status).toBe(200);
    const spans = await waitForServerSpans(kit, 1);
    expect(spans.filter((s) => s.kind === 1)).toHaveLength(1);
    expect(thread.restarts).toBe(0);
  });

  it('behind: the hand-off is bounded; new requests are dropped and counted, never queued without limit', async () => {
    const { kit, proxy, thread } = await setup({ maxQueueSlots: 60, hangMs: 600_000, testHooks: true });
    // Blocked for longer than the requests below take: nothing it was handed is processed meanwhile.
    thread.hangForTests(3000);
    const n = 30;
    let most = 0;
    for (let i = 0; i < n; i++) {
      expect((await call(proxy)).status).toBe(200);
      most = Math.max(most, thread.queuedSlots);
    }
    // At most the bound plus what requests already accepted went on recording.
    expect(most).toBeLessThan(60 + 200);
    const metrics = await kit.metrics();
    const exported = (await serverSpans(kit)).length;
    const drops = dropped(metrics, 'queue_full');
    expect(drops).toBeGreaterThan(0);
    expect(exported + drops).toBe(n);
  });

  it('shut down: everything recorded is exported before shutdown resolves', async () => {
    const { kit, proxy } = await setup({});
    for (let i = 0; i < 4; i++) expect((await call(proxy, i % 2 === 1)).status).toBe(200);
    await proxy.shutdown(0);
    await kit.runtime.shutdown();
    const spans = kit.exported();
    expect(spans.filter((s) => s.kind === 1)).toHaveLength(4);
    expect(spans.filter((s) => s.name === 'chat m')).toHaveLength(4);
  });
});
