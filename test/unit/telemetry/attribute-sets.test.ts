import { describe, expect, it } from 'vitest';
import { AttributeSets } from '../../../src/telemetry/otel/attribute-sets.js';

describe('AttributeSets', () => {
  it('one shared object per key, built once', () => {
    const sets = new AttributeSets();
    let built = 0;
    const build = () => ({ n: ++built });
    const a = sets.get('k', build);
    expect(sets.get('k', build)).toBe(a);
    expect(sets.get('other', build)).not.toBe(a);
    expect(built).toBe(2);
  });

  it('derives one shared object per base, name and value; the value keeps its type', () => {
    const sets = new AttributeSets();
    const base = sets.get('base', () => ({ 'http.request.method': 'POST', 'error.type': 'x' }));
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
