import { startSim } from '../sim/sim-server.js';
import { helpText, parseFlags, type FlagDef } from './flags.js';

/** The flags of `modeltap sim`. */
export const SIM_FLAGS: readonly FlagDef[] = [
  { name: 'host', env: 'MODELTAP_SIM_HOST', kind: 'string', value: 'ADDR', help: 'Address to listen on.', defaultText: '127.0.0.1' },
  { name: 'port', env: 'MODELTAP_SIM_PORT', kind: 'integer', value: 'N', help: 'Port to listen on (0 picks a free one).', defaultText: '8788' },
  { name: 'ttfb-ms', env: 'MODELTAP_SIM_TTFB_MS', kind: 'integer', value: 'MS', help: 'Delay before the head and first event (x-sim-ttfb-ms per request).', defaultText: '0' },
  { name: 'events', env: 'MODELTAP_SIM_EVENTS', kind: 'integer', value: 'N', help: 'Text deltas per streamed response (x-sim-events).', defaultText: '8' },
  { name: 'gap-ms', env: 'MODELTAP_SIM_GAP_MS', kind: 'integer', value: 'MS', help: 'Delay between streamed deltas (x-sim-gap-ms).', defaultText: '0' },
  { name: 'input-tokens', env: 'MODELTAP_SIM_INPUT_TOKENS', kind: 'integer', value: 'N', help: 'Reported input tokens.', defaultText: 'request bytes / 4' },
  { name: 'output-tokens', env: 'MODELTAP_SIM_OUTPUT_TOKENS', kind: 'integer', value: 'N', help: 'Reported output tokens.', defaultText: 'events' },
  { name: 'cached-tokens', env: 'MODELTAP_SIM_CACHED_TOKENS', kind: 'integer', value: 'N', help: 'Reported cached input tokens.', defaultText: '0' },
  { name: 'stamp', env: 'MODELTAP_SIM_STAMP', kind: 'boolean', help: 'Stamp each streamed event with its monotonic send time ("t_ns"), for benchmarks.', defaultText: 'off' },
  { name: 'websocket', env: 'MODELTAP_SIM_WEBSOCKET', kind: 'boolean', help: 'Accept Responses WebSocket upgrades (--no-websocket refuses them with 426).', defaultText: 'on' },
  { name: 'reasoning-tokens', env: 'MODELTAP_SIM_REASONING_TOKENS', kind: 'integer', value: 'N', help: 'Reported reasoning tokens.', defaultText: '0' },
];

export const SIM_HELP = helpText(
  'Usage: modeltap sim [options]',
  'A simulated OpenAI upstream (Responses SSE, JSON and WebSocket, Chat Completions, compact, models) for offline use, tests and benchmarks.\nFaults per request: x-sim-fault: status:<code> | reset:<k> | stall:<k> | malformed:<k> | slow-head:<ms>, optionally ;times=<n>.',
  SIM_FLAGS,
);

/** Runs `modeltap sim` until SIGINT/SIGTERM. */
export async function simCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, log: (line: string) => void): Promise<void> {
  const v = parseFlags(argv, SIM_FLAGS, env);
  const num = (name: string): number | undefined => v[name] as number | undefined;
  const usage = {
    ...(num('input-tokens') === undefined ? {} : { inputTokens: num('input-tokens') as number }),
    ...(num('output-tokens') === undefined ? {} : { outputTokens: num('output-tokens') as number }),
    ...(num('cached-tokens') === undefined ? {} : { cachedInputTokens: num('cached-tokens') as number }),
    ...(num('reasoning-tokens') === undefined ? {} : { reasoningTokens: num('reasoning-tokens') as number }),
  };
  const sim = await startSim(
    {
      ...(num('ttfb-ms') === undefined ? {} : { ttfbMs: num('ttfb-ms') as number }),
      ...(num('events') === undefined ? {} : { events: num('events') as number }),
      ...(num('gap-ms') === undefined ? {} : { gapMs: num('gap-ms') as number }),
      websocket: v['websocket'] !== false,
      stamp: v['stamp'] === true,
      usage,
    },
    { host: (v['host'] as string | undefined) ?? '127.0.0.1', port: num('port') ?? 8788 },
  );
  log(`modeltap sim listening on ${sim.url} (OpenAI base URL ${sim.url}/v1)`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      void sim.close().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
