/** One command-line flag and its environment equivalent. */
export interface FlagDef {
  /** Long name without dashes, e.g. `port`. */
  readonly name: string;
  /** Environment variable read when the flag is absent. */
  readonly env?: string;
  readonly kind: 'string' | 'integer' | 'number' | 'boolean';
  /** Shown in `--help`. */
  readonly help: string;
  /** Placeholder in `--help`, e.g. `URL`. */
  readonly value?: string;
  readonly defaultText?: string;
  /** Smallest accepted integer or number. Default 0. */
  readonly min?: number;
  /**
   * May be given more than once: its value is then the list of every value given, in order (the
   * environment variable gives a list of one). Default false: the last one given wins.
   */
  readonly repeatable?: boolean;
}

/** A bad flag or value: the CLI prints the message on one line and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** One flag's value. */
export type FlagValue = string | number | boolean;

/** Parsed flags by name: a list for a {@link FlagDef.repeatable} flag, undefined when absent. */
export type FlagValues = Record<string, FlagValue | FlagValue[] | undefined>;

function convert(def: FlagDef, raw: string, source: string): string | number | boolean {
  if (def.kind === 'string') {
    if (raw === '') throw new UsageError(`${source} needs a value`);
    return raw;
  }
  if (def.kind === 'boolean') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new UsageError(`${source} must be true or false, not '${raw}'`);
  }
  if (def.kind === 'number' ? !/^\d+(\.\d+)?$/.test(raw) : !/^\d+$/.test(raw)) {
    throw new UsageError(`${source} must be a ${def.kind === 'number' ? 'non-negative number' : 'whole number'}, not '${raw}'`);
  }
  const value = Number(raw);
  if (value < (def.min ?? 0)) throw new UsageError(`${source} must be at least ${def.min ?? 0}, not ${value}`);
  return value;
}

/**
 * Parses `--name value`, `--name=value` and boolean `--name` / `--no-name` flags (a repeatable one
 * into the list of its values); a flag that is absent falls back to its environment variable. Unknown flags and bad values throw
 * {@link UsageError}.
 */
export function parseFlags(argv: readonly string[], defs: readonly FlagDef[], env: Readonly<Record<string, string | undefined>>): FlagValues {
  const byName = new Map(defs.map((d) => [d.name, d]));
  const values: FlagValues = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    let name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let negated = false;
    if (!byName.has(name) && name.startsWith('no-') && byName.get(name.slice(3))?.kind === 'boolean') {
      name = name.slice(3);
      negated = true;
    }
    const def = byName.get(name);
    if (def === undefined) throw new UsageError(`unknown flag --${name}`);
    if (def.kind === 'boolean' && eq === -1) {
      values[name] = !negated;
      continue;
    }
    let raw: string | undefined = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (raw === undefined) throw new UsageError(`--${name} needs a value`);
    const value = convert(def, raw, `--${name}`);
    const given = values[name];
    values[name] = def.repeatable === true ? [...(Array.isArray(given) ? given : []), value] : value;
    raw = undefined;
  }
  for (const def of defs) {
    if (values[def.name] !== undefined || def.env === undefined) continue;
    const raw = env[def.env];
    if (raw === undefined || raw === '') continue;
    const value = convert(def, raw, def.env);
    values[def.name] = def.repeatable === true ? [value] : value;
  }
  return values;
}

/** The `--help` text of a command. */
export function helpText(usage: string, summary: string, defs: readonly FlagDef[]): string {
  const rows = defs.map((d) => {
    const left = `  --${d.name}${d.kind === 'boolean' ? '' : ` ${d.value ?? d.kind.toUpperCase()}`}`;
    const extras = [d.repeatable === true ? 'repeatable' : '', d.env ? `env ${d.env}` : '', d.defaultText ? `default ${d.defaultText}` : ''].filter(Boolean).join('; ');
    return `${left.padEnd(34)} ${d.help}${extras ? ` (${extras})` : ''}`;
  });
  return `${usage}\n\n${summary}\n\nOptions:\n${rows.join('\n')}\n  --help                             Show this help.\n`;
}
