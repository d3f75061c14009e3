/** Request and response shapes of the lab test catalog and lab orders (the tables are in labs.schema.ts). */
import { z } from 'zod';
import { RecordId } from '../../platform/http/ids.js';
import { PageQuery } from '../../platform/http/pagination.js';
import { plainText } from '../../platform/http/text.js';
import { LAB_FLAGS, type LabRanges, rangeProblems } from './lab-flag.js';
import { LAB_ORDER_STATUSES } from './lab-order-status.js';

/**
 * A lab value or bound: a decimal string ("3.5", "-0.25", "140"), kept exactly as numeric and compared
 * exactly. Not a JSON number: JSON.parse rounds it to a binary float before the server sees it, and a
 * flag at the edge of a range must not depend on that rounding.
 */
export const DecimalString = z
  .string({ error: 'must be a decimal string such as "3.5" (a JSON number would be rounded to binary first)' })
  .trim()
  .regex(/^-?\d{1,12}(\.\d{1,8})?$/, 'must be a decimal number such as "3.5": digits, at most 8 after the point')
  .meta({ example: '3.5' });

/** The organization's own code, or a LOINC code: letters, digits and `. _ : -`. */
const Code = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'must be 1-64 letters, digits, dots, dashes, colons or underscores')
  .meta({ example: 'K' });

const Unit = plainText(1, 32).describe('The unit results are reported in, e.g. "mmol/L"; a result must use it.');

const bound = (what: string) => DecimalString.nullable().describe(what);
const Bounds = {
  referenceLow: bound('The lowest normal value (a value equal to it is normal); null: none.'),
  referenceHigh: bound('The highest normal value (a value equal to it is normal); null: none.'),
  criticalLow: bound('At or below it a result is critical-low; at most referenceLow.'),
  criticalHigh: bound('At or above it a result is critical-high; at least referenceHigh.'),
};

/** The ranges in a body, null where not given. */
export const rangesOf = (body: Partial<LabRanges>): LabRanges => ({
  referenceLow: body.referenceLow ?? null,
  referenceHigh: body.referenceHigh ?? null,
  criticalLow: body.criticalLow ?? null,
  criticalHigh: body.criticalHigh ?? null,
});

export const CreateLabTest = z
  .strictObject({
    code: Code.describe('Unique in the organization.'),
    name: plainText(1, 200).describe('e.g. "Potassium, serum".'),
    unit: Unit,
    referenceLow: Bounds.referenceLow.optional(),
    referenceHigh: Bounds.referenceHigh.optional(),
    criticalLow: Bounds.criticalLow.optional(),
    criticalHigh: Bounds.criticalHigh.optional(),
  })
  .superRefine((body, ctx) => {
    for (const problem of rangeProblems(rangesOf(body))) {
      ctx.addIssue({ code: 'custom', message: problem.message, path: [problem.path.replace(/^body\./, '')] });
    }
  })
  .meta({ id: 'CreateLabTest' });
export type CreateLabTest = z.infer<typeof CreateLabTest>;

export const UpdateLabTest = z
  .strictObject({
    code: Code,
    name: plainText(1, 200),
    unit: Unit.describe('Later results use the new unit; results already given keep theirs.'),
    ...Bounds,
    active: z.boolean().describe('false: deactivated (no new orders); kept for the orders that refer to it.'),
  })
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, 'give at least one field to change')
  .meta({ id: 'UpdateLabTest' });
export type UpdateLabTest = z.infer<typeof UpdateLabTest>;

export const LabTest = z
  .object({
    id: z.string(),
    code: z.string(),
    name: z.string(),
    unit: z.string(),
    referenceLow: z.string().nullable(),
    referenceHigh: z.string().nullable(),
    criticalLow: z.string().nullable(),
    criticalHigh: z.string().nullable(),
    active: z.boolean(),
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .meta({ id: 'LabTest' });
export type LabTest = z.infer<typeof LabTest>;

const BooleanQuery = z
  .enum(['true', 'false'])
  .optional()
  .transform((value) => (value === undefined ? undefined : value === 'true'));

export const LabTestQuery = PageQuery.extend({
  q: z.string().trim().min(1).max(100).optional().describe('Part of the name or the code, case-insensitive.'),
  active: BooleanQuery.describe('Only active (true) or only deactivated (false) tests.'),
});
export type LabTestQuery = z.infer<typeof LabTestQuery>;

export const LAB_PRIORITIES = ['routine', 'urgent', 'stat'] as const;

export const CreateLabOrder = z
  .strictObject({
    patientId: RecordId,
    testId: RecordId.describe('An active test of the catalog.'),
    encounterId: RecordId.optional().describe('An open encounter of the same patient (the order is part of it).'),
    priority: z.enum(LAB_PRIORITIES).default('routine'),
    notes: plainText(1, 1000).optional().describe('For the lab (fasting, timing...).'),
  })
  .meta({ id: 'CreateLabOrder' });
export type CreateLabOrder = z.infer<typeof CreateLabOrder>;

export const RecordLabResult = z
  .strictObject({
    value: DecimalString.describe('The measured value, as a decimal string.'),
    unit: Unit.describe("Must be the test's unit exactly (no conversion is made)."),
  })
  .meta({ id: 'RecordLabResult' });
export type RecordLabResult = z.infer<typeof RecordLabResult>;

export const CancelLabOrder = z.strictObject({
  reason: plainText(1, 500).describe('Why it is cancelled (kept as cancelReason).'),
});

/** An action that takes no input: no body, or an empty JSON object; anything else is a 400. */
export const NoBody = z.strictObject({}).nullish();

const Ranges = z.object({
  referenceLow: z.string().nullable(),
  referenceHigh: z.string().nullable(),
  criticalLow: z.string().nullable(),
  criticalHigh: z.string().nullable(),
});

export const LabResult = z
  .object({
    value: z.string(),
    unit: z.string(),
    flag: z.enum(LAB_FLAGS).nullable().describe('null when the test had no range at all.'),
    ranges: Ranges.describe("The test's ranges when the result was recorded, which the flag was computed from."),
    resultedAt: z.date(),
    resultedBy: z.string(),
  })
  .meta({ id: 'LabResult' });
export type LabResult = z.infer<typeof LabResult>;

export const LabOrder = z
  .object({
    id: z.string(),
    patientId: z.string(),
    encounterId: z.string().nullable(),
    testId: z.string(),
    test: z.object({ code: z.string(), name: z.string(), unit: z.string() }),
    orderedBy: z.string(),
    priority: z.enum(LAB_PRIORITIES),
    status: z.enum(LAB_ORDER_STATUSES),
    notes: z.string().nullable(),
    collectedAt: z.date().nullable(),
    collectedBy: z.string().nullable(),
    startedAt: z.date().nullable(),
    result: LabResult.nullable(),
    reviewedAt: z.date().nullable(),
    reviewedBy: z.string().nullable(),
    cancelledAt: z.date().nullable(),
    cancelReason: z.string().nullable(),
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .meta({ id: 'LabOrder' });
export type LabOrder = z.infer<typeof LabOrder>;

export const LabOrderEvent = z
  .object({
    id: z.string(),
    type: z.string().describe('ordered, collected, started, resulted, escalation-requested, reviewed or cancelled.'),
    actorId: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()).nullable(),
    at: z.date(),
  })
  .meta({ id: 'LabOrderEvent' });
export type LabOrderEvent = z.infer<typeof LabOrderEvent>;

export const LabOrderDetail = LabOrder.extend({
  timeline: z.array(LabOrderEvent).describe('Every step, oldest first, with who took it.'),
}).meta({ id: 'LabOrderDetail' });
export type LabOrderDetail = z.infer<typeof LabOrderDetail>;

/** `critical` is either critical flag; `abnormal` any flag but normal. */
export const LAB_FLAG_FILTERS = [...LAB_FLAGS, 'critical', 'abnormal'] as const;
export type LabFlagFilter = (typeof LAB_FLAG_FILTERS)[number];

export const LabOrderQuery = PageQuery.extend({
  patientId: RecordId.optional(),
  encounterId: RecordId.optional(),
  status: z.enum(LAB_ORDER_STATUSES).optional(),
  flag: z
    .enum(LAB_FLAG_FILTERS)
    .optional()
    .describe('Results with this flag; critical: critical-low or critical-high; abnormal: any flag but normal.'),
});
export type LabOrderQuery = z.infer<typeof LabOrderQuery>;
