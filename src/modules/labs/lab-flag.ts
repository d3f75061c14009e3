/**
 * The abnormal flag of a lab result, computed on the server with exact decimal comparison (decimal.js
 * on the decimal strings as given and as PostgreSQL's numeric stores them; never binary floats).
 *
 * The edge rule: the reference range is inclusive (a value equal to referenceLow or referenceHigh is
 * normal), and so are the critical bounds (a value equal to criticalLow or criticalHigh is critical).
 * In order of precedence:
 *
 *   value <= criticalLow    critical-low
 *   value >= criticalHigh   critical-high
 *   value <  referenceLow   low
 *   value >  referenceHigh  high
 *   otherwise               normal
 *
 * A bound that is not set is not checked (a test with only an upper limit never flags low). A test
 * with no bound at all gets no flag (null): nothing says what normal is.
 */
// Comparisons (and parsing a string) are exact whatever the precision setting: nothing is rounded here.
import { Decimal } from 'decimal.js';

export const LAB_FLAGS = ['normal', 'low', 'high', 'critical-low', 'critical-high'] as const;
export type LabFlag = (typeof LAB_FLAGS)[number];

/** The ranges of a lab test (decimal strings, or null where not set), as kept with each result. */
export interface LabRanges {
  referenceLow: string | null;
  referenceHigh: string | null;
  criticalLow: string | null;
  criticalHigh: string | null;
}

export const isCritical = (flag: LabFlag | null): boolean => flag === 'critical-low' || flag === 'critical-high';

/** The flag of `value` (a decimal string) against `ranges`, by the rule above. */
export function flagOf(value: string, ranges: LabRanges): LabFlag | null {
  const { referenceLow, referenceHigh, criticalLow, criticalHigh } = ranges;
  if (referenceLow === null && referenceHigh === null && criticalLow === null && criticalHigh === null) return null;
  const v = new Decimal(value);
  if (criticalLow !== null && v.lte(criticalLow)) return 'critical-low';
  if (criticalHigh !== null && v.gte(criticalHigh)) return 'critical-high';
  if (referenceLow !== null && v.lt(referenceLow)) return 'low';
  if (referenceHigh !== null && v.gt(referenceHigh)) return 'high';
  return 'normal';
}

const ORDER: (keyof LabRanges)[] = ['criticalLow', 'referenceLow', 'referenceHigh', 'criticalHigh'];

/**
 * What is wrong with a set of ranges, one problem per pair out of order: the bounds that are set must
 * go criticalLow <= referenceLow <= referenceHigh <= criticalHigh, and criticalLow < criticalHigh
 * (equal, every value would be critical). Empty when they are consistent.
 */
export function rangeProblems(ranges: LabRanges): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  for (let i = 0; i < ORDER.length; i++) {
    for (let j = i + 1; j < ORDER.length; j++) {
      const low = ORDER[i]!;
      const high = ORDER[j]!;
      const a = ranges[low];
      const b = ranges[high];
      if (a === null || b === null) continue;
      const strict = low === 'criticalLow' && high === 'criticalHigh';
      const cmp = new Decimal(a).comparedTo(b);
      if (cmp > 0 || (strict && cmp === 0)) {
        problems.push({ path: `body.${high}`, message: `must be ${strict ? 'more than' : 'at least'} ${low} (${a})` });
      }
    }
  }
  return problems;
}
