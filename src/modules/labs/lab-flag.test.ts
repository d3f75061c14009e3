import { describe, expect, it } from 'vitest';
import { flagOf, type LabRanges, rangeProblems } from './lab-flag.js';
import { allowedFrom, LAB_ORDER_ACTIONS, LAB_ORDER_STATUSES, nextStatus } from './lab-order-status.js';

/** Potassium-like: normal 3.5 to 5.1, critical at or below 2.5 and at or above 6.5. */
const K: LabRanges = { referenceLow: '3.5', referenceHigh: '5.1', criticalLow: '2.5', criticalHigh: '6.5' };

describe('flagOf, at and around the edges (exact decimals)', () => {
  it.each([
    ['-1', 'critical-low'],
    ['2.4999', 'critical-low'],
    ['2.5', 'critical-low'],
    ['2.50000000', 'critical-low'],
    ['2.50000001', 'low'],
    ['2.5001', 'low'],
    ['3.4999', 'low'],
    ['3.49999999', 'low'],
    ['3.5', 'normal'],
    ['3.50', 'normal'],
    ['3.5001', 'normal'],
    ['4', 'normal'],
    ['5.1', 'normal'],
    ['5.0999', 'normal'],
    ['5.10000001', 'high'],
    ['5.1001', 'high'],
    ['6.4999', 'high'],
    ['6.49999999', 'high'],
    ['6.5', 'critical-high'],
    ['6.5001', 'critical-high'],
    ['999999999999.99999999', 'critical-high'],
  ])('%s is %s', (value, flag) => {
    expect(flagOf(value, K)).toBe(flag);
  });

  it('is not fooled by binary floating point: 0.1 + 0.2 against a bound of 0.3', () => {
    // In binary floats 0.1 + 0.2 > 0.3; the decimal "0.3" is exactly at the bound, and normal.
    expect(0.1 + 0.2 > 0.3).toBe(true);
    expect(flagOf('0.3', { referenceLow: null, referenceHigh: '0.3', criticalLow: null, criticalHigh: null })).toBe(
      'normal',
    );
    expect(
      flagOf('0.30000001', { referenceLow: null, referenceHigh: '0.3', criticalLow: null, criticalHigh: null }),
    ).toBe('high');
  });

  it('checks only the bounds that are set', () => {
    const upperOnly: LabRanges = { referenceLow: null, referenceHigh: '200', criticalLow: null, criticalHigh: null };
    expect(flagOf('-500', upperOnly)).toBe('normal');
    expect(flagOf('200', upperOnly)).toBe('normal');
    expect(flagOf('200.01', upperOnly)).toBe('high');
    const criticalOnly: LabRanges = { referenceLow: null, referenceHigh: null, criticalLow: '40', criticalHigh: '400' };
    expect(flagOf('40', criticalOnly)).toBe('critical-low');
    expect(flagOf('40.01', criticalOnly)).toBe('normal');
    expect(flagOf('399.99', criticalOnly)).toBe('normal');
    expect(flagOf('400', criticalOnly)).toBe('critical-high');
    const lowOnly: LabRanges = { referenceLow: '0.5', referenceHigh: null, criticalLow: null, criticalHigh: null };
    expect(flagOf('0.4999', lowOnly)).toBe('low');
    expect(flagOf('100000', lowOnly)).toBe('normal');
  });

  it('gives no flag when the test has no range at all', () => {
    expect(flagOf('7', { referenceLow: null, referenceHigh: null, criticalLow: null, criticalHigh: null })).toBeNull();
  });

  it('puts critical before low/high where the bounds coincide', () => {
    const tight: LabRanges = { referenceLow: '3.5', referenceHigh: '5.1', criticalLow: '3.5', criticalHigh: '5.1' };
    expect(flagOf('3.5', tight)).toBe('critical-low');
    expect(flagOf('3.5001', tight)).toBe('normal');
    expect(flagOf('5.1', tight)).toBe('critical-high');
  });
});

describe('rangeProblems', () => {
  it('accepts ranges in order, equal neighbours and missing bounds', () => {
    expect(rangeProblems(K)).toEqual([]);
    expect(rangeProblems({ referenceLow: '3.5', referenceHigh: '3.5', criticalLow: '3.5', criticalHigh: '6' })).toEqual(
      [],
    );
    expect(rangeProblems({ referenceLow: null, referenceHigh: null, criticalLow: null, criticalHigh: null })).toEqual(
      [],
    );
  });

  it.each([
    [{ referenceLow: '5.1', referenceHigh: '3.5' }, 'body.referenceHigh'],
    [{ referenceLow: '3.5', criticalLow: '3.5001' }, 'body.referenceLow'],
    [{ referenceHigh: '5.1', criticalHigh: '5.0999' }, 'body.criticalHigh'],
    [{ criticalLow: '2', criticalHigh: '2' }, 'body.criticalHigh'],
    [{ criticalLow: '10', referenceHigh: '5' }, 'body.referenceHigh'],
  ])('refuses %j naming %s', (given, path) => {
    const ranges = { referenceLow: null, referenceHigh: null, criticalLow: null, criticalHigh: null, ...given };
    expect(rangeProblems(ranges).map((p) => p.path)).toContain(path);
  });
});

describe('the lab order status machine', () => {
  const allowed: Record<string, string> = {
    'ordered collect': 'collected',
    'ordered cancel': 'cancelled',
    'collected start': 'in-progress',
    'collected cancel': 'cancelled',
    'in-progress result': 'resulted',
    'in-progress cancel': 'cancelled',
    'resulted review': 'reviewed',
  };
  it('allows exactly the listed transitions', () => {
    for (const status of LAB_ORDER_STATUSES) {
      for (const action of LAB_ORDER_ACTIONS) {
        expect(nextStatus(status, action), `${status} ${action}`).toBe(allowed[`${status} ${action}`]);
      }
    }
  });

  it('says where each action is allowed from', () => {
    expect(allowedFrom('cancel')).toEqual(['ordered', 'collected', 'in-progress']);
    expect(allowedFrom('review')).toEqual(['resulted']);
  });
});
