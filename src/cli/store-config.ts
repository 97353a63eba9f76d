import { hostname } from 'node:os';
import { join } from 'node:path';
import type { StoreConfig } from '../store/store-writer.js';
import { UsageError } from './flags.js';

type Env = Readonly<Record<string, string | undefined>>;

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as `7d`, `12h`, `30m` or `90s`, in ms. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  const ms = match === null ? Number.NaN : Number(match[1]) * (UNITS[match[2] as string] as number);
  if (!Number.isFinite(ms) || ms <= 0) throw new UsageError(`--${flag} must be a duration such as 7d, 12h, 30m or 90s, not '${text}'`);
  return ms;
}

/** Where `--store` puts the database when given `default`: $XDG_STATE_HOME/modeltap/modeltap.db, else ~/.local/state/modeltap/modeltap.db. */
export function defaultStorePath(env: Env): string {
  const state = env['XDG_STATE_HOME'];
  if (state !== undefined && state !== '') return join(state, 'modeltap', 'modeltap.db');
  const home = env['HOME'];
  if (home === undefined || home === '') throw new UsageError('--store default needs HOME or XDG_STATE_HOME; give --store PATH');
  return join(home, '.local', 'state', 'modeltap', 'modeltap.db');
}

/**
 * The store the flags ask for: `--store PATH`, `default` (the default; see {@link defaultStorePath}:
 * without HOME or XDG_STATE_HOME, in memory for the run), `memory`, or `off` (undefined here);
 * `--retention` (default 7d), `--store-max-mb` (512).
 */
export function storeConfigFromFlags(values: Readonly<Record<string, unknown>>, env: Env): StoreConfig | undefined {
  const given = values['store'] as string | undefined;
  const store = given ?? 'default';
  if (store === 'off') return undefined;
  if (store === '') throw new UsageError('--store needs PATH, default, memory, off or a postgres:// URL');
  const homeless = given === undefined && !env['XDG_STATE_HOME'] && !env['HOME'];
  const location = store === 'memory' || homeless ? ':memory:' : store === 'default' ? defaultStorePath(env) : store;
  const retention = values['retention'] as string | undefined;
  const maxMb = (values['store-max-mb'] as number | undefined) ?? 512;
  return { location, retentionMs: retention === undefined ? 7 * UNITS['d']! : parseDuration(retention, 'retention'), maxBytes: maxMb * 1024 * 1024 };
}

/** This replica's name (`--replica`): default the host name, which Kubernetes makes the pod's name. */
export function replicaFromFlags(values: Readonly<Record<string, unknown>>): string {
  const given = values['replica'] as string | undefined;
  const name = (given ?? hostname()).trim();
  if (name === '' || name.length > 200) throw new UsageError(`--replica must be a name of 1 to 200 characters, not '${given ?? ''}'`);
  return name;
}
