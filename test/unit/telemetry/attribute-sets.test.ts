import { describe, expect, it } from 'vitest';
import { AttributeSets } from '../../../src/telemetry/otel/attribute-sets.js';

describe('AttributeSets', () => {
  it('one shared object per set derived from empty by the same steps', () => {
    const sets = new AttributeSets();
    const a = sets.with(sets.with(sets.empty, 'status', '200'), 'attempt', '0');
    expect(a).toEqual({ status: '200', attempt: '0' });
    expect(sets.with(sets.with(sets.empty, 'status', '200'), 'attempt', '0')).toBe(a);
    expect(sets.with(sets.with(sets.empty, 'status', '500'), 'attempt', '0')).not.toBe(a);
    expect(sets.empty).toEqual({});
  });

  it('derives one shared object per base, name and value; the value keeps its type', () => {
    const sets = new AttributeSets();
    const base = sets.with(sets.with(sets.empty, 'http.request.method', 'POST'), 'error.type', 'x');
    const ok = sets.with(base, 'http.response.status_code', 200);
    expect(ok).toEqual({ 'http.request.method': 'POST', 'error.type': 'x', 'http.response.status_code': 200 });
    expect(sets.with(base, 'http.response.status_code', 200)).toBe(ok);
    expect(sets.with(base, 'http.response.status_code', '200')).toEqual({ ...base, 'http.response.status_code': '200' });
    expect(sets.with(base, 'http.response.status_code', '200')).not.toBe(ok);
    expect(sets.with(base, 'error.type', 'timeout')).toEqual({ 'http.request.method': 'POST', 'error.type': 'timeout' });
    expect(sets.with(ok, 'error.type', 'timeout')).toEqual({ ...ok, 'error.type': 'timeout' });
    expect(base).toEqual({ 'http.request.method': 'POST', 'error.type': 'x' });
  });
});
