import { z } from 'zod';
import { RecordId } from '../../platform/http/ids.js';
import { PageQuery } from '../../platform/http/pagination.js';
import { plainText } from '../../platform/http/text.js';
import { ROLES } from '../../platform/permissions.js';

const Phone = z
  .string()
  .trim()
  .regex(/^\+?[0-9][0-9 ().-]{2,31}$/, 'must be a phone number: digits, spaces, ( ) . - and an optional leading +')
  .meta({ example: '+49 30 1234 5678' });
const Specialization = plainText(1, 200);
const LicenceNumber = plainText(1, 64);

/** The shift a member is working now. */
export const CurrentShift = z.object({
  id: z.string(),
  hospitalId: z.string(),
  unitId: z.string(),
  role: z.enum(ROLES),
  startedAt: z.date(),
});

export const StaffMember = z
  .object({
    userId: z.string(),
    name: z.string(),
    role: z.enum(ROLES).describe("The membership's role (changed with PATCH /api/v1/users/:id/role)."),
    hospitalId: z.string().nullable(),
    unitId: z.string().nullable(),
    licenceNumber: z.string().nullable(),
    specialization: z.string().nullable(),
    phone: z.string().nullable(),
    onDuty: z.boolean(),
    shift: CurrentShift.nullable().describe('The open shift, when on duty.'),
  })
  .meta({ id: 'StaffMember' });
export type StaffMember = z.infer<typeof StaffMember>;

export const Shift = z
  .object({
    id: z.string(),
    userId: z.string(),
    hospitalId: z.string(),
    unitId: z.string(),
    role: z.enum(ROLES).describe('The role the shift is worked in: the membership role when it started.'),
    startedAt: z.date(),
    endedAt: z.date().nullable(),
    startedBy: z.string(),
    endedBy: z.string().nullable(),
  })
  .meta({ id: 'Shift' });
export type Shift = z.infer<typeof Shift>;

export const OnDutyEntry = z.object({
  userId: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  shiftId: z.string(),
  startedAt: z.date(),
});
export type OnDutyEntry = z.infer<typeof OnDutyEntry>;

export const OnDuty = z
  .object({
    unitId: z.string(),
    hospitalId: z.string(),
    onDuty: z.object(
      Object.fromEntries(ROLES.map((role) => [role, z.array(OnDutyEntry)])) as {
        [R in (typeof ROLES)[number]]: z.ZodArray<typeof OnDutyEntry>;
      },
    ),
    gaps: z
      .array(z.enum(ROLES))
      .describe('Roles with nobody on duty in the unit (nurse first, then doctor): what clinical alerts page on.'),
  })
  .meta({ id: 'OnDuty' });
export type OnDuty = z.infer<typeof OnDuty>;

/** The whole profile: a field left out is cleared (null). */
export const PutStaffProfile = z.strictObject({
  hospitalId: RecordId.nullable().optional().describe('Defaults to the unit’s hospital when a unit is given.'),
  unitId: RecordId.nullable().optional(),
  licenceNumber: LicenceNumber.nullable().optional(),
  specialization: Specialization.nullable().optional(),
  phone: Phone.nullable().optional(),
});
export type PutStaffProfile = z.infer<typeof PutStaffProfile>;

/** What every member may change on their own profile. */
export const PatchOwnProfile = z
  .strictObject({ specialization: Specialization.nullable(), phone: Phone.nullable() })
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, 'give at least one field to change');
export type PatchOwnProfile = z.infer<typeof PatchOwnProfile>;

export const StartShift = z.strictObject({ unitId: RecordId });
export type StartShift = z.infer<typeof StartShift>;

export const StaffQuery = PageQuery.extend({
  role: z.enum(ROLES).optional(),
  hospitalId: RecordId.optional().describe("Members whose profile's hospital is this one."),
  unitId: RecordId.optional().describe("Members whose profile's unit is this one."),
  onDuty: z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => (value === undefined ? undefined : value === 'true')),
});
export type StaffQuery = z.infer<typeof StaffQuery>;

export const UserIdParams = z.object({ userId: RecordId });
