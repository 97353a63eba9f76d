import { describe, expect, it } from 'vitest';
import type { CpuProfile } from '../../../bench/cpu-profile.js';
import { callTree, flameGraph } from '../../../bench/flame-graph.js';

const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });
const FORWARD = frame('forward', 'file:///app/dist/proxy/forward.js', 9);
const END = frame('end', 'file:///app/node_modules/@opentelemetry/sdk-trace/build/src/Span.js', 245);

// Two V8 nodes for the same call path (root > forward > end), as a profile has after a function is
// re-optimised: a flame graph adds them up.
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)', ''), children: [2, 3, 6, 7] },
    { id: 2, callFrame: frame('(idle)', '') },
    { id: 3, callFrame: FORWARD, children: [4, 5] },
    { id: 4, callFrame: END },
    { id: 5, callFrame: frame('write', 'node:_http_outgoing', 3) },
    { id: 6, callFrame: frame('<odd> & "name"', 'file:///app/dist/x.js') },
    { id: 7, callFrame: FORWARD, children: [8] },
    { id: 8, callFrame: END },
  ],
  samples: [2, 3, 4, 4, 5, 8, 6, 2],
  timeDeltas: [500, 100, 200, 200, 200, 100, 1, 500],
};

interface Bar {
  readonly level: number;
  readonly name: string;
  readonly title: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly fill: string;
}

function bars(svg: string): Bar[] {
  const re = /<g data-l="(\d+)" data-n="([^"]*)"><title>([^<]*)<\/title><rect x="([\d.]+)" y="(\d+)" width="([\d.]+)" height="\d+" fill="([^"]+)"/g;
  return [...svg.matchAll(re)].map((m) => ({
    level: Number(m[1]),
    name: m[2] as string,
    title: m[3] as string,
    x: Number(m[4]),
    y: Number(m[5]),
    width: Number(m[6]),
    fill: m[7] as string,
  }));
}

describe('callTree', () => {
  it('merges identical call paths, sums time with callees and leaves idle and V8s root out', () => {
    const root = callTree(profile);
    expect(root.total).toBe(801);
    expect([...root.children.keys()]).toEqual(['forward proxy/forward.js:10', '<odd> & "name" x.js:1']);
    const forward = root.children.get('forward proxy/forward.js:10');
    expect(forward?.total).toBe(800);
    expect(forward?.area).toBe('modeltap proxy/forward');
    expect([...(forward?.children.entries() ?? [])].map(([name, f]) => [name, f.total, f.area])).toEqual([
      ['end @opentelemetry/sdk-trace/build/src/Span.js:246', 500, '@opentelemetry/sdk-trace'],
      ['write node:_http_outgoing:4', 200, 'node:_http_outgoing'],
    ]);
  });
});

describe('flameGraph', () => {
  const svg = flameGraph(profile, { title: 'json <c32>', requests: 2, width: 1000, minShare: 0.01 });
  const drawn = bars(svg);

  it('draws each call path as wide as its share of the busy time, callees above their caller in name order', () => {
    expect(drawn.map((b) => [b.level, b.name, b.x, b.width])).toEqual([
      [0, 'all', 0, 1000],
      // '<odd>' sorts first: too narrow to draw, it still takes its place.
      [1, 'forward proxy/forward.js:10', 1.25, 998.75],
      [2, 'end @opentelemetry/sdk-trace/build/src/Span.js:246', 1.25, 624.22],
      [2, 'write node:_http_outgoing:4', 625.47, 249.69],
    ]);
    const [base, forward, end] = drawn;
    expect(forward?.y).toBeLessThan(base?.y ?? 0);
    expect(end?.y).toBeLessThan(forward?.y ?? 0);
  });

  it('leaves out frames below the minimum share, and says per request what each bar costs', () => {
    expect(svg).not.toContain('odd');
    expect(drawn[1]?.title).toBe('forward proxy/forward.js:10 [modeltap proxy/forward]: 400.0 µs per request, 99.9 %');
    expect(svg).toContain('busy 400.5 µs per request (idle left out), 2 requests');
    expect(svg).toContain('json &#60;c32&#62;');
  });

  it('colours bars by layer: modeltap, OpenTelemetry, Node.js', () => {
    expect(drawn.slice(1).map((b) => /^hsl\((\d+),/.exec(b.fill)?.[1])).toEqual(['210', '280', '35']);
  });

  it('escapes names and keeps its zoom script in CDATA, so the SVG stays well-formed', () => {
    const odd = flameGraph(profile, { title: 't', requests: 1 });
    expect(odd).toContain('data-n="&#60;odd&#62; &#38; &#34;name&#34; x.js:1"');
    const outsideScript = odd.replace(/<!\[CDATA\[[\s\S]*?\]\]>/, '');
    expect(outsideScript).not.toMatch(/&(?!#\d+;)/);
    expect(outsideScript.match(/<g /g)?.length).toBe(outsideScript.match(/<\/g>/g)?.length);
  });
});
