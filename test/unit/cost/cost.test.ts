import { describe, expect, it } from 'vitest';
import { costPicos, usdOf } from '../../../src/cost/cost.js';
import { findPrice, PriceFileError, shippedPrices, withOverrides } from '../../../src/cost/price-table.js';

const table = shippedPrices();
const usage = (inputTokens: number, cachedInputTokens: number, outputTokens: number) => ({ inputTokens, cachedInputTokens, outputTokens });

describe('the shipped price table', () => {
  it('has a date, a source for each entry, and the models Codex and the SDKs call', () => {
    expect(table.checked).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const [name, price] of table.models) expect(price.source, name).toMatch(/^https:\/\//);
    for (const model of ['gpt-5.1', 'gpt-5.1-codex', 'gpt-5.1-codex-max', 'gpt-5.1-codex-mini', 'gpt-5.2-codex', 'gpt-5.3-codex', 'gpt-6-sol', 'gpt-4.1-mini', 'gpt-4o-mini', 'o3', 'o4-mini']) {
      expect(findPrice(table, model), model).toBeDefined();
    }
  });

  it('finds a model by its exact name or by its dated snapshot', () => {
    expect(findPrice(table, 'gpt-5.1')).toMatchObject({ input: 1.25, cachedInput: 0.125, output: 10 });
    expect(findPrice(table, 'gpt-5.1-2025-11-13')).toEqual(findPrice(table, 'gpt-5.1'));
    expect(findPrice(table, 'gpt-4.1-mini-20250414')).toEqual(findPrice(table, 'gpt-4.1-mini'));
    expect(findPrice(table, 'gpt-5.1-preview')).toBeUndefined();
    expect(findPrice(table, 'no-such-model')).toBeUndefined();
    expect(findPrice(table, null)).toBeUndefined();
  });
});

describe('costPicos', () => {
  it('bills uncached input, cached input and output (reasoning is output) at their prices', () => {
    // gpt-5.1: 1.25 / 0.125 / 10 USD per million.
    expect(costPicos(table, 'gpt-5.1', usage(1_000_000, 0, 0), null)).toBe(1_250_000_000_000);
    expect(costPicos(table, 'gpt-5.1', usage(1000, 400, 200), null)).toBe(600 * 1_250_000 + 400 * 125_000 + 200 * 10_000_000);
    expect(usdOf(costPicos(table, 'gpt-5.1', usage(1000, 400, 200), 'default') as number)).toBe(0.0028);
  });

  it('multiplies by the service tier the API answered with; an unknown tier is an unknown cost', () => {
    const standard = costPicos(table, 'gpt-5.1', usage(10_000, 2000, 3000), 'default') as number;
    expect(costPicos(table, 'gpt-5.1', usage(10_000, 2000, 3000), 'auto')).toBe(standard);
    expect(costPicos(table, 'gpt-5.1', usage(10_000, 2000, 3000), 'flex')).toBe(standard / 2);
    expect(costPicos(table, 'gpt-5.1', usage(10_000, 2000, 3000), 'priority')).toBe(standard * 2);
    expect(costPicos(table, 'gpt-5.1', usage(10_000, 2000, 3000), 'galactic')).toBeUndefined();
  });

  it('bills a prompt beyond the long-context threshold at the long-context prices', () => {
    const price = findPrice(table, 'gpt-6-sol');
    expect(price?.longContext?.aboveInputTokens).toBe(272_000);
    expect(costPicos(table, 'gpt-6-sol', usage(272_000, 0, 0), null)).toBe(272_000 * 2_000_000);
    expect(costPicos(table, 'gpt-6-sol', usage(272_001, 1, 10), null)).toBe(272_000 * 4_000_000 + 1 * 400_000 + 10 * 15_000_000);
  });

  it('is unknown, never 0, for a model without a price or a call without usage', () => {
    expect(costPicos(table, 'no-such-model', usage(10, 0, 10), null)).toBeUndefined();
    expect(costPicos(table, 'gpt-5.1', { inputTokens: null, cachedInputTokens: null, outputTokens: null }, null)).toBeUndefined();
    expect(costPicos(table, undefined, usage(10, 0, 10), null)).toBeUndefined();
  });

  it('sums many small costs exactly to 1e-9 USD', () => {
    // 0.175 USD per million is not a binary fraction: a million calls of 1 token each, summed as floats, drifts.
    const price = withOverrides(table, '{"tiny": {"input": 0.175, "cached_input": 0.0175, "output": 1.4}}', 'p.json');
    let picos = 0;
    let floats = 0;
    for (let i = 0; i < 1_000_000; i++) {
      picos += costPicos(price, 'tiny', usage(3, 1, 1), null) as number;
      floats += (2 * 0.175 + 1 * 0.0175 + 1 * 1.4) / 1e6;
    }
    expect(picos).toBe(1_000_000 * (2 * 175_000 + 17_500 + 1_400_000));
    expect(usdOf(picos)).toBe(1.7675);
    expect(floats).not.toBe(1.7675);
  });
});

describe('a --prices file', () => {
  it('replaces and adds prices; cached input defaults to input; further keys are allowed', () => {
    const t = withOverrides(table, JSON.stringify({ 'gpt-5.1': { input: 2, cached_input: 0.2, output: 20, batch: 1 }, 'my-model': { input: 1, output: 2 } }), 'prices.json');
    expect(findPrice(t, 'gpt-5.1')).toEqual({ input: 2, cachedInput: 0.2, output: 20, source: 'prices.json' });
    expect(findPrice(t, 'my-model-2026-01-01')).toEqual({ input: 1, cachedInput: 1, output: 2, source: 'prices.json' });
    expect(findPrice(t, 'gpt-4.1')).toEqual(findPrice(table, 'gpt-4.1'));
    expect(findPrice(table, 'my-model')).toBeUndefined();
  });

  it('refuses what is not a price table, naming the entry', () => {
    expect(() => withOverrides(table, 'not json', 'p.json')).toThrow(PriceFileError);
    expect(() => withOverrides(table, '[]', 'p.json')).toThrow(/must be a JSON object/);
    expect(() => withOverrides(table, '{"m": {"input": -1, "output": 1}}', 'p.json')).toThrow(/m\.input must be a price/);
    expect(() => withOverrides(table, '{"m": {"input": 1}}', 'p.json')).toThrow(/m\.output must be a price/);
    expect(() => withOverrides(table, '{"m": 3}', 'p.json')).toThrow(/must be an object/);
  });
});
