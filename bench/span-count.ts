import { join } from 'node:path';
import { discardReceiver } from './discard-receiver.js';
import { nodeTargetCommands, runClient, startProcess, type Scenario } from './overhead.js';
import { spanKey } from './otlp-span-count.js';

/** What a span-count run saw. */
export interface SpanCountResult {
  readonly scenario: Scenario;
  readonly seconds: number;
  /** Requests the load client completed, and how many of them failed. */
  readonly requests: number;
  readonly errors: number;
  /** SERVER spans of the model route, `chat …` spans and attempt spans the receiver was sent. */
  readonly serverSpans: number;
  readonly chatSpans: number;
  readonly attemptSpans: number;
  /** `modeltap.telemetry.dropped` by signal and reason, from /metrics just before the shutdown. */
  readonly dropped: Record<string, number>;
  /** Trace exports the receiver could not read. */
  readonly unreadable: number;
  /** modeltap's exit code after SIGTERM (0: every span exported within the export timeout). */
  readonly exitCode: number | null;
}

/** `modeltap_telemetry_dropped_total{…} N` lines of Prometheus text, by their labels. */
function droppedOf(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const match of text.matchAll(/^modeltap_telemetry_dropped_total\{([^}]*)\} (\S+)$/gm)) out[match[1] as string] = Number(match[2]);
  return out;
}

/**
 * Runs `scenario` for `seconds` through modeltap with full telemetry (OTLP traces and metrics to a
 * counting receiver, /metrics scraped every second, default trace detail: the overhead benchmark's
 * full-telemetry target), then stops it with SIGTERM, which exports everything recorded, and counts
 * the spans the receiver got against the requests the client made.
 */
export async function runSpanCount(repo: string, scenario: Scenario, seconds: number, env: Record<string, string | undefined>): Promise<SpanCountResult> {
  const cli = join(repo, 'dist/cli/main.js');
  const cleanups: (() => void)[] = [];
  try {
    const sim = await startProcess(process.execPath, [cli, 'sim', '--port', '0', '--stamp'], env);
    cleanups.push(() => sim.proc.kill('SIGTERM'));
    const receiver = await discardReceiver();
    cleanups.push(() => receiver.close());
    const full = nodeTargetCommands(repo, `${sim.url}/v1`, receiver.url, env).find((t) => t.key === 'full');
    if (full === undefined) throw new Error('no full-telemetry target');
    const modeltap = await startProcess(process.execPath, [...full.args], full.env);
    cleanups.push(() => modeltap.proc.kill('SIGKILL'));
    const exited = new Promise<number | null>((resolve) => modeltap.proc.once('exit', (code) => resolve(code)));
    const scraper = setInterval(() => void fetch(`${modeltap.url}/metrics`).then((r) => r.arrayBuffer()).catch(() => undefined), 1000);
    cleanups.push(() => clearInterval(scraper));
    const load = await runClient(repo, { baseUrl: `${modeltap.url}/v1`, mode: scenario.mode, concurrency: scenario.concurrency, seconds, events: scenario.events, gapMs: scenario.gapMs }, env);
    clearInterval(scraper);
    const dropped = droppedOf(await (await fetch(`${modeltap.url}/metrics`)).text());
    modeltap.proc.kill('SIGTERM');
    const exitCode = await exited;
    const route = scenario.mode === 'ws' ? 'GET /v1/responses' : 'POST /v1/responses';
    let chatSpans = 0;
    for (const [key, n] of receiver.spans) if (key.startsWith(spanKey(3, 'chat '))) chatSpans += n;
    return {
      scenario,
      seconds: load.seconds,
      requests: load.requests,
      errors: load.errors,
      serverSpans: receiver.spans.get(spanKey(2, route)) ?? 0,
      chatSpans,
      attemptSpans: (receiver.spans.get(spanKey(3, 'POST')) ?? 0) + (receiver.spans.get(spanKey(3, 'GET')) ?? 0),
      dropped,
      unreadable: receiver.unreadable,
      exitCode,
    };
  } finally {
    for (const cleanup of cleanups.reverse()) cleanup();
  }
}

/** Whether a run exported exactly one SERVER and one `chat …` span per request, and dropped nothing. */
export function spanCountVerdict(r: SpanCountResult): { ok: boolean; lines: string[] } {
  const droppedTotal = Object.values(r.dropped).reduce((a, b) => a + b, 0);
  const checks: [string, boolean][] = [
    [`SERVER spans ${r.serverSpans} = requests ${r.requests}`, r.serverSpans === r.requests],
    [`chat spans ${r.chatSpans} = requests ${r.requests}`, r.chatSpans === r.requests],
    [`errors ${r.errors} = 0`, r.errors === 0],
    [`modeltap.telemetry.dropped ${droppedTotal} = 0`, droppedTotal === 0],
    [`unreadable exports ${r.unreadable} = 0`, r.unreadable === 0],
    [`exit code after SIGTERM ${r.exitCode} = 0`, r.exitCode === 0],
  ];
  return { ok: checks.every(([, ok]) => ok), lines: checks.map(([what, ok]) => `${ok ? 'met' : '**not met**'}: ${what}`) };
}
