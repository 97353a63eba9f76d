import { describe, expect, it } from 'vitest';
import { areaOf, summarizeProfile, type CpuProfile } from '../../../bench/cpu-profile.js';

const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });

describe('summarizeProfile', () => {
  it('names areas by package, node module, modeltap file or native entry', () => {
    expect(areaOf(frame('x', 'file:///app/node_modules/@opentelemetry/sdk-trace/build/src/Span.js'))).toBe('@opentelemetry/sdk-trace');
    expect(areaOf(frame('x', 'file:///app/node_modules/undici/lib/core/request.js'))).toBe('undici');
    expect(areaOf(frame('x', 'node:_http_server'))).toBe('node:_http_server');
    expect(areaOf(frame('x', 'file:///app/dist/client/sse.js'))).toBe('modeltap client/sse');
    expect(areaOf(frame('x', 'file:///app/dist-bench/bench/floor-proxy.js'))).toBe('modeltap bench/floor-proxy');
    expect(areaOf(frame('(garbage collector)', ''))).toBe('(native) (garbage collector)');
  });

  it('sums self time per area and per request, leaving idle out', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(idle)', '') },
        { id: 2, callFrame: frame('parse', 'file:///app/dist/client/sse.js') },
        { id: 3, callFrame: frame('request', 'file:///app/node_modules/undici/index.js') },
      ],
      samples: [1, 2, 3, 3, 1, 2],
      timeDeltas: [500, 100, 200, 200, 500, 100],
    };
    expect(summarizeProfile(profile, 2)).toEqual({
      busyUs: 300,
      byArea: [
        { area: 'undici', us: 200 },
        { area: 'modeltap client/sse', us: 100 },
      ],
    });
  });
});
