/** Request and response shapes of the pharmacy: locations, the stock ledger, on-hand levels. */
import { z } from 'zod';
import { RecordId } from '../../platform/http/ids.js';
import { PageQuery } from '../../platform/http/pagination.js';
import { plainText } from '../../platform/http/text.js';

export const MOVEMENT_TYPES = ['receive', 'dispense', 'adjust', 'transfer'] as const;
export type MovementType = (typeof MOVEMENT_TYPES)[number];

const ActiveFilter = z
  .enum(['true', 'false'])
  .optional()
  .transform((value) => (value === undefined ? undefined : value === 'true'))
  .describe('Only active (true) or only deactivated (false) locations.');

export const Location = z
  .object({
    id: z.string(),
    name: z.string(),
    hospitalId: z.string().nullable(),
    active: z.boolean().describe('False once deactivated: nothing is received or transferred into it.'),
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .meta({ id: 'PharmacyLocation' });
export type Location = z.infer<typeof Location>;

export const CreateLocation = z
  .strictObject({
    name: plainText(1, 200).describe('Unique in the organization, e.g. "Main pharmacy", "Ward 4B cabinet".'),
    hospitalId: RecordId.optional().describe('The hospital it is in.'),
  })
  .meta({ id: 'CreatePharmacyLocation' });
export type CreateLocation = z.infer<typeof CreateLocation>;

export const UpdateLocation = z
  .strictObject({ name: plainText(1, 200), hospitalId: RecordId.nullable(), active: z.boolean() })
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, 'give at least one field to change')
  .meta({ id: 'UpdatePharmacyLocation' });
export type UpdateLocation = z.infer<typeof UpdateLocation>;

export const LocationQuery = PageQuery.extend({ active: ActiveFilter });
export type LocationQuery = z.infer<typeof LocationQuery>;

const Quantity = z.number().int().min(1).max(1_000_000).describe('Units, a positive whole number.');
const base = { locationId: RecordId, medicationId: RecordId, quantity: Quantity };

export const RecordMovement = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('receive'),
      ...base,
      lot: plainText(1, 64).describe("The supplier's lot number."),
      expiresOn: z.iso.date().describe('Expiry date of the lot (YYYY-MM-DD).'),
    }),
    z.strictObject({
      type: z.literal('dispense'),
      ...base,
      prescriptionId: RecordId.describe('The active prescription dispensed against (of this medication).'),
    }),
    z.strictObject({
      type: z.literal('adjust'),
      ...base,
      direction: z.enum(['increase', 'decrease']).describe('Whether the count goes up or down by quantity.'),
      reason: plainText(1, 500).describe('Why: a count, breakage, expiry...'),
    }),
    z.strictObject({
      type: z.literal('transfer'),
      ...base,
      toLocationId: RecordId.describe('Where the units go (locationId is where they come from).'),
    }),
  ])
  .meta({ id: 'RecordStockMovement' });
export type RecordMovement = z.infer<typeof RecordMovement>;

export const Movement = z
  .object({
    id: z.string(),
    type: z.enum(MOVEMENT_TYPES),
    locationId: z.string(),
    medicationId: z.string(),
    quantity: z.number().int().describe('Signed: positive into the location, negative out of it.'),
    balanceAfter: z.number().int().describe("The location's on-hand quantity of the medication after it."),
    lot: z.string().nullable(),
    expiresOn: z.string().nullable(),
    reason: z.string().nullable(),
    prescriptionId: z.string().nullable().describe('Dispenses only; null for callers who read no prescriptions.'),
    patientId: z.string().nullable().describe('Dispenses only; null for callers who read no prescriptions.'),
    transferId: z.string().nullable().describe('Shared by the two movements of a transfer.'),
    performedBy: z.string(),
    createdAt: z.date(),
  })
  .meta({ id: 'StockMovement' });
export type Movement = z.infer<typeof Movement>;

export const MovementsRecorded = z
  .object({ movements: z.array(Movement).describe('One movement; two for a transfer (out, then in).') })
  .meta({ id: 'StockMovementsRecorded' });

export const MovementQuery = PageQuery.extend({
  locationId: RecordId.optional(),
  medicationId: RecordId.optional(),
  prescriptionId: RecordId.optional(),
  type: z.enum(MOVEMENT_TYPES).optional(),
});
export type MovementQuery = z.infer<typeof MovementQuery>;

export const StockLevel = z
  .object({
    id: z.string(),
    locationId: z.string(),
    medicationId: z.string(),
    medicationName: z.string(),
    medicationCode: z.string(),
    onHand: z.number().int(),
    lowStockThreshold: z.number().int(),
    low: z.boolean().describe('On hand at or below the threshold.'),
    updatedAt: z.date(),
  })
  .meta({ id: 'StockLevel' });
export type StockLevel = z.infer<typeof StockLevel>;

export const StockQuery = PageQuery.extend({
  locationId: RecordId.optional().describe('One location (else all of them).'),
  medicationId: RecordId.optional(),
});
export type StockQuery = z.infer<typeof StockQuery>;

export const LowStockQuery = PageQuery.extend({ locationId: RecordId.optional() });
export type LowStockQuery = z.infer<typeof LowStockQuery>;

export const StockParams = z.object({ id: RecordId, medicationId: RecordId });

export const SetThreshold = z
  .strictObject({
    lowStockThreshold: z
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .describe('The medication is low at this location when on hand is at or below it.'),
  })
  .meta({ id: 'SetLowStockThreshold' });
