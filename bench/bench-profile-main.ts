#!/usr/bin/env node
/**
 * `npm run bench:profile [-- --seconds S --scenario NAME --out FILE --flame DIR]`: CPU per request by
 * area for the Node floor and modeltap with telemetry off and full, written to
 * bench/results/profile.md, and a flame graph of each profile (default: `flame/` beside the report).
 */
import { fileURLToPath } from 'node:url';
import { parseFlags, UsageError } from '../src/cli/flags.js';
import { SCENARIOS } from './overhead.js';
import { PROFILE_SCENARIOS, runProfileBenchmark } from './profile-run.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
try {
  const flags = parseFlags(
    process.argv.slice(2),
    [
      { name: 'seconds', kind: 'integer', min: 1, help: 'Seconds of load per target.' },
      { name: 'scenario', kind: 'string', help: 'Profile only this scenario.' },
      { name: 'out', kind: 'string', help: 'Report path.' },
      { name: 'flame', kind: 'string', help: 'Directory for the flame graphs (default: flame/ beside the report).' },
    ],
    {},
  );
  const only = flags['scenario'] as string | undefined;
  const scenarios = only === undefined ? PROFILE_SCENARIOS : SCENARIOS.filter((s) => s.name === only);
  if (scenarios.length === 0) throw new UsageError(`no scenario '${only}'; have ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const flameDir = flags['flame'] as string | undefined;
  await runProfileBenchmark({
    ...(flameDir === undefined ? {} : { flameDir }),
    repo,
    seconds: (flags['seconds'] as number | undefined) ?? 5,
    scenarios,
    out: (flags['out'] as string | undefined) ?? `${repo}bench/results/profile.md`,
    log: (line) => process.stderr.write(`${line}\n`),
    env: { PATH: process.env['PATH'] },
  });
} catch (error) {
  process.stderr.write(`bench:profile: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
}
