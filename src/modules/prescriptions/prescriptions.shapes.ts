/** Request and response shapes of prescriptions (the table is in prescriptions.schema.ts). */
import { z } from 'zod';
import { RecordId } from '../../platform/http/ids.js';
import { PageQuery } from '../../platform/http/pagination.js';
import { plainText } from '../../platform/http/text.js';
import { PRESCRIPTION_STATUSES } from './prescription-status.js';

export const CreatePrescription = z
  .strictObject({
    patientId: RecordId,
    encounterId: RecordId.optional().describe("The encounter it is written in (open, and the patient's)."),
    medicationId: RecordId.describe('An active medication of the catalog.'),
    dose: plainText(1, 100).describe('e.g. "500 mg".'),
    route: plainText(1, 50).describe('e.g. "oral", "IV".'),
    frequency: plainText(1, 100).describe('e.g. "every 8 hours".'),
    durationDays: z.number().int().min(1).max(3650),
    quantity: z.number().int().min(1).max(100_000).describe('Units dispensed per fill.'),
    refills: z
      .number()
      .int()
      .min(0)
      .max(99)
      .default(0)
      .describe('Fills after the first: at most quantity x (refills + 1) units are dispensed.'),
    instructions: plainText(1, 2000).optional(),
    overrideReason: plainText(1, 500)
      .optional()
      .describe("Why it is prescribed despite the patient's recorded allergy to it; recorded and audited."),
  })
  .meta({ id: 'CreatePrescription' });
export type CreatePrescription = z.infer<typeof CreatePrescription>;

export const CancelPrescription = z
  .strictObject({ reason: plainText(1, 500).describe('Why it is cancelled (kept as cancelReason).') })
  .meta({ id: 'CancelPrescription' });

export const PriorAuthorizationState = z
  .object({ id: z.string(), status: z.string() })
  .nullable()
  .describe("The latest prior-authorization request for it (the insurance module's), or null.");

export const Prescription = z
  .object({
    id: z.string(),
    patientId: z.string(),
    encounterId: z.string().nullable(),
    medicationId: z.string(),
    prescriberId: z.string(),
    dose: z.string(),
    route: z.string(),
    frequency: z.string(),
    durationDays: z.number().int(),
    quantity: z.number().int(),
    refills: z.number().int(),
    instructions: z.string().nullable(),
    status: z.enum(PRESCRIPTION_STATUSES),
    dispensedQuantity: z.number().int().describe('Units dispensed against it so far.'),
    maxDispensable: z.number().int().describe('quantity x (refills + 1).'),
    requiresPriorAuth: z.boolean().describe('Copied from the medication when it was written.'),
    priorAuthorization: PriorAuthorizationState,
    overrideReason: z.string().nullable(),
    overriddenAllergies: z
      .array(z.object({ substance: z.string(), severity: z.string().optional() }))
      .nullable()
      .describe('The recorded allergies the prescriber overrode.'),
    completedAt: z.date().nullable(),
    cancelledAt: z.date().nullable(),
    cancelledBy: z.string().nullable(),
    cancelReason: z.string().nullable(),
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .meta({ id: 'Prescription' });
export type Prescription = z.infer<typeof Prescription>;

export const PrescriptionQuery = PageQuery.extend({
  patientId: RecordId.optional(),
  status: z.enum(PRESCRIPTION_STATUSES).optional(),
});
export type PrescriptionQuery = z.infer<typeof PrescriptionQuery>;
