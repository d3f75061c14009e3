/**
 * Exact money arithmetic for invoices (decimal.js, never binary floats), and the decimal strings the
 * API takes and gives.
 *
 * The rounding rule, per line: subtotal = quantity x unit price, rounded to the cent; tax = subtotal x
 * rate / 100, rounded to the cent; line total = subtotal + tax. Rounding is half up (0.005 -> 0.01),
 * once per line, on exact intermediate values. A document's subtotal, tax and total are the sums of
 * its lines' amounts, so the lines always add up to the totals printed under them.
 */
import { Decimal as DecimalJs } from 'decimal.js';
import { z } from 'zod';

/**
 * Decimals with room for every intermediate value: quantity (12 digits) x unit price (18 digits) x
 * rate (6 digits) needs 36 significant digits, so nothing is rounded before the cent.
 */
export const Decimal = DecimalJs.clone({ precision: 60, rounding: DecimalJs.ROUND_HALF_UP });
export type Decimal = InstanceType<typeof Decimal>;

/** The largest amount a money column (numeric(18, 2)) holds. */
export const MAX_AMOUNT = new Decimal('9999999999999999.99');

/** An amount of money as the API writes it: a string with exactly two decimals ("1072.50"). */
export const money = (value: DecimalJs.Value): string => new Decimal(value).toFixed(2, Decimal.ROUND_HALF_UP);

/** A quantity or rate as given, without trailing zeros ("3.000" -> "3", "7.250" -> "7.25"). */
export const plainDecimal = (value: DecimalJs.Value): string => new Decimal(value).toFixed();

export interface LineInput {
  quantity: string;
  unitPrice: string;
  taxRate: string;
}

export interface LineAmounts {
  subtotal: Decimal;
  tax: Decimal;
  total: Decimal;
}

/** A line's amounts by the rounding rule above. */
export function lineAmounts(line: LineInput): LineAmounts {
  const subtotal = new Decimal(line.quantity).times(line.unitPrice).toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
  const tax = subtotal.times(line.taxRate).dividedBy(100).toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
  return { subtotal, tax, total: subtotal.plus(tax) };
}

/** A document's totals: the sums of its lines' amounts. */
export function documentTotals(lines: LineAmounts[]): LineAmounts {
  const zero = new Decimal(0);
  return lines.reduce(
    (sum, line) => ({
      subtotal: sum.subtotal.plus(line.subtotal),
      tax: sum.tax.plus(line.tax),
      total: sum.total.plus(line.total),
    }),
    { subtotal: zero, tax: zero, total: zero },
  );
}

const NOT_A_NUMBER = (example: string) =>
  `must be a decimal string such as "${example}" (JSON numbers are refused: binary floating point cannot hold every cent)`;

/**
 * A non-negative decimal string with at most `integerDigits` digits before the point and `scale`
 * after it (the column's precision), such as "12.50". A JSON number, a sign, an exponent, or more
 * decimals than the column keeps is a 400 rather than a silent rounding.
 */
export function decimalString(options: { integerDigits: number; scale: number; example: string; what: string }) {
  const { integerDigits, scale, example, what } = options;
  const pattern = new RegExp(`^\\d{1,${integerDigits}}(\\.\\d{1,${scale}})?$`);
  return z
    .string({ error: (issue) => (issue.input === undefined ? undefined : NOT_A_NUMBER(example)) })
    .max(integerDigits + scale + 1)
    .regex(
      pattern,
      `must be a non-negative ${what} with at most ${integerDigits} digits before the point and ${scale} after it, like "${example}"`,
    )
    .meta({ example });
}

/** An amount of money: up to 16 digits and 2 decimals (the columns are numeric(18, 2)). */
export const MoneyString = decimalString({ integerDigits: 16, scale: 2, example: '12.50', what: 'amount' });

/** An amount of money that must be more than zero (a payment, a refund). */
export const PositiveMoney = MoneyString.refine((value) => new Decimal(value).gt(0), 'must be more than 0.00');

/** A quantity: up to 9 digits and 3 decimals (numeric(12, 3)), more than zero. */
export const QuantityString = decimalString({
  integerDigits: 9,
  scale: 3,
  example: '1',
  what: 'quantity',
}).refine((value) => new Decimal(value).gt(0), 'must be more than 0');

/** A tax rate in percent, 0 to 100 with up to 3 decimals (numeric(6, 3)): "7.25" is 7.25 %. */
export const TaxRateString = decimalString({ integerDigits: 3, scale: 3, example: '7.25', what: 'rate' }).refine(
  (value) => new Decimal(value).lte(100),
  'must be at most 100 (percent)',
);
