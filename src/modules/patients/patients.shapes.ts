/**
 * Request and response shapes of the patients routes. Requests are strict (an unknown key is a 400)
 * and bounded; responses are lenient about what older or seeded rows hold, and list only the fields
 * that may leave the server.
 */
import { z } from 'zod';
import { RecordId } from '../../platform/http/ids.js';
import { PageQuery } from '../../platform/http/pagination.js';
import { plainText } from '../../platform/http/text.js';

export const SEXES = ['female', 'male', 'other', 'unknown'] as const;
export const PATIENT_STATUSES = ['active', 'archived'] as const;
export type PatientStatus = (typeof PATIENT_STATUSES)[number];
export const ALLERGY_SEVERITIES = ['mild', 'moderate', 'severe', 'life-threatening'] as const;

/** The earliest birth date accepted. */
export const MIN_BIRTH_DATE = '1900-01-01';

const Name = plainText(1, 100);

/** A real calendar date (zod checks month lengths and leap years), not before 1900. The service refuses future ones. */
export const BirthDate = z.iso
  .date('must be a real date, YYYY-MM-DD')
  .refine((value) => value >= MIN_BIRTH_DATE, `must not be before ${MIN_BIRTH_DATE}`)
  .meta({ example: '1984-03-07' });

export const Mrn = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/, 'letters, digits, dot, underscore and hyphen, 1-40 characters')
  .meta({ example: 'MRN-000042' });

export const Phone = z
  .string()
  .trim()
  .max(32)
  .regex(/^\+?[0-9 ().-]+$/, 'digits, spaces and + ( ) . - only')
  .refine((value) => /(?:\d\D*){3}/.test(value), 'must hold at least 3 digits')
  .meta({ example: '+1 555 010 2030' });

const Email = z.email().max(254);

const Address = z.strictObject({
  line1: plainText(1, 200),
  line2: plainText(1, 200).optional(),
  city: plainText(1, 100),
  postalCode: plainText(1, 20).optional(),
  region: plainText(1, 100).optional(),
  country: plainText(2, 100),
});

const EmergencyContact = z.strictObject({
  name: plainText(1, 200),
  relationship: plainText(1, 50).optional(),
  phone: Phone,
});

const Allergy = z.strictObject({
  substance: plainText(1, 200),
  reaction: plainText(1, 500).optional(),
  severity: z.enum(ALLERGY_SEVERITIES).optional(),
});

const patientFields = {
  givenName: Name,
  familyName: Name,
  birthDate: BirthDate,
  sex: z.enum(SEXES),
  phone: Phone,
  email: Email,
  address: Address,
  emergencyContact: EmergencyContact,
  allergies: z.array(Allergy).max(50),
  primaryHospitalId: RecordId,
};

export const CreatePatient = z
  .strictObject({
    mrn: Mrn.optional().describe('Medical record number; generated (MRN-000001, ...) when not given. Unique.'),
    givenName: patientFields.givenName,
    familyName: patientFields.familyName,
    birthDate: patientFields.birthDate.describe('YYYY-MM-DD, not in the future, not before 1900.'),
    sex: patientFields.sex,
    phone: patientFields.phone.optional(),
    email: patientFields.email.optional(),
    address: patientFields.address.optional(),
    emergencyContact: patientFields.emergencyContact.optional(),
    allergies: patientFields.allergies.default([]),
    primaryHospitalId: patientFields.primaryHospitalId.optional(),
  })
  .meta({ id: 'CreatePatient' });
export type CreatePatient = z.infer<typeof CreatePatient>;

/** The MRN is not changed here: it is the record's identity outside Wardline. `null` clears an optional field. */
export const UpdatePatient = z
  .strictObject({
    givenName: patientFields.givenName,
    familyName: patientFields.familyName,
    birthDate: patientFields.birthDate,
    sex: patientFields.sex,
    phone: patientFields.phone.nullable(),
    email: patientFields.email.nullable(),
    address: patientFields.address.nullable(),
    emergencyContact: patientFields.emergencyContact.nullable(),
    allergies: patientFields.allergies,
    primaryHospitalId: patientFields.primaryHospitalId.nullable(),
  })
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, 'give at least one field to change')
  .meta({ id: 'UpdatePatient' });
export type UpdatePatient = z.infer<typeof UpdatePatient>;

export const Patient = z
  .object({
    id: z.string(),
    mrn: z.string(),
    givenName: z.string(),
    familyName: z.string(),
    birthDate: z.string().describe('YYYY-MM-DD'),
    sex: z.string().describe('female, male, other or unknown'),
    phone: z.string().nullable(),
    email: z.string().nullable(),
    address: z
      .object({
        line1: z.string(),
        line2: z.string().optional(),
        city: z.string(),
        postalCode: z.string().optional(),
        region: z.string().optional(),
        country: z.string(),
      })
      .nullable(),
    emergencyContact: z.object({ name: z.string(), relationship: z.string().optional(), phone: z.string() }).nullable(),
    allergies: z.array(
      z.object({ substance: z.string(), reaction: z.string().optional(), severity: z.string().optional() }),
    ),
    primaryHospitalId: z.string().nullable(),
    status: z.enum(PATIENT_STATUSES),
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .meta({ id: 'Patient' });
export type Patient = z.infer<typeof Patient>;

export const PatientSummary = Patient.pick({
  id: true,
  mrn: true,
  givenName: true,
  familyName: true,
  birthDate: true,
  sex: true,
  status: true,
  primaryHospitalId: true,
})
  .describe(
    'A patient as a list shows one: enough to tell namesakes apart, no contacts, address or clinical data (GET /api/v1/patients/{id} has the record).',
  )
  .meta({ id: 'PatientSummary' });
export type PatientSummary = z.infer<typeof PatientSummary>;

export const PatientListQuery = PageQuery.extend({
  q: plainText(1, 100)
    .optional()
    .describe(
      'Name prefix, case- and accent-insensitive, on the family or the given name; two words ("garcia jo") match family and given.',
    ),
  birthDate: z.iso.date('must be a date, YYYY-MM-DD').optional(),
  mrn: Mrn.optional(),
  phone: Phone.optional().describe('Matched on its digits only.'),
  status: z.enum(PATIENT_STATUSES).default('active').describe('Archived patients are listed only when asked for.'),
});
export type PatientListQuery = z.infer<typeof PatientListQuery>;

export const PatientLookupQuery = z.object({
  mrn: Mrn.optional(),
  familyName: Name.optional(),
  givenName: Name.optional(),
  birthDate: z.iso.date('must be a date, YYYY-MM-DD').optional(),
});
export type PatientLookupQuery = z.infer<typeof PatientLookupQuery>;

export const AccessLogEntry = z
  .object({
    id: z.string(),
    occurredAt: z.date(),
    actorType: z.string().describe('user, api-key or system'),
    actorId: z.string().nullable(),
    actorRole: z.string().nullable(),
    action: z.string().describe('patients.read, patients.update, patients.list, ...'),
    resourceType: z.string().nullable(),
    resourceId: z.string().nullable(),
    outcome: z.string(),
  })
  .meta({ id: 'PatientAccessLogEntry' });
