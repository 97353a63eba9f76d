import { findPrice, type PriceTable } from './price-table.js';

/** What an operation used, as the upstream reported it (input includes cached input; output includes reasoning). */
export interface CostUsage {
  readonly inputTokens: number | null | undefined;
  readonly cachedInputTokens: number | null | undefined;
  readonly outputTokens: number | null | undefined;
}

/** USD per million tokens in pico-USD per token: an integer for prices of up to six decimals. */
const picoPerToken = (usdPerMillion: number): number => Math.round(usdPerMillion * 1e6);

/**
 * What an operation cost, in pico-USD (1e-12 USD: an integer, so that sums of many small costs stay
 * exact, far below 1e-9 USD, where a float sum of USD drifts), from the usage the upstream reported, the model that answered (`model`: the response's
 * model, else the request's) and the service tier it answered with. Undefined (unknown, never 0)
 * for a model without a price, a tier without a multiplier, or no usage.
 */
export function costPicos(table: PriceTable, model: string | null | undefined, usage: CostUsage, serviceTier: string | null | undefined): number | undefined {
  const price = findPrice(table, model);
  if (price === undefined) return undefined;
  const input = usage.inputTokens;
  const output = usage.outputTokens;
  if (input === null || input === undefined || output === null || output === undefined) return undefined;
  const tier = serviceTier === null || serviceTier === undefined || serviceTier === '' ? 1 : table.tiers.get(serviceTier);
  if (tier === undefined) return undefined;
  const cached = Math.min(Math.max(usage.cachedInputTokens ?? 0, 0), input);
  const p = price.longContext !== undefined && input > price.longContext.aboveInputTokens ? price.longContext : price;
  const pico = (input - cached) * picoPerToken(p.input) + cached * picoPerToken(p.cachedInput) + output * picoPerToken(p.output);
  return Math.round(pico * tier);
}

/** Pico-USD as USD. */
export const usdOf = (picos: number): number => picos / 1e12;
