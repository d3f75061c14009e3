/** Request and response shapes of the medication catalog (the table is in medications.schema.ts). */
import { z } from 'zod';
import { PageQuery } from '../../platform/http/pagination.js';
import { plainText } from '../../platform/http/text.js';

/** The organization's own code, or an RxNorm or NDC code: letters, digits and `. _ : -`. */
const Code = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'must be 1-64 letters, digits, dots, dashes, colons or underscores')
  .meta({ example: 'AMOX-500' });

const Ingredients = z
  .array(plainText(1, 200))
  .max(50)
  .describe(
    'Active substances and drug classes an allergy is matched against, besides the name ("amoxicillin", "penicillin"). Stored lower-cased.',
  );

export const CreateMedication = z
  .strictObject({
    name: plainText(1, 200).describe('As prescribers know it, e.g. "Amoxicillin".'),
    form: plainText(1, 100).describe('tablet, capsule, solution...'),
    strength: plainText(1, 100).describe('e.g. "500 mg".'),
    code: Code.describe('Unique in the organization.'),
    ingredients: Ingredients.default([]),
    requiresPriorAuth: z
      .boolean()
      .default(false)
      .describe('Prescriptions of it need an approved prior authorization before they are dispensed.'),
  })
  .meta({ id: 'CreateMedication' });
export type CreateMedication = z.infer<typeof CreateMedication>;

export const UpdateMedication = z
  .strictObject({
    name: plainText(1, 200),
    form: plainText(1, 100),
    strength: plainText(1, 100),
    code: Code,
    ingredients: Ingredients,
    requiresPriorAuth: z.boolean(),
    active: z.boolean().describe('false: deactivated (no new prescriptions or receipts); kept for what refers to it.'),
  })
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, 'give at least one field to change')
  .meta({ id: 'UpdateMedication' });
export type UpdateMedication = z.infer<typeof UpdateMedication>;

export const Medication = z
  .object({
    id: z.string(),
    name: z.string(),
    form: z.string(),
    strength: z.string(),
    code: z.string(),
    ingredients: z.array(z.string()),
    requiresPriorAuth: z.boolean(),
    active: z.boolean(),
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .meta({ id: 'Medication' });
export type Medication = z.infer<typeof Medication>;

export const MedicationQuery = PageQuery.extend({
  q: z.string().trim().min(1).max(100).optional().describe('Part of the name or the code, case-insensitive.'),
  active: z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => (value === undefined ? undefined : value === 'true'))
    .describe('Only active (true) or only deactivated (false) medications.'),
});
export type MedicationQuery = z.infer<typeof MedicationQuery>;
