import { z } from 'zod';
import { IdParams } from '../../platform/http/ids.js';
import { PageQuery } from '../../platform/http/pagination.js';
import { plainText } from '../../platform/http/text.js';

const Name = plainText(1, 200);

/** The canonical name of a time zone, or undefined when the runtime does not know it. */
function canonicalZone(zone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** An IANA time zone the runtime knows ("Europe/Berlin", "UTC"), stored under its canonical name. */
const TimeZone = z
  .string()
  .max(64)
  .refine((zone) => canonicalZone(zone) !== undefined, 'is not a known IANA time zone')
  .transform((zone) => canonicalZone(zone)!)
  .meta({ example: 'Europe/Berlin' });

/** What kind of unit: ward, department, emergency, icu, theatre, outpatient... (a lower-case word). */
const UnitKind = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a lower-case word (letters, digits, dashes), like ward or icu')
  .meta({ example: 'ward' });

const Active = z.boolean().describe('False once deactivated: kept for what refers to it, closed to anything new.');

export const Hospital = z
  .object({
    id: z.string(),
    name: z.string(),
    address: z.string().nullable(),
    timezone: z.string(),
    isDefault: z.boolean(),
    active: Active,
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .meta({ id: 'Hospital' });
export type Hospital = z.infer<typeof Hospital>;

export const Unit = z
  .object({
    id: z.string(),
    hospitalId: z.string(),
    name: z.string(),
    kind: z.string(),
    active: Active,
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .meta({ id: 'Unit' });
export type Unit = z.infer<typeof Unit>;

export const Room = z
  .object({
    id: z.string(),
    hospitalId: z.string(),
    unitId: z.string(),
    name: z.string(),
    active: Active,
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .meta({ id: 'Room' });
export type Room = z.infer<typeof Room>;

const atLeastOne = (patch: object) => Object.keys(patch).length > 0;
const GIVE_ONE = 'give at least one field to change';

export const CreateHospital = z.strictObject({
  name: Name,
  address: plainText(1, 500).nullable().optional(),
  timezone: TimeZone.default('UTC'),
  isDefault: z.boolean().default(false).describe('Make it the default hospital (the previous default stops being it).'),
});
export type CreateHospital = z.infer<typeof CreateHospital>;

export const UpdateHospital = z
  .strictObject({
    name: Name,
    address: plainText(1, 500).nullable(),
    timezone: TimeZone,
    isDefault: z
      .boolean()
      .describe('true: make it the default (the previous default stops being it); false: no default.'),
    active: z.boolean(),
  })
  .partial()
  .refine(atLeastOne, GIVE_ONE);
export type UpdateHospital = z.infer<typeof UpdateHospital>;

export const CreateUnit = z.strictObject({ name: Name, kind: UnitKind.default('ward') });
export type CreateUnit = z.infer<typeof CreateUnit>;

export const UpdateUnit = z
  .strictObject({ name: Name, kind: UnitKind, active: z.boolean() })
  .partial()
  .refine(atLeastOne, GIVE_ONE);
export type UpdateUnit = z.infer<typeof UpdateUnit>;

export const CreateRoom = z.strictObject({ name: Name });
export type CreateRoom = z.infer<typeof CreateRoom>;

export const UpdateRoom = z.strictObject({ name: Name, active: z.boolean() }).partial().refine(atLeastOne, GIVE_ONE);
export type UpdateRoom = z.infer<typeof UpdateRoom>;

/** `?active=true` or `false`: only active or only deactivated records; both when absent. */
export const ListQuery = PageQuery.extend({
  active: z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => (value === undefined ? undefined : value === 'true'))
    .describe('Only active (true) or only deactivated (false) records.'),
});
export type ListQuery = z.infer<typeof ListQuery>;

export const HospitalParams = IdParams;
