import { areaOf, type CpuProfile } from './cpu-profile.js';

/** Options of {@link flameGraph}. */
export interface FlameGraphOptions {
  /** Shown above the graph. */
  readonly title: string;
  /** Requests served while profiling: every frame's tooltip gives its time per request. */
  readonly requests: number;
  /** Frames narrower than this share of the busy time are left out (with their callees). Default 0.001. */
  readonly minShare?: number;
  /** Drawing width in pixels. Default 1200. */
  readonly width?: number;
}

/** One merged call path of {@link callTree}: a function called from one stack, with its time and callees. */
export interface FlameFrame {
  /** `function file:line`, or V8's name for a native entry such as `(garbage collector)`. */
  readonly name: string;
  /** {@link areaOf} the frame; empty for the root. */
  readonly area: string;
  /** Sampled time including callees, µs. */
  readonly total: number;
  readonly children: ReadonlyMap<string, FlameFrame>;
}

interface Frame extends FlameFrame {
  total: number;
  readonly children: Map<string, Frame>;
}

const ROW = 17;
const FONT = 11;
const CHAR = 6.4;
const TOP = 48;

/** Where a frame's code lives, coloured alike: which layer of the stack a tower belongs to. */
const LAYERS: readonly { readonly label: string; readonly test: (area: string) => boolean; readonly hue: number }[] = [
  { label: 'modeltap', test: (a) => a.startsWith('modeltap '), hue: 210 },
  { label: 'OpenTelemetry', test: (a) => a.startsWith('@opentelemetry/'), hue: 280 },
  { label: 'undici, Hono and other packages', test: (a) => !a.startsWith('node:') && !a.startsWith('(native)') && !a.startsWith('/'), hue: 130 },
  { label: 'Node.js', test: (a) => a.startsWith('node:'), hue: 35 },
  { label: 'native (syscalls, GC, V8)', test: () => true, hue: 0 },
];

/**
 * Click a bar to widen it to the full width (its callers stay, its callees follow); click the base
 * bar to zoom out. Original geometry is read back from each bar once, so zooms do not compound.
 */
const ZOOM_SCRIPT = `(function(){var W=@W,C=@C,gs=[].slice.call(document.querySelectorAll('g[data-l]'));
gs.forEach(function(g){var r=g.querySelector('rect');g._x=+r.getAttribute('x');g._w=+r.getAttribute('width');g._l=+g.getAttribute('data-l');
g.addEventListener('click',function(){zoom(g)});g.style.cursor='pointer'});
function zoom(z){var k=W/z._w;gs.forEach(function(g){var r=g.querySelector('rect'),t=g.querySelector('text');
var inside=g._x>=z._x-1e-6&&g._x+g._w<=z._x+z._w+1e-6,under=g._l<z._l&&g._x<=z._x+1e-6&&g._x+g._w>=z._x+z._w-1e-6;
if(!inside&&!under){g.style.display='none';return}g.style.display='';
var x=under?0:(g._x-z._x)*k,w=under?W:g._w*k;r.setAttribute('x',x);r.setAttribute('width',w);t.setAttribute('x',x+3);
var n=g.getAttribute('data-n'),c=Math.floor((w-6)/C);t.textContent=c<3?'':n.length<=c?n:n.slice(0,c-2)+'..'})}})();`;

function layerOf(area: string): (typeof LAYERS)[number] {
  return LAYERS.find((l) => l.test(area)) ?? (LAYERS.at(-1) as (typeof LAYERS)[number]);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A stable pseudo-random lightness per name, so neighbouring frames of one layer stay apart. */
function shade(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) | 0;
  return 58 + (Math.abs(h) % 20);
}

function frameName(callFrame: CpuProfile['nodes'][number]['callFrame']): string {
  const fn = callFrame.functionName || '(anonymous)';
  if (callFrame.url === '') return fn;
  const file = callFrame.url.replace(/^.*\/node_modules\//, '').replace(/^.*\/dist(?:-bench)?\//, '').replace(/^file:\/\//, '');
  return `${fn} ${file}:${callFrame.lineNumber + 1}`;
}

/**
 * Merges a profile's samples into one tree of call paths (identical frames under the same caller
 * add up, as in every flame graph), leaving idle time out. Returns the root, whose total is the busy time.
 */
export function callTree(profile: CpuProfile): FlameFrame {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const root: Frame = { name: 'all', area: '', total: 0, children: new Map() };
  for (const [id, us] of self) {
    if (us <= 0) continue;
    const stack: CpuProfile['nodes'][number][] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (node !== undefined) stack.push(node);
    }
    // The stack runs leaf to root; V8's own "(root)" frame adds nothing to draw.
    const leaf = stack[0];
    if (leaf === undefined || leaf.callFrame.functionName === '(idle)') continue;
    root.total += us;
    let into = root;
    for (let i = stack.length - 1; i >= 0; i--) {
      const node = stack[i] as CpuProfile['nodes'][number];
      if (node.callFrame.functionName === '(root)' && node.callFrame.url === '') continue;
      const name = frameName(node.callFrame);
      let next = into.children.get(name);
      if (next === undefined) {
        next = { name, area: areaOf(node.callFrame), total: 0, children: new Map() };
        into.children.set(name, next);
      }
      next.total += us;
      into = next;
    }
  }
  return root;
}

/**
 * Draws a CPU profile (`node --cpu-prof`) as a flame graph, in one self-contained SVG that any
 * browser opens: each bar a function, as wide as its time including its callees, stacked on its
 * caller; siblings in name order, as Brendan Gregg's flame graphs have them. Bars are coloured by
 * layer (modeltap, OpenTelemetry, other packages, Node.js, native), give their time per request
 * on hover and zoom in on a click. Idle time is left out, so the width is the busy time.
 */
export function flameGraph(profile: CpuProfile, options: FlameGraphOptions): string {
  const width = options.width ?? 1200;
  const minShare = options.minShare ?? 0.001;
  const root = callTree(profile);
  const perRequest = 1 / Math.max(1, options.requests);
  const scale = root.total > 0 ? width / root.total : 0;
  const rects: string[] = [];
  let depth = 0;
  const draw = (frame: FlameFrame, x: number, level: number): void => {
    depth = Math.max(depth, level);
    const w = frame.total * scale;
    const layer = layerOf(frame.area);
    const us = frame.total * perRequest;
    const share = root.total > 0 ? (100 * frame.total) / root.total : 0;
    const tip = `${frame.name}${frame.area === '' ? '' : ` [${frame.area}]`}: ${us.toFixed(1)} µs per request, ${share.toFixed(1)} %`;
    const fill = level === 0 ? 'hsl(0,0%,80%)' : `hsl(${layer.hue},55%,${shade(frame.name)}%)`;
    const chars = Math.floor((w - 6) / CHAR);
    const label = chars < 3 ? '' : frame.name.length <= chars ? frame.name : `${frame.name.slice(0, chars - 2)}..`;
    rects.push(
      `<g data-l="${level}" data-n="${escapeXml(frame.name)}"><title>${escapeXml(tip)}</title><rect x="${x.toFixed(2)}" y="@${level}" width="${w.toFixed(2)}" height="${ROW - 1}" fill="${fill}" rx="2"/>` +
        `<text x="${(x + 3).toFixed(2)}" y="@${level}t">${escapeXml(label)}</text></g>`,
    );
    let at = x;
    for (const child of [...frame.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (child.total < minShare * root.total) {
        at += child.total * scale;
        continue;
      }
      draw(child, at, level + 1);
      at += child.total * scale;
    }
  };
  draw(root, 0, 0);
  const graphHeight = (depth + 1) * ROW;
  const legendY = TOP + graphHeight + 16;
  const height = legendY + 20;
  // Rows are placed once the depth is known: a flame graph grows upwards from its base.
  const y = (level: number): number => TOP + graphHeight - (level + 1) * ROW;
  const body = rects
    .join('\n')
    .replace(/y="@(\d+)(t?)"/g, (_m, level: string, text: string) => `y="${(y(Number(level)) + (text === '' ? 0 : ROW - 5)).toFixed(0)}"`);
  let lx = 0;
  const legend = LAYERS.map((l) => {
    const item = `<rect x="${lx}" y="${legendY}" width="12" height="12" fill="hsl(${l.hue},55%,65%)"/><text x="${lx + 16}" y="${legendY + 10}">${escapeXml(l.label)}</text>`;
    lx += 24 + l.label.length * CHAR;
    return item;
  }).join('');
  const busy = root.total * perRequest;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="${FONT}">`,
    '<style>text{pointer-events:none;fill:#000}g:hover rect{stroke:#000;stroke-width:1}</style>',
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="0" y="16" font-size="15">${escapeXml(options.title)}</text>`,
    `<text x="0" y="34">${escapeXml(`busy ${busy.toFixed(1)} µs per request (idle left out), ${options.requests} requests; hover a bar for its time, click it to zoom in, click the base to zoom out`)}</text>`,
    body,
    legend,
    `<script><![CDATA[${ZOOM_SCRIPT.replace('@W', String(width)).replace('@C', String(CHAR))}]]></script>`,
    '</svg>',
    '',
  ].join('\n');
}
