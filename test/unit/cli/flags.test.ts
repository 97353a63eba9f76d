import { describe, expect, it } from 'vitest';
import { helpText, parseFlags, UsageError, type FlagDef } from '../../../src/cli/flags.js';

const defs: FlagDef[] = [
  { name: 'port', env: 'X_PORT', kind: 'integer', help: '' },
  { name: 'host', env: 'X_HOST', kind: 'string', help: '' },
  { name: 'ws', kind: 'boolean', help: '' },
  { name: 'ms', kind: 'number', help: '' },
];

describe('parseFlags', () => {
  it('reads --name value, --name=value, booleans and --no-booleans', () => {
    expect(parseFlags(['--port', '1', '--host=h', '--ws'], defs, {})).toEqual({ port: 1, host: 'h', ws: true });
    expect(parseFlags(['--no-ws'], defs, {})).toEqual({ ws: false });
  });

  it('falls back to the environment, flags winning', () => {
    expect(parseFlags([], defs, { X_PORT: '9', X_HOST: 'e' })).toEqual({ port: 9, host: 'e' });
    expect(parseFlags(['--port', '1'], defs, { X_PORT: '9' })).toEqual({ port: 1 });
  });

  it('refuses unknown flags, stray arguments and bad values', () => {
    expect(() => parseFlags(['--nope'], defs, {})).toThrow(UsageError);
    expect(() => parseFlags(['stray'], defs, {})).toThrow("unexpected argument 'stray'");
    expect(() => parseFlags(['--port', '1.5'], defs, {})).toThrow('--port must be a whole number');
    expect(() => parseFlags(['--host='], defs, {})).toThrow('--host needs a value');
    expect(() => parseFlags(['--ms', '-1'], defs, {})).toThrow('--ms must be a non-negative number');
  });

  it('reads decimal numbers', () => {
    expect(parseFlags(['--ms', '0.25'], defs, {})).toEqual({ ms: 0.25 });
    expect(parseFlags(['--ms=2'], defs, {})).toEqual({ ms: 2 });
  });

  it('collects every value of a repeatable flag, in order; the environment gives a list of one; others keep the last', () => {
    const repeatable: FlagDef[] = [...defs, { name: 'from', env: 'X_FROM', kind: 'string', repeatable: true, help: 'a source' }, { name: 'n', kind: 'integer', repeatable: true, help: '' }];
    expect(parseFlags(['--from', 'a', '--from=b', '--port', '1', '--from', 'c'], repeatable, {})).toEqual({ from: ['a', 'b', 'c'], port: 1 });
    expect(parseFlags(['--from', 'a'], repeatable, {})).toEqual({ from: ['a'] });
    expect(parseFlags(['--n', '1', '--n', '2'], repeatable, {})).toEqual({ n: [1, 2] });
    expect(parseFlags([], repeatable, { X_FROM: 'e' })).toEqual({ from: ['e'] });
    expect(parseFlags(['--from', 'a'], repeatable, { X_FROM: 'e' })).toEqual({ from: ['a'] });
    expect(parseFlags(['--port', '1', '--port', '2'], repeatable, {})).toEqual({ port: 2 });
    expect(() => parseFlags(['--from', 'a', '--from'], repeatable, {})).toThrow('--from needs a value');
    expect(() => parseFlags(['--n', '1', '--n', 'x'], repeatable, {})).toThrow('--n must be a whole number');
    expect(helpText('u', 's', repeatable)).toMatch(/--from STRING\s+a source \(repeatable; env X_FROM\)/);
  });
});
