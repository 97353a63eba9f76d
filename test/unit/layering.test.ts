import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../src/', import.meta.url).pathname;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '');
}

describe('layering (architecture.md, rules of the house)', () => {
  it('nothing under src/client/ imports Hono or OpenTelemetry', () => {
    const offenders = filesUnder(join(root, 'client')).flatMap((file) =>
      imports(file)
        .filter((spec) => spec === 'hono' || spec.startsWith('hono/') || spec.startsWith('@hono/') || spec.startsWith('@opentelemetry/'))
        .map((spec) => `${file}: ${spec}`),
    );
    expect(offenders).toEqual([]);
    expect(filesUnder(join(root, 'client')).length).toBeGreaterThan(10);
  });

  it('only src/cli/ reads process.env or process.argv', () => {
    const offenders = filesUnder(root)
      .filter((file) => !file.startsWith(join(root, 'cli')))
      .filter((file) => /process\.(env|argv)/.test(readFileSync(file, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
