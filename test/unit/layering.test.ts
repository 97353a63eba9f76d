import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = new URL('../../', import.meta.url).pathname;
const root = join(repo, 'src/');

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

/**
 * The hook contract (types only, see its header) is a node of its own: the client core calls it and
 * the telemetry layers implement it, so `src/client` → `src/telemetry/hooks.ts` and
 * `src/telemetry` → `src/client` (the event types it records) are not a cycle. Moving hooks.ts to a
 * folder of its own would make this special case unnecessary.
 */
const CONTRACT = 'src/telemetry/hooks.ts';

/** The node a repo-relative .ts path belongs to: its folder, or the hook contract. */
function nodeOf(path: string): string {
  return path === CONTRACT ? CONTRACT : dirname(path);
}

const SRC_NODES = ['src', 'src/cli', 'src/ci', 'src/client', 'src/cost', 'src/proxy', 'src/sim', 'src/store', 'src/summary', 'src/telemetry', CONTRACT, 'src/telemetry/otel', 'src/util'];

/**
 * What each node may import besides itself (architecture.md, "Layout" and "Rules of the house"),
 * lowest layer first. A folder that is not here fails the test until it is given its place.
 * Nothing in src/ may import bench/: no src node lists it.
 */
const LAYERS: Readonly<Record<string, readonly string[]>> = {
  // Helpers every layer may use; they use nothing of ours.
  'src/util': [],
  [CONTRACT]: [],
  // The ModelClient core: knows nothing of servers, telemetry implementations or the summary.
  'src/client': [CONTRACT, 'src/util'],
  // What the proxy reports (ProxyTelemetry) and its fan-out: client types, the contract.
  'src/telemetry': ['src/client', CONTRACT, 'src/util'],
  // The request store: rows from the telemetry facts (`src/telemetry/facts.ts`), over node:sqlite.
  'src/store': ['src/client', 'src/telemetry', CONTRACT, 'src/summary', 'src/cost', 'src/util'],
  // The telemetry thread writes the store from the same facts as the spans.
  'src/telemetry/otel': ['src/client', 'src/telemetry', CONTRACT, 'src/store', 'src/cost', 'src/util'],
  // The run summary (GET /modeltap/summary, report, check): a data model.
  'src/summary': ['src/util'],
  // Prices and what a call cost: pure, over the shipped table.
  'src/cost': ['src/util'],
  // The simulated upstream stands alone: it must not share code with what it is a test double for.
  'src/sim': ['src/util'],
  // The server: the core, the telemetry interfaces and the summary; never the OTel layer (the CLI
  // composes it in), the simulator or the CLI.
  'src/proxy': ['src/client', 'src/telemetry', CONTRACT, 'src/summary', 'src/cost', 'src/util'],
  // The shipped bench and check commands: a client-side load generator and the summary comparison.
  'src/ci': ['src/client', 'src/summary', 'src/cost', 'src/util'],
  // index.ts, the library surface: anything, the composition root (createProxy) included.
  src: SRC_NODES.filter((n) => n !== 'src'),
  // The composition root: everything but the library surface that exports it.
  'src/cli': SRC_NODES.filter((n) => n !== 'src/cli' && n !== 'src'),
  // Benchmarks and developer tools (not in the package): anything in src/; src/ never imports them.
  bench: SRC_NODES,
};

/** File-level imports between nodes, by `from -> to`, with the files that make each edge. */
type Graph = Map<string, Map<string, Set<string>>>;

function importGraph(): Graph {
  const graph: Graph = new Map();
  for (const file of [...filesUnder(root), ...filesUnder(join(repo, 'bench'))]) {
    const from = nodeOf(relative(repo, file));
    const edges = graph.get(from) ?? new Map<string, Set<string>>();
    graph.set(from, edges);
    for (const spec of imports(file)) {
      if (!spec.startsWith('.')) continue;
      const to = nodeOf(relative(repo, resolve(dirname(file), spec)).replace(/\.js$/, '.ts'));
      if (to === from) continue;
      edges.set(to, (edges.get(to) ?? new Set()).add(relative(repo, file)));
    }
  }
  return graph;
}

/** Imports no layer allows, as `from -> to (files)`; nodes without a layer are reported too. */
function violations(graph: Graph, layers: Readonly<Record<string, readonly string[]>>): string[] {
  const out: string[] = [];
  for (const [from, edges] of graph) {
    const allowed = layers[from];
    if (allowed === undefined) {
      out.push(`${from} has no layer: give it one in LAYERS (test/unit/layering.test.ts)`);
      continue;
    }
    for (const [to, files] of edges) if (!allowed.includes(to)) out.push(`${from} -> ${to} (${[...files].join(', ')})`);
  }
  return out.sort();
}

/**
 * One cycle per strongly connected component of more than one node, as `a -> b -> a`, followed by
 * the component's nodes when it has more than the cycle.
 */
function cycles(graph: Graph): string[] {
  const nodes = [...new Set([...graph.keys(), ...[...graph.values()].flatMap((e) => [...e.keys()])])].sort();
  const next = (n: string): string[] => [...(graph.get(n)?.keys() ?? [])].sort();
  // Tarjan's algorithm (recursive: the graph has a dozen nodes).
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const components: string[][] = [];
  const visit = (n: string): void => {
    index.set(n, index.size);
    low.set(n, index.get(n) as number);
    stack.push(n);
    for (const m of next(n)) {
      if (!index.has(m)) {
        visit(m);
        low.set(n, Math.min(low.get(n) as number, low.get(m) as number));
      } else if (stack.includes(m)) low.set(n, Math.min(low.get(n) as number, index.get(m) as number));
    }
    if (low.get(n) === index.get(n)) {
      const component: string[] = [];
      let m: string | undefined;
      do component.push((m = stack.pop() as string));
      while (m !== n);
      if (component.length > 1) components.push(component);
    }
  };
  for (const n of nodes) if (!index.has(n)) visit(n);
  // A shortest way from the component's first node back to itself, within the component.
  return components.map((component) => {
    const start = [...component].sort()[0] as string;
    const paths = new Map<string, string[]>([[start, [start]]]);
    const queue = [start];
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
      for (const m of next(n).filter((x) => component.includes(x))) {
        if (m === start) {
          const cycle = [...(paths.get(n) as string[]), start];
          return cycle.length - 1 === component.length ? cycle.join(' -> ') : `${cycle.join(' -> ')} (one of the cycles among ${[...component].sort().join(', ')})`;
        }
        if (!paths.has(m)) {
          paths.set(m, [...(paths.get(n) as string[]), m]);
          queue.push(m);
        }
      }
    }
    return component.join(', ');
  });
}

function graphOf(edges: Record<string, string[]>): Graph {
  return new Map(Object.entries(edges).map(([from, tos]) => [from, new Map(tos.map((to) => [to, new Set([`${from}/x.ts`])]))]));
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

  it('only src/telemetry/otel/ imports OpenTelemetry', () => {
    const offenders = filesUnder(root)
      .filter((file) => !file.startsWith(join(root, 'telemetry/otel/')))
      .flatMap((file) => imports(file).filter((spec) => spec.startsWith('@opentelemetry/')).map((spec) => `${file}: ${spec}`));
    expect(offenders).toEqual([]);
  });

  it('only the entry points read process.env or process.argv: src/cli/ and the tools\' bench/*-main.ts', () => {
    // The benchmarks' mains are entry points like the CLI (npm scripts run them, the benchmarks start
    // them as child processes); the rest of bench/ gets its environment from them. Comments may
    // name process.env (src/client/auth.ts says who reads it). One reader sits below src/cli/ by
    // necessity: @opentelemetry/sdk-node reads the OTEL_* variables from process.env itself (its
    // API takes no environment); src/telemetry/otel/sdk.ts starts it, and src/cli/ decides first.
    const code = (file: string): string => readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
    const offenders = [...filesUnder(root), ...filesUnder(join(repo, 'bench'))]
      .filter((file) => !file.startsWith(join(root, 'cli/')) && !/^bench\/[^/]+-main\.ts$/.test(relative(repo, file)))
      .filter((file) => /process\.(env|argv)/.test(code(file)));
    expect(offenders).toEqual([]);
  });

  it('every import between folders of src/ and bench/ goes down the layers', () => {
    const graph = importGraph();
    expect(violations(graph, LAYERS)).toEqual([]);
    // The graph is really built: the proxy uses the core, the CLI composes the proxy.
    expect([...(graph.get('src/proxy')?.keys() ?? [])]).toContain('src/client');
    expect([...(graph.get('src/cli')?.keys() ?? [])]).toContain('src/proxy');
  });

  it('no cycle between folders', () => {
    expect(cycles(importGraph())).toEqual([]);
  });

  it('the checks see a forbidden import and a cycle', () => {
    const bad = graphOf({ 'src/proxy': ['src/client', 'src/cli'], 'src/client': ['src/util'], 'src/new': [] });
    expect(violations(bad, LAYERS)).toEqual(['src/new has no layer: give it one in LAYERS (test/unit/layering.test.ts)', 'src/proxy -> src/cli (src/proxy/x.ts)']);
    expect(cycles(graphOf({ a: ['b'], b: ['c', 'd'], c: ['a'], d: [] }))).toEqual(['a -> b -> c -> a']);
    expect(cycles(graphOf({ a: ['b'], b: ['a', 'c'], c: ['b'] }))).toEqual(['a -> b -> a (one of the cycles among a, b, c)']);
    expect(cycles(graphOf({ a: ['b'], b: ['c'], c: [] }))).toEqual([]);
  });
});
