/** Request and response shapes of the encounters module (the tables are in encounters.schema.ts). */
import { z } from 'zod';
import { RecordId } from '../../platform/http/ids.js';
import { PageQuery } from '../../platform/http/pagination.js';
import { plainText } from '../../platform/http/text.js';
import { VITAL_TYPES, VitalInput } from './vital-signs.js';

export const ENCOUNTER_STATUSES = ['open', 'signed'] as const;
export type EncounterStatus = (typeof ENCOUNTER_STATUSES)[number];

export const OpenEncounter = z
  .strictObject({
    patientId: RecordId,
    appointmentId: RecordId.optional().describe(
      'The appointment the encounter comes from (checked in or in progress); none for a walk-in.',
    ),
    hospitalId: RecordId.optional().describe("Where it takes place; by default the appointment's hospital."),
  })
  .meta({ id: 'OpenEncounter' });
export type OpenEncounter = z.infer<typeof OpenEncounter>;

export const Encounter = z
  .object({
    id: z.string(),
    patientId: z.string(),
    appointmentId: z.string().nullable(),
    hospitalId: z.string().nullable(),
    status: z.enum(ENCOUNTER_STATUSES).describe('open, or signed (closed: nothing more is added to it).'),
    openedBy: z.string().describe('User id of the doctor who opened it.'),
    openedAt: z.date(),
    signedAt: z.date().nullable(),
    signedBy: z.string().nullable(),
  })
  .meta({ id: 'Encounter' });
export type Encounter = z.infer<typeof Encounter>;

export const EncounterQuery = PageQuery.extend({
  patientId: RecordId.optional(),
  status: z.enum(ENCOUNTER_STATUSES).optional(),
});
export type EncounterQuery = z.infer<typeof EncounterQuery>;

// Clinical text spans lines and may hold tabs; other control characters and bidirectional
// overrides (which can make text display as something else) are refused, as plainText does.
const HIDDEN_IN_NOTES = /[\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const hiddenIn = (text: string) => HIDDEN_IN_NOTES.test(text.replace(/[\t\n\r]/g, ''));
export const NOTE_MAX_CHARS = 50_000;
const NoteText = z
  .string()
  .trim()
  .min(1)
  .max(NOTE_MAX_CHARS)
  .refine((value) => !hiddenIn(value), 'must not contain control or bidirectional formatting characters');

export const WriteNote = z.strictObject({ body: NoteText }).meta({ id: 'WriteNote' });
export const AmendNote = z
  .strictObject({ body: NoteText, reason: plainText(1, 500).describe('Why the note is amended.') })
  .meta({ id: 'AmendNote' });

export const Note = z
  .object({
    id: z.string(),
    encounterId: z.string(),
    patientId: z.string(),
    authorId: z.string().describe('Who wrote the first version.'),
    version: z.number().int().describe('The current version (1 until amended).'),
    body: z.string().describe('The text of the current version.'),
    createdAt: z.date(),
    updatedAt: z.date().describe('When the current version was written.'),
    signedAt: z.date().nullable(),
    signedBy: z.string().nullable(),
  })
  .meta({ id: 'Note' });
export type Note = z.infer<typeof Note>;

export const NoteVersion = z
  .object({
    version: z.number().int(),
    body: z.string(),
    authorId: z.string().describe('Who wrote this version.'),
    reason: z.string().nullable().describe('Why it was amended; null for version 1.'),
    createdAt: z.date(),
  })
  .meta({ id: 'NoteVersion' });
export type NoteVersion = z.infer<typeof NoteVersion>;

/** ICD-10 shape: a letter, two digits (or a digit then A/B), and optionally a dot and 1-4 characters. */
export const ICD10 = /^[A-Z][0-9][0-9AB](\.[0-9A-Z]{1,4})?$/;

export const AddDiagnosis = z
  .strictObject({
    code: z
      .string()
      .trim()
      .max(16)
      .toUpperCase()
      .regex(ICD10, 'is not an ICD-10 code: a letter, two digits, then optionally a dot and 1-4 characters (J45.909)')
      .meta({ example: 'J45.909' }),
    text: plainText(1, 500),
    primary: z
      .boolean()
      .default(false)
      .describe("The encounter's main diagnosis; setting one demotes the previous primary."),
  })
  .meta({ id: 'AddDiagnosis' });
export type AddDiagnosis = z.infer<typeof AddDiagnosis>;

export const Diagnosis = z
  .object({
    id: z.string(),
    encounterId: z.string(),
    patientId: z.string(),
    code: z.string(),
    text: z.string(),
    primary: z.boolean(),
    recordedBy: z.string(),
    createdAt: z.date(),
  })
  .meta({ id: 'Diagnosis' });
export type Diagnosis = z.infer<typeof Diagnosis>;

export const RecordVital = VitalInput;

export const PatientEncounterQuery = PageQuery.extend({ status: z.enum(ENCOUNTER_STATUSES).optional() });
export type PatientEncounterQuery = z.infer<typeof PatientEncounterQuery>;
export const VitalHistoryQuery = PageQuery.extend({ type: z.enum(VITAL_TYPES).optional() });
export type VitalHistoryQuery = z.infer<typeof VitalHistoryQuery>;

export const Vital = z
  .object({
    id: z.string(),
    encounterId: z.string(),
    patientId: z.string(),
    type: z.string(),
    value: z.number().describe('In the canonical unit; the systolic pressure for blood-pressure.'),
    secondaryValue: z.number().nullable().describe('The diastolic pressure for blood-pressure; otherwise null.'),
    unit: z.string().describe('The canonical unit: bpm, mmHg, °C, %, breaths/min, kg, cm, /10.'),
    recordedAt: z.date(),
    recordedBy: z.string(),
  })
  .meta({ id: 'Vital' });
export type Vital = z.infer<typeof Vital>;

export const EncounterDetail = Encounter.extend({
  notes: z.array(Note),
  diagnoses: z.array(Diagnosis),
  vitals: z.array(Vital),
}).meta({ id: 'EncounterDetail' });
export type EncounterDetail = z.infer<typeof EncounterDetail>;

export const NoteParams = z.object({ id: RecordId });
