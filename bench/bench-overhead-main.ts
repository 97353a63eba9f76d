#!/usr/bin/env node
/**
 * `npm run bench:overhead [-- --rounds N --seconds S --scenario NAME ...]`: the overhead benchmark
 * (direct, modeltap with telemetry off and full, nginx) writing bench/results/overhead.md.
 */
import { fileURLToPath } from 'node:url';
import { parseFlags, UsageError } from '../src/cli/flags.js';
import { runOverheadBenchmark, SCENARIOS } from './overhead.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
try {
  const flags = parseFlags(
    process.argv.slice(2),
    [
      { name: 'rounds', kind: 'integer', min: 1, help: 'Rounds per scenario.' },
      { name: 'seconds', kind: 'integer', min: 1, help: 'Seconds per target per round.' },
      { name: 'scenario', kind: 'string', help: 'Run only this scenario.' },
      { name: 'out', kind: 'string', help: 'Report path.' },
    ],
    {},
  );
  const only = flags['scenario'] as string | undefined;
  const scenarios = only === undefined ? SCENARIOS : SCENARIOS.filter((s) => s.name === only);
  if (scenarios.length === 0) throw new UsageError(`no scenario '${only}'; have ${SCENARIOS.map((s) => s.name).join(', ')}`);
  await runOverheadBenchmark({
    repo,
    rounds: (flags['rounds'] as number | undefined) ?? 3,
    seconds: (flags['seconds'] as number | undefined) ?? 3,
    scenarios,
    out: (flags['out'] as string | undefined) ?? `${repo}bench/results/overhead.md`,
    log: (line) => process.stderr.write(`${line}\n`),
    env: { PATH: process.env['PATH'] },
  });
} catch (error) {
  process.stderr.write(`bench:overhead: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
}
