/** Request and response shapes of insurance (the tables are in insurance.schema.ts). */
import { z } from 'zod';
import { RecordId } from '../../platform/http/ids.js';
import { PageQuery } from '../../platform/http/pagination.js';
import { plainText } from '../../platform/http/text.js';
import { PRIOR_AUTH_STATUSES } from './prior-authorization-status.js';

const atLeastOne = (body: object) => Object.keys(body).length > 0;
const GIVE_ONE = 'give at least one field to change';

/** A calendar day, YYYY-MM-DD, in the years 1900-2199. */
const Day = z.iso
  .date()
  .refine((value) => value >= '1900-01-01' && value <= '2199-12-31', 'must be between the years 1900 and 2199')
  .meta({ example: '2026-01-01' });

const activeFilter = z
  .enum(['true', 'false'])
  .optional()
  .transform((value) => (value === undefined ? undefined : value === 'true'))
  .describe('Only active (true) or only deactivated (false) records.');

// Insurers

export const Insurer = z
  .object({
    id: z.string(),
    name: z.string(),
    payerId: z.string().nullable().describe("The payer's identifier for claims (e.g. an EDI payer id)."),
    phone: z.string().nullable(),
    active: z.boolean(),
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .meta({ id: 'Insurer' });
export type Insurer = z.infer<typeof Insurer>;

export const CreateInsurer = z
  .strictObject({
    name: plainText(1, 200),
    payerId: plainText(1, 80).optional(),
    phone: plainText(1, 40).optional(),
  })
  .meta({ id: 'CreateInsurer' });
export type CreateInsurer = z.infer<typeof CreateInsurer>;

export const UpdateInsurer = z
  .strictObject({
    name: plainText(1, 200),
    payerId: plainText(1, 80).nullable(),
    phone: plainText(1, 40).nullable(),
    active: z.boolean().describe('false deactivates it: no new coverages with it; existing ones stay.'),
  })
  .partial()
  .refine(atLeastOne, GIVE_ONE)
  .meta({ id: 'UpdateInsurer' });
export type UpdateInsurer = z.infer<typeof UpdateInsurer>;

export const InsurerQuery = PageQuery.extend({ active: activeFilter });
export type InsurerQuery = z.infer<typeof InsurerQuery>;

// Coverages

export const COVERAGE_PRIORITIES = ['primary', 'secondary'] as const;

export const Coverage = z
  .object({
    id: z.string(),
    patientId: z.string(),
    insurerId: z.string(),
    memberId: z.string(),
    plan: z.string().nullable(),
    groupNumber: z.string().nullable(),
    priority: z.enum(COVERAGE_PRIORITIES),
    validFrom: z.string().describe('First day covered.'),
    validTo: z.string().nullable().describe('Last day covered (inclusive); null: open-ended.'),
    active: z.boolean(),
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .meta({ id: 'Coverage' });
export type Coverage = z.infer<typeof Coverage>;

const validRange = (body: { validFrom?: string; validTo?: string | null }) =>
  !body.validFrom || !body.validTo || body.validTo >= body.validFrom;
const RANGE = { message: 'must be on or after validFrom', path: ['validTo'] };

export const CreateCoverage = z
  .strictObject({
    patientId: RecordId,
    insurerId: RecordId,
    memberId: plainText(1, 80).describe("The patient's member id with the insurer."),
    plan: plainText(1, 200).optional(),
    groupNumber: plainText(1, 80).optional(),
    priority: z.enum(COVERAGE_PRIORITIES),
    validFrom: Day,
    validTo: Day.optional().describe('Last day covered (inclusive); none for open-ended.'),
  })
  .refine(validRange, RANGE)
  .meta({ id: 'CreateCoverage' });
export type CreateCoverage = z.infer<typeof CreateCoverage>;

export const UpdateCoverage = z
  .strictObject({
    memberId: plainText(1, 80),
    plan: plainText(1, 200).nullable(),
    groupNumber: plainText(1, 80).nullable(),
    priority: z.enum(COVERAGE_PRIORITIES),
    validFrom: Day,
    validTo: Day.nullable().describe('A last day ends the coverage; null makes it open-ended.'),
    active: z.boolean().describe('false deactivates it (entered in error, replaced).'),
  })
  .partial()
  .refine(atLeastOne, GIVE_ONE)
  .refine(validRange, RANGE)
  .meta({ id: 'UpdateCoverage' });
export type UpdateCoverage = z.infer<typeof UpdateCoverage>;

export const CoverageQuery = PageQuery.extend({ patientId: RecordId.optional(), active: activeFilter });
export type CoverageQuery = z.infer<typeof CoverageQuery>;

// Prior authorizations

export const PriorAuthorization = z
  .object({
    id: z.string(),
    prescriptionId: z.string(),
    patientId: z.string(),
    coverageId: z.string().nullable(),
    status: z.enum(PRIOR_AUTH_STATUSES),
    justification: z.string().nullable(),
    submittedAt: z.date().nullable(),
    submittedBy: z.string().nullable(),
    decidedAt: z.date().nullable(),
    decidedBy: z.string().nullable(),
    decisionNotes: z.string().nullable(),
    authorizationNumber: z.string().nullable(),
    validUntil: z.string().nullable(),
    createdBy: z.string(),
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .meta({ id: 'PriorAuthorization' });
export type PriorAuthorization = z.infer<typeof PriorAuthorization>;

const Justification = plainText(1, 2000).describe('Why the medication is needed (for the insurer).');

export const CreatePriorAuthorization = z
  .strictObject({
    prescriptionId: RecordId,
    coverageId: RecordId.optional().describe("The patient's coverage it goes to (needed to submit)."),
    justification: Justification.optional(),
  })
  .meta({ id: 'CreatePriorAuthorization' });
export type CreatePriorAuthorization = z.infer<typeof CreatePriorAuthorization>;

export const SubmitPriorAuthorization = z
  .strictObject({
    coverageId: RecordId.optional().describe('Sets or replaces the coverage before submitting.'),
    justification: Justification.optional(),
  })
  .nullish();
export type SubmitPriorAuthorization = z.infer<typeof SubmitPriorAuthorization>;

export const ApprovePriorAuthorization = z
  .strictObject({
    notes: plainText(1, 2000).optional(),
    authorizationNumber: plainText(1, 80).optional().describe("The insurer's authorization number."),
    validUntil: Day.optional().describe('Last day the approval holds; not before the decision.'),
  })
  .nullish();
export type ApprovePriorAuthorization = z.infer<typeof ApprovePriorAuthorization>;

export const DenyPriorAuthorization = z.strictObject({
  notes: plainText(1, 2000).describe("The insurer's reason."),
});
export type DenyPriorAuthorization = z.infer<typeof DenyPriorAuthorization>;

export const PriorAuthorizationQuery = PageQuery.extend({
  prescriptionId: RecordId.optional(),
  patientId: RecordId.optional(),
  status: z.enum(PRIOR_AUTH_STATUSES).optional(),
});
export type PriorAuthorizationQuery = z.infer<typeof PriorAuthorizationQuery>;
