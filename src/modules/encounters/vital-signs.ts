/**
 * Vital signs: what each type accepts (its units, in the request schema) and what is plausible (its
 * range, checked here with a message a nurse can act on). Values are stored in one canonical unit
 * per type, so a history can be charted without conversions.
 */
import { z } from 'zod';
import { Instant } from '../../platform/http/instant.js';
import { AppError } from '../../platform/http/errors.js';

export const VITAL_TYPES = [
  'heart-rate',
  'blood-pressure',
  'temperature',
  'spo2',
  'respiratory-rate',
  'weight',
  'height',
  'pain-score',
] as const;
export type VitalType = (typeof VITAL_TYPES)[number];

const recordedAt = Instant.optional().describe(
  'When it was measured (ISO 8601 with offset); by default now. Not in the future.',
);
const measure = z.number().describe('The measurement, in `unit`.');

function vital<T extends VitalType, U extends z.ZodType, V extends z.ZodType = typeof measure>(
  type: T,
  unit: U,
  value?: V,
) {
  return z.strictObject({ type: z.literal(type), value: (value ?? measure) as V, unit, recordedAt });
}

const BloodPressureValue = z
  .union([
    z.string().regex(/^\d{1,3}\/\d{1,3}$/, 'must be "systolic/diastolic", e.g. "120/80"'),
    z.strictObject({ systolic: z.number(), diastolic: z.number() }),
  ])
  .describe('"120/80", or { "systolic": 120, "diastolic": 80 }.');

/** The body of `POST /api/v1/encounters/:id/vitals`: one measurement, its type deciding its units. */
export const VitalInput = z
  .discriminatedUnion('type', [
    vital('heart-rate', z.literal('bpm')),
    vital('blood-pressure', z.literal('mmHg'), BloodPressureValue),
    vital('temperature', z.enum(['°C', '°F'])),
    vital('spo2', z.literal('%')),
    vital('respiratory-rate', z.literal('breaths/min')),
    vital('weight', z.enum(['kg', 'lb'])),
    vital('height', z.enum(['cm', 'in'])),
    vital(
      'pain-score',
      z.literal('/10').default('/10'),
      z.number().describe('A whole number from 0 (no pain) to 10 (worst imaginable).'),
    ),
  ])
  .meta({ id: 'RecordVital' });
export type VitalInput = z.infer<typeof VitalInput>;

/** A measurement in its type's canonical unit, as stored. */
export interface CanonicalVital {
  type: VitalType;
  value: number;
  secondaryValue: number | null;
  unit: string;
}

interface Range {
  min: number;
  max: number;
  unit: string;
}

const RANGES = {
  'heart-rate': { min: 20, max: 300, unit: 'bpm' },
  systolic: { min: 30, max: 300, unit: 'mmHg' },
  diastolic: { min: 10, max: 200, unit: 'mmHg' },
  temperature: { min: 25, max: 45, unit: '°C' },
  spo2: { min: 50, max: 100, unit: '%' },
  'respiratory-rate': { min: 4, max: 80, unit: 'breaths/min' },
  weight: { min: 0.2, max: 500, unit: 'kg' },
  height: { min: 20, max: 272, unit: 'cm' },
  'pain-score': { min: 0, max: 10, unit: '/10' },
} satisfies Record<string, Range>;

const round = (value: number, decimals: number) => Math.round(value * 10 ** decimals) / 10 ** decimals;

function invalid(message: string, path = 'body.value'): AppError {
  return new AppError('VALIDATION_FAILED', message, [{ path, message }]);
}

/**
 * `label value unit` within its range, or a 400 saying so. `given` is how the caller wrote it when
 * it was converted ("100 °F (37.78 °C)").
 */
function inRange(label: string, value: number, range: Range, given?: string, path?: string): number {
  if (value < range.min || value > range.max) {
    const shown = given ? `${given} (${value} ${range.unit})` : `${value} ${range.unit}`;
    throw invalid(`${label} ${shown} is outside ${range.min}-${range.max} ${range.unit}`, path);
  }
  return value;
}

function bloodPressure(value: z.infer<typeof BloodPressureValue>): CanonicalVital {
  const [systolic, diastolic] =
    typeof value === 'string' ? value.split('/').map(Number) : [value.systolic, value.diastolic];
  inRange('blood-pressure systolic', systolic!, RANGES.systolic);
  inRange('blood-pressure diastolic', diastolic!, RANGES.diastolic);
  if (diastolic! >= systolic!) {
    throw invalid(`blood-pressure ${systolic}/${diastolic} mmHg: the diastolic must be below the systolic`);
  }
  return { type: 'blood-pressure', value: systolic!, secondaryValue: diastolic!, unit: 'mmHg' };
}

/** The measurement in its canonical unit, or a 400 naming the value, its unit and the plausible range. */
export function toCanonical(input: VitalInput): CanonicalVital {
  const simple = (type: VitalType, value: number, range: Range): CanonicalVital => ({
    type,
    value: inRange(type, value, range),
    secondaryValue: null,
    unit: range.unit,
  });
  switch (input.type) {
    case 'heart-rate':
    case 'spo2':
    case 'respiratory-rate':
      return simple(input.type, input.value, RANGES[input.type]);
    case 'blood-pressure':
      return bloodPressure(input.value);
    case 'temperature': {
      const celsius = input.unit === '°F' ? round(((input.value - 32) * 5) / 9, 2) : input.value;
      const given = input.unit === '°F' ? `${input.value} °F` : undefined;
      return {
        type: 'temperature',
        value: inRange('temperature', celsius, RANGES.temperature, given),
        secondaryValue: null,
        unit: '°C',
      };
    }
    case 'weight': {
      const kg = input.unit === 'lb' ? round(input.value * 0.45359237, 3) : input.value;
      const given = input.unit === 'lb' ? `${input.value} lb` : undefined;
      return { type: 'weight', value: inRange('weight', kg, RANGES.weight, given), secondaryValue: null, unit: 'kg' };
    }
    case 'height': {
      const cm = input.unit === 'in' ? round(input.value * 2.54, 2) : input.value;
      const given = input.unit === 'in' ? `${input.value} in` : undefined;
      return { type: 'height', value: inRange('height', cm, RANGES.height, given), secondaryValue: null, unit: 'cm' };
    }
    case 'pain-score':
      if (!Number.isInteger(input.value) || input.value < 0 || input.value > 10) {
        throw invalid(`pain-score ${input.value} is not a whole number from 0 to 10`);
      }
      return { type: 'pain-score', value: input.value, secondaryValue: null, unit: '/10' };
  }
}
