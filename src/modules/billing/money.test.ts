import { describe, expect, it } from 'vitest';
import { documentTotals, lineAmounts, money, MoneyString, QuantityString, TaxRateString } from './money.js';

const priced = (quantity: string, unitPrice: string, taxRate: string) => {
  const amounts = lineAmounts({ quantity, unitPrice, taxRate });
  return { subtotal: money(amounts.subtotal), tax: money(amounts.tax), total: money(amounts.total) };
};

describe('the rounding rule (per line, to the cent, half up)', () => {
  it('prices the awkward cases exactly', () => {
    expect(priced('3', '33.33', '7.25')).toEqual({ subtotal: '99.99', tax: '7.25', total: '107.24' });
    expect(priced('1', '1000000000.00', '7.25')).toEqual({
      subtotal: '1000000000.00',
      tax: '72500000.00',
      total: '1072500000.00',
    });
    // Half up at the cent: 0.005 -> 0.01 (a binary double holds 1.005 as 1.00499999...).
    expect(priced('1', '1.00', '0.5')).toEqual({ subtotal: '1.00', tax: '0.01', total: '1.01' });
    expect(priced('0.5', '0.01', '0')).toEqual({ subtotal: '0.01', tax: '0.00', total: '0.01' });
    // (1e9 - 0.001) x (1e7 - 0.01) = 1e16 - 1e7 - 1e4 + 0.00001, doubled by a 100 % tax.
    expect(priced('999999999.999', '9999999.99', '100').total).toBe('19999999979980000.00');
  });

  it('sums line amounts for the totals: 0.10 + 0.20 is 0.30', () => {
    const totals = documentTotals([
      lineAmounts({ quantity: '1', unitPrice: '0.10', taxRate: '0' }),
      lineAmounts({ quantity: '1', unitPrice: '0.20', taxRate: '0' }),
    ]);
    expect(money(totals.total)).toBe('0.30');
  });
});

describe('decimal strings', () => {
  it('refuse numbers, signs, exponents, blanks and extra decimals', () => {
    for (const bad of [12.5, '-1', '+1', '1e2', '', ' 1', '1.', '.5', '1.234', 'NaN', '0x10']) {
      expect(MoneyString.safeParse(bad).success, String(bad)).toBe(false);
    }
    expect(MoneyString.safeParse('0').success).toBe(true);
    expect(QuantityString.safeParse('0').success).toBe(false);
    expect(QuantityString.safeParse('0.001').success).toBe(true);
    expect(TaxRateString.safeParse('100').success).toBe(true);
    expect(TaxRateString.safeParse('100.001').success).toBe(false);
  });
});
