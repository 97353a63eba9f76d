/** The report names of the benchmark's targets. */
export const TARGET_NAMES = {
  floor: 'Node floor (node:http + undici, no telemetry)',
  off: 'modeltap (telemetry off)',
  full: 'modeltap (full telemetry)',
  store: 'modeltap (full telemetry, store on)',
  nginx: 'nginx',
} as const;

/** What {@link targetsSection} reads of one target's row in one scenario. */
export interface TargetRow {
  readonly target: string;
  readonly rps: number;
  readonly errors: number;
  readonly addedTtfeP50: number;
  readonly addedTtfeP99: number;
  readonly addedEventP99: number;
  readonly peakRssMb: number;
  /** Requests/s of each round, in round order (to show how far the rounds spread). */
  readonly roundRps?: readonly number[];
  /** The relay thread's (the main thread's) CPU ms per 1,000 requests. */
  readonly mainThreadCpuPer1000?: number;
  /** The relay's largest event-loop delay, ms. */
  readonly loopMaxMs?: number;
}

type Role = keyof typeof TARGET_NAMES;
const COLUMNS: readonly Role[] = ['full', 'off', 'floor', 'nginx'];

interface Goal {
  readonly label: string;
  readonly scenario: string;
  /** The metric of one target in the scenario, or NaN when it cannot be computed. */
  readonly value: (rows: ReadonlyMap<Role, TargetRow>, role: Role) => number;
  readonly unit: string;
  readonly digits: number;
  readonly limit: number;
  /** 'max': the value must be at most the limit; 'min': at least. */
  readonly kind: 'max' | 'min';
}

const field = (name: 'addedTtfeP50' | 'addedTtfeP99' | 'addedEventP99' | 'peakRssMb') => (rows: ReadonlyMap<Role, TargetRow>, role: Role) =>
  rows.get(role)?.[name] ?? Number.NaN;

/** The acceptance list of the performance issue (#6), checked on the full-telemetry column. */
const GOALS: readonly Goal[] = [
  { label: 'added time to first event p50', scenario: 'sse-c1', value: field('addedTtfeP50'), unit: 'ms', digits: 2, limit: 0.3, kind: 'max' },
  { label: 'added time to first event p99', scenario: 'sse-c1', value: field('addedTtfeP99'), unit: 'ms', digits: 2, limit: 1, kind: 'max' },
  { label: 'added per-event latency p99', scenario: 'sse-c1', value: field('addedEventP99'), unit: 'ms', digits: 2, limit: 0.3, kind: 'max' },
  {
    label: "requests/s, share of nginx's",
    scenario: 'json-c32',
    value: (rows, role) => ((rows.get(role)?.rps ?? Number.NaN) / (rows.get('nginx')?.rps ?? Number.NaN)) * 100,
    unit: '%',
    digits: 0,
    limit: 50,
    kind: 'min',
  },
  { label: 'peak RSS', scenario: 'sse-c256', value: field('peakRssMb'), unit: 'MB', digits: 0, limit: 150, kind: 'max' },
];

/** A goal of full telemetry against telemetry off in one scenario (issue 19's acceptance list). */
interface RelativeGoal {
  readonly label: string;
  /** Scenarios it is checked in: each gets a row. */
  readonly scenarios: readonly string[];
  readonly value: (row: TargetRow) => number;
  readonly unit: string;
  readonly digits: number;
  /** `ratio`: full ≤ off × limit; `sum`: full ≤ off + limit. */
  readonly kind: 'ratio' | 'sum';
  readonly limit: number;
}

const ALL_SCENARIOS = ['sse-c1', 'sse-c64', 'json-c32', 'sse-c256', 'ws-c8'];

/** Issue 19's acceptance list: the telemetry thread must keep full telemetry close to telemetry off on the relay's side. */
const RELATIVE_GOALS: readonly RelativeGoal[] = [
  { label: 'relay-thread CPU per request', scenarios: ALL_SCENARIOS, value: (r) => r.mainThreadCpuPer1000 ?? Number.NaN, unit: 'ms / 1k', digits: 0, kind: 'ratio', limit: 1.15 },
  { label: 'relay event-loop delay, max', scenarios: ['sse-c1'], value: (r) => r.loopMaxMs ?? Number.NaN, unit: 'ms', digits: 2, kind: 'sum', limit: 1 },
  { label: 'added time to first event p99 against off', scenarios: ['sse-c1'], value: (r) => r.addedTtfeP99, unit: 'ms', digits: 2, kind: 'sum', limit: 0.2 },
  { label: 'added per-event latency p99 against off', scenarios: ['sse-c1'], value: (r) => r.addedEventP99, unit: 'ms', digits: 2, kind: 'sum', limit: 0.2 },
  { label: 'peak RSS against off', scenarios: ['sse-c256'], value: (r) => r.peakRssMb, unit: 'MB', digits: 0, kind: 'sum', limit: 25 },
];

/** The row of one relative goal in one scenario, or undefined without both targets. */
function relativeLine(goal: RelativeGoal, scenario: string, full: TargetRow | undefined, off: TargetRow | undefined): string | undefined {
  if (full === undefined || off === undefined) return undefined;
  const a = goal.value(full);
  const b = goal.value(off);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return undefined;
  const ok = goal.kind === 'ratio' ? a <= b * goal.limit : a <= b + goal.limit;
  const relation = goal.kind === 'ratio' ? `${(a / b).toFixed(2)} × off` : `off ${a - b >= 0 ? '+' : '−'} ${Math.abs(a - b).toFixed(goal.digits)} ${goal.unit}`;
  const target = goal.kind === 'ratio' ? `≤ ${goal.limit} × off` : `≤ off + ${goal.limit} ${goal.unit}`;
  return `| ${goal.label} (${scenario}) | ${show(a, goal.digits, goal.unit)} (${relation}) | ${show(b, goal.digits, goal.unit)} | | | ${target} | ${ok ? 'met' : '**not met**'} |`;
}

const show = (n: number, digits: number, unit: string): string => (Number.isFinite(n) ? `${n.toFixed(digits)} ${unit}` : '–');

/** A signed percentage with one decimal: a rounded "−15 %" beside "not met" would read as a contradiction. */
const percent = (n: number): string => `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(1)}`;

/**
 * Full telemetry against off, round by round (each round's two runs are minutes apart at most, so
 * the spread shows how much of a difference this machine's drift alone can make). Empty for fewer
 * than two paired rounds.
 */
function roundChanges(full: TargetRow | undefined, off: TargetRow | undefined): number[] {
  const a = full?.roundRps ?? [];
  const b = off?.roundRps ?? [];
  const changes: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) changes.push(((a[i] as number) / (b[i] as number) - 1) * 100);
  return changes.length >= 2 && changes.every(Number.isFinite) ? changes : [];
}

function verdict(value: number, limit: number, kind: 'max' | 'min'): string {
  if (!Number.isFinite(value)) return '–';
  return (kind === 'max' ? value <= limit : value >= limit) ? 'met' : '**not met**';
}

/**
 * The report's "Targets" section: each acceptance item of the performance issue for full
 * telemetry, beside the same number for telemetry off, the Node floor and nginx, so that a rerun
 * shows which targets hold and how far the stack itself is from them. Scenarios not in `results`
 * are left out; returns '' when none of them ran.
 */
export function targetsSection(results: ReadonlyMap<string, readonly TargetRow[]>): string {
  const lines: string[] = [];
  const byRole = (scenario: string): ReadonlyMap<Role, TargetRow> | undefined => {
    const rows = results.get(scenario);
    if (rows === undefined) return undefined;
    const map = new Map<Role, TargetRow>();
    for (const role of [...COLUMNS, 'store'] as const) {
      const row = rows.find((r) => r.target === TARGET_NAMES[role]);
      if (row !== undefined) map.set(role, row);
    }
    return map;
  };
  for (const goal of GOALS) {
    const rows = byRole(goal.scenario);
    if (rows === undefined) continue;
    const cells = COLUMNS.map((role) => show(goal.value(rows, role), goal.digits, goal.unit));
    const target = `${goal.kind === 'max' ? '≤' : '≥'} ${goal.limit} ${goal.unit}`;
    lines.push(`| ${goal.label} (${goal.scenario}) | ${cells.join(' | ')} | ${target} | ${verdict(goal.value(rows, 'full'), goal.limit, goal.kind)} |`);
  }
  for (const [scenario] of results) {
    const rows = byRole(scenario);
    const full = rows?.get('full');
    const off = rows?.get('off');
    const change = (((full?.rps ?? Number.NaN) / (off?.rps ?? Number.NaN)) - 1) * 100;
    const rounds = roundChanges(full, off);
    const spread = rounds.length === 0 ? '' : ` (rounds ${percent(Math.min(...rounds))} to ${percent(Math.max(...rounds))} %)`;
    const cell = Number.isFinite(change) ? `${percent(change)} %${spread}` : '–';
    lines.push(`| throughput, full telemetry against off (${scenario}) | ${cell} | | | | ≥ −15 % | ${verdict(change, -15, 'min')} |`);
  }
  for (const goal of RELATIVE_GOALS) {
    for (const scenario of goal.scenarios) {
      const rows = byRole(scenario);
      const line = relativeLine(goal, scenario, rows?.get('full'), rows?.get('off'));
      if (line !== undefined) lines.push(line);
    }
  }
  // Issue 20: the request store, written by the telemetry thread, costs the relay little.
  const json = byRole('json-c32');
  const store = json?.get('store');
  const full = json?.get('full');
  if (store !== undefined && full !== undefined) {
    const ratio = store.rps / full.rps;
    lines.push(`| requests/s with the store on (json-c32) | ${store.rps.toFixed(0)} req/s (${ratio.toFixed(2)} × store off) | | | | ≥ 0.9 × full telemetry, store off (${full.rps.toFixed(0)} req/s) | ${ratio >= 0.9 ? 'met' : '**not met**'} |`);
  }
  if (lines.length === 0) return '';
  const errors = [...results.values()].flat().reduce((n, r) => n + r.errors, 0);
  lines.push(`| errors, every scenario and target | ${errors} | | | | 0 | ${errors === 0 ? 'met' : '**not met**'} |`);
  return [
    '### Targets',
    '',
    'The performance issues\' acceptance lists (#6 absolute, #19 against telemetry off), for modeltap with full telemetry; the other columns show the same number for telemetry off, the Node floor and nginx.',
    '',
    '| target | full telemetry | telemetry off | Node floor | nginx | goal | verdict (full telemetry) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...lines,
    '',
  ].join('\n');
}
