import { describe, expect, it } from 'vitest';
import { defaultStorePath, parseDuration, storeConfigFromFlags } from '../../../src/cli/store-config.js';

describe('the store flags', () => {
  it('are on at the default place unless turned off (in memory where there is no home); default, memory and a path', () => {
    expect(storeConfigFromFlags({}, { HOME: '/home/u' })?.location).toBe('/home/u/.local/state/modeltap/modeltap.db');
    expect(storeConfigFromFlags({}, { XDG_STATE_HOME: '/s' })?.location).toBe('/s/modeltap/modeltap.db');
    expect(storeConfigFromFlags({}, {})?.location).toBe(':memory:');
    expect(() => storeConfigFromFlags({ store: 'default' }, {})).toThrow(/HOME or XDG_STATE_HOME/);
    expect(storeConfigFromFlags({ store: 'off' }, {})).toBeUndefined();
    expect(storeConfigFromFlags({ store: 'memory' }, {})).toEqual({ location: ':memory:', retentionMs: 7 * 86_400_000, maxBytes: 512 * 1024 * 1024 });
    expect(storeConfigFromFlags({ store: '/tmp/x.db', retention: '12h', 'store-max-mb': 3 }, {})).toEqual({ location: '/tmp/x.db', retentionMs: 12 * 3_600_000, maxBytes: 3 * 1024 * 1024 });
    expect(storeConfigFromFlags({ store: 'default' }, { HOME: '/home/u' })?.location).toBe('/home/u/.local/state/modeltap/modeltap.db');
  });

  it('put the default under XDG_STATE_HOME, else HOME, and need one of them', () => {
    expect(defaultStorePath({ XDG_STATE_HOME: '/s', HOME: '/h' })).toBe('/s/modeltap/modeltap.db');
    expect(defaultStorePath({ XDG_STATE_HOME: '', HOME: '/h' })).toBe('/h/.local/state/modeltap/modeltap.db');
    expect(() => defaultStorePath({})).toThrow(/HOME or XDG_STATE_HOME/);
  });

  it('read durations in s, m, h and d, and refuse anything else', () => {
    expect(parseDuration('90s', 'retention')).toBe(90_000);
    expect(parseDuration('30m', 'retention')).toBe(1_800_000);
    expect(parseDuration('1.5h', 'retention')).toBe(5_400_000);
    expect(parseDuration('7d', 'retention')).toBe(604_800_000);
    for (const bad of ['7', '0d', '-1h', 'a week', '7w', '']) expect(() => parseDuration(bad, 'retention')).toThrow(/--retention must be a duration/);
  });
});

describe('the replica flag', () => {
  it('names this replica: given, else the host name; a PostgreSQL URL passes through --store as it is', async () => {
    const { hostname } = await import('node:os');
    const { replicaFromFlags } = await import('../../../src/cli/store-config.js');
    expect(replicaFromFlags({ replica: 'pod-a' })).toBe('pod-a');
    expect(replicaFromFlags({})).toBe(hostname());
    expect(() => replicaFromFlags({ replica: ' ' })).toThrow(/--replica must be a name/);
    expect(storeConfigFromFlags({ store: 'postgres://u:p@h/db' }, {})?.location).toBe('postgres://u:p@h/db');
  });
});
