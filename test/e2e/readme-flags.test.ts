// The README's flags tables of `modeltap serve`, `report` and `check` against what the built CLI's
// `--help` prints: the same flags (no more, no fewer), each with the same environment variable and
// default, and marked repeatable when it is.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

const repo = new URL('../../', import.meta.url).pathname;

interface Flag {
  env: string | undefined;
  default: string | undefined;
  repeatable: boolean;
}

/** `  --name VALUE   help text (repeatable; env NAME; default X)` lines of `--help`, `--help` itself left out. */
function helpFlags(help: string): Map<string, Flag> {
  const flags = new Map<string, Flag>();
  for (const line of help.split('\n')) {
    const match = /^ {2}--([a-z][a-z-]*)\b/.exec(line);
    if (!match?.[1] || match[1] === 'help') continue;
    const extras = /\(([^()]*)\)$/.exec(line)?.[1] ?? '';
    flags.set(match[1], { env: /env (\w+)/.exec(extras)?.[1], default: /default (.+)$/.exec(extras)?.[1], repeatable: /\brepeatable\b/.test(extras) });
  }
  return flags;
}

/** The rows of the first `| flag | env | default |` table after `marker`. */
function readmeFlags(readme: string, marker: string): Map<string, Flag> {
  const at = readme.indexOf(marker);
  expect(at, marker).toBeGreaterThanOrEqual(0);
  const section = readme.slice(at);
  const table = section.slice(section.indexOf('| flag | env | default |'));
  const rows = table.split('\n').slice(2);
  const flags = new Map<string, Flag>();
  for (const row of rows) {
    if (!row.startsWith('|')) break;
    const [flagCell = '', envCell = '', defaultCell = ''] = row.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    const names = [...flagCell.matchAll(/`--([a-z][a-z-]*)/g)].map((m) => m[1] ?? '');
    // `--metrics` / `--no-metrics` is one boolean flag.
    const name = names.find((n) => !n.startsWith('no-')) ?? names[0] ?? '';
    const env = /`(\w+)`/.exec(envCell)?.[1];
    flags.set(name, { env, default: defaultCell.replace(/`/g, ''), repeatable: flagCell.includes('(repeatable)') });
  }
  return flags;
}

describe('the README flags tables', () => {
  it.each([
    ['serve', '## `modeltap serve`', 10],
    ['report', 'Flags of `modeltap report`', 2],
    ['check', 'Flags of `modeltap check`', 6],
  ])('of modeltap %s list exactly the flags --help lists, with their environment variables and defaults', async (command, marker, least) => {
    const { code, stdout } = await runCli([command, '--help']);
    expect(code).toBe(0);
    const help = helpFlags(stdout);
    const table = readmeFlags(readFileSync(join(repo, 'README.md'), 'utf8'), marker);
    expect(help.size).toBeGreaterThan(least);
    expect([...table.keys()].sort()).toEqual([...help.keys()].sort());
    for (const [name, flag] of help) {
      expect(table.get(name)?.env, `--${name}`).toBe(flag.env);
      expect(table.get(name)?.repeatable, `--${name} repeatable`).toBe(flag.repeatable);
      if (flag.default !== undefined) expect(table.get(name)?.default, `--${name}`).toBe(flag.default);
    }
  });
});
