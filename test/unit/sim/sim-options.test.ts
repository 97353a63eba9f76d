// The simulator's fault header: what it injects, how often, and which header values count apart.
import { describe, expect, it } from 'vitest';
import { parseSimFault } from '../../../src/sim/sim-options.js';

describe('parseSimFault', () => {
  it('reads a fault with its argument, times and every', () => {
    expect(parseSimFault('status:503;times=2')).toEqual({ fault: { kind: 'status', status: 503 }, times: 2, every: 1 });
    expect(parseSimFault('reset:6')).toEqual({ fault: { kind: 'reset', after: 6 }, times: Number.POSITIVE_INFINITY, every: 1 });
    expect(parseSimFault('slow-head:250; every=3')).toEqual({ fault: { kind: 'slow-head', ms: 250 }, times: Number.POSITIVE_INFINITY, every: 3 });
  });

  it('takes key=… only to tell header values apart (each value has its own count)', () => {
    expect(parseSimFault('status:500;times=1;key=18')).toEqual(parseSimFault('status:500;times=1'));
  });

  it('refuses what it does not know', () => {
    expect(parseSimFault('status:99')).toBeUndefined();
    expect(parseSimFault('status:500;often=2')).toBeUndefined();
    expect(parseSimFault('teleport:1')).toBeUndefined();
    expect(parseSimFault('status:500;key')).toBeUndefined();
  });
});
