import { readFileSync } from 'node:fs';
import { PriceFileError, shippedPrices, withOverrides, type PriceTable } from '../cost/price-table.js';
import { UsageError } from './flags.js';

/** What `--prices FILE` gives: the table to cost at, and the file itself (for the telemetry thread, which reads it as text). */
export interface PricesFlag {
  readonly table: PriceTable;
  /** Undefined without `--prices`: the shipped table alone. */
  readonly file: { readonly text: string; readonly name: string } | undefined;
}

/** Reads and checks a `--prices` file over the shipped table; a bad one is a usage error (exit 2) naming the entry. */
export function pricesFromFlag(path: string | undefined): PricesFlag {
  if (path === undefined) return { table: shippedPrices(), file: undefined };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--prices: cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return { table: withOverrides(shippedPrices(), text, path), file: { text, name: path } };
  } catch (error) {
    if (error instanceof PriceFileError) throw new UsageError(`--prices: ${error.message}`);
    throw error;
  }
}
