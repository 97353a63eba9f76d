/** The parts of a V8 `.cpuprofile` (written by `node --cpu-prof`) that a summary needs. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
    /** Callee node ids (the flame graph needs them; the summary does not). */
    readonly children?: readonly number[];
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Self time by where the code lives, in µs per request. */
export interface ProfileSummary {
  /** All sampled time but idle, µs per request. */
  readonly busyUs: number;
  /** By area: an npm package, a `node:` module, a modeltap source file, or a native entry (GC, syscalls). */
  readonly byArea: readonly { readonly area: string; readonly us: number }[];
}

/** The area a function belongs to: its npm package, its `node:` module, its source file, or `(native) name`. */
export function areaOf(frame: { readonly functionName: string; readonly url: string }): string {
  const { url } = frame;
  if (url === '') return `(native) ${frame.functionName || '(anonymous)'}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1] !== undefined) return pkg[1];
  if (url.startsWith('node:')) return url;
  // dist-bench/: the benchmark's own processes (the Node floor) are built beside the package.
  const own = /\/dist(?:-bench)?\/(.+)$/.exec(url);
  return own?.[1] !== undefined ? `modeltap ${own[1].replace(/\.js$/, '')}` : url.replace(/^file:\/\//, '');
}

/**
 * Sums a profile's samples by {@link areaOf}, leaving out idle time, per request: what each part of
 * the stack costs one request, which is how two targets can be compared.
 */
export function summarizeProfile(profile: CpuProfile, requests: number): ProfileSummary {
  const areas = new Map<number, string>();
  for (const node of profile.nodes) areas.set(node.id, areaOf(node.callFrame));
  const totals = new Map<string, number>();
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const area = areas.get(profile.samples[i] as number) ?? '(unknown)';
    if (area === '(native) (idle)') continue;
    const dt = profile.timeDeltas[i] ?? 0;
    busy += dt;
    totals.set(area, (totals.get(area) ?? 0) + dt);
  }
  const per = Math.max(1, requests);
  return {
    busyUs: busy / per,
    byArea: [...totals].map(([area, us]) => ({ area, us: us / per })).sort((a, b) => b.us - a.us),
  };
}
