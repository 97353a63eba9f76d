import { describe, expect, it } from 'vitest';
import { parseFlags, UsageError, type FlagDef } from '../../../src/cli/flags.js';

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
});
